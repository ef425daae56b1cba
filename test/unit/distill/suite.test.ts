import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../../src/core/store/index.js';
import { proposeOps } from '../../../src/core/experience/curation.js';
import { adoptSuitePrinciples, recordSuiteScores, suiteReport } from '../../../src/core/distill/suite.js';
import { suiteResult } from '../../../src/core/distill/worker.js';

const principles = [
  { id: 'P1', text: 'When the user asks for a terminal command, give the command in a fenced bash code block.' },
  { id: 'P6', text: 'When tests fail, call read_file on the failing test file before editing any code.' },
  { id: 'P10', text: 'When a request has several parts, restate the parts as a short numbered list before answering.' },
];

// The shape the worker's `suite` method answers with (parsed by the client's own schema).
const result = suiteResult.parse({
  principles: [
    { id: 'P1', calibrated: true, reason: 'teacher clearly above base (gap +0.40, z 2.9)', method: 'checker', base: 0.1, teacher: 0.5, student: 0.35, score: 0.625, internalized: true },
    { id: 'P6', calibrated: false, reason: 'teacher not clearly above base (gap +0.05, z 0.4; needs +0.15 and 2.0)', method: 'checker', base: 0.2, teacher: 0.25, student: null, score: null, internalized: false },
    { id: 'P10', calibrated: true, reason: 'no checker: scored by divergence', method: 'divergence', base: null, teacher: null, student: null, score: 0.31, internalized: false, kl_before: 0.8, kl_after: 0.55 },
  ],
  retention: { base_nll: 2.1, student_nll: 2.16, ratio: 1.0286 },
  collapse: { collapsed: false, reasons: [] },
  rounds: [{}],
  calibration: {},
  timings: { calibrate_s: 61.2, round1_train_s: 130.5, total_s: 200.1 },
});

test('suite principles join the pool once (matched by text) and their scores land under the pool ids', () => {
  const store = openStore(':memory:');
  proposeOps(store, [{ kind: 'ADD', text: 'When X, do Y.', rationale: 'r', evidence: [] }], { origin: 'manual', autoAccept: true });
  proposeOps(store, [{ kind: 'ADD', text: principles[1]?.text ?? '', rationale: 'already there', evidence: [] }], { origin: 'manual', autoAccept: true });
  const ids = adoptSuitePrinciples(store, principles, 1);
  assert.deepEqual([...ids], [
    ['P6', 'P2'],
    ['P1', 'P3'],
    ['P10', 'P4'],
  ]);
  assert.equal(store.principles.get('P3')?.origin, 'imported');
  assert.equal(store.principles.get('P3')?.status, 'accepted');
  // A second round adopts nothing new.
  assert.deepEqual([...adoptSuitePrinciples(store, principles, 2)].sort(), [...ids].sort());
  assert.equal(store.principles.count('accepted'), 4);

  assert.equal(recordSuiteScores(store, 1, result, ids), 2, 'the uncalibrated principle was not trained and gets no score');
  const latest = store.scores.latest();
  assert.equal(latest.get('P3')?.score, 0.625);
  assert.equal(latest.get('P3')?.internalized, true);
  assert.equal(latest.get('P4')?.method, 'divergence');
  assert.deepEqual(latest.get('P4')?.detail, { suiteId: 'P10', reason: 'no checker: scored by divergence', kl_before: 0.8, kl_after: 0.55 });
  assert.equal(latest.has('P2'), false);
  store.close();
});

test('the report is a before/after table per principle with retention and timings', () => {
  const report = suiteReport(result, principles, new Map([['P1', 'P3'], ['P6', 'P2'], ['P10', 'P4']]), 'smollm2-135m-instruct');
  const rows = report.split('\n').filter((l) => /^\| P\d/u.test(l));
  assert.equal(rows.length, 3);
  assert.match(rows[0] ?? '', /^\| P3 When the user asks .* \| 10% \| 50% \| 35% \| 0\.63 \| yes \|$/u);
  assert.match(rows[1] ?? '', /not trained: teacher not clearly above base/u);
  assert.match(rows[2] ?? '', /0\.31 \(1 − KL after\/before\) \| no \|$/u);
  assert.match(report, /Retention: .* ×1\.029/u);
  assert.match(report, /Time: calibrate 61 s, round 1 train 131 s, total 200 s\./u);
});
