/**
 * The continual step between iterations (the paper's setting): trajectories captured since the last
 * iteration started are mined offline into pool operations before the next pool snapshot is frozen.
 * The offline miner needs no model, so this works with nothing configured; the proposals are
 * auto-accepted or left waiting in the Principles view, by the caller's option. Nothing changes the
 * pool silently: every change is a recorded operation.
 */
import { proposeOps, withoutKnown } from '../experience/curation.js';
import { minedOps, minePatterns } from '../experience/miner.js';
import type { Store } from '../store/index.js';
import type { Trajectory } from '../trajectory.js';

export interface ContinualOptions {
  /** Apply the mined operations at once (else they wait for the user's review). */
  readonly autoAccept: boolean;
  /** Trajectories a pattern must recur in. */
  readonly minSupport?: number;
}

export interface ContinualResult {
  /** Trajectories imported since the previous iteration started. */
  readonly newTrajectories: number;
  readonly proposed: number;
  readonly accepted: number;
}

/** Mines the trajectories imported after `since` (an ISO time) and records what they teach as pool operations for `iteration`. */
export function continualStep(store: Store, since: string, iteration: number, options: ContinualOptions): ContinualResult {
  const ids = store.db.prepare<[string], { id: string }>('SELECT id FROM trajectories WHERE imported_at > ? ORDER BY imported_at, id').all(since);
  const trajectories = ids.map((r) => store.trajectories.get(r.id)).filter((t): t is Trajectory => t !== undefined);
  if (trajectories.length === 0) return { newTrajectories: 0, proposed: 0, accepted: 0 };
  const ops = withoutKnown(store, minedOps(minePatterns(trajectories, { minSupport: options.minSupport ?? 2 })));
  if (ops.length === 0) return { newTrajectories: trajectories.length, proposed: 0, accepted: 0 };
  const opIds = proposeOps(store, ops, { origin: 'mined', iteration, batchId: `iteration-${String(iteration)}-mined`, autoAccept: options.autoAccept });
  return { newTrajectories: trajectories.length, proposed: opIds.length, accepted: options.autoAccept ? opIds.length : 0 };
}
