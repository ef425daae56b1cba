/**
 * What the injection planner needs from the store beyond the pool: which principles a model has
 * already internalized, and the workspaces of the pool's evidence (for `workspace` scope).
 */
import type { Principle } from '../principle.js';
import type { Store } from './index.js';

/**
 * The base model an iteration trained, from its configuration. Rounds record it as `model` (the
 * suite round); `baseModel` / `base_model` are accepted for configurations written by hand or by
 * the worker's own naming.
 */
export function iterationModel(config: Readonly<Record<string, unknown>>): string | undefined {
  for (const key of ['model', 'baseModel', 'base_model']) {
    const value = config[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/**
 * Ids of the principles internalized for `targetModel`: among the iterations that trained that
 * model, each principle's score from the latest one that scored it decides. Principles are
 * re-scored every iteration, so one that was internalized and later forgotten is injected again.
 */
export function internalizedIds(store: Store, targetModel: string): Set<string> {
  const iterations = new Set(store.iterations.list().filter((it) => iterationModel(it.config) === targetModel).map((it) => it.number));
  const latest = new Map<string, { iteration: number; internalized: boolean }>();
  for (const number of [...iterations].sort((a, b) => a - b)) {
    for (const score of store.scores.forIteration(number)) latest.set(score.principleId, { iteration: number, internalized: score.internalized });
  }
  return new Set([...latest].filter(([, s]) => s.internalized).map(([id]) => id));
}

/** Evidence trajectory id → workspace, for the evidence of `pool` (trajectories without a workspace are left out). */
export function evidenceWorkspaces(store: Store, pool: readonly Principle[]): Map<string, string> {
  const ids = [...new Set(pool.filter((p) => p.scope === 'workspace').flatMap((p) => p.evidence.map((e) => e.trajectoryId)))];
  const out = new Map<string, string>();
  const query = store.db.prepare<[string], { id: string; workspace: string | null }>('SELECT id, workspace FROM trajectories WHERE id = ?');
  for (const id of ids) {
    const row = query.get(id);
    if (row?.workspace != null && row.workspace !== '') out.set(row.id, row.workspace);
  }
  return out;
}
