import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDataset, evenlySpaced, selectTrajectories } from '../../../src/core/distill/dataset.js';
import { parseRoundConfig, ROUND_SIZES, RoundConfigError, roundSizeOf } from '../../../src/core/distill/round.js';
import { lexicalTextEmbedder } from '../../../src/core/embedding/lexical.js';
import { parseInjectionOptions } from '../../../src/core/injection/options.js';
import { fixtureStore } from './helpers.js';

test('evenlySpaced keeps at most the cap, spread over the whole list, the same every time; no cap keeps all', () => {
  const items = Array.from({ length: 10 }, (_, i) => i);
  assert.deepEqual(evenlySpaced(items, 4), [0, 2, 5, 7]);
  assert.deepEqual(evenlySpaced(items, 4), evenlySpaced(items, 4));
  assert.deepEqual(evenlySpaced(items, 0), items);
  assert.deepEqual(evenlySpaced(items, undefined), items);
  assert.deepEqual(evenlySpaced(items, 25), items);
});

test('a capped dataset on the real fixtures keeps states of several runs, counts what the cap left out, and its stats describe what is kept', async () => {
  const store = await fixtureStore();
  const options = { injection: parseInjectionOptions({ scoreFloor: 0, k: 3 }), contextTokens: 1024, heldoutFraction: 0.3, seed: 0 };
  const base = { trajectories: selectTrajectories(store, {}), pool: store.principles.list({ status: 'accepted' }), internalizedIds: new Set<string>(), embedder: lexicalTextEmbedder() };
  const full = await buildDataset({ ...base, options });
  assert.ok(full.train.length > 4 && full.heldout.length > 2, `the fixtures give enough states to cap (${String(full.train.length)} / ${String(full.heldout.length)})`);
  assert.equal(full.stats.capped, undefined, 'nothing is capped without a cap');
  const capped = await buildDataset({ ...base, options: { ...options, maxTrainRecords: 4, maxHeldoutRecords: 2 } });
  assert.equal(capped.train.length, 4);
  assert.equal(capped.heldout.length, 2);
  assert.deepEqual(capped.stats.capped, { train: full.train.length - 4, heldout: full.heldout.length - 2 });
  assert.equal(capped.stats.trainRecords, 4);
  assert.ok(capped.stats.trainTokens < full.stats.trainTokens);
  assert.ok(new Set(capped.train.map((r) => r.meta.trajectoryId)).size > 1, 'the kept states come from more than one run');
  const kept = Object.values(capped.stats.principleStates).reduce((n, s) => n + s.train, 0);
  assert.equal(kept, capped.train.reduce((n, r) => n + r.meta.principles.length, 0), 'per-principle counts are of the kept states');
});

test('round sizes: the quick check is a named preset of real knobs, recognized after a round trip; a bad knob names its field', () => {
  const quick = parseRoundConfig({ ...ROUND_SIZES.quick });
  assert.equal(roundSizeOf(quick), 'quick');
  assert.equal(roundSizeOf(parseRoundConfig({})), 'full', 'the defaults are the full size');
  assert.equal(roundSizeOf(parseRoundConfig({ ...ROUND_SIZES.quick, epochs: 3 })), undefined, 'a knob set by hand is neither');
  assert.ok(ROUND_SIZES.quick.maxTrainRecords > 0 && ROUND_SIZES.quick.generalPrompts > 0);
  assert.throws(() => parseRoundConfig({ generalPrompts: 21 }), (e: unknown) => e instanceof RoundConfigError && /generalPrompts/u.test(e.message));
  assert.throws(() => parseRoundConfig({ maxTrainRecords: -1 }), (e: unknown) => e instanceof RoundConfigError && /maxTrainRecords/u.test(e.message));
});
