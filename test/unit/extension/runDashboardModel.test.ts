import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import type { IterationRecord, PrincipleScoreRecord } from '../../../src/core/store/index.js';
import { dashboardHostMessage, LOG_TAIL_LINES, MAX_POINTS } from '../../../src/protocol/dashboard.js';
import { capabilityCurve, explainMetrics, metricDeltas, retentionOf, RUNNING_PERCENT_LIMIT, RunTracker, thinPoints, Throttle } from '../../../src/extension/webviews/runDashboardModel.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

test('progress of a suite round fills the bar phase by phase and never goes back', () => {
  const c = clock();
  const run = new RunTracker({ iteration: 3, title: 'principle suite', phases: ['calibrate', 'sample', 'train', 'evaluate'] }, c.now);
  run.event({ event: 'progress', phase: 'calibrate', step: 5, total: 10, principle: 'P2' });
  assert.equal(run.view().progress?.percent, 12.5);
  assert.equal(run.view().progress?.phase, 'Calibrating (base vs teacher)');
  assert.equal(run.view().progress?.principle, 'P2');
  run.event({ event: 'progress', phase: 'distill', step: 1, total: 4, loss: 2.5, tokens_per_s: 900 });
  // 'distill' is the training phase: third of four, one step of four in.
  assert.equal(run.view().progress?.percent, 56.25);
  run.event({ event: 'progress', phase: 'calibrate', step: 0, total: 10 });
  assert.equal(run.view().progress?.percent, 56.25, 'a late event of an earlier phase does not empty the bar');
  assert.equal(run.view().status, 'running');
});

test('training steps become chart points with time since start; events without numbers add none', () => {
  const c = clock();
  const run = new RunTracker({ iteration: 1, title: 'toy world', phases: ['train'] }, c.now);
  c.advance(1500);
  run.event({ event: 'progress', phase: 'train', step: 1, total: 2, loss: 1.25, kl: 0.75, tokens_per_s: 1200, eta_s: 3 });
  run.event({ event: 'progress', phase: 'evaluate', step: 1, total: 2 });
  c.advance(500);
  run.event({ event: 'progress', phase: 'train', step: 2, total: 2, loss: Number.NaN, tokens_per_s: 1300 });
  const points = run.view().points;
  assert.deepEqual(points, [
    { step: 1, t: 1.5, loss: 1.25, kl: 0.75, tokensPerS: 1200 },
    { step: 2, t: 2, loss: undefined, kl: undefined, tokensPerS: 1300 },
  ]);
  assert.equal(run.view().progress?.percent, RUNNING_PERCENT_LIMIT, 'the last training step is not the end of the round');
});

test('a toy round: training fills its weighted share, the evaluation after it shows, and 100% waits for the result', () => {
  const run = new RunTracker({ iteration: 2, title: 'toy world', phases: ['train', 'evaluate'], weights: [5, 1] });
  run.event({ event: 'progress', phase: 'train', step: 10, total: 10, loss: 0.1 });
  assert.ok(Math.abs((run.view().progress?.percent ?? 0) - (100 * 5) / 6) < 1e-9, 'training is five sixths of the bar');
  run.event({ event: 'progress', phase: 'evaluate', step: 4, total: 9 });
  assert.equal(run.view().progress?.phase, 'Evaluating held-out prompts');
  assert.ok((run.view().progress?.percent ?? 0) > (100 * 5) / 6);
  run.event({ event: 'progress', phase: 'evaluate', step: 9, total: 9 });
  assert.equal(run.view().progress?.percent, RUNNING_PERCENT_LIMIT);
  assert.equal(run.view().status, 'running');
  run.finish({ status: 'done', summary: 'ok', reasons: [], metrics: [] });
  assert.equal(run.view().progress?.percent, 100);
  assert.equal(run.view().progress?.phase, 'Finished');
});

test('a round on your data: worker events of a phase not listed fill the round service\'s current phase, and nothing jumps ahead', () => {
  const run = new RunTracker({ iteration: 1, title: 'your principles', phases: ['general', 'train', 'score'], weights: [2, 6, 2] });
  run.event({ event: 'phase', phase: 'dataset', message: 'building the dataset from your trajectories' });
  assert.equal(run.view().progress?.percent, 0);
  run.event({ event: 'phase', phase: 'general', message: 'answering the general prompts with the base model (once per model)' });
  // The general answers report 'replay' then 'retention': before training, so they must stay in the general share.
  run.event({ event: 'progress', phase: 'replay', step: 10, total: 20 });
  assert.equal(run.view().progress?.phase, 'Answering general prompts');
  assert.equal(run.view().progress?.percent, 10);
  run.event({ event: 'progress', phase: 'retention', step: 1, total: 1 });
  assert.equal(run.view().progress?.percent, 20);
  run.event({ event: 'phase', phase: 'train', message: 'training (off-policy)' });
  assert.equal(run.view().progress?.percent, 20);
  run.event({ event: 'progress', phase: 'train', step: 5, total: 10, kl: 0.2 });
  assert.equal(run.view().progress?.percent, 50);
  run.event({ event: 'progress', phase: 'train', step: 10, total: 10, kl: 0.1 });
  run.event({ event: 'phase', phase: 'score', message: 'scoring every principle on held-out states' });
  assert.equal(run.view().progress?.percent, 80);
  run.event({ event: 'progress', phase: 'evaluate', step: 3, total: 6 });
  assert.equal(run.view().progress?.percent, 90);
  run.event({ event: 'progress', phase: 'retention', step: 1, total: 1 });
  run.event({ event: 'phase', phase: 'save', message: 'writing the iteration' });
  assert.equal(run.view().progress?.percent, RUNNING_PERCENT_LIMIT);
  assert.equal(run.view().progress?.phase, 'writing the iteration');
  assert.equal(run.percent, RUNNING_PERCENT_LIMIT);
});

test('drain sends each point and log line once, and nothing when nothing changed', () => {
  const run = new RunTracker({ iteration: 2, title: 'toy world', phases: ['train'] });
  run.event({ event: 'progress', phase: 'train', step: 1, total: 3, loss: 1 });
  run.event({ event: 'log', level: 'info', message: 'epoch 1' });
  run.line('stderr line');
  const first = run.drain();
  assert.ok(first !== undefined);
  assert.equal(first.points.length, 1);
  assert.deepEqual(first.log, ['INFO epoch 1', 'stderr line']);
  assert.equal(run.drain(), undefined);
  run.event({ event: 'progress', phase: 'train', step: 2, total: 3, loss: 0.5 });
  const second = run.drain();
  assert.ok(second !== undefined);
  assert.deepEqual(second.points.map((p) => p.loss), [0.5]);
  assert.deepEqual(second.log, []);
  // What the host posts is what the webview accepts.
  assert.ok(dashboardHostMessage.safeParse({ type: 'delta', ...second }).success);
});

test('the log tail keeps the last lines only, and a view after markSent leaves nothing to drain', () => {
  const run = new RunTracker({ iteration: 1, title: 't', phases: [] });
  for (let i = 0; i < LOG_TAIL_LINES + 50; i++) run.line(`line ${String(i)}`);
  const view = run.view();
  assert.equal(view.log.length, LOG_TAIL_LINES);
  assert.equal(view.log[0], 'line 50');
  assert.ok(dashboardHostMessage.safeParse({ type: 'state', run: view, tab: 'run' }).success);
  run.markSent();
  assert.equal(run.drain(), undefined);
});

test('a stopped round keeps the last checkpoint the worker reported; a finished one reaches 100%', () => {
  const stopped = new RunTracker({ iteration: 4, title: 'toy world', phases: ['train'] });
  stopped.event({ event: 'checkpoint', path: '/runs/iteration-4/checkpoint-epoch1' });
  stopped.event({ event: 'progress', phase: 'train', step: 3, total: 10, loss: 1 });
  stopped.finish({ status: 'cancelled', summary: 'Stopped at your request.', reasons: ['stopped at step 3'], metrics: [] });
  assert.equal(stopped.outcome?.checkpoint, '/runs/iteration-4/checkpoint-epoch1');
  assert.equal(stopped.view().status, 'cancelled');
  assert.equal(stopped.view().progress?.percent, 30);
  stopped.event({ event: 'progress', phase: 'train', step: 9, total: 10, loss: 1 });
  assert.equal(stopped.view().points.length, 1, 'events after the end are ignored');

  const done = new RunTracker({ iteration: 5, title: 'toy world', phases: ['train'] });
  done.event({ event: 'progress', phase: 'train', step: 3, total: 10, loss: 1 });
  done.finish({ status: 'done', summary: 'ok', reasons: [], metrics: [] });
  assert.equal(done.view().progress?.percent, 100);
  assert.equal(done.outcome?.checkpoint, undefined);
});

test('thinPoints keeps at most the limit and always the last point', () => {
  const points = Array.from({ length: 12_345 }, (_, i) => ({ step: i + 1, t: i, loss: i }));
  const thinned = thinPoints(points);
  assert.ok(thinned.length <= MAX_POINTS);
  assert.equal(thinned[0]?.step, 1);
  assert.equal(thinned[thinned.length - 1]?.step, 12_345);
  assert.equal(thinPoints(points.slice(0, 10)).length, 10);
});

test('Throttle flushes once per interval however often it is scheduled', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  try {
    let flushes = 0;
    const throttle = new Throttle(100, () => {
      flushes++;
    });
    for (let i = 0; i < 50; i++) throttle.schedule();
    mock.timers.tick(0);
    assert.equal(flushes, 1, 'the first schedule flushes at once');
    for (let i = 0; i < 50; i++) {
      throttle.schedule();
      mock.timers.tick(5);
    }
    // 250 ms of constant events: flushes at 100 and 200 ms, the next one waits for 300 ms.
    assert.equal(flushes, 3);
    throttle.schedule();
    throttle.flushNow();
    const after = flushes;
    mock.timers.tick(1000);
    assert.equal(flushes, after, 'flushNow cancels the pending flush');
    throttle.dispose();
  } finally {
    mock.timers.reset();
  }
});

test('explainMetrics puts known metrics in words, judges them against the base, and lists the rest', () => {
  const explained = explainMetrics({ accuracy_without_principles: 0.9, base_accuracy_without_principles: 0.4, probe_nll: 2.2, base_probe_nll: 2.0, adapter: '/a', custom_thing: 3, collapse: { collapsed: false } });
  const accuracy = explained.find((m) => m.key === 'accuracy_without_principles');
  assert.ok(accuracy !== undefined);
  assert.equal(accuracy.value, '90%');
  assert.equal(accuracy.judgement, 'better');
  const probe = explained.find((m) => m.key === 'probe_nll');
  assert.ok(probe !== undefined);
  assert.equal(probe.judgement, 'worse');
  assert.match(probe.explanation, /Retention NLL/u);
  assert.deepEqual(explained.map((m) => m.key).filter((k) => k === 'adapter' || k === 'collapse'), []);
  assert.equal(explained[explained.length - 1]?.key, 'custom_thing');
});

test('metricDeltas compares with the previous iteration, or with the base model for the first', () => {
  const first = metricDeltas(undefined, { accuracy_without_principles: 0.8, base_accuracy_without_principles: 0.5, probe_nll: 2.1, base_probe_nll: 2.0 });
  const labels = first.map((d) => d.label);
  assert.ok(labels.includes('Accuracy without principles (student)'));
  assert.ok(labels.includes('Retention NLL (×base)'));
  assert.equal(first.find((d) => d.label.startsWith('Accuracy'))?.change, '+30%');
  const next = metricDeltas({ mean_score: 0.7, retention_ratio: 1.01 }, { mean_score: 0.4, retention_ratio: 1.08 });
  assert.deepEqual(
    next.map((d) => [d.label, d.before, d.after, d.judgement]),
    [
      ['Mean principle score', '0.70', '0.40', 'worse'],
      ['Retention NLL (×base)', '×1.010', '×1.080', 'worse'],
    ],
  );
});

function iteration(number: number, status: IterationRecord['status'], metrics?: Record<string, unknown>, config: Record<string, unknown> = {}): IterationRecord {
  return { number, status, config, metrics };
}

function score(it: number, principleId: string, value: number): PrincipleScoreRecord {
  return { iteration: it, principleId, method: 'checker', score: value, internalized: value > 0.5, detail: {}, recordedAt: '2026-01-01T00:00:00Z' };
}

test('the capability curve has one line per principle, retention, and the guard limit; unfinished iterations are left out', () => {
  const curve = capabilityCurve(
    [iteration(1, 'done', { retention_ratio: 1.02 }), iteration(2, 'failed'), iteration(3, 'collapsed', { retention_ratio: 1.09 }), iteration(4, 'running')],
    [score(1, 'P2', 0.67), score(1, 'P10', 0.5), score(3, 'P2', 0.38), score(3, 'P7', 0.9)],
  );
  assert.deepEqual(curve.iterations, [1, 3]);
  assert.deepEqual(curve.statuses, ['done', 'collapsed']);
  assert.deepEqual(
    curve.series.map((s) => [s.id, s.values]),
    [
      ['P2', [0.67, 0.38]],
      ['P7', [null, 0.9]],
      ['P10', [0.5, null]],
      ['retention', [1.02, 1.09]],
    ],
  );
  assert.equal(curve.retentionLimit, 1.05);
  assert.ok(dashboardHostMessage.safeParse({ type: 'curve', curve }).success);
});

test('the curve reads the toy world\'s retention from probe NLLs and a configured guard limit', () => {
  const curve = capabilityCurve([iteration(1, 'done', { probe_nll: 2.2, base_probe_nll: 2.0, accuracy_without_principles: 0.75 }, { guard: { max_retention_drop: 0.1 } })], []);
  assert.deepEqual(
    curve.series.map((s) => s.id),
    ['retention', 'accuracy'],
  );
  assert.ok(Math.abs((curve.series[0]?.values[0] ?? 0) - 1.1) < 1e-9);
  assert.ok(Math.abs(curve.retentionLimit - 1.1) < 1e-9);
  assert.equal(retentionOf(undefined), undefined);
  assert.equal(capabilityCurve([], []).iterations.length, 0);
});
