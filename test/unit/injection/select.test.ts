import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dotArena, dotF32 } from '../../../src/core/injection/exactDot.js';
import { dot, gemmJs, jsKernel, onnxKernel } from '../../../src/core/injection/gemm.js';
import { ALLOWED, BLOCKED_INTERNALIZED, BLOCKED_SCOPE, mmr, selectBatch, TopK } from '../../../src/core/injection/select.js';

/** Deterministic pseudo-random unit vectors (mulberry32), so failures reproduce. */
function unitRows(rows: number, dim: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const v = rand() - 0.5;
      out[r * dim + d] = v;
      norm += v * v;
    }
    for (let d = 0; d < dim; d++) out[r * dim + d] = (out[r * dim + d] ?? 0) / Math.sqrt(norm);
  }
  return out;
}

test('TopK keeps the best k, ties by lower index', () => {
  const heap = new TopK(3);
  [0.5, 0.9, 0.1, 0.9, 0.7, 0.2].forEach((s, i) => {
    heap.push(s, i);
  });
  assert.deepEqual(heap.sorted(), [{ index: 1, score: 0.9 }, { index: 3, score: 0.9 }, { index: 4, score: 0.7 }]);
});

test('the blocked loop computes the same products as plain dot products (odd sizes)', () => {
  const dim = 37;
  const a = unitRows(11, dim, 1);
  const b = unitRows(261, dim, 2);
  const out = gemmJs(a, 11, b, 261, dim);
  for (let r = 0; r < 11; r++) for (let c = 0; c < 261; c++) assert.ok(Math.abs((out[r * 261 + c] ?? 0) - dot(a, r * dim, b, c * dim, dim)) < 1e-5);
});

test('the onnxruntime kernel agrees with the loop', async (t) => {
  const dim = 64;
  const kernel = await onnxKernel(dim, 1);
  if ('error' in kernel) {
    t.skip(`onnxruntime-node is not usable here: ${kernel.error}`);
    return;
  }
  try {
    const a = unitRows(9, dim, 3);
    const b = unitRows(130, dim, 4);
    const fromOrt = await kernel.scores(a, 9, b, 130, dim);
    const fromLoop = gemmJs(a, 9, b, 130, dim);
    assert.equal(fromOrt.length, fromLoop.length);
    fromOrt.forEach((v, i) => {
      assert.ok(Math.abs(v - (fromLoop[i] ?? 0)) < 1e-5);
    });
  } finally {
    await kernel.dispose();
  }
});

test('selectBatch agrees with a per-row sort, and filters come before ranking', async () => {
  const dim = 32;
  const n = 300;
  const rows = 20;
  const states = unitRows(rows, dim, 5);
  const principles = unitRows(n, dim, 6);
  const mask = new Uint8Array(n);
  for (let c = 0; c < n; c += 3) mask[c] = BLOCKED_SCOPE;
  for (let c = 1; c < n; c += 7) mask[c] = BLOCKED_INTERNALIZED;
  const result = await selectBatch({ states, rows, principles, n, dim, maskFor: () => mask, config: { k: 5, scoreFloor: -1, mmrLambda: 1 }, kernel: jsKernel() });
  for (let r = 0; r < rows; r++) {
    const expected = Array.from({ length: n }, (_, c) => ({ c, s: dot(states, r * dim, principles, c * dim, dim) }))
      .filter((x) => mask[x.c] === ALLOWED)
      .sort((x, y) => y.s - x.s)
      .slice(0, 5)
      .map((x) => x.c);
    assert.deepEqual(result[r]?.picks.map((p) => p.index), expected, `row ${String(r)}`);
    for (const b of result[r]?.blocked ?? []) assert.equal(b.cause, mask[b.index] === BLOCKED_SCOPE ? 'scope' : 'internalized');
  }
});

test('the score floor leaves weak principles out and reports them', async () => {
  const dim = 4;
  const states = Float32Array.from([1, 0, 0, 0]);
  const principles = Float32Array.from([0.9, Math.sqrt(1 - 0.81), 0, 0, 0.1, Math.sqrt(0.99), 0, 0]);
  const [row] = await selectBatch({ states, rows: 1, principles, n: 2, dim, config: { k: 2, scoreFloor: 0.5, mmrLambda: 1 }, kernel: jsKernel() });
  assert.deepEqual(row?.picks.map((p) => p.index), [0]);
  assert.deepEqual(row.blocked.map((b) => [b.index, b.cause]), [[1, 'below-floor']]);
});

test('MMR passes over a near-duplicate of what it already picked', () => {
  const candidates = [{ index: 0, score: 0.9 }, { index: 1, score: 0.89 }, { index: 2, score: 0.6 }];
  const sim = (i: number, j: number): number => (i === j ? 1 : (i < 2 && j < 2 ? 0.99 : 0.1));
  assert.deepEqual(mmr(candidates, 2, 1, sim).map((p) => p.index), [0, 1], 'relevance only');
  const diverse = mmr(candidates, 2, 0.5, sim);
  assert.deepEqual(diverse.map((p) => p.index), [0, 2]);
  assert.ok(Math.abs((diverse[1]?.mmr ?? 0) - (0.5 * 0.6 - 0.5 * 0.1)) < 1e-9);
});

test('an empty pool or k = 0 selects nothing without failing', async () => {
  const states = unitRows(3, 8, 7);
  const empty = await selectBatch({ states, rows: 3, principles: new Float32Array(0), n: 0, dim: 8, config: { k: 5, scoreFloor: 0, mmrLambda: 0.7 } });
  assert.deepEqual(empty.map((r) => r.picks.length), [0, 0, 0]);
});

test('a pool of 10,000 selects k per row, block by block', async () => {
  const dim = 48;
  const n = 10_000;
  const states = unitRows(5, dim, 8);
  const principles = unitRows(n, dim, 9);
  const result = await selectBatch({ states, rows: 5, principles, n, dim, config: { k: 8, scoreFloor: -1, mmrLambda: 0.7 }, blockRows: 2, kernel: jsKernel() });
  assert.equal(result.length, 5);
  for (const [r, row] of result.entries()) {
    assert.equal(row.picks.length, 8);
    const best = Math.max(...Array.from({ length: n }, (_, c) => dot(states, r * dim, principles, c * dim, dim)));
    assert.ok(Math.abs((row.picks[0]?.cosine ?? 0) - best) < 1e-6, 'the first pick is the best match');
  }
});

test('picks and cosines do not depend on the kernel or on which states share the product', async (t) => {
  const dim = 64;
  const n = 500;
  const states = unitRows(40, dim, 10);
  const principles = unitRows(n, dim, 11);
  const config = { k: 5, scoreFloor: 0, mmrLambda: 0.7 };
  const loop = await selectBatch({ states, rows: 40, principles, n, dim, config, kernel: jsKernel() });
  const alone = await selectBatch({ states: states.subarray(7 * dim, 8 * dim), rows: 1, principles, n, dim, config, kernel: jsKernel() });
  assert.deepEqual(alone[0], loop[7]);
  const ort = await onnxKernel(dim, 1);
  if ('error' in ort) {
    t.skip(`onnxruntime-node is not usable here: ${ort.error}`);
    return;
  }
  try {
    // Unfiltered blocks take the kernel's own top-k; filtered ones its score rows: both agree with the loop.
    assert.deepEqual(await selectBatch({ states, rows: 40, principles, n, dim, config, kernel: ort, blockRows: 16 }), loop);
    const mask = new Uint8Array(n).map((_, c) => (c % 5 === 0 ? BLOCKED_SCOPE : ALLOWED));
    const maskFor = (row: number): Uint8Array | undefined => (row % 2 === 0 ? mask : undefined);
    assert.deepEqual(
      await selectBatch({ states, rows: 40, principles, n, dim, config, kernel: ort, blockRows: 16, maskFor }),
      await selectBatch({ states, rows: 40, principles, n, dim, config, kernel: jsKernel(), maskFor }),
    );
  } finally {
    await ort.dispose();
  }
});

test('the WebAssembly dot and its JavaScript stand-in give the same bits', () => {
  for (const dim of [4, 64, 384]) {
    const p = unitRows(30, dim, 12 + dim);
    const s = unitRows(3, dim, 13 + dim);
    const arena = dotArena(p, 30, dim, 3);
    arena.loadStates(s, 0, 3);
    for (let q = 0; q < 3; q++) for (let c = 0; c < 30; c++) assert.equal(arena.state(q, c), dotF32(s, q * dim, p, c * dim, dim));
    for (let i = 0; i < 30; i++) {
      assert.equal(arena.principles(i, (i * 7) % 30), dotF32(p, i * dim, p, ((i * 7) % 30) * dim, dim));
      assert.ok(Math.abs(arena.principles(i, i) - 1) < 1e-5, 'unit vectors');
    }
  }
});
