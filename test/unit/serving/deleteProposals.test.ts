import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { applyOp, rejectOp } from '../../../src/core/experience/curation.js';
import { learnFromUse, proposeHarmfulDeletes, recordOutcome } from '../../../src/core/serving/index.js';
import type { Store } from '../../../src/core/store/index.js';
import { ServeCallRepository } from '../../../src/core/store/serveCalls.js';
import { POOL } from '../injection/helpers.js';
import { seededStore } from './storeFixture.js';

const freshStore = seededStore;

/**
 * A logged call that served `ids`, found in a failed captured run and credited as learnFromUse does
 * (link + one outcome feedback per served principle), through the serving log's own repository.
 */
function failedRunServed(store: Store, callId: string, trajectoryId: string, stepIndex: number, ids: readonly string[]): void {
  const calls = new ServeCallRepository(store.db);
  calls.insert({ id: callId, at: new Date().toISOString(), client: 'claude-code', stateHash: `h-${callId}`, stateText: 'Task: fix the build', truncated: false, embedderId: 'test', results: ids.map((id) => ({ id, score: 0.5 })) });
  store.transaction(() => {
    for (const id of ids) calls.addFeedback({ principleId: id, verdict: 'harmful', origin: 'outcome', callId, note: `failure run ${trajectoryId}, step ${String(stepIndex)}` });
    calls.link(callId, trajectoryId, stepIndex, 'harmful');
  });
}

const pendingDeletes = (store: Store): string[] =>
  store.poolOps
    .list({ status: 'proposed' })
    .filter((op) => op.kind === 'DELETE')
    .map((op) => op.principleId);

test('a principle that keeps hurting is proposed for deletion with its counts and evidence, once, and stays in the pool', (t) => {
  const { store } = freshStore(t);
  failedRunServed(store, 'call-a', 'traj-1', 3, ['P1', 'P2']);
  failedRunServed(store, 'call-b', 'traj-2', 5, ['P1']);
  recordOutcome(store, { principleId: 'P1', verdict: 'harmful', note: 'told me to read logs that did not exist', callId: 'call-b' });
  // P2: harmful 1, below the threshold.
  const report = learnFromUse(store, { deletePolicy: { minHarmful: 3, margin: 2 } });
  assert.deepEqual(report.proposedDeletes.map((p) => [p.principleId, p.harmful, p.helpful]), [['P1', 3, 0]]);
  const [op] = store.poolOps.list({ status: 'proposed' });
  assert.ok(op !== undefined);
  assert.equal(op.kind, 'DELETE');
  assert.equal(op.principleId, 'P1');
  assert.equal(op.before, POOL.find((p) => p.id === 'P1')?.text);
  assert.match(op.rationale, /Reported harmful 3 times against helpful 0/u);
  assert.match(op.rationale, /2 calls of 2 failed runs: traj-2, traj-1|2 calls of 2 failed runs: traj-1, traj-2/u);
  assert.match(op.rationale, /call-a/u);
  assert.match(op.rationale, /by the agent 1 time \(serve calls call-b\): "told me to read logs that did not exist"/u);
  assert.deepEqual(
    [...op.evidence].sort((a, b) => a.trajectoryId.localeCompare(b.trajectoryId)),
    [{ trajectoryId: 'traj-1', stepIndex: 3 }, { trajectoryId: 'traj-2', stepIndex: 5 }],
  );
  // Never deleted silently: the principle is still accepted and served until the user decides.
  assert.equal(store.principles.get('P1')?.status, 'accepted');

  // While that proposal is pending, more harm proposes nothing new.
  failedRunServed(store, 'call-c', 'traj-3', 1, ['P1']);
  assert.deepEqual(learnFromUse(store).proposedDeletes, []);
  assert.deepEqual(pendingDeletes(store), ['P1']);

  // Accepting it goes through curation like any DELETE.
  applyOp(store, op.id);
  assert.notEqual(store.principles.get('P1')?.status, 'accepted');
  assert.deepEqual(proposeHarmfulDeletes(store), [], 'a principle no longer accepted is not proposed again');
});

test('helpful reports hold a principle back by the margin; a rejected proposal returns only with new harm', (t) => {
  const { store } = freshStore(t);
  failedRunServed(store, 'c1', 'traj-1', 0, ['P2']);
  failedRunServed(store, 'c2', 'traj-2', 0, ['P2']);
  failedRunServed(store, 'c3', 'traj-3', 0, ['P2']);
  recordOutcome(store, { principleId: 'P2', verdict: 'helpful' });
  recordOutcome(store, { principleId: 'P2', verdict: 'helpful' });
  // harmful 3, helpful 2: past minHarmful but only 1 ahead.
  assert.deepEqual(proposeHarmfulDeletes(store, { minHarmful: 3, margin: 2 }), []);
  assert.deepEqual(proposeHarmfulDeletes(store, { minHarmful: 3, margin: 1 }).map((p) => p.principleId), ['P2']);

  const [op] = store.poolOps.list({ status: 'proposed' });
  assert.ok(op !== undefined);
  rejectOp(store, op.id);
  // The user kept it: the same evidence is not put to them again.
  assert.deepEqual(proposeHarmfulDeletes(store, { minHarmful: 3, margin: 1 }), []);
  // New harm after the decision is new evidence.
  recordOutcome(store, { principleId: 'P2', verdict: 'harmful', note: 'again' });
  const again = proposeHarmfulDeletes(store, { minHarmful: 3, margin: 1 });
  assert.deepEqual(again.map((p) => [p.principleId, p.harmful, p.helpful]), [['P2', 4, 2]]);
});

test('a policy that is not a whole number of at least 1 is refused with the field named', (t) => {
  const { store } = freshStore(t);
  assert.throws(() => proposeHarmfulDeletes(store, { minHarmful: 0, margin: 2 }), /minHarmful must be a whole number of at least 1, not 0/u);
  assert.throws(() => proposeHarmfulDeletes(store, { minHarmful: 3, margin: 1.5 }), /margin must be a whole number of at least 1, not 1\.5/u);
});

test('internalize mcp learn proposes with the threshold given and says what it did; a missing store is named', async (t) => {
  const { store, db, dir } = freshStore(t);
  failedRunServed(store, 'c1', 'traj-1', 2, ['P3']);
  failedRunServed(store, 'c2', 'traj-2', 4, ['P3']);
  let out = '';
  let err = '';
  const io = { out: (s: string) => { out += s; }, err: (s: string) => { err += s; }, env: { HOME: dir }, cwd: dir };
  assert.equal(await runCli(['mcp', 'learn', '--db', db], io), 0);
  assert.match(out, /No principle is past the DELETE threshold \(harmful at least 3 and 2 more than helpful\)/u);
  out = '';
  assert.equal(await runCli(['mcp', 'learn', '--db', db, '--min-harmful', '2', '--margin', '2'], io), 0);
  assert.match(out, /Proposed DELETE of P3 \(op \d+\): harmful 2, helpful 0\./u);
  assert.match(out, /internalize pool --apply OPID/u);
  out = '';
  assert.equal(await runCli(['mcp', 'learn', '--db', db, '--min-harmful', '2', '--margin', '2', '--json'], io), 0);
  assert.deepEqual(JSON.parse(out), { linked: 0, credited: 0, unmatched: 0, proposedDeletes: [] });
  assert.equal(await runCli(['mcp', 'learn', '--db', db, '--margin', 'two'], io), 2);
  assert.match(err, /--margin takes a whole number of at least 1, not "two"/u);
  err = '';
  assert.equal(await runCli(['mcp', 'learn', '--db', join(dir, 'nowhere.db')], io), 1);
  assert.match(err, /No Internalize store at .*nowhere\.db/u);
});
