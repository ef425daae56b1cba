import type { ScoreKernel } from './gemm.js';

/**
 * The one dot product whose results the plan reports: float32 arithmetic in four lanes summed in a
 * fixed order, computed by a 139-byte WebAssembly SIMD function (about ten times the plain
 * JavaScript loop), or by `dotF32`, which performs the very same roundings in JavaScript where
 * WebAssembly SIMD is missing or the dimension is not a multiple of four. Either way the same
 * vectors give the same bits, so a state's cosines do not depend on the machine's kernel or batch.
 */

/**
 * Compiled from this text (wabt 1.0.37, SIMD enabled):
 *   (func (export "dot") (param $a i32) (param $b i32) (param $n i32) (result f32)
 *     acc := 0 (f32x4); for each 16 bytes: acc := acc + load(a) * load(b)
 *     result := (acc[0] + acc[1]) + (acc[2] + acc[3]))
 * with one exported memory.
 */
const DOT_WASM =
  'AGFzbQEAAAABCAFgA39/fwF9AwIBAAUDAQABBxACBm1lbW9yeQIAA2RvdAAAClwBWgIBewF/IAAgAkECdGohBAJAA0AgACAETw0BIAMgAP0ABAAgAf0ABAD95gH95AEhAyAAQRBqIQAgAUEQaiEBDAALCyAD/R8AIAP9HwGSIAP9HwIgA/0fA5KSCw==';

const f = Math.fround;

/** The same arithmetic as the WebAssembly function, in JavaScript (every product and sum rounded to float32). */
export function dotF32(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let l0 = 0, l1 = 0, l2 = 0, l3 = 0;
  let d = 0;
  for (; d + 4 <= dim; d += 4) {
    l0 = f(l0 + f((a[ao + d] ?? 0) * (b[bo + d] ?? 0)));
    l1 = f(l1 + f((a[ao + d + 1] ?? 0) * (b[bo + d + 1] ?? 0)));
    l2 = f(l2 + f((a[ao + d + 2] ?? 0) * (b[bo + d + 2] ?? 0)));
    l3 = f(l3 + f((a[ao + d + 3] ?? 0) * (b[bo + d + 3] ?? 0)));
  }
  // A tail only exists off the WebAssembly path (dimension not a multiple of four); it goes to lane 0 in order.
  for (; d < dim; d++) l0 = f(l0 + f((a[ao + d] ?? 0) * (b[bo + d] ?? 0)));
  return f(f(l0 + l1) + f(l2 + l3));
}

type WasmDot = (a: number, b: number, n: number) => number;

let compiled: WebAssembly.Module | null | undefined;

function wasmModule(): WebAssembly.Module | undefined {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Buffer.from(DOT_WASM, 'base64'));
    } catch {
      compiled = null;
    }
  }
  return compiled ?? undefined;
}

/** Principles and one block of states copied into WebAssembly memory, dotted there. */
export interface DotArena {
  /** Copies `rows` states starting at row `from` of `states` in as the current block. */
  loadStates(states: Float32Array, from: number, rows: number): void;
  /** Current block's state `q` · principle `c`. */
  state(q: number, c: number): number;
  /** Principle `i` · principle `j`. */
  principles(i: number, j: number): number;
}

const PAGE = 65_536;

/** An arena for `principles` (n × dim), or a JavaScript stand-in with identical results. */
export function dotArena(principles: Float32Array, n: number, dim: number, maxRows: number): DotArena {
  const module = dim % 4 === 0 ? wasmModule() : undefined;
  if (module !== undefined) {
    const instance = new WebAssembly.Instance(module, {});
    const memory = instance.exports.memory as WebAssembly.Memory;
    const dot = instance.exports.dot as WasmDot;
    const principleBytes = n * dim * 4;
    const needed = principleBytes + maxRows * dim * 4;
    if (needed > memory.buffer.byteLength) memory.grow(Math.ceil((needed - memory.buffer.byteLength) / PAGE));
    new Float32Array(memory.buffer, 0, n * dim).set(principles.subarray(0, n * dim));
    const stride = dim * 4;
    return {
      loadStates(states, from, rows) {
        new Float32Array(memory.buffer, principleBytes, rows * dim).set(states.subarray(from * dim, (from + rows) * dim));
      },
      state: (q, c) => dot(principleBytes + q * stride, c * stride, dim),
      principles: (i, j) => dot(i * stride, j * stride, dim),
    };
  }
  let block: Float32Array = new Float32Array(0);
  return {
    loadStates(states, from, rows) {
      block = states.subarray(from * dim, (from + rows) * dim);
    },
    state: (q, c) => dotF32(block, q * dim, principles, c * dim, dim),
    principles: (i, j) => dotF32(principles, i * dim, principles, j * dim, dim),
  };
}

/**
 * A score kernel over an arena that already holds the principles: each state's row is its exact
 * dots, so no product is computed twice and nothing is copied but the state. For one state against
 * a warm pool (serving) this is far cheaper than copying the pool into a fresh arena and running the
 * blocked loop; `principles` must be the matrix the arena was built from.
 */
export function arenaKernel(arena: DotArena): ScoreKernel {
  return {
    kind: 'wasm',
    detail: 'exact dots in the warm arena (WebAssembly SIMD where available)',
    scores(states, rows, _principles, n) {
      const out = new Float32Array(rows * n);
      for (let r = 0; r < rows; r++) {
        arena.loadStates(states, r, 1);
        for (let c = 0; c < n; c++) out[r * n + c] = arena.state(0, c);
      }
      return Promise.resolve(out);
    },
    dispose: () => Promise.resolve(),
  };
}
