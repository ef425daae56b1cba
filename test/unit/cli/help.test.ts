import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS, runCli } from '../../../src/cli/main.js';
import { openStore } from '../../../src/core/store/index.js';

function io(cwd: string): { out: string[]; err: string[]; io: Parameters<typeof runCli>[1] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t), env: { HOME: cwd }, cwd } };
}

const dir = (): string => mkdtempSync(join(tmpdir(), 'internalize-cli-'));

test('every command prints its usage for --help and -h, touching no database', async () => {
  const home = dir();
  for (const command of COMMANDS) {
    for (const flag of ['--help', '-h']) {
      const run = io(home);
      assert.equal(await runCli([command.name, flag], run.io), 0, `${command.name} ${flag}: ${run.err.join('')}`);
      assert.ok(run.out.join('').startsWith(`Usage: ${command.usage}\n\n${command.summary}\n`), `${command.name} ${flag}`);
      assert.deepEqual(run.err, []);
    }
  }
  // Help wins over other arguments, even ones that would be errors.
  const mixed = io(home);
  assert.equal(await runCli(['import', '--bogus', '--help'], mixed.io), 0);
  assert.equal(existsSync(join(home, '.internalize')), false);
  const topic = io(home);
  assert.equal(await runCli(['help', 'pool'], topic.io), 0);
  assert.match(topic.out.join(''), /^Usage: internalize pool .*pool import FILE/u);
});

test('internalize --help lists every command; an unknown option names itself, a near option and --help', async () => {
  const run = io(dir());
  assert.equal(await runCli(['--help'], run.io), 0);
  for (const command of COMMANDS) assert.ok(run.out.join('').includes(`  ${command.usage}\n`), command.name);
  assert.match(run.out.join(''), /internalize reset-store/u);
  const bad = io(dir());
  assert.equal(await runCli(['import', '--atuo'], bad.io), 2);
  assert.equal(bad.err.join(''), 'Unknown option --atuo (did you mean --auto?).\nUsage: internalize import <path…|--auto> [--db PATH] [--json]\nRun `internalize import --help` for details.\n');
  const far = io(dir());
  assert.equal(await runCli(['list', '--colour-scheme'], far.io), 2);
  assert.match(far.err.join(''), /^Unknown option --colour-scheme\.\n/u);
  // After `--` a "--help" is an argument, not a request for help.
  const literal = io(dir());
  assert.equal(await runCli(['pool', 'diff', '--', '--help'], literal.io), 2);
});

test('reset-store moves a damaged database aside, keeps it byte for byte, and the store error points to it', async () => {
  const home = dir();
  const db = join(home, 'i.db');
  writeFileSync(db, 'this is not a database, but someone may want it back\n');
  const broken = io(home);
  assert.equal(await runCli(['list', '--db', db], broken.io), 1);
  const message = broken.err.join('');
  assert.match(message, /file is not a database\. Run `internalize reset-store` \(with the same --db\) to move it aside/u);
  assert.doesNotMatch(message, /Internalize: Reset Store/u);

  const reset = io(home);
  assert.equal(await runCli(['reset-store', '--db', db], reset.io), 0, reset.err.join(''));
  const backup = readdirSync(home).find((n) => /^i\.db\..*\.bak$/u.test(n));
  assert.ok(backup !== undefined);
  assert.equal(readFileSync(join(home, backup), 'utf8'), 'this is not a database, but someone may want it back\n');
  assert.equal(reset.out.join(''), `Moved ${db} to ${join(home, backup)} (kept as a backup) and created a new database.\n`);
  const store = openStore(db);
  assert.equal(store.trajectories.list({}).length, 0);
  store.close();
  assert.equal(await runCli(['list', '--db', db], io(home).io), 0);

  const fresh = io(home);
  assert.equal(await runCli(['reset-store', '--db', join(home, 'none.db')], fresh.io), 0);
  assert.equal(fresh.out.join(''), `No database was at ${join(home, 'none.db')}; created a new one.\n`);
});
