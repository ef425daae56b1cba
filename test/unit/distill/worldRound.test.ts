import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDistillCommand } from '../../../src/cli/commands/distill.js';
import { RoundConfigError, type RoundEvent } from '../../../src/core/distill/round.js';
import { RoundBusyError } from '../../../src/core/distill/roundLock.js';
import { openStore } from '../../../src/core/store/index.js';
import { parseWorldRoundConfig, resumeWorldRound, runWorldRound, type WorldRoundEnvironment } from '../../../src/core/distill/worldRound.js';
import { fixtureStore } from './helpers.js';

/**
 * The built-in rounds' service up to the worker: the worker is a Python that does not exist (the
 * process boundary, as round.test.ts does), so everything the service does before and after it is real.
 */
async function setup(): Promise<{ dir: string; env: WorldRoundEnvironment & { readonly events: RoundEvent[] } }> {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-world-'));
  const store = await fixtureStore(join(dir, 'internalize.db'));
  const events: RoundEvent[] = [];
  return { dir, env: { store, runsDir: join(dir, 'runs'), cacheDir: join(dir, 'cache'), python: join(dir, 'no-python'), events, onEvent: (e) => events.push(e) } };
}

test('the built-in round configuration: defaults filled, a bad field named, records from before the service still read', () => {
  assert.deepEqual(parseWorldRoundConfig({ world: 'toy' }), { world: 'toy', regime: 'off-policy', persistence: 'ephemeral', leanMemory: false, model: 'smollm2-135m-instruct', principles: [] });
  assert.equal(parseWorldRoundConfig({ world: 'suite', principles: ['P2', 'P6'], epochs: 1 }).epochs, 1);
  assert.throws(() => parseWorldRoundConfig({ world: 'maze', regime: 'rl' }), (e: unknown) => e instanceof RoundConfigError && /world: .*; regime: /u.test(e.message));
  assert.throws(() => parseWorldRoundConfig({ world: 'suite', principles: ['read first'] }), /principles\.0: must be suite principle ids like P2/u);
  assert.throws(() => parseWorldRoundConfig({ world: 'toy', lean_memory: true }, 'the stored configuration'), /Invalid the stored configuration: .*lean_memory/u);
});

test('a toy round whose worker cannot start fails with the reason, keeps the frozen pool, writes no scores and releases the lock', async () => {
  const { env } = await setup();
  const { store } = env;
  const result = await runWorldRound(env, parseWorldRoundConfig({ world: 'toy', regime: 'sft', epochs: 1 }));
  const record = result.record;
  assert.equal(record.number, 1);
  assert.equal(record.status, 'failed');
  const verdict = record.verdict ?? {};
  assert.match(String(verdict.error), /No Python interpreter at .*no-python/u);
  assert.equal(verdict.code, 'no-python');
  assert.ok(Array.isArray(verdict.logTail));
  assert.equal(result.summary, '');
  // The record keeps what the Iterations view and Resume Round read, and the round itself.
  assert.equal(record.config.world, 'toy');
  assert.equal(record.config.regime, 'sft');
  assert.deepEqual((record.config.round as { epochs?: number }).epochs, 1);
  assert.deepEqual(store.iterations.get(1)?.status, 'failed');
  assert.equal(store.snapshots.get(1)?.principles.length, 5, 'the toy round froze the pool as it started');
  assert.equal(store.scores.forIteration(1).length, 0);
  const runs = store.runs.list(1);
  assert.deepEqual(runs.map((r) => [r.kind, r.status]), [['distill', 'failed']]);
  assert.equal(runs[0]?.logPath, join(env.runsDir, 'iteration-1'), 'the run names the folder its checkpoints go to');
  assert.equal(existsSync(`${store.path}.round.lock`), false);
  const phases = env.events.flatMap((e) => (e.event === 'phase' ? [e.phase] : []));
  assert.deepEqual(phases, ['snapshot', 'worker']);
  const failed = env.events.find((e) => e.event === 'failed');
  assert.ok(failed?.event === 'failed' && failed.status === 'failed' && /No Python/u.test(failed.reason));
  store.close();
});

test('one round per database, whatever its kind: a live holder refuses the round before anything is written; a dead one’s iteration is marked failed', async () => {
  const { env } = await setup();
  const { store } = env;
  // Process 1 (init) is alive and not ours: another process's round.
  writeFileSync(`${store.path}.round.lock`, JSON.stringify({ pid: 1, iteration: 1, startedAt: '2026-01-01T00:00:00Z' }));
  await assert.rejects(runWorldRound(env, parseWorldRoundConfig({ world: 'suite' })), (e: unknown) => e instanceof RoundBusyError && /Iteration 1 is still running \(process 1/u.test(e.message));
  assert.equal(store.iterations.list().length, 0, 'nothing was written');
  assert.equal(store.snapshots.get(1), undefined);
  // A round of this process holds it: refused at once, before the first await of the second call.
  writeFileSync(`${store.path}.round.lock`, JSON.stringify({ pid: 2 ** 22 + 12_345, iteration: 1, startedAt: '' }));
  store.iterations.save({ number: 1, status: 'running', config: { world: 'toy' }, startedAt: '2026-01-01T00:00:00Z' });
  const first = runWorldRound(env, parseWorldRoundConfig({ world: 'toy' }));
  await assert.rejects(runWorldRound(env, parseWorldRoundConfig({ world: 'toy' })), /Iteration 2 is still running in this window/u);
  const record = (await first).record;
  assert.equal(record.number, 2);
  assert.equal(store.iterations.get(1)?.status, 'failed');
  assert.match(String(store.iterations.get(1)?.verdict?.error), /ended without finishing it/u);
  store.close();
});

test('a round stopped before the worker answers is cancelled, not failed; resume continues it from its kept checkpoint, on its stored configuration', async () => {
  const { env, dir } = await setup();
  const { store } = env;
  const abort = new AbortController();
  abort.abort();
  const stopped = (await runWorldRound({ ...env, signal: abort.signal }, parseWorldRoundConfig({ world: 'suite', principles: ['P2'], model: 'some-model' }))).record;
  assert.equal(stopped.status, 'cancelled');
  assert.equal(stopped.verdict?.error, 'Stopped at your request.');
  assert.deepEqual(store.runs.list(1).map((r) => r.status), ['cancelled']);
  assert.equal(store.snapshots.get(1), undefined, 'the suite freezes its pool only with its finished iteration');
  assert.equal(stopped.config.model, 'some-model');
  assert.deepEqual((stopped.config.suite as { principles: unknown }).principles, ['P2']);

  // A checkpoint the trainer kept (a PEFT adapter folder) is where the resumed round starts.
  const checkpoint = join(dir, 'runs', 'iteration-1', 'checkpoint-interrupted-step3');
  mkdirSync(checkpoint, { recursive: true });
  writeFileSync(join(checkpoint, 'adapter_config.json'), '{}');
  store.iterations.save({ ...stopped, verdict: { ...stopped.verdict, checkpoint } });
  const resumed = (await resumeWorldRound(env, 1)).record;
  assert.equal(resumed.number, 1);
  assert.equal(resumed.config.resumedFrom, checkpoint);
  assert.equal(resumed.config.model, 'some-model', 'the stored configuration, not the current settings');
  assert.equal(resumed.status, 'failed');
  assert.equal(resumed.verdict?.code, 'no-python');
  assert.equal(resumed.startedAt, stopped.startedAt);
  assert.ok(env.events.some((e) => e.event === 'log' && e.message === `Resuming from ${checkpoint}.`));
  assert.deepEqual(store.runs.list(1).map((r) => r.status), ['cancelled', 'failed']);
  store.close();
});

test('resume refuses what it cannot continue, naming why', async () => {
  const { env } = await setup();
  const { store } = env;
  await assert.rejects(resumeWorldRound(env, 4), /There is no iteration 4 to resume/u);
  store.iterations.save({ number: 1, status: 'failed', config: { kind: 'own-data', round: {} } });
  await assert.rejects(resumeWorldRound(env, 1), /Iteration 1 is not a toy-world or principle-suite round/u);
  store.iterations.save({ number: 2, status: 'done', config: { world: 'toy' } });
  await assert.rejects(resumeWorldRound(env, 2), /Iteration 2 is done; only a failed or stopped round can be resumed/u);
  // A record from before the service kept its configuration: its world and regime are enough.
  store.iterations.save({ number: 3, status: 'cancelled', config: { world: 'toy', regime: 'on-policy', persistence: 'cumulative', lean_memory: true } });
  const resumed = (await resumeWorldRound(env, 3)).record;
  assert.deepEqual(resumed.config.round, { world: 'toy', regime: 'on-policy', persistence: 'cumulative', leanMemory: true, model: 'smollm2-135m-instruct', principles: [] });
  store.iterations.save({ number: 5, status: 'failed', config: { world: 'suite', regime: 'sft', model: 'm', suite: { principles: ['P6'] } } });
  assert.deepEqual((await resumeWorldRound(env, 5)).record.config.round, { world: 'suite', regime: 'sft', persistence: 'ephemeral', leanMemory: false, model: 'm', principles: ['P6'] });
  store.iterations.save({ number: 6, status: 'failed', config: { world: 'toy', round: { world: 'toy', regime: 'rl' } } });
  await assert.rejects(resumeWorldRound(env, 6), /Invalid iteration 6's stored configuration: regime: /u);
  assert.ok(env.events.some((e) => e.event === 'log' && e.iteration === 3 && /No usable checkpoint was kept: training starts again/u.test(e.message)));
  store.close();
});

test('the CLI: --toy and --suite go to the built-in service with the table; misplaced options are named; --resume follows the iteration’s kind', async () => {
  const { env, dir } = await setup();
  env.store.close();
  const command = makeDistillCommand(() => Promise.reject(new Error('a built-in round needs no embedder')));
  const run = async (args: string[]): Promise<{ code: number; out: string; err: string }> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await command.run(['--db', 'internalize.db', '--python', join(dir, 'no-python'), ...args], { out: (s) => out.push(s), err: (s) => err.push(s), env: { HOME: dir }, cwd: dir });
    return { code, out: out.join(''), err: err.join('') };
  };
  await assert.rejects(run(['--toy', '--suite']), /--toy and --suite are two kinds of round; choose one/u);
  await assert.rejects(run(['--toy', '--k', '3', '--iterations', '2']), /--iterations, --k are for rounds on your data, not --toy/u);
  await assert.rejects(run(['--toy', '--principles', 'P2']), /the toy world has its own four/u);
  await assert.rejects(run(['--suite', '--principles', 'P2,read-first']), /like P2,P6; not READ-FIRST/u);
  await assert.rejects(run(['--principles', 'P2']), /it goes with --suite/u);
  await assert.rejects(run(['--suite', '--injection', 'global']), /--injection global is not a setting of --suite/u);

  const toy = await run(['--toy', '--regime', 'sft', '--epochs', '1']);
  assert.equal(toy.code, 1);
  assert.match(toy.out, /^Iteration {2}Status {5}Round/mu);
  assert.match(toy.out, /^1 {9}failed {5}toy world/mu);
  assert.match(toy.out, /Iteration 1 failed: No Python interpreter at/u);
  assert.match(toy.err, /\[iteration 1\] freezing the pool/u);
  const suite = await run(['--suite', '--principles', 'p2,P6', '--model', 'some-model']);
  assert.match(suite.out, /^2 {9}failed {5}principle suite/mu);
  const resumed = await run(['--resume', '2']);
  assert.match(resumed.out, /^2 {9}failed {5}principle suite/mu, 'the suite round is resumed by its own service, without an embedder');
  assert.match(resumed.err, /No usable checkpoint was kept/u);
  const store = openStore(join(dir, 'internalize.db'));
  assert.deepEqual((store.iterations.get(2)?.config.round as { principles: string[] }).principles, ['P2', 'P6']);
  assert.equal(store.iterations.get(2)?.config.model, 'some-model');
  assert.deepEqual((store.iterations.get(1)?.config.round as { epochs?: number }).epochs, 1);
  store.close();
});
