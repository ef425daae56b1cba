import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { makePreviewCommand } from '../../../src/cli/commands/preview.js';
import type { CliIo } from '../../../src/cli/context.js';
import { openStore } from '../../../src/core/store/index.js';
import { hashedEmbedder, POOL } from './helpers.js';

const FIXTURE = join(__dirname, '..', '..', 'fixtures', 'cline');

function harness(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-preview-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const db = join(dir, 'i.db');
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (s) => out.push(s), err: (s) => err.push(s), env: { HOME: dir }, cwd: dir };
  const command = makePreviewCommand(() => Promise.resolve(hashedEmbedder()));
  return {
    db,
    io,
    async run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
      out.length = 0;
      err.length = 0;
      const code = await command.run(argv, io);
      return { code, out: out.join(''), err: err.join('') };
    },
  };
}

test('preview prints the embedder first, then each step with its principles and scores', async (t) => {
  const h = harness(t);
  assert.equal(await runCli(['import', '--db', h.db, FIXTURE], h.io), 0);
  const store = openStore(h.db);
  const id = store.trajectories.list({})[0]?.id ?? '';
  store.transaction(() => {
    for (const p of POOL) store.principles.save(p);
  });
  store.close();
  const r = await h.run([id, '--db', h.db, '--k', '2']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.equal(lines[0], 'Embedder: test:hashed-256 — test: hashed bag of words');
  assert.match(r.out, /Mode stepwise \(ephemeral\), k 2, selector embedding, pool of 8 accepted principles/u);
  assert.match(r.out, /\nstep 0 {2}state \d+ tokens, block \d+ tokens\n {2}P\d+ +cos 0\.\d{3} {2}mmr -?0\.\d{3}/u);
  assert.match(r.out, /P7 left out: scope/u, 'the other workspace\'s principle is reported as left out');

  const global = await h.run([id, '--db', h.db, '--mode', 'global']);
  assert.equal(global.code, 0);
  assert.match(global.out, /System prompt block: \d+ principles, \d+ tokens/u);

  const json = await h.run([id, '--db', h.db, '--json']);
  const plan = JSON.parse(json.out) as { trajectoryId: string; steps: unknown[] };
  assert.equal(plan.trajectoryId, id);
  assert.equal(plan.steps.length, 4);
});

test('an unknown trajectory id says so and points to internalize list', async (t) => {
  const h = harness(t);
  const r = await h.run(['cline:0000', '--db', h.db]);
  assert.equal(r.code, 1);
  assert.match(r.err, /No trajectory "cline:0000" in .*Run `internalize list`/u);
});

test('bad options are usage errors that name the option', async (t) => {
  const h = harness(t);
  const base = ['cline:0000', '--db', h.db];
  await assert.rejects(h.run([...base, '--k', '12']), /preview options: k: .*8/u);
  await assert.rejects(h.run([...base, '--k', 'five']), /--k must be a whole number/u);
  await assert.rejects(h.run([...base, '--mode', 'sometimes']), /mode/u);
  await assert.rejects(h.run([...base, '--selector', 'rerank']), /needs a language model/u);
  await assert.rejects(h.run(['--db', h.db]), /Name the trajectory/u);
});

test('an empty pool still plans, and says how to fill it', async (t) => {
  const h = harness(t);
  assert.equal(await runCli(['import', '--db', h.db, FIXTURE], h.io), 0);
  const store = openStore(h.db);
  const id = store.trajectories.list({})[0]?.id ?? '';
  store.close();
  const r = await h.run([id, '--db', h.db]);
  assert.equal(r.code, 0);
  assert.match(r.out, /no accepted principles yet/u);
  assert.match(r.out, /\(nothing selected\)/u);
});
