/**
 * Rolling back to an earlier iteration, for every front end: the pool goes back to that iteration's
 * frozen snapshot through recorded curation operations (applied at once or left for review), later
 * iterations are set aside as `rolled-back` (their records and files stay), and the ledger gets a run
 * of its own saying what was restored. The editor asks first; `internalize iterations --roll-back N`
 * acts on the flag it was given.
 */
import { existsSync } from 'node:fs';
import { proposeOps, type ProposedOp } from '../experience/curation.js';
import type { PoolSnapshot, Principle } from '../principle.js';
import type { IterationRecord, Store } from '../store/index.js';

function sameText(a: string, b: string): boolean {
  return a.trim().replace(/\s+/gu, ' ') === b.trim().replace(/\s+/gu, ' ');
}

/**
 * The pool operations that turn the accepted pool back into an iteration's frozen snapshot:
 * DELETE what was accepted since, UPDATE what was rewritten, ADD back what was retired or merged
 * away (with a new id: retired ids are never revived, so history stays linear). Each op says why.
 */
export function rollbackOps(current: readonly Principle[], snapshot: PoolSnapshot): ProposedOp[] {
  const accepted = current.filter((p) => p.status === 'accepted');
  const now = new Map(accepted.map((p) => [p.id, p]));
  const then = new Map(snapshot.principles.map((p) => [p.id, p]));
  // A principle restored by an earlier rollback lives on under a new id with the old text: it counts as
  // the snapshot's, so rolling back twice proposes nothing the second time.
  const restored = new Set<string>();
  const missing = snapshot.principles.filter((old) => !now.has(old.id)).filter((old) => {
    const twin = accepted.find((p) => !then.has(p.id) && !restored.has(p.id) && sameText(p.text, old.text));
    if (twin !== undefined) restored.add(twin.id);
    return twin === undefined;
  });
  const why = `Roll back to iteration ${String(snapshot.iteration)}`;
  const ops: ProposedOp[] = [];
  for (const p of accepted) {
    const old = then.get(p.id);
    if (old === undefined) {
      if (!restored.has(p.id)) ops.push({ kind: 'DELETE', principleId: p.id, rationale: `${why}: ${p.id} was not in its pool.`, evidence: [] });
    } else if (!sameText(old.text, p.text)) ops.push({ kind: 'UPDATE', principleId: p.id, text: old.text, rationale: `${why}: ${p.id} had this text then.`, evidence: [] });
  }
  for (const old of missing) {
    ops.push({ kind: 'ADD', text: old.text, when: old.when, scope: old.scope, rationale: `${why}: restores ${old.id}, which has left the pool since.`, evidence: old.evidence });
  }
  return ops;
}

/** Iterations after `n` that a rollback to `n` sets aside (a running one is never touched). */
export function supersededBy(iterations: readonly IterationRecord[], n: number): IterationRecord[] {
  return iterations.filter((it) => it.number > n && it.status !== 'running' && it.status !== 'pending' && it.status !== 'rolled-back');
}

/**
 * The iteration whose student the next round builds on: the latest finished one that was not rolled
 * back or collapsed. A rollback to `n` makes this `n`.
 */
export function baseIteration(iterations: readonly IterationRecord[]): IterationRecord | undefined {
  return iterations.filter((it) => it.status === 'done').pop();
}

/** What a rollback to one iteration would do, before anything is written. */
export interface RollbackPlan {
  readonly kind: 'plan';
  readonly iteration: IterationRecord;
  /** The pool the iteration froze; without one the pool stays as it is. */
  readonly snapshot?: PoolSnapshot;
  readonly ops: readonly ProposedOp[];
  /** The later iterations it marks rolled back. */
  readonly later: readonly IterationRecord[];
  /** The iteration's adapter when it is still on disk. */
  readonly adapter?: string;
}

/** A rollback that cannot be planned, with the reason in words (lower case, to follow "Internalize: " or a capital). */
export interface RollbackRefusal {
  readonly kind: 'refused';
  readonly reason: string;
  readonly code: 'unknown' | 'unfinished';
}

/** Plans a rollback to iteration `n`; refused for an iteration the store does not have, or one still running or pending. */
export function planRollback(store: Store, n: number): RollbackPlan | RollbackRefusal {
  const iteration = store.iterations.get(n);
  if (iteration === undefined) return { kind: 'refused', code: 'unknown', reason: `there is no iteration ${String(n)} in the store (it may have been reset).` };
  if (iteration.status === 'running' || iteration.status === 'pending') {
    return { kind: 'refused', code: 'unfinished', reason: `iteration ${String(n)} is ${iteration.status}; roll back to a finished iteration.` };
  }
  const snapshot = store.snapshots.get(n);
  const ops = snapshot === undefined ? [] : rollbackOps(store.principles.list({ status: 'accepted' }), snapshot);
  const adapter = iteration.adapterPath !== undefined && existsSync(iteration.adapterPath) ? iteration.adapterPath : undefined;
  return { kind: 'plan', iteration, ...(snapshot === undefined ? {} : { snapshot }), ops, later: supersededBy(store.iterations.list(), n), ...(adapter === undefined ? {} : { adapter }) };
}

/** "1 pool change", "3 pool changes": how the editor and the command line count a rollback's operations. */
export function changes(n: number): string {
  return `${String(n)} pool change${n === 1 ? '' : 's'}`;
}

/** The plan in words, one paragraph each: the pool, the later iterations, the adapter. The editor's dialog and the command line say the same. */
export function describeRollback(plan: RollbackPlan): string[] {
  const n = String(plan.iteration.number);
  const { snapshot, ops, later, adapter } = plan;
  const counts = (['ADD', 'UPDATE', 'DELETE'] as const).map((k) => [k, ops.filter((o) => o.kind === k).length] as const).filter(([, c]) => c > 0);
  const poolLine =
    snapshot === undefined
      ? `Iteration ${n} froze no pool, so the pool stays as it is.`
      : ops.length === 0
        ? `The pool already matches iteration ${n}'s (${String(snapshot.principles.length)} principles).`
        : `The pool goes back to iteration ${n}'s ${String(snapshot.principles.length)} principles through ${String(ops.length)} recorded operation${ops.length === 1 ? '' : 's'} (${counts.map(([k, c]) => `${String(c)} ${k === 'ADD' ? 'restored' : k === 'UPDATE' ? 'reworded' : 'retired'}`).join(', ')}).`;
  return [
    poolLine,
    later.length === 0 ? undefined : `Later iterations (${later.map((l) => String(l.number)).join(', ')}) are marked rolled back; their records and files stay.`,
    adapter === undefined ? `Iteration ${n} has no adapter on disk.` : `Its adapter (${adapter}) is again the latest finished iteration's: a round that continues from the previous student starts from it.`,
  ].filter((x): x is string => x !== undefined);
}

export interface RollbackResult {
  /** The pool operations recorded (applied, or proposed for review). */
  readonly opIds: readonly number[];
  readonly applied: boolean;
  /** The rollback's own run in the ledger. */
  readonly runId: number;
  readonly rolledBack: readonly number[];
}

/**
 * Carries a plan out in one write transaction: the pool operations (accepted at once with `apply`,
 * else proposed for review), the later iterations marked `rolled-back` with what they were, and
 * the rollback's run in the ledger.
 */
export function applyRollback(store: Store, plan: RollbackPlan, options: { readonly apply: boolean; readonly now?: Date }): RollbackResult {
  const n = plan.iteration.number;
  const at = (options.now ?? new Date()).toISOString();
  return store.transaction(() => {
    const opIds = plan.ops.length === 0 ? [] : proposeOps(store, plan.ops, { origin: 'manual', batchId: `rollback-${String(n)}-${at}`, autoAccept: options.apply });
    for (const l of plan.later) store.iterations.save({ ...l, status: 'rolled-back', verdict: { ...(l.verdict ?? {}), rolledBackTo: n, rolledBackAt: at, statusBefore: l.status } });
    // The rollback is a run of its own in the ledger: what it restored, and whether the pool changes waited for review.
    const runId = store.runs.start('rollback', { iteration: n, config: { ops: opIds, applied: options.apply, adapter: plan.adapter ?? null, supersedes: plan.later.map((l) => l.number) } });
    store.runs.finish(runId, 'done');
    return { opIds, applied: options.apply, runId, rolledBack: plan.later.map((l) => l.number) };
  });
}
