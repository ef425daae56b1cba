import assert from 'node:assert/strict';
import { copyFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRedactor, importPaths, importPathsInParallel } from '../../../src/core/capture/index.js';
import { openStore, type Store } from '../../../src/core/store/index.js';
import { fixture, FIXTURES, tempDir } from './helpers.js';

/** Everything stored about trajectories and sources, minus the import time. */
function contents(store: Store): string {
  const trajectories = store.db.prepare('SELECT * FROM trajectories ORDER BY id').all().map((r) => ({ ...(r as object), imported_at: undefined }));
  const steps = store.db.prepare('SELECT trajectory_id, idx, text, thought, tool_calls_json, observations_json, user_messages_json FROM steps ORDER BY trajectory_id, idx').all();
  const sources = store.db.prepare('SELECT path, format, offset, size, head_hash, state FROM sources ORDER BY path').all();
  return JSON.stringify({ trajectories, steps, sources });
}

function fileStore(t: { after: (fn: () => void) => void }, name: string): Store {
  const store = openStore(join(tempDir(t), `${name}.db`));
  t.after(() => {
    store.close();
  });
  return store;
}

describe('parallel import (parsing thread + writing thread)', () => {
  it('stores exactly what the one-thread import stores, and a second run changes nothing', async (t) => {
    const one = fileStore(t, 'one');
    const two = fileStore(t, 'two');
    const sequential = await importPaths(one, await createRedactor(), [FIXTURES]);
    const parallel = await importPathsInParallel(two, [FIXTURES], { flushChars: 4096 });
    assert.equal(parallel.trajectories, sequential.trajectories);
    assert.deepEqual(parallel.redactions, sequential.redactions);
    assert.equal(parallel.issues.length, sequential.issues.length);
    assert.deepEqual(parallel.errors.map((e) => e.code), sequential.errors.map((e) => e.code));
    assert.equal(contents(two), contents(one));
    two.db.prepare("INSERT INTO steps_fts(steps_fts, rank) VALUES ('integrity-check', 1)").run();
    const again = await importPathsInParallel(two, [FIXTURES]);
    assert.equal(again.trajectories, 0);
    assert.equal(contents(two), contents(one));
  });

  it('reports errors with their file and code, and forgets a vanished source through the writer', async (t) => {
    const dir = tempDir(t);
    const store = fileStore(t, 'errors');
    const log = join(dir, 'session.jsonl');
    copyFileSync(fixture('claude-code', 'agent-sessions-small.jsonl'), log);
    writeFileSync(join(dir, 'garbage.json'), Buffer.from([0, 1, 2, 3, 255, 254]));
    const first = await importPathsInParallel(store, [dir, join(dir, 'garbage.json')]);
    assert.equal(first.trajectories, 3);
    assert.deepEqual(first.errors.map((e) => [e.code, e.file]), [['unknown-format', join(dir, 'garbage.json')]]);
    assert.equal(store.sources.list().length, 1);
    unlinkSync(log);
    const second = await importPathsInParallel(store, [log]);
    assert.deepEqual(second.errors.map((e) => e.code), ['vanished']);
    assert.equal(store.sources.list().length, 0);
  });

  it('falls back to one thread for an in-memory store', async () => {
    const store = openStore(':memory:');
    const report = await importPathsInParallel(store, [fixture('claude-code', 'agent-sessions-small.jsonl')]);
    assert.equal(report.trajectories, 3);
    store.close();
  });
});
