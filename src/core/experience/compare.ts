/**
 * The per-iteration principle diff: two pool states (a frozen snapshot or the pool as it is now),
 * what changed between them, why (the rationale of the operation that did it) and on what evidence.
 */
import type { EvidenceRef, PoolDiffEntry, PoolOpKind, PoolSnapshot } from '../principle.js';
import { diffPools } from '../principle.js';
import type { Store, StoredPoolOp } from '../store/index.js';
import type { DiffSegment } from './wordDiff.js';
import { wordDiff } from './wordDiff.js';

/** A frozen snapshot, the pool as it is now, or the empty pool before anything was accepted. */
export type PoolRef = { readonly kind: 'snapshot'; readonly iteration: number } | { readonly kind: 'current' } | { readonly kind: 'empty' };

export interface ComparedEntry {
  readonly kind: PoolOpKind;
  readonly principleId: string;
  readonly before?: string;
  readonly after?: string;
  /** Word-level diff of before → after for UPDATE and MERGE. */
  readonly segments?: readonly DiffSegment[];
  readonly mergedIds?: readonly string[];
  /** Texts of the principles a MERGE folded in, as they stood in the earlier pool. */
  readonly mergedTexts?: readonly string[];
  readonly scopeBefore?: string;
  readonly scopeAfter?: string;
  readonly rationale?: string;
  readonly evidence: readonly EvidenceRef[];
}

export interface PoolComparison {
  readonly from: string;
  readonly to: string;
  readonly entries: readonly ComparedEntry[];
  readonly unchanged: number;
  readonly sizeBefore: number;
  readonly sizeAfter: number;
}

export function poolLabel(ref: PoolRef): string {
  return ref.kind === 'current' ? 'current pool' : ref.kind === 'empty' ? 'empty pool' : `iteration ${String(ref.iteration)}`;
}

export class PoolRefError extends Error {
  override readonly name = 'PoolRefError';
}

/** The accepted pool at a reference point. The current pool has no iteration number of its own: it gets the next one. */
export function poolAt(store: Store, ref: PoolRef): PoolSnapshot {
  if (ref.kind === 'empty') return { iteration: 0, createdAt: '', principles: [] };
  if (ref.kind === 'snapshot') {
    const snapshot = store.snapshots.get(ref.iteration);
    if (snapshot === undefined) throw new PoolRefError(`Iteration ${String(ref.iteration)} has no frozen pool snapshot.`);
    return snapshot;
  }
  const iterations = store.snapshots.iterations();
  return { iteration: (iterations[iterations.length - 1] ?? -1) + 1, createdAt: new Date().toISOString(), principles: store.principles.list({ status: 'accepted' }) };
}

/** Applied operations decided after `a` was taken and no later than `b` (either way round). */
function opsBetween(store: Store, a: PoolSnapshot, b: PoolSnapshot): StoredPoolOp[] {
  const [from, to] = a.createdAt <= b.createdAt ? [a.createdAt, b.createdAt] : [b.createdAt, a.createdAt];
  return store.poolOps.list({ status: 'applied' }).filter((op) => op.decidedAt !== undefined && op.decidedAt > from && op.decidedAt <= to);
}

/** Every pool state the user can compare: the empty pool, each frozen snapshot, the current pool. */
export function poolRefs(store: Store): PoolRef[] {
  return [{ kind: 'empty' }, ...store.snapshots.iterations().map((iteration) => ({ kind: 'snapshot' as const, iteration })), { kind: 'current' }];
}

export function comparePools(store: Store, from: PoolRef, to: PoolRef): PoolComparison {
  const a = poolAt(store, from);
  const b = poolAt(store, to);
  const ops = opsBetween(store, a, b);
  const diff = diffPools(a, b, ops);
  const beforeById = new Map(a.principles.map((p) => [p.id, p]));
  const lastOp = new Map<string, StoredPoolOp>();
  for (const op of ops) lastOp.set(op.principleId, op);
  return {
    from: poolLabel(from),
    to: poolLabel(to),
    entries: diff.entries.map((e) => toEntry(e, lastOp.get(e.principleId), beforeById)),
    unchanged: diff.unchanged,
    sizeBefore: a.principles.length,
    sizeAfter: b.principles.length,
  };
}

function toEntry(e: PoolDiffEntry, op: StoredPoolOp | undefined, beforeById: ReadonlyMap<string, { text: string }>): ComparedEntry {
  const before = e.before?.text;
  const after = e.after?.text;
  const evidence = op !== undefined && op.evidence.length > 0 ? op.evidence : (e.after ?? e.before)?.evidence ?? [];
  return {
    kind: e.kind,
    principleId: e.principleId,
    before,
    after,
    segments: before !== undefined && after !== undefined ? wordDiff(before, after) : undefined,
    mergedIds: e.mergedIds,
    mergedTexts: e.mergedIds?.map((id) => beforeById.get(id)?.text ?? id),
    scopeBefore: e.before?.scope,
    scopeAfter: e.after?.scope,
    rationale: op?.rationale,
    evidence,
  };
}
