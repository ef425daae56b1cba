/**
 * Compare with Previous, without a front end: which pool states an iteration's diff spans, and how its
 * metrics moved from the iteration before it. The editor shows the result in the pools panel,
 * `internalize iterations --compare N` prints it.
 */
import type { PoolRef } from '../experience/compare.js';
import type { IterationRecord, Store } from '../store/index.js';
import { metricDeltas, type MetricDelta } from './metrics.js';

/** The iteration before `n` that froze a pool (the one Compare with Previous diffs against), if any. */
export function previousSnapshot(snapshotIterations: readonly number[], n: number): number | undefined {
  return snapshotIterations.filter((i) => i < n).pop();
}

/** The iteration before `n` in the ledger, whatever its status, for metric deltas. */
export function previousIteration(iterations: readonly IterationRecord[], n: number): IterationRecord | undefined {
  return iterations.filter((it) => it.number < n && it.metrics !== undefined).pop();
}

export interface IterationComparison {
  /** The pool before: the previous frozen snapshot, or the empty pool for the first. */
  readonly from: PoolRef;
  /** The iteration's own snapshot, or the current pool when it froze none. */
  readonly to: PoolRef;
  readonly title: string;
  readonly deltas: readonly MetricDelta[];
  /** What a reader must know to read the diff and the deltas right (no metrics, no own snapshot…). */
  readonly notes: readonly string[];
}

/** What Compare with Previous shows for `it`: the pool states to diff, the metric deltas and the notes on both. */
export function compareWithPrevious(store: Store, it: IterationRecord): IterationComparison {
  const snapshots = store.snapshots.iterations();
  const previous = previousIteration(store.iterations.list(), it.number);
  const before = previousSnapshot(snapshots, it.number);
  const hasOwn = snapshots.includes(it.number);
  const deltas = it.metrics === undefined ? [] : metricDeltas(previous?.metrics, it.metrics);
  const title = previous === undefined ? `Iteration ${String(it.number)} against its base model` : `Iteration ${String(previous.number)} → ${String(it.number)}: metrics`;
  const notes: string[] = [];
  if (it.metrics === undefined) notes.push(`Iteration ${String(it.number)} has no metrics (${it.status}).`);
  else if (previous === undefined) notes.push('The first iteration: each metric is compared with the base model measured in the same run.');
  if (!hasOwn) notes.push(`Iteration ${String(it.number)} froze no pool snapshot (it ended before its pool was recorded), so the pool diff below is against the current pool.`);
  return {
    from: before === undefined ? { kind: 'empty' } : { kind: 'snapshot', iteration: before },
    to: hasOwn ? { kind: 'snapshot', iteration: it.number } : { kind: 'current' },
    title,
    deltas,
    notes,
  };
}
