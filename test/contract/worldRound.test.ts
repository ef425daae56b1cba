import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDistillCommand } from '../../src/cli/commands/distill.js';
import { WorkerClient } from '../../src/core/distill/worker.js';
import { openStore } from '../../src/core/store/index.js';
import { fixtureStore } from '../unit/distill/helpers.js';

/**
 * A toy-world round from the command line through the built-in round service against the real
 * worker (trainer/, in .venv), CI-sized: one epoch on the toy model the worker test teaches and caches.
 */
const ROOT = join(__dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const CACHE = join(ROOT, '.cache', 'toy');

test('internalize distill --toy: refused while a round holds the lock; the worker killed mid-round fails it with the reason and log tail and no half-written iteration; --resume finishes it', { timeout: 2_700_000, skip: existsSync(join(CACHE, 'toy-llama-seed0-v2')) ? false : `no toy model in ${CACHE}; run test/contract/worker.test.ts first` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-toy-round-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  (await fixtureStore(join(dir, 'internalize.db'))).close();
  let worker: WorkerClient | undefined;
  let killed = false;
  const command = makeDistillCommand(
    () => Promise.reject(new Error('a toy round needs no embedder')),
    // The worker as the CLI starts it, sharing the taught toy model; ended the hard way after its first checkpoint.
    (options) =>
      (worker = WorkerClient.start({
        ...options,
        env: { ...options.env, INTERNALIZE_TOY_CACHE: CACHE },
        onEvent: (event) => {
          options.onEvent?.(event);
          if (event.event === 'checkpoint' && !killed && worker?.pid !== undefined) {
            killed = true;
            process.kill(worker.pid, 'SIGKILL');
          }
        },
      })),
  );
  const run = (args: readonly string[]): { result: Promise<number>; out: string[]; err: string[] } => {
    const out: string[] = [];
    const err: string[] = [];
    const result = command.run(['--db', 'internalize.db', '--python', PYTHON, ...args], { out: (s) => out.push(s), err: (s) => err.push(s), env: { HOME: dir }, cwd: dir });
    return { result, out, err };
  };

  const first = run(['--toy', '--epochs', '1']);
  // The lock is taken before the first await: a second round on the database is refused at once.
  const second = run(['--toy']);
  assert.equal(await second.result, 1);
  assert.match(second.err.join(''), /Iteration 1 is still running in this window; stop it first/u);
  assert.equal(await first.result, 1, first.err.join(''));
  const failedOut = first.out.join('');
  assert.ok(killed, 'the worker reached its first checkpoint and was killed');
  assert.match(failedOut, /^1 {9}failed {5}toy world/mu);
  assert.match(failedOut, /Iteration 1 failed: The training worker exited \(SIGKILL\)/u);
  assert.match(failedOut, /Its checkpoint is kept \(.*checkpoint-epoch1\); continue with `internalize distill --resume 1`/u);
  assert.match(first.err.join(''), /\[iteration 1\] teaching the toy model the world/u);

  let store = openStore(join(dir, 'internalize.db'));
  const failed = store.iterations.get(1);
  assert.ok(failed !== undefined);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.config.world, 'toy', 'the record the editor writes for a toy round');
  assert.match(String(failed.verdict?.error), /The training worker exited \(SIGKILL\)/u);
  assert.ok(Array.isArray(failed.verdict?.logTail) && failed.verdict.logTail.length > 0, 'the worker log tail is kept');
  assert.match(String(failed.verdict.checkpoint), /checkpoint-epoch1$/u);
  // No half-written iteration: no metrics, adapter or scores without a finished round.
  assert.equal(failed.metrics, undefined);
  assert.equal(failed.adapterPath, undefined);
  assert.equal(store.scores.forIteration(1).length, 0);
  assert.deepEqual(store.runs.list(1).map((r) => r.status), ['failed']);
  assert.equal(store.snapshots.get(1)?.principles.length, 5, 'the pool the round froze as it started');
  store.close();
  assert.equal(existsSync(join(dir, 'internalize.db.round.lock')), false, 'the lock is released');

  const resumed = run(['--resume', '1']);
  assert.equal(await resumed.result, 0, `${resumed.out.join('')}\n${resumed.err.join('')}`);
  const doneOut = resumed.out.join('');
  assert.match(doneOut, /^1 {9}done {7}toy world +\d\.\d{4} +\d\.\d\d/mu);
  assert.match(doneOut, /Iteration 1 done: accuracy without principles \d\.\d\d → \d\.\d\d/u);
  assert.match(resumed.err.join(''), /Resuming from .*checkpoint-epoch1/u);
  store = openStore(join(dir, 'internalize.db'));
  const done = store.iterations.get(1);
  assert.ok(done !== undefined);
  assert.equal(done.status, 'done');
  assert.equal(done.config.resumedFrom, failed.verdict.checkpoint);
  assert.equal(typeof done.metrics?.accuracy_without_principles, 'number');
  assert.ok(done.adapterPath !== undefined && existsSync(join(done.adapterPath, 'adapter_config.json')));
  assert.equal(typeof (done.verdict as { collapsed?: unknown } | undefined)?.collapsed, 'boolean', 'the collapse guard decided');
  assert.deepEqual(store.runs.list(1).map((r) => r.status), ['failed', 'done']);
  store.close();
});
