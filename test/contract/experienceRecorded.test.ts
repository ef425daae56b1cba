/**
 * CONTRACT: the experience pipeline end to end on a real model's recorded answers. The exchanges in
 * test/fixtures/experience/recorded/smollm2-pipeline.json were recorded by recordExperience.ts from
 * SmolLM2-135M-Instruct served by llama-cpp-python, over real agent logs of test/fixtures; here a
 * local OpenAI-compatible server replays them, and checks that every request is the one recorded
 * (a changed prompt fails with the command that re-records). What the small model said is kept as
 * it said it: the pipeline must send each text that fails the principle check back for one rewrite,
 * drop what still fails with the reason, and propose only what passes (on this model: nothing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { createRedactor } from '../../src/core/redaction/index.js';
import { extractExperience } from '../../src/core/experience/pipeline.js';
import { textRedactor } from '../../src/core/experience/textRedaction.js';
import { openAiCompatibleModel } from '../../src/core/llm/openaiCompatible.js';
import { openStore } from '../../src/core/store/index.js';
import { sseChunks, startReplayServer } from '../unit/llm/replayServer.js';
import { MAX_TOKENS, RECORDING, recordedTrajectories, type Exchange } from './recordExperience.js';

interface Recording {
  readonly model: string;
  readonly trajectories: readonly string[];
  readonly exchanges: readonly Exchange[];
}

const RERECORD = 'bash scripts/setup-llama-server.sh && npx tsx test/contract/recordExperience.ts';

test('CONTRACT: recorded SmolLM2-135M answers: what fails the principle check gets one rewrite, then is dropped with its reason, and never reaches the pool', async (t) => {
  const recording = JSON.parse(readFileSync(RECORDING, 'utf8')) as Recording;
  const trajectories = await recordedTrajectories();
  assert.deepEqual(trajectories.map((x) => x.id), recording.trajectories, `the fixtures changed since the recording; re-record with: ${RERECORD}`);

  const mismatches: string[] = [];
  const server = await startReplayServer((body, n) => {
    const exchange = recording.exchanges[n];
    if (exchange === undefined) {
      mismatches.push(`request ${String(n + 1)} was not recorded`);
      return { status: 400, json: { error: 'not recorded' } };
    }
    if (!isDeepStrictEqual(body.messages, exchange.messages)) {
      mismatches.push(`request ${String(n + 1)} differs from the recording`);
      return { status: 400, json: { error: 'request differs from the recording' } };
    }
    return { sse: sseChunks([exchange.answer]) };
  });
  t.after(() => server.close());

  const store = openStore(':memory:');
  const model = openAiCompatibleModel({ baseUrl: server.baseUrl, model: recording.model, maxRetries: 0 });
  const result = await extractExperience({
    store,
    model: { ...model, chat: (request) => model.chat({ ...request, maxTokens: request.maxTokens ?? MAX_TOKENS, temperature: 0 }) },
    trajectories,
    redact: textRedactor(await createRedactor()),
  });
  assert.deepEqual(mismatches, [], `the pipeline's prompts changed since the recording; re-record with: ${RERECORD}`);
  assert.equal(server.requests.length, recording.exchanges.length);

  // Each run was a task of its own: four groups, four critiques, one operations call each (one repaired).
  assert.deepEqual(result.groups, recording.trajectories.map((id) => [id]));
  // A 135M model writes no principle: every text it proposed failed the principle check, went back for
  // exactly one rewrite, failed again, and was dropped with the reason. Nothing of it reaches the pool.
  const rewrites = recording.exchanges.filter((e) => e.schema === 'rewrite').length;
  assert.ok(result.check.texts > 0, 'the recording holds proposals to check');
  assert.equal(rewrites, result.check.texts, 'one rewrite request per text that failed the check');
  assert.equal(result.check.passed, 0);
  assert.equal(result.check.rewritten, 0);
  assert.deepEqual(result.opIds, []);
  assert.equal(result.dropped.length, result.check.texts);
  for (const d of result.dropped) assert.match(d.reason, /^still fails the principle check after one rewrite \(.+\); first text: /u);
  assert.equal(store.principles.count('proposed'), 0);
  assert.equal(store.principles.count('accepted'), 0);
  assert.equal(store.poolOps.count(), 0);
  store.close();
});
