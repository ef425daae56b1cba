/**
 * The round estimate: each phase's time from assumed rates before anything was measured, from the
 * rates an earlier iteration measured after, the general answers counted once per model, and the
 * records of earlier iterations that training replays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readJsonl, recordTokens } from '../../../src/core/distill/dataset.js';
import { estimateRound, generalAnswersDir, parseRoundConfig, type PhaseTimes, type RoundEnvironment } from '../../../src/core/distill/round.js';
import { lexicalTextEmbedder } from '../../../src/core/embedding/lexical.js';
import type { Store } from '../../../src/core/store/index.js';
import { fixtureStore } from './helpers.js';

const sum = (p: PhaseTimes): number => Object.values(p).reduce((a, b) => a + b, 0);

function environment(store: Store): RoundEnvironment {
  return { store, runsDir: mkdtempSync(join(tmpdir(), 'internalize-estimate-')), python: 'python3', embedder: lexicalTextEmbedder() };
}

test('before anything was measured: assumed rates, the general answers in the first iteration only, and replay growing along the loop', async () => {
  const store = await fixtureStore();
  const env = environment(store);
  const config = parseRoundConfig({ contextTokens: 512 });
  const estimate = await estimateRound(env, config);
  assert.equal(estimate.basis, 'assumed');
  assert.equal(estimate.tokensPerSecond, 55);
  assert.equal(estimate.generalCached, false);
  assert.equal(estimate.replayTokens, 0);
  assert.deepEqual(Object.keys(estimate.phases), ['general', 'train', 'score'], 'no teacher samples and no judge: neither phase is counted');
  // 2 sets of 20 general prompts, 48 tokens each, at 34 tokens/s.
  assert.ok(Math.abs((estimate.phases.general ?? 0) - (2 * 20 * 48) / 34) < 1e-9);
  assert.ok(Math.abs((estimate.phases.train ?? 0) - (estimate.stats.trainTokens * config.epochs) / 55) < 1e-9);
  assert.ok(Math.abs(estimate.seconds - (30 + sum(estimate.phases))) < 1e-9, 'the phases and the fixed start-and-write time make the iteration');

  const second = estimate.phasesAt(2);
  assert.equal(second.general, undefined, 'the general answers are written once');
  assert.ok(Math.abs((second.train ?? 0) - (2 * estimate.stats.trainTokens * config.epochs) / 55) < 1e-9, 'iteration 2 replays iteration 1’s records');
  assert.equal(second.score, estimate.phases.score);
  assert.ok(Math.abs(estimate.loopSeconds(2) - (estimate.seconds + 30 + sum(second))) < 1e-9);
  assert.equal(estimate.loopSeconds(0), 0);

  // Without replay of kept records every iteration trains on its own records alone.
  const noReplay = await estimateRound(env, parseRoundConfig({ contextTokens: 512, replayKept: false }));
  assert.equal(noReplay.phasesAt(3).train, noReplay.phases.train);
  store.close();
});

test('general answers already on disk take no time; teacher samples add their phase, at the size asked for', async () => {
  const store = await fixtureStore();
  const env = environment(store);
  const quick = parseRoundConfig({ contextTokens: 512, generalPrompts: 6 });
  const dir = generalAnswersDir(env.runsDir, quick);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'replay.jsonl'), '');
  writeFileSync(join(dir, 'retention.jsonl'), '');
  const cached = await estimateRound(env, quick);
  assert.equal(cached.generalCached, true);
  assert.equal(cached.phases.general, undefined);
  // Another size of the general set is another set of answers, not on disk yet.
  const full = await estimateRound(env, parseRoundConfig({ contextTokens: 512 }));
  assert.equal(full.generalCached, false);

  const sampled = await estimateRound(env, parseRoundConfig({ contextTokens: 512, generalPrompts: 6, targets: 'teacher-samples', samples: { k: 2, filter: 'divergence', maxNewTokens: 96 } }));
  assert.deepEqual(Object.keys(sampled.phases), ['sample', 'train', 'score']);
  assert.ok(Math.abs((sampled.phases.sample ?? 0) - (sampled.stats.trainRecords * 2 * 96) / 20) < 1e-9, 'k samples of up to 96 tokens per training state at 20 tokens/s');
  store.close();
});

test('after an iteration: its measured rates per token and per state, and its training records replayed', async () => {
  const store = await fixtureStore();
  const env = environment(store);
  const config = parseRoundConfig({ contextTokens: 512 });
  const first = await estimateRound(env, config);
  // A finished iteration on the same model and device, as the round service records it.
  const train = join(env.runsDir, 'iteration-1-train.jsonl');
  const record = {
    messages: [{ role: 'user', content: 'Task: fix the failing parser test' }, { role: 'assistant', content: 'I will run the tests first.' }],
    targets: [1],
    blocks: { '1': 'When a test fails, read the error before editing.' },
    meta: { trajectoryId: 't', sessionId: 's', stepIndex: 1, principles: ['P1'], split: 'train', truncated: false },
  };
  writeFileSync(train, `${JSON.stringify(record)}\n`);
  store.iterations.save({
    number: 1,
    status: 'done',
    config: { kind: 'own-data', model: config.model, round: config, dataset: { train } },
    metrics: { train: { tokens_per_s: 110 }, dataset: { train: 10, heldout: 4 }, phase_seconds: { general: 40, train: 100, score: 80, general_cached: false, replay_tokens: 0, judge_states: 0, sampled_tokens: 0 } },
  });
  const later = await estimateRound(env, config);
  assert.equal(later.basis, 'iteration 1');
  assert.equal(later.tokensPerSecond, 110);
  assert.ok(Math.abs((later.phases.score ?? 0) - (80 / 4) * later.stats.heldoutRecords) < 1e-9, 'scoring at the 20 s per held-out state iteration 1 took');
  const replayed = recordTokens(readJsonl(train));
  assert.ok(replayed > 0);
  assert.equal(later.replayTokens, replayed);
  assert.ok(Math.abs((later.phases.train ?? 0) - ((later.stats.trainTokens + replayed) * config.epochs) / 110) < 1e-9);
  assert.ok(later.seconds !== first.seconds);
  // Another device measured nothing for this one: assumed again.
  const gpu = await estimateRound(env, parseRoundConfig({ contextTokens: 512, device: 'cuda' }));
  assert.equal(gpu.basis, 'assumed');
  store.close();
});
