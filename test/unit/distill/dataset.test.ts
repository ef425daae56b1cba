import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDataset, DatasetError, readJsonl, selectTrajectories, splitSessions, trainablePool, writeJsonl, type BuildInput } from '../../../src/core/distill/dataset.js';
import { lexicalTextEmbedder } from '../../../src/core/embedding/lexical.js';
import { parseInjectionOptions } from '../../../src/core/injection/options.js';
import { planTrajectory } from '../../../src/core/injection/planner.js';
import { renderViews } from '../../../src/core/injection/renderer.js';
import { estimateTokens } from '../../../src/core/llm/languageModel.js';
import type { Store } from '../../../src/core/store/index.js';
import { FIXTURE_PRINCIPLES, fixtureStore } from './helpers.js';

const embedder = lexicalTextEmbedder();

function input(store: Store, over: Partial<BuildInput['options']> & { outcome?: 'success' | 'any' } = {}): BuildInput {
  const { outcome, ...options } = over;
  return {
    trajectories: selectTrajectories(store, { outcome: outcome ?? 'success' }),
    pool: store.principles.list({ status: 'accepted' }),
    internalizedIds: new Set(),
    embedder,
    options: { injection: parseInjectionOptions({ scoreFloor: 0, k: 3 }), contextTokens: 1024, heldoutFraction: 0.3, seed: 0, ...options },
  };
}

test('real fixtures: one record per assistant step of the successful runs, in the trainer format, with that step’s block for the teacher', async () => {
  const store = await fixtureStore();
  const trajectories = selectTrajectories(store, {});
  assert.ok(trajectories.length >= 5 && trajectories.every((t) => t.outcome.label === 'success'), 'success is the default filter');
  const dataset = await buildDataset(input(store));
  assert.ok(dataset.train.length > 0 && dataset.heldout.length > 0);
  assert.equal(dataset.stats.trainRecords, dataset.train.length);
  const byId = new Map(trajectories.map((t) => [t.id, t]));
  const pool = store.principles.list({ status: 'accepted' });
  for (const record of dataset.train) {
    const [target] = record.targets;
    assert.equal(record.targets.length, 1);
    assert.equal(target, record.messages.length - 1);
    assert.equal(record.messages[target]?.role, 'assistant');
    // The student view never holds principle text: the block lives apart, keyed by the observation before the step.
    for (const m of record.messages) for (const p of FIXTURE_PRINCIPLES) assert.ok(!m.content.includes(p), 'no principle in the student view');
    const keys = Object.keys(record.blocks).map(Number);
    assert.deepEqual(keys, [target - 1], 'ephemeral: only the block right before the step');
    assert.equal(record.messages[target - 1]?.role, 'user');
    // The block is exactly what the planner gives this step (the preview shows the same).
    const trajectory = byId.get(record.meta.trajectoryId);
    assert.ok(trajectory);
    const plan = await planTrajectory({ trajectory, pool, internalizedIds: new Set(), embedder, options: parseInjectionOptions({ scoreFloor: 0, k: 3, includeInternalized: false }) });
    const step = plan.steps.find((s) => s.stepIndex === record.meta.stepIndex);
    assert.equal(record.blocks[String(target - 1)], step?.block);
    assert.deepEqual(record.meta.principles, step?.selected.map((p) => p.id));
    // The target is the recorded action: the assistant message the renderer gives that step in the next state.
    const position = trajectory.steps.findIndex((s) => s.index === record.meta.stepIndex);
    const next = trajectory.steps[position + 1]?.index ?? record.meta.stepIndex + 1;
    const recorded = renderViews(trajectory, plan, next).student.filter((m) => m.role === 'assistant')[position];
    assert.equal(record.messages[target].content, recorded?.content);
  }
  // Held-out by session: no session on both sides.
  const trainSessions = new Set(dataset.train.map((r) => r.meta.sessionId));
  for (const r of dataset.heldout) assert.ok(!trainSessions.has(r.meta.sessionId), r.meta.sessionId);
  assert.ok(dataset.heldout.every((r) => r.meta.split === 'heldout') && dataset.train.every((r) => r.meta.split === 'train'));
  const counted = Object.values(dataset.stats.principleStates).reduce((n, s) => n + s.train, 0);
  assert.equal(counted, dataset.train.reduce((n, r) => n + r.meta.principles.length, 0));
  store.close();
});

test('the same seed gives the same dataset; the split keeps a session on each side', async () => {
  const store = await fixtureStore();
  const a = await buildDataset(input(store));
  const b = await buildDataset(input(store));
  assert.deepEqual(a, b);
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const seed of [0, 1, 2, 3]) {
    const split = splitSessions(keys, 0.01, seed);
    assert.equal([...split.values()].filter(Boolean).length, 1, 'at least one held out even at 1%');
    const most = splitSessions(keys, 0.9, seed);
    assert.ok([...most.values()].some((h) => !h), 'at least one trains');
    assert.deepEqual(splitSessions(keys, 0.3, seed), splitSessions([...keys].reverse(), 0.3, seed), 'order does not matter');
  }
  store.close();
});

test('a decision state longer than the context is cut to fit, and counted', async () => {
  const store = await fixtureStore();
  const wide = await buildDataset(input(store, { outcome: 'any', contextTokens: 65_536 }));
  const narrow = await buildDataset(input(store, { outcome: 'any', contextTokens: 160 }));
  assert.equal(wide.stats.truncatedStates, 0);
  assert.ok(narrow.stats.truncatedStates > 0);
  assert.equal(narrow.stats.truncatedStates, [...narrow.train, ...narrow.heldout].filter((r) => r.meta.truncated).length);
  for (const r of [...narrow.train, ...narrow.heldout]) {
    const tokens = r.messages.reduce((n, m) => n + estimateTokens(m.content), 0) + Object.values(r.blocks).reduce((n, b) => n + estimateTokens(b), 0);
    assert.ok(tokens <= 160, `${r.meta.trajectoryId} step ${String(r.meta.stepIndex)}: ${String(tokens)} tokens`);
  }
  assert.ok(narrow.stats.skipped.actionTooLong > 0, 'an action too long for the context is left out, not cut');
  store.close();
});

test('cumulative keeps every earlier block in the window; global puts the pool on the task', async () => {
  const store = await fixtureStore();
  const cumulative = await buildDataset(input(store, { injection: parseInjectionOptions({ scoreFloor: 0, k: 3, persistence: 'cumulative' }) }));
  assert.ok(cumulative.train.some((r) => Object.keys(r.blocks).length > 1), 'a later step carries the earlier blocks too');
  const global = await buildDataset(input(store, { injection: parseInjectionOptions({ mode: 'global' }) }));
  for (const r of global.train) {
    const task = r.messages.findIndex((m) => m.role === 'user');
    assert.deepEqual(Object.keys(r.blocks), [String(task)]);
    assert.equal(r.meta.principles.length, FIXTURE_PRINCIPLES.length);
  }
  store.close();
});

test('an empty selection names the filter that emptied it; an empty pool says so', async () => {
  const store = await fixtureStore();
  assert.throws(() => selectTrajectories(store, { source: 'codex' }), (e: unknown) => e instanceof DatasetError && e.code === 'no-trajectories' && /"source codex" left none \(38 stored, then 7 with outcome success, then 0 with source codex\)/u.test(e.message));
  assert.throws(() => selectTrajectories(store, { outcome: 'success', since: '2030-01-01' }), /"since 2030-01-01" left none/u);
  assert.equal(selectTrajectories(store, { outcome: 'any', since: '2025-10-01', until: '2025-10-31' }).length, 4);
  assert.throws(() => trainablePool([], new Set(), 'm'), (e: unknown) => e instanceof DatasetError && e.code === 'no-principles' && /no accepted principles/u.test(e.message));
  const pool = store.principles.list({ status: 'accepted' });
  assert.throws(() => trainablePool(pool, new Set(pool.map((p) => p.id)), 'smollm2'), /All 5 accepted principles are already internalized for smollm2/u);
  // A score floor no state reaches: nothing to train, and the message says why.
  await assert.rejects(buildDataset(input(store, { injection: parseInjectionOptions({ scoreFloor: 0.99 }) })), (e: unknown) => e instanceof DatasetError && e.code === 'no-records' && /had no principle selected/u.test(e.message));
  store.close();
});

test('JSONL round trip; a bad line names the file, the line and the field', async () => {
  const store = await fixtureStore();
  const dataset = await buildDataset(input(store));
  const dir = mkdtempSync(join(tmpdir(), 'internalize-dataset-'));
  const path = join(dir, 'train.jsonl');
  writeJsonl(path, dataset.train);
  assert.deepEqual(readJsonl(path), dataset.train);
  writeFileSync(path, `${JSON.stringify(dataset.train[0])}\n${JSON.stringify({ ...dataset.train[0], targets: [] })}\n`);
  assert.throws(() => readJsonl(path), (e: unknown) => e instanceof DatasetError && e.message.startsWith(`${path}:2: not a dataset record (targets:`));
  store.close();
});
