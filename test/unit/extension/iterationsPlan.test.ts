import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOp, editPrinciple, proposeOps, retirePrinciple } from '../../../src/core/experience/curation.js';
import { openStore, type IterationRecord } from '../../../src/core/store/index.js';
import { baseIteration, findCheckpoint, iterationDescription, previousIteration, previousSnapshot, resumePreset, rollbackOps, supersededBy } from '../../../src/extension/commands/iterationsPlan.js';

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

test('findCheckpoint picks the newest saved adapter folder and ignores the rest', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-ckpt-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(findCheckpoint(undefined), undefined);
  assert.equal(findCheckpoint(join(dir, 'missing')), undefined);
  assert.equal(findCheckpoint(dir), undefined);
  const make = (name: string, seconds: number, adapter = true): string => {
    const path = join(dir, name);
    mkdirSync(path);
    if (adapter) writeFileSync(join(path, 'adapter_config.json'), '{}');
    utimesSync(path, seconds, seconds);
    return path;
  };
  make('checkpoint-epoch1', 1000);
  const interrupted = make('checkpoint-interrupted-step7', 2000);
  make('checkpoint-half-written', 3000, false);
  make('adapter', 4000);
  assert.equal(findCheckpoint(dir), interrupted);
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

test('resume presets are recognized only in their exact shape', () => {
  assert.deepEqual(resumePreset({ resume: { kind: 'toy', iteration: 3, checkpoint: '/c' } }), { kind: 'toy', iteration: 3, checkpoint: '/c' });
  assert.equal(resumePreset('toy'), undefined);
  assert.equal(resumePreset({ resume: { kind: 'mine', iteration: 3, checkpoint: '/c' } }), undefined);
  assert.equal(resumePreset({ resume: { kind: 'toy', iteration: 0, checkpoint: '/c' } }), undefined);
  assert.equal(resumePreset(undefined), undefined);
});

test('the row description stays short', () => {
  assert.equal(iterationDescription(it(2, 'done', { config: { world: 'suite' }, metrics: { mean_score: 0.6912, accuracy_without_principles: 0.5 } })), 'done · suite · score 0.69');
  assert.equal(iterationDescription(it(1, 'rolled-back', { config: { world: 'toy' }, metrics: { accuracy_without_principles: 0.875 } })), 'rolled back · toy · acc 0.88');
  assert.equal(iterationDescription(it(3, 'failed')), 'failed');
});
