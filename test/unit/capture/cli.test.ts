import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseArgs, UsageError } from '../../../src/cli/args.js';
import { databasePath } from '../../../src/cli/context.js';
import { runCli } from '../../../src/cli/main.js';
import { fixture, tempDir } from './helpers.js';

function io(cwd: string, env: Record<string, string | undefined> = {}): { out: string[]; err: string[]; io: Parameters<typeof runCli>[1] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t), env: { HOME: cwd, ...env }, cwd } };
}

describe('cli', () => {
  it('parses positionals, flags and values, and rejects unknown options', () => {
    const parsed = parseArgs(['a', '--db', 'x.db', '--json', '--source=codex', '--', '--not-an-option'], { values: ['db', 'source'], flags: ['json'] });
    assert.deepEqual(parsed.positionals, ['a', '--not-an-option']);
    assert.equal(parsed.options.get('db'), 'x.db');
    assert.equal(parsed.options.get('source'), 'codex');
    assert.ok(parsed.flags.has('json'));
    assert.throws(() => parseArgs(['--dbb'], { values: ['db'], flags: [] }), UsageError);
    assert.throws(() => parseArgs(['--db'], { values: ['db'], flags: [] }), /needs a value/u);
  });

  it('chooses the database from --db, then INTERNALIZE_DB, then the home folder', () => {
    assert.equal(databasePath('a.db', io('/w').io), '/w/a.db');
    assert.equal(databasePath(undefined, io('/w', { INTERNALIZE_DB: '/data/i.db' }).io), '/data/i.db');
    assert.equal(databasePath(undefined, io('/w').io), join('/w', '.internalize', 'internalize.db'));
  });

  it('imports a folder, lists it, filters by source, and reports idempotent re-imports', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'test.db');
    const first = io(dir);
    assert.equal(await runCli(['import', fixture('codex'), fixture('swe-agent'), '--db', db], first.io), 0);
    assert.match(first.out.join(''), /Imported 4 trajectories from 5 files/u);
    // The event-only Codex log gives nothing, says why, and does not fail a folder that gave trajectories.
    assert.match(first.err.join(''), /1 file gave no trajectory:\n {2}\S+codex_052_raw\.jsonl: 1 session with a task but no step yet/u);
    const again = io(dir);
    assert.equal(await runCli(['import', fixture('codex'), '--db', db, '--json'], again.io), 0);
    const report = JSON.parse(again.out.join('')) as { trajectories: number; unchanged: number };
    assert.equal(report.trajectories, 0);
    assert.equal(report.unchanged, 3);
    const list = io(dir);
    assert.equal(await runCli(['list', '--db', db, '--source', 'swe-agent', '--json'], list.io), 0);
    const rows = JSON.parse(list.out.join('')) as { source: string; outcome: string }[];
    assert.equal(rows.length, 2);
    assert.ok(rows.every((r) => r.source === 'swe-agent' && r.outcome === 'unknown'));
    const text = io(dir);
    assert.equal(await runCli(['list', '--db', db], text.io), 0);
    assert.match(text.out.join(''), /4 of 4 trajectories/u);
  });

  it('fails with a usage message or a clear error, and imports nothing from default locations that do not exist', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'test.db');
    const usage = io(dir);
    assert.equal(await runCli(['import', '--db', db], usage.io), 2);
    assert.match(usage.err.join(''), /Give a file or folder/u);
    const unknown = io(dir);
    assert.equal(await runCli(['import', fixture('codex', 'NOTES.md'), '--db', db], unknown.io), 1);
    assert.match(unknown.err.join(''), /NOTES\.md: unknown format/u);
    const auto = io(dir);
    assert.equal(await runCli(['import', '--auto', '--db', db], auto.io), 0);
    assert.match(auto.out.join(''), /Imported 0 trajectories/u);
    const bad = io(dir);
    assert.equal(await runCli(['list', '--db', db, '--source', 'nope'], bad.io), 2);
    assert.equal(await runCli(['frobnicate'], io(dir).io), 2);
  });
});

describe('internalize import: what gave nothing', () => {
  it('says a named path does not exist, and fails when a named file or folder gives no trajectory', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'test.db');
    const missing = io(dir);
    assert.equal(await runCli(['import', join(dir, 'no-such.jsonl'), '--db', db], missing.io), 1);
    assert.match(missing.err.join(''), /no-such\.jsonl: no such file or folder; check the path/u);
    assert.doesNotMatch(missing.err.join(''), /disappeared/u);
    const quiet = join(dir, 'quiet');
    mkdirSync(quiet);
    writeFileSync(join(quiet, 'empty.jsonl'), '');
    copyFileSync(fixture('codex', 'codex_052_raw.jsonl'), join(quiet, 'events-only.jsonl'));
    const named = io(dir);
    assert.equal(await runCli(['import', join(quiet, 'events-only.jsonl'), '--db', db], named.io), 1);
    assert.match(named.err.join(''), /events-only\.jsonl: 1 session with a task but no step yet/u);
    const folder = io(dir);
    assert.equal(await runCli(['import', quiet, '--db', db], folder.io), 1);
    const err = folder.err.join('');
    assert.match(err, /2 files gave no trajectory/u);
    assert.match(err, /empty\.jsonl: empty file/u);
    // Unchanged since it gave nothing, the file is listed again with the reason found then.
    assert.match(err, /events-only\.jsonl: 1 session with a task but no step yet/u);
    assert.match(err, /nothing was imported from \S+quiet/u);
  });
});
