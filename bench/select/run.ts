/**
 * Selection at dataset scale: 60,000 decision states against 2,000 principles at dimension 384
 * (random unit vectors: speed does not depend on what the vectors mean), top 5 with MMR among the
 * top 20. Measured in one run against its peer, a per-state loop of dot products with a sort-free
 * top-k, on a subset of states extrapolated to all of them (said so in the output).
 *
 *   npx tsx bench/select/run.ts [--states 60000] [--principles 2000] [--dim 384] [--loop-states 3000] [--filtered]
 *
 * `--filtered` leaves every tenth principle out of scope for every state, as a real pool's scopes
 * do: the product's score rows then come back to JavaScript for the filtered heap scan instead of
 * the kernel's own top-k.
 */
import { loadavg } from 'node:os';
import { jsKernel, onnxKernel, type ScoreKernel } from '../../src/core/injection/gemm.js';
import { ALLOWED, BLOCKED_SCOPE, selectBatch, TopK } from '../../src/core/injection/select.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`);
  return v;
}

function unitRows(rows: number, dim: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const v = s / 4294967296 - 0.5;
      out[r * dim + d] = v;
      norm += v * v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < dim; d++) out[r * dim + d] = out[r * dim + d]! * inv;
  }
  return out;
}

/** The peer: for each state, a dot product with every principle, then a top-k. */
function perStateLoop(states: Float32Array, rows: number, principles: Float32Array, n: number, dim: number, k: number): number {
  const heap = new TopK(k);
  let checksum = 0;
  for (let r = 0; r < rows; r++) {
    heap.reset();
    const so = r * dim;
    for (let c = 0; c < n; c++) {
      const po = c * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) s += states[so + d]! * principles[po + d]!;
      heap.push(s, c);
    }
    checksum += heap.sorted()[0]?.index ?? 0;
  }
  return checksum;
}

/** CPU seconds of this process (all its threads), beside wall seconds: on a shared machine the wall time says how busy the others were. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

let lastCpu = 0;

const filtered = process.argv.includes('--filtered');

async function timeBatched(kernel: ScoreKernel, states: Float32Array, rows: number, principles: Float32Array, n: number, dim: number): Promise<number> {
  const mask = filtered ? new Uint8Array(n).map((_, c) => (c % 10 === 0 ? BLOCKED_SCOPE : ALLOWED)) : undefined;
  const c0 = cpuSeconds();
  const t0 = performance.now();
  const out = await selectBatch({ states, rows, principles, n, dim, config: { k: 5, scoreFloor: -1, mmrLambda: 0.7, candidates: 20 }, kernel, maskFor: () => mask });
  const seconds = (performance.now() - t0) / 1000;
  lastCpu = cpuSeconds() - c0;
  if (out.length !== rows || out.some((r) => r.picks.length !== 5)) throw new Error('the batched selector did not pick 5 for every state');
  return seconds;
}

async function main(): Promise<void> {
  const rows = arg('states', 60_000);
  const n = arg('principles', 2_000);
  const dim = arg('dim', 384);
  const loopRows = Math.min(rows, arg('loop-states', 3_000));
  const states = unitRows(rows, dim, 1);
  const principles = unitRows(n, dim, 2);
  console.log(`${String(rows)} states × ${String(n)} principles, dim ${String(dim)}, k 5 (MMR among the top 20)${filtered ? ', every tenth principle filtered out' : ''}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  const onnx = await onnxKernel(dim);
  let batched: number | undefined;
  if ('error' in onnx) console.log(`onnxruntime kernel unavailable: ${onnx.error}`);
  else {
    await timeBatched(onnx, states.subarray(0, 64 * dim), 64, principles, n, dim); // session warm-up, not timed
    batched = await timeBatched(onnx, states, rows, principles, n, dim);
    console.log(`batched (${onnx.detail}): ${batched.toFixed(2)} s wall, ${lastCpu.toFixed(2)} s CPU`);
    await onnx.dispose();
  }
  const jsRows = Math.min(rows, loopRows * 2);
  const js = (await timeBatched(jsKernel(), states, jsRows, principles, n, dim)) * (rows / jsRows);
  console.log(`batched (${jsKernel().detail}): ${js.toFixed(2)} s wall, ${(lastCpu * (rows / jsRows)).toFixed(2)} s CPU${jsRows < rows ? ` (extrapolated from ${String(jsRows)} states)` : ''}`);

  const c0 = cpuSeconds();
  const t0 = performance.now();
  perStateLoop(states, loopRows, principles, n, dim, 5);
  const loop = ((performance.now() - t0) / 1000) * (rows / loopRows);
  console.log(`per-state loop of dot products: ${loop.toFixed(2)} s wall, ${((cpuSeconds() - c0) * (rows / loopRows)).toFixed(2)} s CPU${loopRows < rows ? ` (extrapolated from ${String(loopRows)} states)` : ''}`);
  const best = batched ?? js;
  console.log(`ratio loop / batched: ${(loop / best).toFixed(1)}×; loop / blocked JS: ${(loop / js).toFixed(1)}× (wall); load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
