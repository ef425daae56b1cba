import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkerClient, WorkerError, type WorkerEvent } from '../../src/core/distill/worker.js';

/** The real worker (trainer/, in .venv) driven by the real TypeScript client: one schema, both sides. */
const ROOT = join(__dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const CACHE = join(ROOT, '.cache', 'toy');

test('handshake, a distillation round on the toy world with progress events, and an error response', { timeout: 180_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'internalize-contract-'));
  t.after(() => {
    rmSync(out, { recursive: true, force: true });
  });
  const diagnostics: string[] = [];
  const worker = WorkerClient.start({ python: PYTHON, cwd: ROOT, onDiagnostic: (line) => diagnostics.push(line) });
  t.after(() => {
    worker.dispose();
  });

  const hello = await worker.hello();
  assert.equal(hello.protocol, 1);
  assert.ok(hello.methods.includes('distill'));

  const events: WorkerEvent[] = [];
  const result = await worker.distill({ toy: true, seed: 0, cache_dir: CACHE, out_dir: out }, (e) => events.push(e));
  const progress = events.filter((e) => e.event === 'progress');
  assert.ok(progress.length > 0, 'progress events arrive while training');
  assert.ok(events.some((e) => e.event === 'checkpoint'));
  assert.ok(events.some((e) => e.event === 'metrics'));
  assert.equal(typeof result.metrics.accuracy_without_principles, 'number');
  assert.ok((result.metrics.accuracy_without_principles as number) >= 0.5, 'the toy student learned the principles');

  await assert.rejects(
    worker.distill({ model: join(out, 'no-such-model'), out_dir: out }),
    (error: unknown) => error instanceof WorkerError && /is not a model folder, a \.gguf file or the built-in name/u.test(error.message),
  );
  await assert.rejects(
    worker.distill({ toy: true, out_dir: out, config: { learning_rat: 1 } }),
    (error: unknown) => error instanceof WorkerError && /unknown distillation setting\(s\): learning_rat/u.test(error.message),
  );
});

test('generate and suite on the toy model: generations, truncation warning, per-principle scores with their method', { timeout: 180_000 }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'internalize-contract-suite-'));
  t.after(() => {
    rmSync(out, { recursive: true, force: true });
  });
  const worker = WorkerClient.start({ python: PYTHON, cwd: ROOT });
  t.after(() => {
    worker.dispose();
  });
  const hello = await worker.hello();
  assert.ok(hello.methods.includes('suite') && hello.methods.includes('generate'));
  // The toy model (built by the first test of this file) has a context of 256 tokens: the second prompt does not fit.
  const model = join(CACHE, 'toy-llama-seed0-v2');
  const events: WorkerEvent[] = [];
  const generated = await worker.generate(
    {
      model,
      max_new_tokens: 6,
      conversations: [[{ role: 'user', content: 'task : fix the failing build' }], [{ role: 'user', content: 'error : file not found '.repeat(200) }]],
    },
    (e) => events.push(e),
  );
  const [fitted, cut] = generated.generations;
  assert.equal(generated.generations.length, 2);
  assert.ok(fitted !== undefined && fitted.tokens > 0 && fitted.truncated === 0);
  assert.ok(cut !== undefined && cut.truncated > 0, 'the long prompt was cut');
  assert.ok(events.some((e) => e.event === 'log' && e.level === 'warning' && e.message.includes(generated.truncation_policy)));

  const suiteEvents: WorkerEvent[] = [];
  const suite = await worker.suite(
    {
      model,
      out_dir: out,
      config: { principles: ['P4', 'P10'], calibrate: false, n_train: 4, n_heldout: 3, eval_samples: 1, teacher_samples: 1, max_new_tokens: 8, distill: { epochs: 1 } },
    },
    (e) => suiteEvents.push(e),
  );
  const phases = new Set(suiteEvents.flatMap((e) => (e.event === 'progress' ? [e.phase] : [])));
  for (const phase of ['calibrate', 'sample', 'train', 'evaluate']) assert.ok(phases.has(phase), `progress events of phase ${phase}`);
  const byId = new Map(suite.principles.map((p) => [p.id, p]));
  assert.equal(byId.get('P4')?.method, 'checker');
  assert.equal(typeof byId.get('P4')?.base, 'number');
  const divergence = byId.get('P10');
  assert.ok(divergence !== undefined);
  assert.equal(divergence.method, 'divergence', 'a principle without checker is scored by divergence and labelled so');
  assert.equal(typeof divergence.score, 'number');
  assert.ok((divergence.kl_before ?? 0) > 0);
  assert.ok(suite.retention !== null && suite.retention.ratio > 0);
  assert.equal(typeof suite.collapse?.collapsed, 'boolean');

  await assert.rejects(
    worker.suite({ model, out_dir: out, config: { principls: ['P1'] } }),
    (error: unknown) => error instanceof WorkerError && /unknown suite setting\(s\): principls/u.test(error.message),
  );
});

test('a missing interpreter is reported with what to do', async () => {
  const worker = WorkerClient.start({ python: '/nonexistent/python3' });
  await assert.rejects(worker.hello(), (error: unknown) => error instanceof WorkerError && error.code === 'no-python' && /setup-python\.sh/u.test(error.message));
});
