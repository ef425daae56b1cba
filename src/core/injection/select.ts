/**
 * Batched selection: many decision states against one principle pool at once.
 *
 * states [rows × dim] · principles [n × dim]ᵀ is computed block by block (gemm.ts); each row of
 * the block is scanned once with two small heaps: the best `candidates` principles that the row's
 * filters allow, and the best `k` blocked ones (to report what a filter or the floor kept out of
 * the unfiltered top k). The candidates' cosines are recomputed exactly (see `exact`), then MMR
 * picks up to `k` among those at or above the score floor. Rows from different trajectories can
 * share a call: each row names its own filter mask.
 */
import { dotArena, type DotArena } from './exactDot.js';
import type { ScoreKernel } from './gemm.js';
import { chooseKernel } from './gemm.js';

/** Why a principle is not allowed for a row. */
export const ALLOWED = 0;
export const BLOCKED_INTERNALIZED = 1;
export const BLOCKED_SCOPE = 2;

export interface SelectConfig {
  readonly k: number;
  readonly scoreFloor: number;
  readonly mmrLambda: number;
  /** How many top principles MMR chooses among (default max(4k, 16)). */
  readonly candidates?: number;
}

export interface Pick {
  readonly index: number;
  readonly cosine: number;
  readonly mmr: number;
}

export interface Blocked {
  readonly index: number;
  readonly cosine: number;
  readonly cause: 'internalized' | 'scope' | 'below-floor';
}

export interface RowSelection {
  /** In pick order. */
  readonly picks: readonly Pick[];
  /** Principles in the unfiltered top k that a filter or the floor kept out, best first. */
  readonly blocked: readonly Blocked[];
  /** Allowed candidates, best first (what a re-rank may choose from); only with `keepCandidates`. */
  readonly candidates: readonly Pick[];
}

export interface SelectInput {
  readonly states: Float32Array;
  readonly rows: number;
  readonly principles: Float32Array;
  readonly n: number;
  readonly dim: number;
  /** Per row: a mask of length n (ALLOWED / BLOCKED_*), or undefined when everything is allowed. Rows may share one mask. */
  readonly maskFor?: (row: number) => Uint8Array | undefined;
  readonly config: SelectConfig;
  /** Rows per matrix product; bounds the score buffer (rows × n floats). */
  readonly blockRows?: number;
  readonly kernel?: ScoreKernel;
  /**
   * An arena already holding `principles` (dotArena(principles, n, dim, rows ≥ blockRows)): a server
   * asking about one state at a time against the same warm pool saves copying the pool in per call.
   */
  readonly arena?: DotArena;
  /** Return each row's allowed candidates (a re-rank chooses among them); off, `candidates` is empty. */
  readonly keepCandidates?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * A fixed-capacity min-heap of (score, index): the root is the weakest kept entry, so a new score
 * costs one comparison unless it beats it. Ties prefer the lower index, which keeps results stable.
 */
export class TopK {
  private readonly scores: Float64Array;
  private readonly ids: Int32Array;
  size = 0;
  /**
   * A score below this cannot enter (the weakest kept score once full, else −∞): the scan of a
   * score row compares against it inline and calls push only for the few that may enter.
   */
  floor = -Infinity;

  constructor(readonly capacity: number) {
    this.scores = new Float64Array(Math.max(capacity, 1));
    this.ids = new Int32Array(Math.max(capacity, 1));
  }

  reset(): void {
    this.size = 0;
    this.floor = -Infinity;
  }

  /** Whether (a, ia) ranks below (b, ib). */
  private static weaker(a: number, ia: number, b: number, ib: number): boolean {
    return a < b || (a === b && ia > ib);
  }

  push(score: number, index: number): void {
    if (this.capacity === 0) return;
    if (this.size < this.capacity) {
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!TopK.weaker(score, index, this.scores[parent] ?? 0, this.ids[parent] ?? 0)) break;
        this.scores[i] = this.scores[parent] ?? 0;
        this.ids[i] = this.ids[parent] ?? 0;
        i = parent;
      }
      this.scores[i] = score;
      this.ids[i] = index;
      if (this.size === this.capacity) this.floor = this.scores[0] ?? -Infinity;
      return;
    }
    if (!TopK.weaker(this.scores[0] ?? 0, this.ids[0] ?? 0, score, index)) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const child = r < this.size && TopK.weaker(this.scores[r] ?? 0, this.ids[r] ?? 0, this.scores[l] ?? 0, this.ids[l] ?? 0) ? r : l;
      if (!TopK.weaker(this.scores[child] ?? 0, this.ids[child] ?? 0, score, index)) break;
      this.scores[i] = this.scores[child] ?? 0;
      this.ids[i] = this.ids[child] ?? 0;
      i = child;
    }
    this.scores[i] = score;
    this.ids[i] = index;
    this.floor = this.scores[0] ?? -Infinity;
  }

  /** The kept entries in heap order (unsorted). */
  entries(): { index: number; score: number }[] {
    const out: { index: number; score: number }[] = [];
    for (let i = 0; i < this.size; i++) out.push({ index: this.ids[i] ?? 0, score: this.scores[i] ?? 0 });
    return out;
  }

  /** The kept entries, best first. */
  sorted(): { index: number; score: number }[] {
    return this.entries().sort((a, b) => b.score - a.score || a.index - b.index);
  }
}

/**
 * Maximal marginal relevance among `candidates` (best first): each pick maximizes
 * λ·cosine − (1−λ)·max similarity to what is already picked. `similarity(i, j)` compares principles.
 */
export function mmr(
  candidates: readonly { index: number; score: number }[],
  k: number,
  lambda: number,
  similarity: (i: number, j: number) => number,
  scratch: { maxSim: Float64Array; taken: Uint8Array } = { maxSim: new Float64Array(candidates.length), taken: new Uint8Array(candidates.length) },
): Pick[] {
  const count = candidates.length;
  const picks: Pick[] = [];
  // Reused across rows by the batch: no allocation per decision state.
  const maxSim = scratch.maxSim.length >= count ? scratch.maxSim : new Float64Array(count);
  const taken = scratch.taken.length >= count ? scratch.taken : new Uint8Array(count);
  maxSim.fill(-Infinity, 0, count);
  taken.fill(0, 0, count);
  const rounds = Math.min(k, count);
  // Plain loops: this runs once per decision state, tens of thousands of times in a dataset build.
  for (let round = 0; round < rounds; round++) {
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < count; i++) {
      if (taken[i] === 1) continue;
      const redundancy = round === 0 ? 0 : (maxSim[i] ?? 0);
      const value = lambda * (candidates[i]?.score ?? 0) - (1 - lambda) * redundancy;
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    const chosen = candidates[best];
    if (chosen === undefined) break;
    taken[best] = 1;
    picks.push({ index: chosen.index, cosine: chosen.score, mmr: bestValue });
    if (round + 1 === rounds) break;
    for (let i = 0; i < count; i++) {
      if (taken[i] === 1) continue;
      const sim = similarity(candidates[i]?.index ?? 0, chosen.index);
      if (sim > (maxSim[i] ?? -Infinity)) maxSim[i] = sim;
    }
  }
  return picks;
}

/**
 * Scans one row of scores into the heaps: one comparison per score against each heap's entry
 * floor. Kept apart from selectBatch so the engine optimizes this loop on its own.
 */
function scanRow(scores: Float32Array, base: number, n: number, mask: Uint8Array | undefined, allowed: TopK, blocked: TopK): void {
  let allowedFloor = -Infinity;
  if (mask === undefined) {
    for (let c = 0; c < n; c++) {
      const s = scores[base + c] ?? 0;
      if (s >= allowedFloor) {
        allowed.push(s, c);
        allowedFloor = allowed.floor;
      }
    }
    return;
  }
  let blockedFloor = -Infinity;
  for (let c = 0; c < n; c++) {
    const s = scores[base + c] ?? 0;
    if (mask[c] === ALLOWED) {
      if (s >= allowedFloor) {
        allowed.push(s, c);
        allowedFloor = allowed.floor;
      }
    } else if (s >= blockedFloor) {
      blocked.push(s, c);
      blockedFloor = blocked.floor;
    }
  }
}

/** Up to this pool size MMR's principle–principle cosines may be remembered (n² floats: 64 MiB at 4,096). */
const MEMO_MAX = 4096;

/**
 * Principle–principle cosines for MMR, by the exact dot (exactDot.ts) like the candidates' cosines,
 * so a batch and a single plan agree to the bit. Each pair is remembered once computed when the pool
 * is small or the batch is large enough to ask for the same pairs again.
 */
function principleSimilarity(arena: DotArena, n: number, remember: boolean): (i: number, j: number) => number {
  if (!remember) return (i, j) => arena.principles(i, j);
  // The exact dot's results are float32 values, so a Float32Array keeps them whole.
  const memo = new Float32Array(n * n).fill(Number.NaN);
  return (i, j) => {
    const at = i < j ? i * n + j : j * n + i;
    let v = memo[at] ?? Number.NaN;
    if (Number.isNaN(v)) {
      v = arena.principles(i, j);
      memo[at] = v;
    }
    return v;
  };
}

const CAUSES = ['below-floor', 'internalized', 'scope'] as const;

/**
 * The kernel's candidates with their cosines recomputed by the exact dot, best first. The kernel
 * only decides which principles are candidates; scores and order never depend on which kernel ran
 * or which other states shared the product, so a state gets the same picks whether it is planned
 * alone (preview) or among 60,000 (dataset).
 */
function exact(candidates: { index: number; score: number }[], arena: DotArena, q: number): { index: number; score: number }[] {
  for (const c of candidates) c.score = arena.state(q, c.index);
  return candidates.sort((a, b) => b.score - a.score || a.index - b.index);
}

/** Of the unfiltered top k (allowed and blocked merged), what a filter or the floor kept out. */
function blockedFor(ranked: readonly { index: number; score: number }[], blockedTop: readonly { index: number; score: number }[], picks: readonly Pick[], mask: Uint8Array | undefined, k: number, floor: number): Blocked[] {
  const weakest = ranked[Math.min(k, ranked.length) - 1];
  // The common case costs nothing: no filter hit the top and every top score clears the floor.
  if (blockedTop.length === 0 && (weakest === undefined || weakest.score >= floor)) return [];
  const topAll = [...ranked.slice(0, k), ...blockedTop].sort((x, y) => y.score - x.score || x.index - y.index).slice(0, k);
  const picked = new Set(picks.map((p) => p.index));
  const blocked: Blocked[] = [];
  for (const c of topAll) {
    if (picked.has(c.index)) continue;
    const why = mask?.[c.index] ?? ALLOWED;
    if (why !== ALLOWED) blocked.push({ index: c.index, cosine: c.score, cause: CAUSES[why] ?? 'scope' });
    else if (c.score < floor) blocked.push({ index: c.index, cosine: c.score, cause: 'below-floor' });
  }
  return blocked;
}

/** Selects for every row of `states`; see the module comment. */
export async function selectBatch(input: SelectInput): Promise<RowSelection[]> {
  const { rows, n, dim, config } = input;
  const k = Math.max(0, Math.floor(config.k));
  const candidateCount = Math.max(k, config.candidates ?? Math.max(4 * k, 16));
  if (rows === 0) return [];
  if (n === 0 || k === 0) return Array.from({ length: rows }, () => ({ picks: [], blocked: [], candidates: [] }));
  const owned = input.kernel === undefined ? (await chooseKernel(rows, n, dim)).kernel : undefined;
  const kernel = input.kernel ?? owned;
  if (kernel === undefined) throw new Error('no score kernel');
  try {
    const blockRows = Math.max(1, input.blockRows ?? Math.max(1, Math.min(4096, Math.floor(8_000_000 / n))));
    const arena = input.arena ?? dotArena(input.principles, n, dim, Math.min(blockRows, rows));
    const remember = n <= MEMO_MAX && (n <= 1024 || rows * candidateCount * k >= (n * n) / 8);
    const similarity = principleSimilarity(arena, n, remember);
    const allowedHeap = new TopK(candidateCount);
    // The best blocked principles, to report those that would have made the unfiltered top k.
    const blockedHeap = new TopK(k);
    const scratch = { maxSim: new Float64Array(candidateCount), taken: new Uint8Array(candidateCount) };
    const out: RowSelection[] = [];
    // A row whose mask blocks nothing needs no mask at all; rows usually share a few masks.
    const blocks = new WeakMap<Uint8Array, boolean>();
    const effectiveMask = (row: number): Uint8Array | undefined => {
      const mask = input.maskFor?.(row);
      if (mask === undefined) return undefined;
      let any = blocks.get(mask);
      if (any === undefined) blocks.set(mask, (any = mask.subarray(0, n).some((m) => m !== ALLOWED)));
      return any ? mask : undefined;
    };
    type Block = { readonly kind: 'scores'; readonly scores: Float32Array } | { readonly kind: 'top'; readonly indices: ArrayLike<bigint | number>; readonly scores: Float32Array; readonly width: number };
    const block = async (r0: number): Promise<Block> => {
      const count = Math.min(blockRows, rows - r0);
      const states = input.states.subarray(r0 * dim, (r0 + count) * dim);
      // Without filters in the block, the kernel hands back only each row's candidates.
      let unfiltered = kernel.topK !== undefined;
      for (let q = 0; unfiltered && q < count; q++) unfiltered = effectiveMask(r0 + q) === undefined;
      if (unfiltered && kernel.topK !== undefined) {
        const width = Math.min(candidateCount, n);
        return { kind: 'top', width, ...(await kernel.topK(states, count, input.principles, n, dim, width)) };
      }
      return { kind: 'scores', scores: await kernel.scores(states, count, input.principles, n, dim) };
    };
    // The next block's product runs (on onnxruntime's threads) while this block's rows are scanned.
    let pending = block(0);
    for (let r0 = 0; r0 < rows; r0 += blockRows) {
      input.signal?.throwIfAborted();
      const count = Math.min(blockRows, rows - r0);
      const scored = await pending;
      if (r0 + blockRows < rows) pending = block(r0 + blockRows);
      arena.loadStates(input.states, r0, count);
      for (let q = 0; q < count; q++) {
        const mask = effectiveMask(r0 + q);
        allowedHeap.reset();
        blockedHeap.reset();
        let entries: { index: number; score: number }[];
        if (scored.kind === 'top') {
          entries = [];
          for (let j = q * scored.width; j < (q + 1) * scored.width; j++) entries.push({ index: Number(scored.indices[j] ?? 0), score: scored.scores[j] ?? 0 });
        } else {
          scanRow(scored.scores, q * n, n, mask, allowedHeap, blockedHeap);
          entries = allowedHeap.entries();
        }
        const ranked = exact(entries, arena, q);
        const eligible = (ranked.at(-1)?.score ?? Infinity) >= config.scoreFloor ? ranked : ranked.filter((c) => c.score >= config.scoreFloor);
        const picks = mmr(eligible, k, config.mmrLambda, similarity, scratch);
        out.push({ picks, blocked: blockedFor(ranked, exact(blockedHeap.entries(), arena, q), picks, mask, k, config.scoreFloor), candidates: input.keepCandidates === true ? ranked.map((c) => ({ index: c.index, cosine: c.score, mmr: c.score })) : [] });
      }
    }
    return out;
  } finally {
    await owned?.dispose();
  }
}
