import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { exportPack, PackError, readPrinciplePack } from '../../../src/core/experience/export.js';
import { openStore } from '../../../src/core/store/index.js';

const seed = join(__dirname, '..', '..', 'fixtures', 'experience', 'expinternalization');
const read = (name: string): ReturnType<typeof readPrinciplePack> => readPrinciplePack(readFileSync(join(seed, name), 'utf8'), name);

function io(cwd: string): { out: string[]; err: string[]; io: Parameters<typeof runCli>[1] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t), env: { HOME: cwd }, cwd } };
}

test('the seed research pools read as packs with their own ids: experiences.json and a Training-Free GRPO batch_update.json', () => {
  const pool = read('step_12.experiences.json');
  assert.equal(pool.shape, 'experience-pool');
  assert.deepEqual(pool.principles.map((p) => p.id), Array.from({ length: 15 }, (_, i) => `G${String(i)}`));
  assert.equal(pool.principles[0]?.text, 'Prioritize named sources over assumptions for verification.');
  assert.deepEqual({ ...pool.principles[0], text: '' }, { id: 'G0', text: '', when: '', scope: 'global', granularity: 'principle', evidence: [] });
  const batch = read('step_12.batch_update.json');
  assert.equal(batch.shape, 'training-free-grpo-batch-update');
  assert.equal(batch.principles.length, 15);
  assert.match(batch.principles.find((p) => p.id === 'G6')?.text ?? '', /refine terminology to match the conceptual scope\.$/u);
});

test('a file in none of the accepted shapes says which shapes are accepted and which field is wrong', () => {
  assert.throws(() => readPrinciplePack('[1, 2]', 'a.json'), (e: unknown) => e instanceof PackError && /a\.json: expected an Internalize principle pack .* or a Training-Free GRPO batch_update\.json .*; found an array\./u.test(e.message));
  assert.throws(() => readPrinciplePack('{"G0": "ok", "G1": 3}', 'b.json'), /b\.json: expected an Internalize principle pack.*its fields are G0, G1\./u);
  assert.throws(() => readPrinciplePack('{"G0": "ok", "G1": "  "}', 'c.json'), /c\.json: G1: expected the experience's text \(a non-empty string\), found an empty string/u);
  assert.throws(() => readPrinciplePack('{"new_experiences": {"G0": null}}', 'd.json'), /d\.json: new_experiences\.G0: expected the experience's text/u);
  assert.throws(() => readPrinciplePack('{"format": "internalize-principle-pack", "version": 1, "exportedAt": "x", "principles": [{"id": "Q1"}]}', 'e.json'), /e\.json: principles\.0\.id/u);
  assert.throws(() => readPrinciplePack('{}', 'f.json'), /f\.json: the file holds an empty object/u);
});

test('pool diff of two published pools and of a pool against its batch update names the experiences by their ids', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-seed-'));
  const a = io(dir);
  assert.equal(await runCli(['pool', 'diff', join(seed, 'step_11.experiences.json'), join(seed, 'step_12.experiences.json')], a.io), 0, a.err.join(''));
  const lines = a.out.join('').split('\n');
  assert.ok(lines.some((l) => /^UPDATE G12 {4}Tiered verification: Separate broad discovery from targeted extraction, then .*validate/u.test(l)));
  assert.ok(lines.some((l) => l.startsWith('ADD    G14    Contextual verification:')));
  assert.ok(lines.includes('1 added, 1 updated, 0 merged, 0 deleted, 13 unchanged.'));
  const b = io(dir);
  assert.equal(await runCli(['pool', 'diff', join(seed, 'step_12.experiences.json'), join(seed, 'step_12.batch_update.json'), '--json'], b.io), 0);
  const parsed = JSON.parse(b.out.join('')) as { entries: { kind: string; principleId: string }[]; unchanged: number };
  assert.deepEqual(parsed.entries.map((e) => [e.kind, e.principleId]), [['UPDATE', 'G6']]);
  assert.equal(parsed.unchanged, 14);
});

test('pool import: adds what the pool lacks under pool ids, keeps the file ids in the rationale, skips known texts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-seed-'));
  const db = join(dir, 'i.db');
  const first = io(dir);
  assert.equal(await runCli(['pool', 'import', '--db', db, join(seed, 'step_11.experiences.json')], first.io), 0, first.err.join(''));
  const out = first.out.join('');
  assert.match(out, /^proposed P1 {5}\(G0\) Prioritize named sources over assumptions for verification\.$/mu);
  assert.match(out, /14 principles from .*step_11\.experiences\.json \(experience-pool\) proposed for review/u);
  let store = openStore(db);
  const proposed = store.poolOps.list({ status: 'proposed' });
  assert.equal(proposed.length, 14);
  assert.match(proposed[12]?.rationale ?? '', /^Imported from .*step_11\.experiences\.json \(G12\)\.$/u);
  assert.equal(store.principles.list({ status: 'accepted' }).length, 0);
  store.close();

  // With auto-accept the next step's pool goes in at once; the 13 texts it shares with step 11 are skipped.
  const second = io(dir);
  assert.equal(await runCli(['pool', 'import', '--db', db, '--auto-accept', join(seed, 'step_12.experiences.json')], second.io), 0);
  assert.match(second.out.join(''), /^added {4}P15 {4}\(G12\) Tiered verification/mu);
  assert.match(second.out.join(''), /^skipped G0: the pool already has this text$/mu);
  assert.match(second.out.join(''), /2 principles from .* added to the pool, 13 already known\./u);
  store = openStore(db);
  assert.deepEqual(store.principles.list({ status: 'accepted' }).map((p) => [p.id, p.origin]), [['P15', 'imported'], ['P16', 'imported']]);

  // An Internalize pack of the same pool imports as nothing new.
  const pack = join(dir, 'pack.json');
  writeFileSync(pack, JSON.stringify(exportPack(store.principles.list({ status: 'accepted' }))));
  store.close();
  const third = io(dir);
  assert.equal(await runCli(['pool', 'import', '--db', db, pack, '--json'], third.io), 0);
  assert.deepEqual(JSON.parse(third.out.join('')), { shape: 'internalize-principle-pack', opIds: [], added: [], skipped: ['P15', 'P16'], autoAccept: false });

  const bad = io(dir);
  assert.equal(await runCli(['pool', 'import', '--db', db, join(seed, 'NOTES.md')], bad.io), 1);
  assert.match(bad.err.join(''), /NOTES\.md is not JSON/u);
});
