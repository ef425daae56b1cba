import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardHostMessage, dashboardWebviewMessage, LOG_TAIL_LINES, MAX_POINTS } from '../../../src/protocol/dashboard.js';

const run = {
  iteration: 2,
  title: 'toy world',
  startedAt: '2026-12-01T18:00:00.000Z',
  status: 'running',
  progress: { phase: 'Training', step: 3, total: 10, percent: 30, etaS: 12 },
  points: [{ step: 1, t: 0.5, loss: 1.2, tokensPerS: 800 }],
  log: ['INFO epoch 1'],
};
const result = { status: 'failed', summary: 'The round failed.', reasons: ['The training worker exited (SIGKILL).'], metrics: [], checkpoint: '/runs/iteration-2/checkpoint-epoch1' };

test('the host messages the dashboard accepts', () => {
  for (const message of [
    { type: 'state', run, tab: 'run' },
    { type: 'state', tab: 'curve' },
    { type: 'delta', iteration: 2, status: 'running', points: [], log: ['a line'] },
    { type: 'result', iteration: 2, result },
    { type: 'curve', curve: { iterations: [1, 2], statuses: ['done', 'collapsed'], series: [{ id: 'P2', label: 'P2 score', kind: 'principle', values: [0.67, null] }], retentionLimit: 1.05 } },
    { type: 'tab', tab: 'curve' },
    { type: 'error', message: 'The store is unavailable.' },
  ]) {
    const parsed = dashboardHostMessage.safeParse(message);
    assert.ok(parsed.success, `${message.type}: ${parsed.success ? '' : parsed.error.message}`);
  }
});

test('malformed or oversized host messages are refused', () => {
  const bad: unknown[] = [
    { type: 'state', run: { ...run, progress: { ...run.progress, percent: 140 } }, tab: 'run' },
    { type: 'state', run: { ...run, points: [{ step: 1, t: 0, loss: Number.NaN }] }, tab: 'run' },
    { type: 'state', run: { ...run, log: Array.from({ length: LOG_TAIL_LINES + 1 }, () => 'x') }, tab: 'run' },
    { type: 'delta', iteration: 2, status: 'running', points: Array.from({ length: MAX_POINTS + 1 }, (_, i) => ({ step: i, t: i })), log: [] },
    { type: 'result', iteration: 0, result },
    { type: 'result', iteration: 2, result: { ...result, status: 'running' } },
    { type: 'curve', curve: { iterations: [1], statuses: ['done'], series: [], retentionLimit: 0 } },
    { type: 'tab', tab: 'settings' },
    { type: 'script', code: 'alert(1)' },
  ];
  for (const message of bad) assert.equal(dashboardHostMessage.safeParse(message).success, false, JSON.stringify(message).slice(0, 120));
});

test('the webview may ask for exactly its actions', () => {
  for (const message of [{ type: 'ready' }, { type: 'cancel' }, { type: 'resume', iteration: 3 }, { type: 'showLog' }, { type: 'tab', tab: 'run' }, { type: 'startRound' }]) {
    assert.ok(dashboardWebviewMessage.safeParse(message).success, message.type);
  }
  for (const message of [{ type: 'resume', iteration: -1 }, { type: 'resume' }, { type: 'run', command: 'workbench.action.terminal.new' }, null, 'cancel']) {
    assert.equal(dashboardWebviewMessage.safeParse(message).success, false, JSON.stringify(message));
  }
});
