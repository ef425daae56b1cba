import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arenaKernel, dotArena } from '../../../src/core/injection/exactDot.js';
import { jsKernel } from '../../../src/core/injection/gemm.js';
import { selectBatch } from '../../../src/core/injection/select.js';
import { buildState, DEFAULT_SEGMENT_POLICY, SegmentCache, servePrinciples, stateSegments, stateVector, type ServeStep } from '../../../src/core/serving/index.js';
import type { Store } from '../../../src/core/store/index.js';
import type { TextEmbedder } from '../../../src/core/embedding/embedder.js';
import { hashedEmbedder } from '../injection/helpers.js';
import { seededStore } from './storeFixture.js';

const TASK = 'Fix the failing test in the orders module';
const STEPS: ServeStep[] = [
  { tool: 'Bash', action: 'pytest tests/test_orders.py', observation: 'FAILED tests/test_orders.py::test_total - AssertionError', isError: true },
  { tool: 'Read', action: 'tests/test_orders.py', observation: 'def test_total():\n    assert total([5, 5]) == 10' },
  { tool: 'Edit', action: 'src/orders.py: drop the + 2', observation: 'The file src/orders.py has been updated.' },
];

const freshStore = (t: { after: (fn: () => void) => void }): Store => seededStore(t).store;

test("a step's segment is the same text whatever else the state holds, so later calls find it cached", () => {
  const short = buildState({ task: TASK, steps: STEPS.slice(0, 2) }, 512).trajectory;
  const long = buildState({ task: TASK, steps: [...STEPS, { tool: 'Bash', action: 'pytest', observation: 'x'.repeat(100_000) }] }, 512).trajectory;
  const a = stateSegments(short).segments.map((s) => s.text);
  const b = stateSegments(long).segments.map((s) => s.text);
  assert.deepEqual(b.slice(0, 3), a, 'the task and the first two steps read alike in both states');
  assert.equal(b.length, 5);
  // A 100,000-character observation is cut to the step cap, from the middle, and said so.
  assert.ok((b[4]?.length ?? 0) <= DEFAULT_SEGMENT_POLICY.stepTokens * 4, `${String(b[4]?.length)} characters`);
  assert.match(b[4] ?? '', /characters omitted/u);
  assert.equal(stateSegments(long).cut, true);
  // Only the most recent steps count, the newest weighs most, older ones by the decay.
  const many = buildState({ task: TASK, steps: Array.from({ length: 20 }, (_, i) => ({ action: `step ${String(i)}`, observation: 'ok' })) }, 512).trajectory;
  const segs = stateSegments(many).segments;
  assert.equal(segs.length, 1 + DEFAULT_SEGMENT_POLICY.steps);
  assert.equal(segs.at(-1)?.weight, 1);
  assert.equal(segs.at(-2)?.weight, DEFAULT_SEGMENT_POLICY.decay);
  assert.equal(segs[0]?.weight, DEFAULT_SEGMENT_POLICY.taskWeight);
});

test('within a session each call embeds only its newest step, and the vector is the weighted mean of the segments', async () => {
  const embedder = hashedEmbedder();
  const cache = new SegmentCache();
  const vectorAt = async (steps: number): Promise<{ vector: Float32Array; embedded: number }> => {
    const built = buildState({ task: TASK, steps: STEPS.slice(0, steps) }, 512);
    return stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, cache });
  };
  assert.equal((await vectorAt(1)).embedded, 2, 'the first call embeds the task and its step');
  const seenBefore = embedder.seen.length;
  const second = await vectorAt(2);
  assert.equal(second.embedded, 1);
  assert.equal(embedder.seen.length, seenBefore + 1);
  assert.match(embedder.seen.at(-1) ?? '', /tests\/test_orders\.py/u);
  assert.equal((await vectorAt(3)).embedded, 1);
  assert.equal((await vectorAt(3)).embedded, 0, 'the same state again embeds nothing');

  // The weighted mean, normalized, computed here from the segment vectors themselves.
  const segments = stateSegments(buildState({ task: TASK, steps: STEPS.slice(0, 2) }, 512).trajectory).segments;
  const parts = await embedder.embed(segments.map((s) => s.text));
  const expected = new Float64Array(embedder.dim);
  segments.forEach((s, i) => {
    for (let d = 0; d < embedder.dim; d++) expected[d] = (expected[d] ?? 0) + s.weight * (parts[i * embedder.dim + d] ?? 0);
  });
  const norm = Math.sqrt(expected.reduce((n, v) => n + v * v, 0));
  for (let d = 0; d < embedder.dim; d++) assert.ok(Math.abs((second.vector[d] ?? 0) - (expected[d] ?? 0) / norm) < 1e-6, `dimension ${String(d)}`);
});

test("segments reach the embedder with the policy's model-token cap, and a vector is cached under its cap", async () => {
  const inner = hashedEmbedder();
  const caps: (number | undefined)[] = [];
  const embedder: TextEmbedder = {
    ...inner,
    embed(texts, signal, options) {
      caps.push(options?.maxTokens);
      return inner.embed(texts, signal, options);
    },
  };
  const built = buildState({ task: TASK, steps: STEPS.slice(0, 1) }, 512);
  const cache = new SegmentCache();
  await stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, cache });
  assert.deepEqual(caps, [DEFAULT_SEGMENT_POLICY.modelTokens]);
  assert.equal(DEFAULT_SEGMENT_POLICY.modelTokens, 64);
  // Another cap is another vector: nothing is taken from the default's entries.
  const { modelTokens: _cap, ...uncapped } = DEFAULT_SEGMENT_POLICY;
  assert.equal((await stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, cache, policy: uncapped })).embedded, 2);
  assert.deepEqual(caps, [64, undefined]);
  assert.equal((await stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, cache })).embedded, 0);
});

test('a task cap of its own embeds the task in a call of its own, each segment cached under its own cap', async () => {
  const inner = hashedEmbedder();
  const calls: { texts: readonly string[]; cap: number | undefined }[] = [];
  const embedder: TextEmbedder = {
    ...inner,
    embed(texts, signal, options) {
      calls.push({ texts, cap: options?.maxTokens });
      return inner.embed(texts, signal, options);
    },
  };
  const policy = { ...DEFAULT_SEGMENT_POLICY, taskModelTokens: 32 };
  const built = buildState({ task: TASK, steps: STEPS.slice(0, 2) }, 512);
  const segments = stateSegments(built.trajectory, policy).segments;
  assert.deepEqual(segments.map((s) => s.maxTokens), [32, 64, 64]);
  const cache = new SegmentCache();
  const first = await stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, cache, policy });
  assert.equal(first.embedded, 3);
  assert.deepEqual(calls.map((c) => [c.cap, c.texts.length]), [[32, 1], [64, 2]], 'one call per cap, the steps together');
  assert.ok(calls[0]?.texts[0]?.startsWith('Task: '));
  // The same segments again come from the cache; the default policy (task under 64) embeds the task anew, not the steps.
  assert.equal((await stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, cache, policy })).embedded, 0);
  assert.equal((await stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, cache })).embedded, 1);
  assert.equal(calls.at(-1)?.cap, 64);
  assert.equal(cache.misses, 4);
});

test('the segment cache forgets the least recently used vector first', () => {
  const cache = new SegmentCache(2);
  const v = (x: number): Float32Array => Float32Array.of(x);
  cache.set('a', v(1));
  cache.set('b', v(2));
  assert.deepEqual(cache.get('a'), v(1));
  cache.set('c', v(3));
  assert.equal(cache.get('b'), undefined, 'b was the least recently used');
  assert.deepEqual(cache.get('a'), v(1));
  assert.deepEqual(cache.get('c'), v(3));
  assert.equal(cache.size, 2);
});

test('a free-text state, or a whole-state call, embeds the built text in one piece', async () => {
  const embedder = hashedEmbedder();
  const text = buildState({ text: 'the shell says command not found' }, 512);
  assert.equal((await stateVector({ embedder, trajectory: text.trajectory, wholeText: text.text, cache: new SegmentCache() })).segments, 1);
  assert.equal(embedder.seen.at(-1), text.text);
  const built = buildState({ task: TASK, steps: STEPS }, 512);
  await stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, mode: 'whole', cache: new SegmentCache() });
  assert.equal(embedder.seen.at(-1), built.text);
});

test('scoring in the warm arena picks exactly what the blocked loop picks, masks included', async () => {
  const dim = 32;
  const n = 300;
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  const unit = (count: number): Float32Array => {
    const m = Float32Array.from({ length: count * dim }, random);
    for (let r = 0; r < count; r++) {
      const row = m.subarray(r * dim, (r + 1) * dim);
      const norm = Math.sqrt(row.reduce((s, x) => s + x * x, 0));
      for (let d = 0; d < dim; d++) row[d] = (row[d] ?? 0) / norm;
    }
    return m;
  };
  const principles = unit(n);
  const arena = dotArena(principles, n, dim, 1);
  const mask = Uint8Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 2 : 0));
  for (let q = 0; q < 20; q++) {
    const state = unit(1);
    const config = { k: 5, scoreFloor: -1, mmrLambda: 0.7 };
    const [a] = await selectBatch({ states: state, rows: 1, principles, n, dim, config, maskFor: () => mask, kernel: jsKernel() });
    const [b] = await selectBatch({ states: state, rows: 1, principles, n, dim, config, maskFor: () => mask, kernel: arenaKernel(arena), arena, blockRows: 1 });
    assert.deepEqual(b, a);
  }
});

test('servePrinciples gives the fitting principle first both ways, and a session call embeds one segment', async (t) => {
  const store = freshStore(t);
  const embedder = hashedEmbedder();
  const cache = new SegmentCache();
  const state = { task: TASK, steps: STEPS.slice(0, 1) };
  const segmented = await servePrinciples({ store, embedder, state, k: 3, segmentCache: cache });
  const whole = await servePrinciples({ store, embedder, state, k: 3, stateEmbedding: 'whole' });
  assert.equal(segmented.principles[0]?.id, 'P1');
  assert.equal(whole.principles[0]?.id, 'P1');
  const misses = cache.misses;
  await servePrinciples({ store, embedder, state: { task: TASK, steps: STEPS.slice(0, 2) }, k: 3, segmentCache: cache });
  assert.equal(cache.misses - misses, 1);
});
