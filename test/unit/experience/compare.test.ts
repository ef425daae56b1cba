import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../../src/core/store/index.js';
import { editPrinciple, mergePrinciples, proposeOps, retirePrinciple, withoutKnown } from '../../../src/core/experience/curation.js';
import { comparePools, poolAt } from '../../../src/core/experience/compare.js';
import { wordDiff } from '../../../src/core/experience/wordDiff.js';
import { textRedactor } from '../../../src/core/experience/textRedaction.js';
import { createRedactor } from '../../../src/core/redaction/index.js';

const ev = [{ trajectoryId: 't1', stepIndex: 2 }];

test('wordDiff marks the removed and added words and gives both texts back', () => {
  const before = 'When a build fails, read the first error before changing code.';
  const after = 'When a build fails, read the first compiler error before editing any code.';
  const segments = wordDiff(before, after);
  const join = (kinds: string[]): string => segments.filter((s) => kinds.includes(s.kind)).map((s) => s.text).join('');
  assert.equal(join(['same', 'removed']), before);
  assert.equal(join(['same', 'added']), after);
  assert.deepEqual(
    segments.filter((s) => s.kind !== 'same').map((s) => `${s.kind}:${s.text.trim()}`),
    ['added:compiler', 'removed:changing', 'added:editing any'],
  );
  assert.deepEqual(wordDiff('', 'new text'), [{ kind: 'added', text: 'new text' }]);
  assert.deepEqual(wordDiff('same words', 'same words'), [{ kind: 'same', text: 'same words' }]);
});

test('wordDiff of very long texts falls back to one replacement instead of a quadratic table', () => {
  const a = 'word '.repeat(1000);
  const b = 'other '.repeat(1000);
  assert.deepEqual(
    wordDiff(a, b).map((s) => s.kind),
    ['removed', 'added'],
  );
});

test('comparePools reports adds, word-level updates, merges and deletions between a snapshot and the current pool, with rationale and evidence', async () => {
  const store = openStore(':memory:');
  proposeOps(
    store,
    ['When A happens, do B.', 'When A occurs, do B quickly.', 'When C, do D.', 'When E, do F.'].map((text) => ({ kind: 'ADD' as const, text, rationale: 'r', evidence: ev })),
    { origin: 'manual', autoAccept: true },
  );
  store.snapshots.freeze(1, store.principles.list({ status: 'accepted' }));
  await new Promise((resolve) => setTimeout(resolve, 5));
  mergePrinciples(store, ['P1', 'P2'], 'When A happens or occurs, do B quickly.', 'same lesson twice');
  editPrinciple(store, 'P3', 'When C, always do D first.');
  retirePrinciple(store, 'P4', 'no longer true');
  proposeOps(store, [{ kind: 'ADD', text: 'When G, do H.', rationale: 'new lesson', evidence: [{ trajectoryId: 't9', stepIndex: 4 }] }], { origin: 'llm', autoAccept: true });

  const c = comparePools(store, { kind: 'snapshot', iteration: 1 }, { kind: 'current' });
  assert.equal(c.from, 'iteration 1');
  assert.equal(c.to, 'current pool');
  assert.equal(c.sizeBefore, 4);
  assert.equal(c.sizeAfter, 3);
  assert.deepEqual(
    c.entries.map((e) => `${e.kind} ${e.principleId}`),
    ['ADD P5', 'UPDATE P3', 'MERGE P1', 'DELETE P4'],
  );
  const [add, update, merge, deletion] = c.entries;
  assert.ok(add !== undefined && update !== undefined && merge !== undefined && deletion !== undefined);
  assert.equal(add.rationale, 'new lesson');
  assert.deepEqual(add.evidence, [{ trajectoryId: 't9', stepIndex: 4 }]);
  assert.deepEqual(
    update.segments?.filter((s) => s.kind === 'added').map((s) => s.text.trim()),
    ['always', 'D first.'],
  );
  assert.deepEqual(merge.mergedIds, ['P2']);
  assert.deepEqual(merge.mergedTexts, ['When A occurs, do B quickly.']);
  assert.equal(merge.rationale, 'same lesson twice');
  assert.equal(deletion.rationale, 'no longer true');
  assert.equal(c.unchanged, 0);
  assert.equal(poolAt(store, { kind: 'current' }).iteration, 2);
  assert.throws(() => comparePools(store, { kind: 'snapshot', iteration: 7 }, { kind: 'current' }), /Iteration 7 has no frozen pool snapshot/u);
  store.close();
});

test('withoutKnown drops additions the pool already has in any status, including rejected ones', () => {
  const store = openStore(':memory:');
  const [first] = proposeOps(store, [{ kind: 'ADD', text: 'When X, do Y.', rationale: 'r', evidence: ev }], { origin: 'mined' });
  assert.ok(first !== undefined);
  const again = withoutKnown(store, [
    { kind: 'ADD', text: '  when x,   do y. ', rationale: 'r', evidence: ev },
    { kind: 'ADD', text: 'When Z, do W.', rationale: 'r', evidence: ev },
    { kind: 'ADD', text: 'When Z, do W.', rationale: 'duplicate inside the batch', evidence: ev },
  ]);
  assert.deepEqual(
    again.map((o) => (o.kind === 'ADD' ? o.text : '')),
    ['When Z, do W.'],
  );
  store.close();
});

test('editPrinciple refuses empty text and records an applied UPDATE', () => {
  const store = openStore(':memory:');
  proposeOps(store, [{ kind: 'ADD', text: 'When X, do Y.', rationale: 'r', evidence: ev }], { origin: 'manual', autoAccept: true });
  assert.throws(() => editPrinciple(store, 'P1', '   '), /cannot be empty/u);
  const opId = editPrinciple(store, 'P1', 'When X, do Y twice.');
  assert.equal(store.poolOps.get(opId)?.status, 'applied');
  assert.equal(store.poolOps.get(opId)?.before, 'When X, do Y.');
  assert.equal(store.principles.get('P1')?.text, 'When X, do Y twice.');
  store.close();
});

test('textRedactor replaces secrets in a prompt with the capture detectors and counts them', async () => {
  const redact = textRedactor(await createRedactor());
  const key = ['ghp', '_', 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8'].join('');
  const r = await redact(`Summarize this run. The agent exported GITHUB_TOKEN=${key} and ran the tests.`);
  assert.equal(r.count, 1);
  assert.ok(!r.text.includes(key));
  assert.match(r.text, /\[REDACTED:[\w-]+\]/u);
  const clean = await redact('Nothing secret here.');
  assert.deepEqual(clean, { text: 'Nothing secret here.', count: 0 });
});

test('comparing the empty pool with the current one lists every accepted principle as added', () => {
  const store = openStore(':memory:');
  proposeOps(store, [{ kind: 'ADD', text: 'When X, do Y.', rationale: 'seen twice', evidence: ev }], { origin: 'mined', autoAccept: true });
  proposeOps(store, [{ kind: 'ADD', text: 'When still proposed, nothing.', rationale: 'r', evidence: ev }], { origin: 'mined' });
  const c = comparePools(store, { kind: 'empty' }, { kind: 'current' });
  assert.deepEqual(
    c.entries.map((e) => [e.kind, e.principleId, e.after, e.rationale]),
    [['ADD', 'P1', 'When X, do Y.', 'seen twice']],
  );
  store.close();
});
