import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { moveStoreAside, openStore, SCHEMA_VERSION, StoreError } from '../../../src/core/store/index.js';
import { migrate } from '../../../src/core/store/schema.js';
import { explainNativeLoadError } from '../../../src/core/store/native.js';
import { sampleTrajectory, tempDir } from './helpers.js';

test('a new file is created and migrated to the latest schema in WAL mode', (t) => {
  const path = join(tempDir(t), 'nested', 'internalize.db');
  const store = openStore(path);
  t.after(() => { store.close(); });
  assert.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  const tables = store.db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type IN ('table')").all().map((r) => r.name);
  for (const name of ['sources', 'trajectories', 'steps', 'principles', 'principle_history', 'pool_ops', 'pool_snapshots', 'iterations', 'runs', 'steps_fts', 'principles_fts']) {
    assert.ok(tables.includes(name), `missing table ${name}`);
  }
});

test('every earlier schema version migrates forward with its data intact and searchable', (t) => {
  const dir = tempDir(t);
  for (let version = 1; version < SCHEMA_VERSION; version++) {
    const path = join(dir, `v${String(version)}.db`);
    const old = new Database(path);
    migrate(old, version);
    assert.equal(old.pragma('user_version', { simple: true }), version);
    old.prepare(
      `INSERT INTO trajectories (id, source, session_id, task, outcome, outcome_json, step_count, imported_at)
       VALUES ('t1', 'codex', 's1', 'rename the module', 'success', '{"label":"success","evidence":[]}', 1, '2026-01-01')`,
    ).run();
    old.prepare(`INSERT INTO steps (trajectory_id, idx, text, tool_calls_json, observations_json) VALUES ('t1', 0, 'grep for usages', '[]', '[]')`).run();
    if (version >= 2) {
      old.prepare(
        `INSERT INTO principles (id, text, when_text, granularity, status, origin, created_at, updated_at)
         VALUES ('P1', 'When a test fails, read its log before editing code.', 'a test fails', 'principle', 'accepted', 'manual', 'x', 'x')`,
      ).run();
    }
    old.close();

    const store = openStore(path);
    assert.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION, `from v${String(version)}`);
    const trajectory = store.trajectories.get('t1');
    assert.equal(trajectory?.task, 'rename the module');
    assert.equal(trajectory.steps.length, 1);
    assert.deepEqual(
      store.trajectories.search('usages').map((h) => h.trajectoryId),
      ['t1'],
      `FTS backfilled from v${String(version)}`,
    );
    if (version >= 2) assert.equal(store.principles.search('log editing')[0]?.id, 'P1');
    store.close();
  }
});

test('a migration that fails leaves the database at its previous version', (t) => {
  const path = join(tempDir(t), 'broken.db');
  const db = new Database(path);
  migrate(db, 1);
  db.exec('CREATE TABLE principles (x)'); // makes migration 2 fail half-way
  assert.throws(() => migrate(db));
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'pool_ops'").get() as { n: number }).n, 0);
  db.close();
});

test('a transaction that throws leaves nothing behind', (t) => {
  const store = openStore(join(tempDir(t), 'tx.db'));
  t.after(() => { store.close(); });
  assert.throws(
    () =>
      store.transaction(() => {
        store.trajectories.upsert(sampleTrajectory('a'));
        store.sources.upsert({ path: '/x.jsonl', format: 'claude-code', offset: 10, size: 10, mtimeMs: 1, headHash: 'h' });
        throw new Error('interrupted');
      }),
    /interrupted/u,
  );
  assert.equal(store.trajectories.count(), 0);
  assert.equal(store.sources.list().length, 0);
  assert.equal((store.db.prepare('SELECT count(*) AS n FROM steps').get() as { n: number }).n, 0);
  assert.equal((store.db.prepare('SELECT count(*) AS n FROM steps_fts').get() as { n: number }).n, 0);
});

test('a file that is not SQLite gives a clear error and is left untouched', (t) => {
  const path = join(tempDir(t), 'notes.db');
  const content = 'These are my notes, not a database.\n'.repeat(200);
  writeFileSync(path, content);
  assert.throws(
    () => openStore(path),
    (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.code, 'not-a-database');
      assert.match(error.message, /could not open its database at .*notes\.db: file is not a database/u);
      assert.match(error.message, /Reset Store/u);
      return true;
    },
  );
  assert.equal(readFileSync(path, 'utf8'), content);
  assert.equal(existsSync(`${path}-wal`), false);
});

test('a database written by a newer version is refused, not downgraded', (t) => {
  const path = join(tempDir(t), 'future.db');
  const db = new Database(path);
  db.pragma(`user_version = ${String(SCHEMA_VERSION + 1)}`);
  db.close();
  assert.throws(() => openStore(path), (e: unknown) => e instanceof StoreError && e.code === 'too-new');
});

test('a database locked by another connection is reported as locked', (t) => {
  const path = join(tempDir(t), 'locked.db');
  const holder = new Database(path);
  holder.exec('BEGIN EXCLUSIVE; CREATE TABLE hold (x);');
  t.after(() => holder.close());
  assert.throws(
    () => openStore(path, { busyTimeoutMs: 50 }),
    (e: unknown) => e instanceof StoreError && e.code === 'locked' && /locked by another process/u.test(e.message),
  );
});

test('two processes writing the same database concurrently lose nothing and corrupt nothing', (t) => {
  const path = join(tempDir(t), 'shared.db');
  openStore(path).close();
  const writer = `
    const { openStore } = require(${JSON.stringify(join(__dirname, '../../../src/core/store/index.ts'))});
    const store = openStore(process.argv[1]);
    const prefix = process.argv[2];
    for (let i = 0; i < 150; i++) {
      store.trajectories.upsert({ id: prefix + i, source: 'codex', sessionId: prefix + i, task: 'task ' + i,
        outcome: { label: 'unknown', evidence: [] }, steps: [{ index: 0, toolCalls: [], observations: [], text: 'step ' + prefix }] });
    }
    store.close();`;
  const spawn = (prefix: string) =>
    new Promise<number>((resolve) => {
      import('node:child_process').then(({ spawn: sp }) => {
        const child = sp(process.execPath, ['--import', 'tsx', '-e', writer, path, prefix], { stdio: 'inherit' });
        child.on('exit', (code) => {
          resolve(code ?? 1);
        });
      });
    });
  return Promise.all([spawn('a'), spawn('b')]).then((codes) => {
    assert.deepEqual(codes, [0, 0]);
    const reader = openStore(path, { readonly: true });
    t.after(() => { reader.close(); });
    assert.equal(reader.trajectories.count(), 300);
    assert.equal(reader.db.pragma('integrity_check', { simple: true }), 'ok');
    assert.equal(reader.trajectories.search('step b').length > 0, true);
  });
});

test('a reader sees committed data while the writer holds an open write transaction', (t) => {
  const path = join(tempDir(t), 'wal.db');
  const writer = openStore(path);
  t.after(() => { writer.close(); });
  writer.trajectories.upsert(sampleTrajectory('committed'));
  writer.db.exec('BEGIN IMMEDIATE');
  writer.trajectories.upsert(sampleTrajectory('pending'));
  const reader = openStore(path, { readonly: true, busyTimeoutMs: 10 });
  t.after(() => { reader.close(); });
  assert.equal(reader.trajectories.count(), 1);
  writer.db.exec('COMMIT');
  assert.equal(reader.trajectories.count(), 2);
});

test('moving a store aside keeps the old file and its WAL', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'internalize.db');
  const store = openStore(path);
  store.trajectories.upsert(sampleTrajectory('keep'));
  store.close();
  const backup = moveStoreAside(path, new Date('2026-11-25T00:00:00Z'));
  assert.ok(backup !== undefined && existsSync(backup));
  assert.equal(existsSync(path), false);
  const restored = openStore(backup);
  assert.equal(restored.trajectories.count(), 1);
  restored.close();
  assert.equal(moveStoreAside(path), undefined);
});

test('a native module built for another ABI is explained with the exact fix', () => {
  const abiError = new Error(
    "The module '/ext/node_modules/better-sqlite3/build/Release/better_sqlite3.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 115. This version of Node.js requires NODE_MODULE_VERSION 128.",
  );
  const inElectron = explainNativeLoadError(abiError, { ...process.versions, electron: '34.2.0' });
  assert.equal(inElectron.code, 'native-module');
  assert.match(inElectron.message, /ABI 115, this Electron 34\.2\.0 \(VS Code desktop\) needs ABI 128/u);
  assert.match(inElectron.message, /@electron\/rebuild --version 34\.2\.0/u);
  const inNode = explainNativeLoadError(abiError, process.versions);
  assert.match(inNode.message, /npm rebuild better-sqlite3/u);
  const missing = explainNativeLoadError(Object.assign(new Error("Cannot find module 'better-sqlite3'"), { code: 'MODULE_NOT_FOUND' }), process.versions);
  assert.match(missing.message, /missing from the installation/u);
});

test('per-principle scores are kept per iteration; the latest one of each principle is what the view shows', () => {
  const store = openStore(':memory:');
  store.scores.save(1, [
    { principleId: 'P1', method: 'checker', base: 0.1, teacher: 0.6, student: 0.4, score: 0.6, internalized: true, detail: { heldout: 20 } },
    { principleId: 'P2', method: 'divergence', score: 0.2, internalized: false, detail: { kl_before: 1.5, kl_after: 1.2 } },
  ]);
  store.scores.save(2, [{ principleId: 'P1', method: 'checker', base: 0.1, teacher: 0.6, student: 0.5, score: 0.8, internalized: true, detail: {} }]);
  const latest = store.scores.latest();
  assert.equal(latest.get('P1')?.iteration, 2);
  assert.equal(latest.get('P1')?.score, 0.8);
  assert.equal(latest.get('P2')?.method, 'divergence');
  assert.equal(latest.get('P2')?.base, undefined);
  assert.deepEqual(latest.get('P2')?.detail, { kl_before: 1.5, kl_after: 1.2 });
  assert.deepEqual(
    store.scores.forIteration(1).map((s) => [s.principleId, s.internalized]),
    [
      ['P1', true],
      ['P2', false],
    ],
  );
  store.close();
});
