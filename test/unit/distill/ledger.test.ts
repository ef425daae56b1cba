import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeIteration } from '../../../src/core/distill/ledger.js';

test('an iteration reads as accuracy without principles before and after, and retention', () => {
  const text = summarizeIteration({
    base_accuracy_without_principles: 0,
    accuracy_without_principles: 1,
    teacher_accuracy_with_principles: 1,
    probe_nll: 2.7,
    base_probe_nll: 3,
  });
  assert.equal(text, 'accuracy without principles 0.00 → 1.00 (teacher with them 1.00); general ability kept (loss on general text 10.0% below the base model\'s)');
});

test('missing or malformed metrics are left out rather than shown as NaN', () => {
  assert.equal(summarizeIteration({ accuracy_without_principles: 'high', probe_nll: Number.NaN }), '');
  assert.equal(summarizeIteration({ accuracy_without_principles: 0.5 }), 'accuracy without principles ? → 0.50');
});

test('a round on your data reads as principles internalized by divergence, held-out action NLL and retention', () => {
  const text = summarizeIteration({ kind: 'own-data', principles_scored: 4, principles_internalized: 1, mean_score: 0.31, action_nll: { base: 2.5, student: 2.25 }, retention_ratio: 1.012 });
  assert.equal(text, '1 of 4 scored principles internalized (mean divergence score 0.31); held-out action NLL without principles 2.500 → 2.250; retention: general NLL ×1.012');
  assert.equal(summarizeIteration({ kind: 'own-data', principles_scored: 0, principles_internalized: 0, mean_score: null }), '0 of 0 scored principles internalized');
});
