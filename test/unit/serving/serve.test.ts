import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poolVersion, recordOutcome, servePrinciples, ServingError, stateHash, warmPool } from '../../../src/core/serving/index.js';
import { openStore, type Store } from '../../../src/core/store/index.js';
import { ServeCallRepository } from '../../../src/core/store/serveCalls.js';
import { hashedEmbedder, POOL, principle } from '../injection/helpers.js';
import { seededStore } from './storeFixture.js';

// Built from parts so no scanner mistakes this file for a leaked credential.
const SLACK = ['xoxb', '123456789012', '1234567890123', 'abcdefghijklmnopqrstuvwx'].join('-');

const freshStore = (t: { after: (fn: () => void) => void }): Store => seededStore(t).store;

const failingTests = {
  task: 'Fix the failing test in the orders module',
  steps: [{ tool: 'Bash', action: 'pytest tests/test_orders.py', observation: 'FAILED tests/test_orders.py::test_total - AssertionError', isError: true }],
};

test('serves the principle that fits the state first, with scores, reasons and a logged call', async (t) => {
  const store = freshStore(t);
  const embedder = hashedEmbedder();
  const result = await servePrinciples({ store, embedder, state: failingTests, k: 3, client: 'unit' });
  assert.equal(result.principles[0]?.id, 'P1', JSON.stringify(result.principles));
  assert.ok(result.principles.length <= 3 && result.principles.length > 0);
  for (const p of result.principles) {
    assert.match(p.why, /cosine \d\.\d{3} to the decision state/u);
    assert.ok(p.score >= 0.05, `${p.id} clears the floor`);
  }
  // Scope: the Python principle fits (a .py file is named), the Rust one and the other workspace's never do.
  const ids = (await servePrinciples({ store, embedder, state: failingTests, k: 8 })).principles.map((p) => p.id);
  assert.ok(!ids.includes('P8') && !ids.includes('P7'), ids.join(','));
  assert.equal(result.truncated, false);
  assert.equal(result.poolSize, POOL.length);
  const logged = new ServeCallRepository(store.db).get(result.callId);
  assert.ok(logged !== undefined);
  assert.equal(logged.client, 'unit');
  assert.equal(logged.stateHash, stateHash(failingTests));
  assert.deepEqual(logged.results.map((r) => r.id), result.principles.map((p) => p.id));
  assert.match(logged.stateText, /pytest tests\/test_orders\.py/u);
});

test('a call with log: false (the server warm-up) serves the same principles and writes nothing', async (t) => {
  const store = freshStore(t);
  const embedder = hashedEmbedder();
  const count = (): number => (store.db.prepare('SELECT COUNT(*) AS n FROM serve_calls').get() as { n: number }).n;
  const before = count();
  const quiet = await servePrinciples({ store, embedder, state: failingTests, k: 3, log: false });
  assert.equal(count(), before, 'no call was logged');
  assert.equal(new ServeCallRepository(store.db).get(quiet.callId), undefined);
  const logged = await servePrinciples({ store, embedder, state: failingTests, k: 3 });
  assert.deepEqual(quiet.principles.map((p) => p.id), logged.principles.map((p) => p.id));
  assert.equal(count(), before + 1);
});

test('a state hashes alike whatever order the client wrote its keys in', () => {
  assert.equal(stateHash({ task: 'a', steps: [{ observation: 'o', action: 'x' }] }), stateHash({ steps: [{ action: 'x', observation: 'o' }], task: 'a' }));
  assert.notEqual(stateHash({ task: 'a' }), stateHash({ task: 'b' }));
});

test('a 1 MB state is truncated, said so, and still served; the log holds the cut state with its secret masked', async (t) => {
  const store = freshStore(t);
  const huge = `FAILED tests/test_orders.py token=${SLACK}\n${'x'.repeat(1024 * 1024)}\nAssertionError: expected 10 got 12`;
  const result = await servePrinciples({ store, embedder: hashedEmbedder(), state: { task: failingTests.task, steps: [{ tool: 'Bash', action: 'pytest', observation: huge }] } });
  assert.equal(result.truncated, true);
  assert.ok(result.principles.length > 0);
  const logged = new ServeCallRepository(store.db).get(result.callId);
  assert.ok(logged !== undefined);
  assert.ok(logged.stateText.length < 8192, `logged ${String(logged.stateText.length)} characters`);
  assert.match(logged.stateText, /characters omitted/u);
  assert.ok(!logged.stateText.includes(SLACK), 'the secret is not stored');
  // A 1 MB free-text situation and 10,000 steps are cut the same way, never refused.
  assert.equal((await servePrinciples({ store, embedder: hashedEmbedder(), state: { text: 'tests fail '.repeat(100_000) } })).truncated, true);
  const many = Array.from({ length: 10_000 }, (_, i) => ({ action: `step ${String(i)}`, observation: 'ok' }));
  assert.equal((await servePrinciples({ store, embedder: hashedEmbedder(), state: { task: 'x', steps: many } })).truncated, true);
});

test('an empty state and a bad k are refused with what to send; an empty pool answers with what to do', async (t) => {
  const store = freshStore(t);
  await assert.rejects(servePrinciples({ store, embedder: hashedEmbedder(), state: { steps: [{}] } }), (e: unknown) => e instanceof ServingError && /give the task and the recent steps/u.test(e.message));
  await assert.rejects(servePrinciples({ store, embedder: hashedEmbedder(), state: failingTests, k: 9 }), /k must be a whole number from 1 to 8/u);
  const { store: empty } = seededStore(t, []);
  const result = await servePrinciples({ store: empty, embedder: hashedEmbedder(), state: failingTests });
  assert.deepEqual(result.principles, []);
  assert.equal(result.poolSize, 0);
  assert.match(result.message ?? '', /no accepted principles yet/u);
});

test('principles internalized for the target model are left out for it and served to others', async (t) => {
  const store = freshStore(t);
  store.iterations.save({ number: 1, status: 'done', config: { model: 'student-v1' } });
  store.scores.save(1, [{ principleId: 'P1', method: 'divergence', score: 0.9, internalized: true, detail: {} }]);
  const forStudent = await servePrinciples({ store, embedder: hashedEmbedder(), state: failingTests, targetModel: 'student-v1' });
  assert.ok(!forStudent.principles.some((p) => p.id === 'P1'));
  assert.deepEqual(forStudent.internalized, ['P1']);
  const forOther = await servePrinciples({ store, embedder: hashedEmbedder(), state: failingTests, targetModel: 'gpt-x' });
  assert.equal(forOther.principles[0]?.id, 'P1');
});

test('the warm pool is rebuilt when the pool changes and only then', async (t) => {
  const store = freshStore(t);
  const embedder = hashedEmbedder();
  const first = await warmPool(store, embedder);
  assert.equal(await warmPool(store, embedder), first, 'unchanged pool: the same matrix');
  const embeddedBefore = embedder.seen.length;
  recordOutcome(store, { principleId: 'P2', verdict: 'helpful' });
  assert.equal(await warmPool(store, embedder), first, 'feedback does not invalidate');
  const version = poolVersion(store.db);
  store.principles.save(principle('P9', 'When a migration fails halfway, restore the backup before retrying it.'));
  assert.notEqual(poolVersion(store.db), version);
  const second = await warmPool(store, embedder);
  assert.notEqual(second, first);
  assert.equal(second.principles.length, POOL.length + 1);
  // Only the new principle's text was embedded; the rest came from the store's cache.
  assert.equal(embedder.seen.length - embeddedBefore, 1);
  const served = await servePrinciples({ store, embedder, state: { text: 'the database migration failed halfway through' } });
  assert.equal(served.principles[0]?.id, 'P9');
});

test('a change through another connection, or through this one between calls, is served at the next call', async (t) => {
  const { store, db } = seededStore(t);
  const embedder = hashedEmbedder();
  const migration = { text: 'the database migration failed halfway through' };
  // Two logged calls: the log's own writes leave the pool as it is.
  await servePrinciples({ store, embedder, state: migration });
  const warm = await warmPool(store, embedder);
  await servePrinciples({ store, embedder, state: migration });
  assert.equal(await warmPool(store, embedder), warm);
  // The editor accepts a principle through its own connection.
  const editor = openStore(db);
  try {
    editor.principles.save(principle('P9', 'When a migration fails halfway, restore the backup before retrying it.'));
  } finally {
    editor.close();
  }
  assert.equal((await servePrinciples({ store, embedder, state: migration })).principles[0]?.id, 'P9');
  // A write of this connection that lands between a call's pool check and its log is not mistaken for the log's.
  const racing = servePrinciples({ store, embedder, state: { text: 'the deploy script hangs' } });
  store.principles.save(principle('P10', 'When the deploy script hangs, check the remote host is reachable before retrying.'));
  await racing;
  assert.ok((await warmPool(store, embedder)).principles.some((p) => p.id === 'P10'));
  assert.equal((await servePrinciples({ store, embedder, state: { text: 'the deploy script hangs, is the remote host reachable?' } })).principles[0]?.id, 'P10');
});

test('feedback moves the counts, is kept with its note, and breaks near ties; an unknown id is refused by name', async (t) => {
  const store = freshStore(t);
  // Two principles with the same text tie exactly: the one with the better record must go first.
  store.transaction(() => {
    store.principles.save(principle('P20', 'When the deploy script hangs, check the remote host is reachable before retrying.'));
    store.principles.save(principle('P21', 'When the deploy script hangs, check the remote host is reachable before retrying.'));
  });
  const state = { text: 'the deploy script hangs, remote host reachable?' };
  const before = await servePrinciples({ store, embedder: hashedEmbedder(), state, k: 2 });
  assert.deepEqual(before.principles.map((p) => p.id).sort(), ['P20', 'P21']);
  const result = recordOutcome(store, { principleId: 'P21', verdict: 'helpful', note: 'checked ssh first; it was down', callId: before.callId });
  assert.deepEqual(result, { principleId: 'P21', helpful: 1, harmful: 0 });
  recordOutcome(store, { principleId: 'P20', verdict: 'harmful' });
  const after = await servePrinciples({ store, embedder: hashedEmbedder(), state, k: 2 });
  assert.deepEqual(after.principles.map((p) => p.id), ['P21', 'P20']);
  assert.match(after.principles[0]?.why ?? '', /reported helpful 1, harmful 0/u);
  const kept = new ServeCallRepository(store.db).feedback('P21');
  const [entry] = kept;
  assert.ok(entry !== undefined && kept.length === 1);
  assert.equal(entry.note, 'checked ssh first; it was down');
  assert.equal(entry.callId, before.callId);
  assert.throws(() => recordOutcome(store, { principleId: 'P404', verdict: 'helpful' }), (e: unknown) => e instanceof ServingError && /No principle "P404".*accepted ones include P1/u.test(e.message));
  assert.throws(() => recordOutcome(store, { principleId: 'P1', verdict: 'helpful', callId: 'nope' }), /No principles_for_state call "nope"/u);
  assert.equal(store.principles.get('P1')?.helpful, 0, 'a refused report changes nothing');
});

test('a secret typed into a principle is masked in what is served', async (t) => {
  const store = freshStore(t);
  store.principles.save(principle('P30', `When the deploy token ${SLACK} is rejected, rotate it before retrying the deploy.`));
  const result = await servePrinciples({ store, embedder: hashedEmbedder(), state: { text: 'the deploy token is rejected, retrying the deploy' } });
  const served = result.principles.find((p) => p.id === 'P30');
  assert.ok(served !== undefined, JSON.stringify(result.principles));
  assert.ok(!served.text.includes(SLACK), served.text);
  assert.match(served.text, /^When the deploy token .+ is rejected, rotate it/u);
});
