import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDistillCommand } from '../../src/cli/commands/distill.js';
import { readJsonl } from '../../src/core/distill/dataset.js';
import { parseRoundConfig, resumeRound, runRound, runRounds, type RoundEnvironment, type RoundEvent } from '../../src/core/distill/round.js';
import { RoundBusyError } from '../../src/core/distill/roundLock.js';
import { WorkerClient } from '../../src/core/distill/worker.js';
import { lexicalTextEmbedder } from '../../src/core/embedding/lexical.js';
import { fixtureStore } from '../unit/distill/helpers.js';

/**
 * The round service against the real worker (trainer/, in .venv) on the real fixture trajectories,
 * CI-sized: the toy model (a 2-layer Llama built from a config, taught by the worker test) stands in
 * for SmolLM2, with a 160-token context and one or two epochs.
 */
const ROOT = join(__dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const TOY = join(ROOT, '.cache', 'toy', 'toy-llama-seed0-v2');

const CONFIG = parseRoundConfig({
  model: TOY,
  device: 'cpu',
  epochs: 1,
  loraRank: 4,
  learningRate: 1e-3,
  contextTokens: 160,
  heldoutFraction: 0.3,
  // The toy model's general answers are noise to it; this test is about the loop, the guard's limit is tested in Python.
  maxRetentionIncrease: 10,
  injection: { scoreFloor: 0, k: 3 },
});

async function setup(t: { after: (fn: () => void) => void }): Promise<{ env: RoundEnvironment & { events: RoundEvent[] }; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-round-'));
  const store = await fixtureStore(join(dir, 'internalize.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const events: RoundEvent[] = [];
  // Mined operations between iterations are auto-accepted here, so the continual step runs end to end.
  return { dir, env: { store, runsDir: join(dir, 'runs'), python: PYTHON, embedder: lexicalTextEmbedder(), continual: { autoAccept: true }, events, onEvent: (e) => events.push(e) } };
}

test('two iterations on the fixtures: datasets, the second starts from the first student, scores per principle, one writer', { timeout: 600_000, skip: existsSync(TOY) ? false : `no toy model at ${TOY}; run test/contract/worker.test.ts first` }, async (t) => {
  const { env } = await setup(t);
  const { store } = env;
  const first = runRounds(env, CONFIG, 2);
  // The lock is taken before the first await: a second round is refused at once, never a second writer.
  await assert.rejects(runRound(env, CONFIG), (e: unknown) => e instanceof RoundBusyError && /Iteration 1 is still running in this window/u.test(e.message));
  const records = await first;
  assert.deepEqual(records.map((r) => [r.number, r.status]), [[1, 'done'], [2, 'done']], JSON.stringify(records.map((r) => r.verdict)));
  const [one, two] = records;
  assert.ok(one !== undefined && two !== undefined);
  assert.equal(one.config.startModel, TOY);
  assert.equal(two.config.startModel, one.metrics?.merged, 'iteration 2 starts from the merged student of iteration 1');
  for (const record of records) {
    const dataset = record.config.dataset as { train: string; heldout: string; trainRecords: number };
    assert.equal(readJsonl(dataset.train).length, dataset.trainRecords);
    assert.equal(store.snapshots.get(record.number)?.principles.length, 5, 'the pool was frozen for the iteration');
    const scores = store.scores.forIteration(record.number);
    assert.ok(scores.length > 0, 'principles picked on held-out states are scored');
    for (const s of scores) {
      assert.equal(s.method, 'divergence');
      assert.equal(typeof s.detail.kl_before, 'number');
    }
    const metrics = record.metrics ?? {};
    assert.equal(metrics.score_method, 'divergence');
    assert.equal(typeof (metrics.action_nll as { student?: unknown } | undefined)?.student, 'number');
    assert.equal(typeof metrics.retention_ratio, 'number');
    assert.equal(record.verdict?.collapsed, false);
    assert.ok(record.adapterPath !== undefined && existsSync(join(record.adapterPath, 'adapter_config.json')));
  }
  const phases = env.events.filter((e) => e.event === 'phase' && e.iteration === 2).map((e) => (e.event === 'phase' ? e.phase : ''));
  assert.deepEqual(phases, ['continual', 'snapshot', 'dataset', 'worker', 'general', 'train', 'score', 'save']);
  assert.ok(env.events.some((e) => e.event === 'progress' && e.phase === 'train' && e.kl !== undefined), 'off-policy training reports its KL');
  // Nothing was captured between the two iterations: the continual step says so and proposes nothing.
  assert.ok(env.events.some((e) => e.event === 'log' && e.iteration === 2 && /^Continual step: 0 new trajectories, 0 pool operations/u.test(e.message)));
  assert.ok(env.events.some((e) => e.event === 'done' && e.iteration === 2));
  assert.deepEqual(store.runs.list().map((r) => r.status), ['done', 'done']);
  assert.equal(existsSync(`${store.path}.round.lock`), false, 'the lock is released');
});

test('a worker killed mid-round marks the iteration failed with the reason and the log tail; resume finishes it', { timeout: 600_000, skip: existsSync(TOY) ? false : `no toy model at ${TOY}` }, async (t) => {
  const { env } = await setup(t);
  const { store } = env;
  let worker: WorkerClient | undefined;
  let killed = false;
  const killing: RoundEnvironment = {
    ...env,
    startWorker: (o) => (worker = WorkerClient.start(o)),
    onEvent: (e) => {
      env.events.push(e);
      // After the first epoch's checkpoint: the kill leaves something to resume from.
      if (e.event === 'checkpoint' && !killed && worker?.pid !== undefined) {
        killed = true;
        process.kill(worker.pid, 'SIGKILL');
      }
    },
  };
  const failed = await runRound(killing, { ...CONFIG, epochs: 2 });
  assert.equal(failed.status, 'failed');
  const verdict = failed.verdict ?? {};
  assert.match(String(verdict.error), /The training worker exited \(SIGKILL\)/u);
  assert.ok(Array.isArray(verdict.logTail));
  assert.match(String(verdict.checkpoint), /checkpoint-epoch1$/u);
  assert.equal(store.scores.forIteration(1).length, 0, 'no half-written iteration: no scores without a finished round');
  assert.ok(env.events.some((e) => e.event === 'failed' && e.iteration === 1));

  const resumed = await resumeRound(env, 1);
  assert.equal(resumed.status, 'done', JSON.stringify(resumed.verdict));
  assert.equal(resumed.config.resumedFrom, verdict.checkpoint);
  assert.ok(store.scores.forIteration(1).length > 0);
  assert.deepEqual(store.runs.list().map((r) => r.status), ['failed', 'done']);
  await assert.rejects(resumeRound(env, 1), /Iteration 1 is done; only a failed or stopped round can be resumed/u);
});

test('the CLI end to end on a temp store: one iteration with the table and the exported dataset; CUDA on a machine without it is refused clearly', { timeout: 600_000, skip: existsSync(TOY) ? false : `no toy model at ${TOY}` }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-cli-round-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  (await fixtureStore(join(dir, 'internalize.db'))).close();
  const command = makeDistillCommand(() => Promise.resolve(lexicalTextEmbedder()));
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s), env: { HOME: dir }, cwd: dir };
  const common = ['--db', 'internalize.db', '--python', PYTHON, '--model', TOY, '--epochs', '1', '--lora-rank', '4', '--context-tokens', '160', '--k', '3'];
  const code = await command.run([...common, '--iterations', '1', '--device', 'cpu', '--export-dataset', 'dataset.jsonl'], io);
  assert.equal(code, 0, err.join(''));
  const text = out.join('');
  assert.match(text, /^Iteration {2}Status/mu);
  assert.match(text, /^1 {9}done/mu);
  assert.match(text, /Iteration 1: divergence score per principle/u);
  assert.match(err.join(''), /\[iteration 1\] training \(off-policy\)/u);
  const exported = readJsonl(join(dir, 'dataset.jsonl'));
  assert.ok(exported.some((r) => r.meta.split === 'train') && exported.some((r) => r.meta.split === 'heldout'));
  assert.match(text, new RegExp(`Wrote ${String(exported.length)} records of iteration 1`, 'u'));

  const cudaOut: string[] = [];
  const cudaErr: string[] = [];
  const cuda = await command.run([...common, '--device', 'cuda'], { ...io, out: (s) => cudaOut.push(s), err: (s) => cudaErr.push(s) });
  if (cudaOut.join('').includes('2          done')) return; // a machine with CUDA trains; nothing to refuse
  assert.equal(cuda, 1);
  assert.match(cudaOut.join(''), /CUDA was chosen, but the worker's torch .* sees no CUDA device on this machine\. Choose the device "cpu"/u);
  assert.match(cudaErr.join(''), /Run again with --device cpu/u);
});

test('teacher samples with the divergence filter: the worker samples per training state, kept samples are the targets, the counts and the source are recorded', { timeout: 600_000, skip: existsSync(TOY) ? false : `no toy model at ${TOY}` }, async (t) => {
  const { env } = await setup(t);
  const { store } = env;
  // The toy model reads the fixtures' English as unknown words: a permissive margin and fluency limit keep what it finishes.
  const config = parseRoundConfig({ ...CONFIG, targets: 'teacher-samples', samples: { k: 2, maxNewTokens: 24, minMargin: -10, maxTeacherNll: 20 } });
  const record = await runRound(env, config);
  assert.equal(record.status, 'done', JSON.stringify(record.verdict));
  const stats = record.config.targetStats as { source: string; filter: string; states: number; sampled: number; kept: number; rejected: Record<string, number>; statesWithKept: number };
  assert.equal(stats.source, 'teacher-samples');
  assert.equal(stats.filter, 'divergence');
  assert.equal(stats.sampled, 2 * stats.states, 'k samples per training state');
  assert.equal(stats.kept + Object.values(stats.rejected).reduce((a, b) => a + b, 0), stats.sampled, 'every sample is kept or rejected with a reason');
  const dataset = record.config.dataset as { train: string; recorded: string; heldout: string; trainRecords: number };
  assert.match(dataset.train, /train-samples\.jsonl$/u);
  const trained = readJsonl(dataset.train);
  assert.equal(trained.length, stats.kept);
  assert.equal(dataset.trainRecords, stats.kept);
  const recorded = readJsonl(dataset.recorded);
  assert.equal(recorded.length, stats.states);
  for (const r of trained) {
    const target = r.meta.target;
    assert.ok(target?.source === 'teacher-sample', JSON.stringify(target));
    assert.equal(target.filter, 'divergence');
    assert.equal(typeof target.margin, 'number');
    const original = recorded.find((o) => o.meta.trajectoryId === r.meta.trajectoryId && o.meta.stepIndex === r.meta.stepIndex);
    assert.ok(original !== undefined, 'each sample answers a recorded training state');
    assert.deepEqual(r.messages.slice(0, -1), original.messages.slice(0, -1), 'the same decision state, another target');
  }
  for (const r of readJsonl(dataset.heldout)) assert.equal(r.meta.target?.source, 'recorded', 'held-out scoring stays on the recorded actions');
  const phases = env.events.flatMap((e) => (e.event === 'phase' ? [e.phase] : []));
  assert.deepEqual(phases, ['snapshot', 'dataset', 'worker', 'general', 'sample', 'train', 'score', 'save']);
  assert.ok(env.events.some((e) => e.event === 'log' && new RegExp(`^Teacher samples: ${String(stats.kept)} of ${String(stats.sampled)} kept by the divergence filter`, 'u').test(e.message)));
  const metrics = record.metrics ?? {};
  assert.equal(metrics.targets, 'teacher-samples (divergence)');
  assert.equal(metrics.samples_kept, stats.kept);
  assert.equal('mean_judge_score' in metrics, false, 'no judge model: no judge score at all, not a zero');
  assert.ok(store.scores.forIteration(1).every((s) => s.detail.judge === undefined));
});
