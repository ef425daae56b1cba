import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { editPrinciple, proposeOps, retirePrinciple } from '../../../src/core/experience/curation.js';
import { openStore, type Store } from '../../../src/core/store/index.js';

export const POOL_1 = ['When a test fails, read its log first.', 'When a command is slow, run it once.', 'When editing, keep the diff small.'];

/**
 * A ledger of three finished iterations, each with its frozen pool and an adapter folder under `dir`
 * (when given): iteration 2 rewords P1 and retires P2, iteration 3 adds P4. The pool now is 3's.
 */
export function threeIterations(path: string, dir?: string): Store {
  const store = openStore(path);
  const adapter = (n: number): { adapterPath?: string } => {
    if (dir === undefined) return {};
    const folder = join(dir, `iteration-${String(n)}`, 'adapter');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'adapter_config.json'), '{}');
    return { adapterPath: folder };
  };
  proposeOps(store, POOL_1.map((text) => ({ kind: 'ADD' as const, text, rationale: 'seed', evidence: [] })), { origin: 'manual', autoAccept: true });
  store.snapshots.freeze(1, store.principles.list({ status: 'accepted' }));
  store.iterations.save({ number: 1, status: 'done', config: { kind: 'own-data', model: 'smollm2-135m-instruct', regime: 'off-policy', injection: 'stepwise-ephemeral', targets: 'recorded' }, metrics: { mean_score: 0.7, retention_ratio: 1.01 }, ...adapter(1) });
  editPrinciple(store, 'P1', 'When a test fails, read the whole log before editing.');
  retirePrinciple(store, 'P2');
  store.snapshots.freeze(2, store.principles.list({ status: 'accepted' }));
  store.iterations.save({ number: 2, status: 'done', config: { kind: 'own-data', model: 'smollm2-135m-instruct' }, metrics: { mean_score: 0.5, retention_ratio: 1.03 }, ...adapter(2) });
  proposeOps(store, [{ kind: 'ADD', text: 'When a build breaks, bisect the last change.', rationale: 'seed', evidence: [] }], { origin: 'manual', autoAccept: true });
  store.snapshots.freeze(3, store.principles.list({ status: 'accepted' }));
  store.iterations.save({ number: 3, status: 'collapsed', config: { kind: 'own-data', model: 'smollm2-135m-instruct' }, metrics: { mean_score: 0.4, retention_ratio: 1.08 }, verdict: { reasons: ['retention ×1.080 past ×1.050'] }, ...adapter(3) });
  return store;
}
