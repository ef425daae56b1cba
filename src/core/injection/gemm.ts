/**
 * The score matrix of selection, states × principlesᵀ, as one matrix product per block of states.
 *
 * Two kernels behind one interface: onnxruntime-node's Gemm (MLAS: SIMD and the machine's cores),
 * used when the product is large enough to repay loading the runtime, and a blocked loop over
 * Float32Array (four states × two principles per inner pass, principles tiled to stay in cache),
 * which needs nothing and is what small plans use. Both compute the same dot products; they can
 * differ in the last bits of a float, so a caller that must be reproducible picks by size alone
 * (chooseKernel), never by timing.
 */
import { createRequire } from 'node:module';

export interface ScoreKernel {
  readonly kind: 'onnx' | 'js' | 'wasm';
  /** In words, for benchmarks and the CLI: "onnxruntime-node 1.30.0 Gemm, 2 threads". */
  readonly detail: string;
  /**
   * Writes `states[rows × dim] · principles[n × dim]ᵀ` into a new `rows × n` Float32Array.
   * Both matrices are row-major and L2-normalized by the caller, so the products are cosines.
   */
  scores(states: Float32Array, rows: number, principles: Float32Array, n: number, dim: number): Promise<Float32Array>;
  /**
   * The best `k` principles of each row of the same product, best first (ties: lower index first),
   * without the whole score matrix leaving the kernel: `rows × k` indices and scores.
   */
  topK?(states: Float32Array, rows: number, principles: Float32Array, n: number, dim: number, k: number): Promise<{ readonly indices: ArrayLike<bigint | number>; readonly scores: Float32Array }>;
  dispose(): Promise<void>;
}

/** Principles per cache tile of the blocked loop: 128 × 384 floats is 192 KiB, well inside L2. */
const TILE = 128;

/** The blocked loop: no dependencies, deterministic, about 3× a plain dot-product loop. */
export function jsKernel(): ScoreKernel {
  return {
    kind: 'js',
    detail: 'blocked Float32Array loop (4 states × 2 principles per pass)',
    scores(states, rows, principles, n, dim) {
      return Promise.resolve(gemmJs(states, rows, principles, n, dim));
    },
    dispose: () => Promise.resolve(),
  };
}

export function gemmJs(a: Float32Array, rows: number, b: Float32Array, n: number, dim: number): Float32Array {
  const out = new Float32Array(rows * n);
  for (let c0 = 0; c0 < n; c0 += TILE) {
    const c1 = Math.min(n, c0 + TILE);
    let r = 0;
    for (; r + 4 <= rows; r += 4) {
      const a0 = r * dim;
      const a1 = a0 + dim;
      const a2 = a1 + dim;
      const a3 = a2 + dim;
      let c = c0;
      for (; c + 2 <= c1; c += 2) {
        const b0 = c * dim;
        const b1 = b0 + dim;
        let s00 = 0, s01 = 0, s10 = 0, s11 = 0, s20 = 0, s21 = 0, s30 = 0, s31 = 0;
        for (let d = 0; d < dim; d++) {
          const x0 = b[b0 + d] ?? 0;
          const x1 = b[b1 + d] ?? 0;
          const y0 = a[a0 + d] ?? 0;
          const y1 = a[a1 + d] ?? 0;
          const y2 = a[a2 + d] ?? 0;
          const y3 = a[a3 + d] ?? 0;
          s00 += y0 * x0; s01 += y0 * x1;
          s10 += y1 * x0; s11 += y1 * x1;
          s20 += y2 * x0; s21 += y2 * x1;
          s30 += y3 * x0; s31 += y3 * x1;
        }
        out[r * n + c] = s00; out[r * n + c + 1] = s01;
        out[(r + 1) * n + c] = s10; out[(r + 1) * n + c + 1] = s11;
        out[(r + 2) * n + c] = s20; out[(r + 2) * n + c + 1] = s21;
        out[(r + 3) * n + c] = s30; out[(r + 3) * n + c + 1] = s31;
      }
      for (; c < c1; c++) for (let q = 0; q < 4; q++) out[(r + q) * n + c] = dot(a, (r + q) * dim, b, c * dim, dim);
    }
    for (; r < rows; r++) for (let c = c0; c < c1; c++) out[r * n + c] = dot(a, r * dim, b, c * dim, dim);
  }
  return out;
}

/** One dot product in a fixed order (four interleaved partial sums), so the same inputs always give the same bits. */
export function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let d = 0;
  for (; d + 4 <= dim; d += 4) {
    s0 += (a[ao + d] ?? 0) * (b[bo + d] ?? 0);
    s1 += (a[ao + d + 1] ?? 0) * (b[bo + d + 1] ?? 0);
    s2 += (a[ao + d + 2] ?? 0) * (b[bo + d + 2] ?? 0);
    s3 += (a[ao + d + 3] ?? 0) * (b[bo + d + 3] ?? 0);
  }
  for (; d < dim; d++) s0 += (a[ao + d] ?? 0) * (b[bo + d] ?? 0);
  return s0 + s1 + (s2 + s3);
}

// --- onnxruntime-node ------------------------------------------------------------------------
// The graph is one Gemm node (transB = 1, so the principle matrix is used as stored). It is
// written here as ONNX protobuf bytes: a dozen fields, not worth a protobuf dependency.

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const field = (no: number, wire: number): number[] => varint(no * 8 + wire);
const bytesField = (no: number, b: readonly number[]): number[] => [...field(no, 2), ...varint(b.length), ...b];
const stringField = (no: number, s: string): number[] => bytesField(no, [...Buffer.from(s, 'utf8')]);
const intField = (no: number, v: number): number[] => [...field(no, 0), ...varint(v)];

function valueInfo(name: string, dims: readonly (string | number)[], elemType = 1 /* FLOAT */): number[] {
  const shape = dims.flatMap((d) => bytesField(1, typeof d === 'string' ? stringField(2, d) : intField(1, d)));
  const tensorType = [...intField(1, elemType), ...bytesField(2, shape)];
  return [...stringField(1, name), ...bytesField(2, bytesField(1, tensorType))];
}

/**
 * ModelProto bytes of `Y = A · Bᵀ` for float A [rows, dim] and B [n, dim]; with `topK`, instead the
 * best K of each row of Y (ONNX TopK: largest first, the lower index first among equals) as V and I.
 */
export function gemmModel(dim: number, topK = false): Uint8Array {
  const transB = [...stringField(1, 'transB'), ...intField(3, 1), ...intField(20, 2 /* INT */)];
  const gemm = [...stringField(1, 'A'), ...stringField(1, 'B'), ...stringField(2, 'Y'), ...stringField(4, 'Gemm'), ...bytesField(5, transB)];
  const top = [...stringField(1, 'Y'), ...stringField(1, 'K'), ...stringField(2, 'V'), ...stringField(2, 'I'), ...stringField(4, 'TopK')];
  const graph = [
    ...bytesField(1, gemm),
    ...(topK ? bytesField(1, top) : []),
    ...stringField(2, 'internalize-select'),
    ...bytesField(11, valueInfo('A', ['rows', dim])),
    ...bytesField(11, valueInfo('B', ['n', dim])),
    ...(topK ? [...bytesField(11, valueInfo('K', [1], 7 /* INT64 */)), ...bytesField(12, valueInfo('V', ['rows', 'k'])), ...bytesField(12, valueInfo('I', ['rows', 'k'], 7))] : bytesField(12, valueInfo('Y', ['rows', 'n']))),
  ];
  const opset = [...stringField(1, ''), ...intField(2, 13)];
  return Uint8Array.from([...intField(1, 8 /* IR version */), ...bytesField(7, graph), ...bytesField(8, opset)]);
}

type Ort = typeof import('onnxruntime-node');

let ortLoad: { ort?: Ort; error?: string } | undefined;

/** onnxruntime-node, loaded on first use (it is a native module and costs ~100 ms to load). */
export function loadOrt(): { ort?: Ort; error?: string } {
  if (ortLoad !== undefined) return ortLoad;
  try {
    const req = createRequire(__filename);
    ortLoad = { ort: req('onnxruntime-node') as Ort };
  } catch (error) {
    ortLoad = { error: error instanceof Error ? error.message : String(error) };
  }
  return ortLoad;
}

/** The onnxruntime kernel, or undefined with the reason when the runtime cannot be loaded. */
export async function onnxKernel(dim: number, threads = 0): Promise<ScoreKernel | { error: string }> {
  const { ort, error } = loadOrt();
  if (ort === undefined) return { error: `onnxruntime-node could not be loaded (${error ?? 'unknown reason'})` };
  let session: Awaited<ReturnType<Ort['InferenceSession']['create']>>;
  try {
    session = await ort.InferenceSession.create(gemmModel(dim), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  } catch (e) {
    return { error: `onnxruntime-node could not build the selection graph (${e instanceof Error ? e.message : String(e)})` };
  }
  let principleTensor: { data: Float32Array; n: number; tensor: InstanceType<Ort['Tensor']> } | undefined;
  const wrapPrinciples = (principles: Float32Array, n: number): InstanceType<Ort['Tensor']> => {
    // The same principle matrix is passed for every block of states: wrap it once.
    if (principleTensor?.data !== principles || principleTensor.n !== n) {
      principleTensor = { data: principles, n, tensor: new ort.Tensor('float32', principles.subarray(0, n * dim), [n, dim]) };
    }
    return principleTensor.tensor;
  };
  let topSession: Promise<Awaited<ReturnType<Ort['InferenceSession']['create']>>> | undefined;
  return {
    kind: 'onnx',
    detail: `onnxruntime-node ${ort.env.versions.node ?? ''} Gemm + TopK${threads > 0 ? `, ${String(threads)} threads` : ''}`.trim(),
    async scores(states, rows, principles, n, dim2) {
      if (dim2 !== dim) throw new RangeError(`The selection graph was built for dimension ${String(dim)}, not ${String(dim2)}.`);
      if (rows === 0 || n === 0) return new Float32Array(rows * n);
      const a = new ort.Tensor('float32', states.subarray(0, rows * dim), [rows, dim]);
      const result = await session.run({ A: a, B: wrapPrinciples(principles, n) });
      const y = result.Y;
      if (y === undefined || !(y.data instanceof Float32Array)) throw new Error('onnxruntime returned no float scores for the selection graph.');
      return y.data;
    },
    async topK(states, rows, principles, n, dim2, k) {
      if (dim2 !== dim) throw new RangeError(`The selection graph was built for dimension ${String(dim)}, not ${String(dim2)}.`);
      topSession ??= ort.InferenceSession.create(gemmModel(dim, true), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
      const a = new ort.Tensor('float32', states.subarray(0, rows * dim), [rows, dim]);
      const kk = new ort.Tensor('int64', BigInt64Array.from([BigInt(Math.min(k, n))]), [1]);
      const result = await (await topSession).run({ A: a, B: wrapPrinciples(principles, n), K: kk });
      const v = result.V;
      const i = result.I;
      if (v === undefined || !(v.data instanceof Float32Array) || i === undefined || !(i.data instanceof BigInt64Array)) throw new Error('onnxruntime returned no top-k for the selection graph.');
      return { scores: v.data, indices: i.data };
    },
    async dispose() {
      await session.release();
      if (topSession !== undefined) await (await topSession).release();
    },
  };
}

/** Products below this many multiply-adds run in the loop: loading the runtime costs more. */
export const ONNX_MIN_MACS = 50_000_000;

/**
 * The kernel for a product of this size: onnxruntime when it is large and loads, else the loop.
 * Chosen by size only, so the same plan always takes the same kernel.
 */
export async function chooseKernel(rows: number, n: number, dim: number, prefer: 'auto' | 'js' | 'onnx' = 'auto'): Promise<{ kernel: ScoreKernel; note?: string }> {
  if (prefer === 'js' || (prefer === 'auto' && rows * n * dim < ONNX_MIN_MACS)) return { kernel: jsKernel() };
  const onnx = await onnxKernel(dim);
  if ('error' in onnx) return { kernel: jsKernel(), note: `${onnx.error}; using the Float32Array loop` };
  return { kernel: onnx };
}
