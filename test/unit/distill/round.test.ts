import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { continualStep } from '../../../src/core/distill/continual.js';
import { DEFAULT_ROUND_CONFIG, exportIterationDataset, parseRoundConfig, RoundConfigError, resumeRound, runRound, startingModel } from '../../../src/core/distill/round.js';
import { acquireRoundLock, RoundBusyError } from '../../../src/core/distill/roundLock.js';
import { lexicalTextEmbedder } from '../../../src/core/embedding/lexical.js';
import { fixtureStore } from './helpers.js';

test('the round configuration: defaults are the paper’s, a bad field is named, the injection options are parsed by their own parser', () => {
  const config = parseRoundConfig({});
  assert.deepEqual(config, DEFAULT_ROUND_CONFIG);
  assert.equal(config.regime, 'off-policy');
  assert.equal(config.injection.mode, 'stepwise');
  assert.equal(config.injection.persistence, 'ephemeral');
  assert.deepEqual(config.selection, { outcome: 'success' });
  assert.deepEqual(parseRoundConfig({ selection: { source: 'codex' } }).selection, { outcome: 'success', source: 'codex' });
  assert.throws(() => parseRoundConfig({ loraRank: 0, device: 'tpu' }), (e: unknown) => e instanceof RoundConfigError && /loraRank: .*; device: /u.test(e.message));
  assert.throws(() => parseRoundConfig({ injection: { k: 12 } }), /injection: k: /u);
  assert.throws(() => parseRoundConfig({ lora_rank: 8 }), /Unrecognized key.*lora_rank/u);
  assert.throws(() => parseRoundConfig({ selection: { source: 'vim' } }), /selection\.source/u);
});

test('one round per database: a live holder is named, a dead holder’s lock is taken over and its iteration reported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-lock-'));
  const path = join(dir, 'db.round.lock');
  const held = acquireRoundLock(path, 3);
  assert.throws(() => acquireRoundLock(path, 4), (e: unknown) => e instanceof RoundBusyError && /Iteration 3 is still running in this window/u.test(e.message));
  held.release();
  assert.equal(existsSync(path), false);
  // Process 1 (init) is alive and not ours: another process's round.
  writeFileSync(path, JSON.stringify({ pid: 1, iteration: 5, startedAt: '2026-01-01T00:00:00Z' }));
  assert.throws(() => acquireRoundLock(path, 6), /Iteration 5 is still running \(process 1, since 2026-01-01T00:00:00Z\)/u);
  // A process id that no longer exists: stale.
  writeFileSync(path, JSON.stringify({ pid: 2 ** 22 + 12_345, iteration: 7, startedAt: '' }));
  const taken = acquireRoundLock(path, 8);
  assert.equal(taken.staleIteration, 7);
  assert.equal((JSON.parse(readFileSync(path, 'utf8')) as { iteration: number }).iteration, 8);
  taken.release();
});

test('a stale lock’s running iteration is marked failed when the next round takes the lock; a missing Python fails the round clearly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-stale-'));
  const store = await fixtureStore(join(dir, 'internalize.db'));
  store.iterations.save({ number: 1, status: 'running', config: { kind: 'own-data', round: {} }, startedAt: '2026-01-01T00:00:00Z' });
  writeFileSync(`${store.path}.round.lock`, JSON.stringify({ pid: 2 ** 22 + 12_345, iteration: 1, startedAt: '' }));
  const env = { store, runsDir: join(dir, 'runs'), python: join(dir, 'no-python'), embedder: lexicalTextEmbedder() };
  await assert.rejects(resumeRound(env, 1), /Iteration 1 is running; only a failed or stopped round can be resumed/u);
  const record = await runRound(env, parseRoundConfig({ injection: { scoreFloor: 0 } }));
  assert.equal(store.iterations.get(1)?.status, 'failed');
  assert.match(String(store.iterations.get(1)?.verdict?.error), /ended without finishing it/u);
  assert.equal(record.number, 2);
  assert.equal(record.status, 'failed');
  assert.match(String(record.verdict?.error), /No Python interpreter at .*no-python/u);
  assert.equal(record.verdict?.code, 'no-python');
  // The dataset was written before the worker was needed: it stays with the iteration and exports.
  const n = exportIterationDataset(store, 2, join(dir, 'out.jsonl'));
  assert.ok(n > 0);
  assert.equal(existsSync(`${store.path}.round.lock`), false);
  store.iterations.save({ number: 3, status: 'failed', config: { kind: 'own-data', round: {}, dataset: { train: join(dir, 'missing.jsonl') } } });
  await assert.rejects(resumeRound(env, 3), /stopped before its dataset was written/u);
  store.close();
});

test('the next iteration starts from the latest finished own-data student of the same base model', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-start-'));
  const store = await fixtureStore();
  const merged = join(dir, 'merged');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(merged);
  writeFileSync(join(merged, 'config.json'), '{}');
  assert.deepEqual(startingModel(store, 'smollm2-135m-instruct'), { model: 'smollm2-135m-instruct' });
  store.iterations.save({ number: 1, status: 'done', config: { kind: 'own-data', model: 'smollm2-135m-instruct' }, metrics: { merged } });
  store.iterations.save({ number: 2, status: 'collapsed', config: { kind: 'own-data', model: 'smollm2-135m-instruct' }, metrics: { merged: join(dir, 'collapsed') } });
  store.iterations.save({ number: 3, status: 'done', config: { kind: 'own-data', model: 'other' }, metrics: { merged: join(dir, 'other') } });
  assert.deepEqual(startingModel(store, 'smollm2-135m-instruct'), { model: merged, from: 1 }, 'a collapsed student and another base model are not started from');
  store.close();
});

test('the continual step mines runs imported since the last iteration into pool operations, waiting or applied', async () => {
  const store = await fixtureStore();
  const before = store.principles.list({ status: 'accepted' }).length;
  assert.deepEqual(continualStep(store, '9999-01-01T00:00:00Z', 2, { autoAccept: false }), { newTrajectories: 0, proposed: 0, accepted: 0 });
  // Every fixture run is new since 2000; the miner's default support finds nothing recurring in them, support 1 does.
  const waiting = continualStep(store, '2000-01-01T00:00:00Z', 2, { autoAccept: false, minSupport: 1 });
  assert.equal(waiting.newTrajectories, 38);
  assert.ok(waiting.proposed > 0);
  assert.equal(waiting.accepted, 0);
  assert.equal(store.principles.list({ status: 'accepted' }).length, before, 'nothing changes the pool without review');
  assert.equal(store.poolOps.list({ status: 'proposed' }).filter((op) => op.iteration === 2).length, waiting.proposed);
  // The same texts are not proposed twice.
  assert.equal(continualStep(store, '2000-01-01T00:00:00Z', 3, { autoAccept: true, minSupport: 1 }).proposed, 0);
  store.close();
});
