import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { previousIteration, previousSnapshot } from '../../../src/core/distill/iterationCompare.js';
import { applyRollback, baseIteration, describeRollback, planRollback, rollbackOps, supersededBy, type RollbackPlan } from '../../../src/core/distill/rollback.js';
import { applyOp, editPrinciple, proposeOps, retirePrinciple } from '../../../src/core/experience/curation.js';
import { openStore, type IterationRecord, type Store } from '../../../src/core/store/index.js';
import { POOL_1, threeIterations } from './rollbackLedger.js';

function accepted(texts: readonly string[]) {
  return texts.map((text) => ({ kind: 'ADD' as const, text, rationale: 'seed', evidence: [] }));
}

test('rollback ops turn the current pool back into the snapshot, through recorded curation', () => {
  const store = openStore(':memory:');
  try {
    proposeOps(store, accepted(['When a test fails, read its log first.', 'When a command is slow, run it once.', 'When editing, keep the diff small.']), { origin: 'manual', autoAccept: true });
    const snapshot = store.snapshots.freeze(1, store.principles.list({ status: 'accepted' }));
    // After iteration 1: one principle reworded, one retired, one added.
    editPrinciple(store, 'P1', 'When a test fails, read the whole log before editing.');
    retirePrinciple(store, 'P2');
    proposeOps(store, accepted(['When a build breaks, bisect the last change.']), { origin: 'manual', autoAccept: true });

    const ops = rollbackOps(store.principles.list({ status: 'accepted' }), snapshot);
    assert.deepEqual(ops.map((o) => o.kind).sort(), ['ADD', 'DELETE', 'UPDATE']);
    for (const o of ops) assert.match(o.rationale, /Roll back to iteration 1/u);
    const ids = proposeOps(store, ops, { origin: 'manual' });
    // Proposed only: nothing changed yet (the Review path).
    assert.equal(store.principles.list({ status: 'accepted' }).length, 3);
    for (const id of ids) applyOp(store, id);
    const texts = store.principles.list({ status: 'accepted' }).map((p) => p.text).sort();
    assert.deepEqual(texts, snapshot.principles.map((p) => p.text).sort());
    // A second rollback to the same snapshot has nothing left to do.
    assert.deepEqual(rollbackOps(store.principles.list({ status: 'accepted' }), snapshot), []);
  } finally {
    store.close();
  }
});

test('rollback to an empty snapshot retires everything; whitespace alone is not a change', () => {
  const store = openStore(':memory:');
  try {
    proposeOps(store, accepted(['When  a test fails, read its log.']), { origin: 'manual', autoAccept: true });
    const same = rollbackOps(store.principles.list(), { iteration: 2, createdAt: '', principles: [{ ...store.principles.list()[0]!, text: 'When a test fails, read its log.' }] });
    assert.deepEqual(same, []);
    const empty = rollbackOps(store.principles.list(), { iteration: 1, createdAt: '', principles: [] });
    assert.deepEqual(empty.map((o) => [o.kind, 'principleId' in o ? o.principleId : '']), [['DELETE', 'P1']]);
  } finally {
    store.close();
  }
});

function it(number: number, status: IterationRecord['status'], extra: Partial<IterationRecord> = {}): IterationRecord {
  return { number, status, config: {}, ...extra };
}

test('previous iteration, previous snapshot, later iterations and the base after a rollback', () => {
  const ledger = [it(1, 'done', { metrics: { a: 1 } }), it(2, 'failed'), it(3, 'collapsed', { metrics: { a: 2 } }), it(4, 'running'), it(5, 'rolled-back')];
  assert.equal(previousIteration(ledger, 3)?.number, 1, 'an iteration without metrics is skipped');
  assert.equal(previousIteration(ledger, 1), undefined);
  assert.equal(previousSnapshot([1, 3], 3), 1);
  assert.equal(previousSnapshot([1, 3], 1), undefined);
  assert.deepEqual(supersededBy(ledger, 1).map((x) => x.number), [2, 3], 'running and already rolled-back iterations are left alone');
  assert.equal(baseIteration(ledger)?.number, 1);
  assert.equal(baseIteration([it(1, 'done'), it(2, 'rolled-back')])?.number, 1);
});


function planned(store: Store, n: number): RollbackPlan {
  const plan = planRollback(store, n);
  if (plan.kind === 'refused') assert.fail(plan.reason);
  return plan;
}

test('a rollback to 1 restores its pool text, marks 2 and 3 rolled back and writes one ledger run', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-rollback-'));
  const store = threeIterations(':memory:', dir);
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const plan = planned(store, 1);
  assert.deepEqual(plan.ops.map((o) => o.kind).sort(), ['ADD', 'DELETE', 'UPDATE']);
  assert.deepEqual(plan.later.map((l) => l.number), [2, 3]);
  assert.equal(plan.adapter, join(dir, 'iteration-1', 'adapter'));
  assert.deepEqual(describeRollback(plan), [
    "The pool goes back to iteration 1's 3 principles through 3 recorded operations (1 restored, 1 reworded, 1 retired).",
    'Later iterations (2, 3) are marked rolled back; their records and files stay.',
    `Its adapter (${join(dir, 'iteration-1', 'adapter')}) is again the latest finished iteration's: a round that continues from the previous student starts from it.`,
  ]);

  const now = new Date('2026-12-02T01:00:00.000Z');
  const result = applyRollback(store, plan, { apply: true, now });
  assert.equal(result.opIds.length, 3);
  assert.deepEqual(result.rolledBack, [2, 3]);
  assert.deepEqual(store.principles.list({ status: 'accepted' }).map((p) => p.text).sort(), [...POOL_1].sort());
  for (const id of result.opIds) assert.equal(store.poolOps.get(id)?.status, 'applied', `op ${String(id)} is applied`);
  const two = store.iterations.get(2);
  const three = store.iterations.get(3);
  assert.equal(two?.status, 'rolled-back');
  assert.deepEqual(two.verdict, { rolledBackTo: 1, rolledBackAt: now.toISOString(), statusBefore: 'done' });
  assert.equal(three?.status, 'rolled-back');
  assert.deepEqual(three.verdict, { reasons: ['retention ×1.080 past ×1.050'], rolledBackTo: 1, rolledBackAt: now.toISOString(), statusBefore: 'collapsed' }, 'the verdict it had is kept beside the rollback');
  assert.equal(store.iterations.get(1)?.status, 'done');
  assert.equal(baseIteration(store.iterations.list())?.number, 1, 'the next round builds on iteration 1');
  const runs = store.runs.list().filter((r) => r.kind === 'rollback');
  assert.equal(runs.length, 1);
  const [run] = runs;
  assert.equal(run?.id, result.runId);
  assert.equal(run.iteration, 1);
  assert.equal(run.status, 'done');
  assert.deepEqual(run.config, { ops: result.opIds, applied: true, adapter: join(dir, 'iteration-1', 'adapter'), supersedes: [2, 3] });

  // Idempotent: a second rollback to 1 has no pool change and no later iteration left to set aside.
  const again = planned(store, 1);
  assert.deepEqual(again.ops, []);
  assert.deepEqual(again.later, []);
  assert.equal(describeRollback(again)[0], "The pool already matches iteration 1's (3 principles).");
  const second = applyRollback(store, again, { apply: true });
  assert.deepEqual(second.opIds, []);
  assert.equal(store.poolOps.list({ status: 'proposed' }).length, 0);
  assert.deepEqual(store.principles.list({ status: 'accepted' }).map((p) => p.text).sort(), [...POOL_1].sort());
});

test('review proposes the pool changes without applying them; the later iterations are set aside all the same', () => {
  const store = threeIterations(':memory:');
  try {
    const plan = planned(store, 2);
    assert.equal(plan.adapter, undefined);
    assert.equal(describeRollback(plan).at(-1), 'Iteration 2 has no adapter on disk.');
    const before = store.principles.list({ status: 'accepted' }).map((p) => p.text).sort();
    const result = applyRollback(store, plan, { apply: false });
    assert.equal(result.opIds.length, 1, 'only the principle added after 2 goes');
    assert.equal(store.poolOps.get(result.opIds[0] ?? -1)?.kind, 'DELETE');
    assert.equal(store.poolOps.get(result.opIds[0] ?? -1)?.status, 'proposed');
    assert.deepEqual(store.principles.list({ status: 'accepted' }).map((p) => p.text).sort(), before, 'nothing changes until the review');
    assert.equal(store.iterations.get(3)?.status, 'rolled-back');
    assert.equal(store.runs.list().find((r) => r.kind === 'rollback')?.config.applied, false);
  } finally {
    store.close();
  }
});

test('a running, pending or unknown iteration is refused with the reason, and nothing is written', () => {
  const store = threeIterations(':memory:');
  try {
    store.iterations.save({ number: 4, status: 'running', config: {} });
    store.iterations.save({ number: 5, status: 'pending', config: {} });
    assert.deepEqual(planRollback(store, 4), { kind: 'refused', code: 'unfinished', reason: 'iteration 4 is running; roll back to a finished iteration.' });
    assert.deepEqual(planRollback(store, 5), { kind: 'refused', code: 'unfinished', reason: 'iteration 5 is pending; roll back to a finished iteration.' });
    assert.deepEqual(planRollback(store, 9), { kind: 'refused', code: 'unknown', reason: 'there is no iteration 9 in the store (it may have been reset).' });
    // A rollback to 1 leaves the running iteration alone.
    assert.deepEqual(planned(store, 1).later.map((l) => l.number), [2, 3]);
    assert.equal(store.runs.list().length, 0);
  } finally {
    store.close();
  }
});

test('an iteration that froze no pool leaves the pool as it is', () => {
  const store = openStore(':memory:');
  try {
    store.iterations.save({ number: 1, status: 'failed', config: {} });
    store.iterations.save({ number: 2, status: 'done', config: {} });
    const plan = planned(store, 1);
    assert.equal(plan.snapshot, undefined);
    assert.deepEqual(describeRollback(plan), ['Iteration 1 froze no pool, so the pool stays as it is.', 'Later iterations (2) are marked rolled back; their records and files stay.', 'Iteration 1 has no adapter on disk.']);
    assert.deepEqual(applyRollback(store, plan, { apply: true }).opIds, []);
    assert.equal(store.iterations.get(2)?.status, 'rolled-back');
  } finally {
    store.close();
  }
});
