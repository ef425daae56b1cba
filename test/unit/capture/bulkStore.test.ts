import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore, type Store } from '../../../src/core/store/index.js';
import { STEPS_FTS_INSERT_TRIGGER } from '../../../src/core/store/trajectories.js';
import { sampleTrajectory } from '../store/helpers.js';

function ftsIntact(store: Store): void {
  // Compares the index with the content table row by row: throws on any difference.
  store.db.prepare("INSERT INTO steps_fts(steps_fts, rank) VALUES ('integrity-check', 1)").run();
}

function triggerSql(store: Store): string | undefined {
  return (store.db.prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'steps_fts_ai'").get() as { sql: string } | undefined)?.sql;
}

test('a bulk write fills the full-text index from the new rows, leaving the same index and trigger as row-by-row writes', () => {
  const bulk = openStore(':memory:');
  const rows = openStore(':memory:');
  const migrated = triggerSql(bulk);
  assert.equal(migrated, STEPS_FTS_INSERT_TRIGGER);
  const batch = Array.from({ length: 40 }, (_, i) => sampleTrajectory(`s${String(i)}`, 10));
  bulk.trajectories.upsertMany(batch);
  for (const t of batch) rows.trajectories.upsert(t);
  ftsIntact(bulk);
  assert.equal(triggerSql(bulk), migrated);
  assert.deepEqual(bulk.trajectories.search('ImportError yaml', 1000).length, rows.trajectories.search('ImportError yaml', 1000).length);
  assert.equal(bulk.trajectories.search('ImportError yaml', 1000).length, 40);

  // Rewriting: earlier rows leave the index through the delete trigger, new ones enter in bulk,
  // also when the rewritten trajectories held the highest rowids (their numbers are reused).
  bulk.trajectories.upsertMany([...batch.slice(20).map((t) => ({ ...t, steps: t.steps.slice(0, 4) })), ...batch.slice(0, 20)]);
  ftsIntact(bulk);
  assert.equal((bulk.db.prepare('SELECT count(*) AS n FROM steps').get() as { n: number }).n, 20 * 4 + 20 * 10);
  assert.equal(bulk.trajectories.search('ImportError yaml', 1000).length, 40);
  // After a bulk write the per-row trigger is back: a small write is indexed too.
  bulk.trajectories.upsert(sampleTrajectory('after', 2));
  ftsIntact(bulk);
  bulk.close();
  rows.close();
});

test('the same id twice in one bulk write keeps the last and the index stays consistent', () => {
  const store = openStore(':memory:');
  const a = sampleTrajectory('dup', 300);
  store.trajectories.upsertMany([a, { ...a, steps: a.steps.slice(0, 100) }]);
  assert.equal(store.trajectories.get(a.id)?.steps.length, 100);
  ftsIntact(store);
  store.close();
});

test('a failing bulk write leaves neither rows nor a missing trigger behind', () => {
  const store = openStore(':memory:');
  const good = Array.from({ length: 30 }, (_, i) => sampleTrajectory(`g${String(i)}`, 10));
  const bad = { ...sampleTrajectory('bad', 10), outcome: { label: 'nonsense', evidence: [] } } as unknown as (typeof good)[number];
  assert.throws(() => { store.trajectories.upsertMany([...good, bad]); }, /CHECK constraint/u);
  assert.equal(store.trajectories.count(), 0);
  assert.equal(triggerSql(store), STEPS_FTS_INSERT_TRIGGER);
  store.trajectories.upsert(sampleTrajectory('later', 2));
  ftsIntact(store);
  store.close();
});

test('a second connection (the extension host beside the capture worker) keeps writing and searching across a bulk write', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-bulk-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const path = join(dir, 'store.db');
  const capture = openStore(path);
  const host = openStore(path);
  host.trajectories.upsert(sampleTrajectory('host-before', 2));
  assert.equal(host.trajectories.search('ImportError').length, 1);
  // The bulk write drops and recreates the FTS trigger in its transaction: the host's prepared statements are re-prepared, not broken.
  capture.trajectories.upsertMany(Array.from({ length: 30 }, (_, i) => sampleTrajectory(`c${String(i)}`, 10)));
  host.trajectories.upsert(sampleTrajectory('host-after', 2));
  host.trajectories.setOutcome(sampleTrajectory('c3').id, { label: 'success', evidence: [{ kind: 'user-verdict', detail: 'marked by the user' }] });
  assert.equal(host.trajectories.search('ImportError', 100).length, 32);
  assert.equal(capture.trajectories.get(sampleTrajectory('c3').id)?.outcome.label, 'success');
  ftsIntact(capture);
  assert.equal((capture.db.pragma('integrity_check', { simple: true })), 'ok');
  host.close();
  capture.close();
});
