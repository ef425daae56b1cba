/**
 * CONTRACT: the experience pipeline end to end on a real model's recorded answers. The exchanges in
 * test/fixtures/experience/recorded/smollm2-pipeline.json were recorded by recordExperience.ts from
 * SmolLM2-135M-Instruct served by llama-cpp-python, over real agent logs of test/fixtures; here a
 * local OpenAI-compatible server replays them, and checks that every request is the one recorded
 * (a changed prompt fails with the command that re-records). What the small model said is kept as
 * it said it: the pipeline must turn it into proposed operations, drop what cannot apply with a
 * reason, and record and apply the rest with their evidence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { createRedactor } from '../../src/core/redaction/index.js';
import { applyOp } from '../../src/core/experience/curation.js';
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

test('CONTRACT: recorded SmolLM2-135M answers become recorded, applicable pool operations with evidence', async (t) => {
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
  const ops = result.opIds.map((id) => store.poolOps.get(id));
  assert.deepEqual(
    ops.map((o) => [o?.kind, o?.principleId, o?.status]),
    [
      ['ADD', 'P1', 'proposed'],
      ['ADD', 'P2', 'proposed'],
      ['ADD', 'P3', 'proposed'],
    ],
  );
  // What the model proposed against an empty pool that could not apply, each with its reason.
  assert.deepEqual(result.dropped.map((d) => d.reason), ['unknown principle id "P3"', 'longer than 32 words', 'longer than 32 words', 'unknown principle id "P4"', 'unknown principle id "P3"']);
  // An operation is backed by the runs of its group.
  assert.deepEqual(
    ops.map((o) => o?.evidence.map((e) => recording.trajectories.includes(e.trajectoryId))),
    ops.map(() => [true]),
  );
  // Proposed is not accepted: the pool changes only when the user (or autoAccept) applies.
  assert.equal(store.principles.count('accepted'), 0);
  assert.equal(store.principles.count('proposed'), 3);

  for (const id of result.opIds) applyOp(store, id);
  const pool = store.principles.list({ status: 'accepted' });
  assert.deepEqual(pool.map((p) => [p.id, p.origin, p.model]), [
    ['P1', 'llm', recording.model],
    ['P2', 'llm', recording.model],
    ['P3', 'llm', recording.model],
  ]);
  assert.deepEqual(pool.map((p) => p.text), ops.map((o) => o?.after));
  for (const p of pool) assert.equal(store.principles.history(p.id).length, 2, 'proposed, then accepted, each linked to its op');
  store.close();
});
