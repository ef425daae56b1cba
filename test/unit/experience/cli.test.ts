import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { openStore } from '../../../src/core/store/index.js';
import { proposeOps } from '../../../src/core/experience/curation.js';
import { parsePack } from '../../../src/core/experience/export.js';

function io(cwd: string): { out: string[]; err: string[]; io: Parameters<typeof runCli>[1] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t), env: { HOME: cwd }, cwd } };
}

test('mine, pool and export from the command line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-exp-'));
  const db = join(dir, 'i.db');
  const fixtures = join(__dirname, '..', '..', 'fixtures');
  assert.equal(await runCli(['import', '--db', db, fixtures], io(dir).io), 0);
  const mined = io(dir);
  assert.equal(await runCli(['mine', '--db', db, '--min-support', '1', '--propose'], mined.io), 0);
  assert.match(mined.out.join(''), /error-recovery/u);
  assert.match(mined.err.join(''), /Proposed \d+ principles/u);

  const store = openStore(db);
  const [op] = proposeOps(store, [{ kind: 'ADD', text: 'When a build fails, read the first error.', rationale: 'r', evidence: [] }], { origin: 'manual' });
  store.close();
  const pool = io(dir);
  assert.equal(await runCli(['pool', '--db', db, '--apply', String(op)], pool.io), 0);
  const bad = io(dir);
  assert.equal(await runCli(['pool', '--db', db, '--apply', String(op)], bad.io), 1);
  assert.match(bad.err.join(''), /already applied/u);

  writeFileSync(join(dir, 'AGENTS.md'), '# Mine\n');
  const ex = io(dir);
  assert.equal(await runCli(['export', '--db', db, '--dir', dir], ex.io), 0);
  const agents = readFileSync(join(dir, 'AGENTS.md'), 'utf8');
  assert.ok(agents.startsWith('# Mine\n') && agents.includes('read the first error'));
  assert.match(readFileSync(join(dir, '.cursor/rules/internalize.mdc'), 'utf8'), /^---\n/u);
  writeFileSync(join(dir, 'CLAUDE.md'), readFileSync(join(dir, 'CLAUDE.md'), 'utf8').replace('first error', 'last error'));
  const again = io(dir);
  assert.equal(await runCli(['export', '--db', db, '--dir', dir], again.io), 1);
  assert.match(again.err.join(''), /CLAUDE\.md: .*edited by hand/u);
  assert.equal(await runCli(['export', '--db', db, '--pack', 'pack.json'], io(dir).io), 0);
  assert.equal(parsePack(readFileSync(join(dir, 'pack.json'), 'utf8')).principles.length, 1);
});

test('pool diff: two principle packs word by word, and pool states of the store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-diff-'));
  const db = join(dir, 'i.db');
  const store = openStore(db);
  proposeOps(
    store,
    ['When a build fails, read the first error.', 'When tests are flaky, rerun the one test alone.'].map((text) => ({ kind: 'ADD' as const, text, rationale: 'r', evidence: [] })),
    { origin: 'manual', autoAccept: true },
  );
  store.close();
  assert.equal(await runCli(['export', '--db', db, '--pack', 'a.json'], io(dir).io), 0);
  const pack = parsePack(readFileSync(join(dir, 'a.json'), 'utf8'));
  const next = {
    ...pack,
    principles: [
      { ...pack.principles[0], text: 'When a build fails, read the first compiler error.' },
      { id: 'P3', text: 'When a command hangs, run it with a timeout.', when: 'a command hangs', scope: 'global', granularity: 'principle', evidence: [] },
    ],
  };
  writeFileSync(join(dir, 'b.json'), JSON.stringify(next));
  const files = io(dir);
  assert.equal(await runCli(['pool', 'diff', 'a.json', 'b.json'], files.io), 0);
  assert.deepEqual(files.out.join('').trim().split('\n'), [
    'a.json → b.json',
    'ADD    P3     When a command hangs, run it with a timeout.',
    'UPDATE P1     When a build fails, read the first {+compiler+} error.',
    'DELETE P2     When tests are flaky, rerun the one test alone.',
    '1 added, 1 updated, 0 merged, 1 deleted, 0 unchanged.',
  ]);

  const states = io(dir);
  assert.equal(await runCli(['pool', 'diff', '--db', db, '--json'], states.io), 0);
  const parsed = JSON.parse(states.out.join('')) as { from: string; to: string; entries: { kind: string; principleId: string }[] };
  assert.equal(parsed.from, 'empty pool');
  assert.deepEqual(parsed.entries.map((e) => `${e.kind} ${e.principleId}`), ['ADD P1', 'ADD P2']);

  const bad = io(dir);
  assert.equal(await runCli(['pool', 'diff', '--db', db, '--from', '7'], bad.io), 1);
  assert.match(bad.err.join(''), /Iteration 7 has no frozen pool snapshot/u);
  const typo = io(dir);
  assert.equal(await runCli(['pool', 'dif', '--db', db], typo.io), 2);
  assert.match(typo.err.join(''), /did you mean `internalize pool diff`/u);
});
