/**
 * The decision state's vector for serving. An agent calls principles_for_state at every step of a
 * session, and successive states share their task and all but their newest step. Embedding the
 * whole state text each time pays for the same tokens again at every call (the state's embedding
 * was nearly all of a call's cost). Here the state is embedded as segments — the task, and each
 * recent step on its own — each segment's vector is kept in an in-memory LRU keyed by its text, and
 * the state's vector is the weighted mean of the segment vectors (newest step weighted most), so a
 * call within a session embeds only the step that is new since the last one.
 *
 * A step's segment text depends on that step alone (one fixed token cap per step), never on what
 * else is in the state, so the same step gives the same text, and a cache hit, at every later call.
 * `whole` embeds the built state text in one piece, as the injection planner does.
 */
import { createHash } from 'node:crypto';
import type { TextEmbedder } from '../embedding/embedder.js';
import { fitTokens, stepLines } from '../injection/state.js';
import { estimateTokens } from '../llm/languageModel.js';
import type { Trajectory } from '../trajectory.js';

export type StateEmbedding = 'segments' | 'whole';

export interface SegmentPolicy {
  /** Tokens (estimated, 4 characters each) the task segment may take; it is embedded once per session. */
  readonly taskTokens: number;
  /** Tokens each step segment may take: the one segment embedded at a warm call, so it sets a call's cost. */
  readonly stepTokens: number;
  /** Most recent steps that count. */
  readonly steps: number;
  /** The task's weight against the newest step's 1. */
  readonly taskWeight: number;
  /** Each step older than the newest weighs this much of the next newer one. */
  readonly decay: number;
  /**
   * The most of the embedder's own tokens any segment may take (EmbedOptions.maxTokens): the character
   * caps above let dense JSON or code through at twice the tokens of prose, and a pass costs its tokens.
   */
  readonly modelTokens?: number;
  /**
   * The task segment's own cap in the embedder's tokens, below `modelTokens`: the task is embedded
   * at a session's first call beside its first step, so its tokens are that call's extra cost.
   */
  readonly taskModelTokens?: number;
}

/**
 * Chosen on the labelled retrieval set and the latency benchmark; bench/serve/RESULTS.md has the grid.
 * The 64-model-token cap bounds a warm call's one pass (steps of code or JSON reached 165 tokens) and kept
 * recall@5 where it was (0.767 int8, 0.759 fp32); 48 lost 0.03.
 */
export const DEFAULT_SEGMENT_POLICY: SegmentPolicy = { taskTokens: 128, stepTokens: 64, steps: 6, taskWeight: 1, decay: 0.6, modelTokens: 64 };

export interface Segment {
  readonly text: string;
  readonly weight: number;
  /** The most of the embedder's own tokens this segment may take (none: the embedder's window). */
  readonly maxTokens?: number;
}

/** Characters a piece of a step is pre-cut to before it is fitted, per token of the cap. */
const CHARS_PER_TOKEN_CAP = 8;

/** The state's segments: the task, then its most recent steps, oldest first; `cut` when any was shortened. */
export function stateSegments(trajectory: Trajectory, policy: SegmentPolicy = DEFAULT_SEGMENT_POLICY): { segments: Segment[]; cut: boolean } {
  const segments: Segment[] = [];
  let cut = false;
  const task = trajectory.task.trim();
  if (task !== '') {
    const fitted = fitTokens(`Task: ${task}`, policy.taskTokens, estimateTokens);
    cut ||= fitted.cut;
    const cap = policy.taskModelTokens ?? policy.modelTokens;
    if (fitted.text !== '') segments.push({ text: fitted.text, weight: policy.taskWeight, ...(cap === undefined ? {} : { maxTokens: cap }) });
  }
  const recent = trajectory.steps.slice(Math.max(0, trajectory.steps.length - policy.steps));
  recent.forEach((step, i) => {
    const lines = stepLines(step, policy.stepTokens * CHARS_PER_TOKEN_CAP);
    if (lines.trim() === '') return;
    const fitted = fitTokens(lines, policy.stepTokens, estimateTokens);
    cut ||= fitted.cut;
    if (fitted.text !== '') segments.push({ text: fitted.text, weight: policy.decay ** (recent.length - 1 - i), ...(policy.modelTokens === undefined ? {} : { maxTokens: policy.modelTokens }) });
  });
  return { segments, cut };
}

/**
 * Least-recently-used segment vectors, keyed by embedder and text hash. One per process: sessions of
 * several agents share it, and a state two agents both reach is embedded once.
 */
export class SegmentCache {
  private readonly entries = new Map<string, Float32Array>();
  hits = 0;
  misses = 0;

  constructor(readonly capacity = 4096) {}

  static key(embedderId: string, text: string, maxTokens?: number): string {
    return `${embedderId}\u0000${String(maxTokens ?? '')}\u0000${createHash('sha1').update(text, 'utf8').digest('base64')}`;
  }

  get(key: string): Float32Array | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      // Re-inserted: a Map iterates in insertion order, so the first key is always the least recent.
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }

  set(key: string, vector: Float32Array): void {
    this.entries.delete(key);
    this.entries.set(key, vector);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forgets every vector; the hit and miss counts keep counting. */
  clear(): void {
    this.entries.clear();
  }
}

/** The process's cache, shared by every serve call that does not bring its own. */
export const sharedSegmentCache = new SegmentCache();

export interface StateVector {
  readonly vector: Float32Array;
  /** Segments embedded by this call (cache misses); the rest came from the cache. */
  readonly embedded: number;
  readonly segments: number;
  /** Whether a segment was shortened to its cap. */
  readonly cut: boolean;
}

/**
 * The L2-normalized weighted mean of the segments' vectors; the misses are embedded in one call per
 * token cap (the model batches those of like length in one pass).
 */
export async function embedSegments(embedder: TextEmbedder, segments: readonly Segment[], cache: SegmentCache, signal?: AbortSignal): Promise<{ vector: Float32Array; embedded: number }> {
  const { dim } = embedder;
  const keys = segments.map((s) => SegmentCache.key(embedder.id, s.text, s.maxTokens));
  const found = keys.map((k) => cache.get(k));
  const fresh = new Map<string, Float32Array>();
  // Each missing key once, grouped by its cap (a cap is part of the key).
  const byCap = new Map<number | undefined, { keys: string[]; texts: string[] }>();
  segments.forEach((s, i) => {
    const key = keys[i] ?? '';
    if (found[i] !== undefined || fresh.has(key)) return;
    fresh.set(key, new Float32Array(0));
    const group = byCap.get(s.maxTokens) ?? { keys: [], texts: [] };
    group.keys.push(key);
    group.texts.push(s.text);
    byCap.set(s.maxTokens, group);
  });
  for (const [maxTokens, group] of byCap) {
    const vectors = await embedder.embed(group.texts, signal, maxTokens === undefined ? undefined : { maxTokens });
    if (vectors.length !== group.keys.length * dim) throw new RangeError(`The embedder returned ${String(vectors.length)} numbers for ${String(group.keys.length)} segments; expected ${String(group.keys.length * dim)}.`);
    group.keys.forEach((k, i) => {
      const v = vectors.slice(i * dim, (i + 1) * dim);
      fresh.set(k, v);
      cache.set(k, v);
    });
  }
  cache.hits += segments.length - fresh.size;
  cache.misses += fresh.size;
  const sum = new Float64Array(dim);
  keys.forEach((k, i) => {
    const v = found[i] ?? fresh.get(k);
    const w = segments[i]?.weight ?? 0;
    if (v === undefined) return;
    for (let d = 0; d < dim; d++) sum[d] = (sum[d] ?? 0) + w * (v[d] ?? 0);
  });
  let norm = 0;
  for (let d = 0; d < dim; d++) norm += (sum[d] ?? 0) ** 2;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  const vector = new Float32Array(dim);
  for (let d = 0; d < dim; d++) vector[d] = (sum[d] ?? 0) * scale;
  return { vector, embedded: fresh.size };
}

/**
 * The vector a serve call ranks the pool with: the segments' weighted mean (default), or the whole
 * built state embedded in one piece. A state with no steps (a free-text situation) is one segment.
 */
export async function stateVector(
  input: { readonly embedder: TextEmbedder; readonly trajectory: Trajectory; readonly wholeText: string; readonly mode?: StateEmbedding; readonly policy?: SegmentPolicy; readonly cache?: SegmentCache; readonly signal?: AbortSignal },
): Promise<StateVector> {
  const { embedder } = input;
  const { segments, cut } = input.mode === 'whole' || input.trajectory.steps.length === 0 ? { segments: [], cut: false } : stateSegments(input.trajectory, input.policy);
  if (segments.length === 0) {
    const vector = await embedder.embed([input.wholeText], input.signal);
    if (vector.length !== embedder.dim) throw new RangeError(`The embedder returned ${String(vector.length)} numbers for one state; expected ${String(embedder.dim)}.`);
    return { vector, embedded: 1, segments: 1, cut: false };
  }
  const { vector, embedded } = await embedSegments(embedder, segments, input.cache ?? sharedSegmentCache, input.signal);
  return { vector, embedded, segments: segments.length, cut };
}
