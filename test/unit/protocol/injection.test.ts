import { test } from 'node:test';
import assert from 'node:assert/strict';
import { injectionHostMessage, injectionWebviewMessage, MAX_DIVERGENCE_STEPS, MAX_ROWS_PER_REQUEST } from '../../../src/protocol/injection.js';

const options = { mode: 'stepwise-ephemeral', k: 5, selector: 'embedding', includeInternalized: false };
const plan = {
  type: 'plan',
  trajectory: { id: 'codex:1', task: 'fix it', source: 'codex', steps: 12 },
  options,
  embedder: { id: 'lexical:hash-1024:v1', description: 'lexical: the ONNX model is missing' },
  tokenCounter: 'estimate',
  rowCount: 12,
  planned: 12,
  poolSize: 3,
  planMs: 4.2,
};
const row = { position: 0, stepIndex: 0, action: 'shell: ls', selected: ['P1', 'P2'], blockTokens: 40, excluded: 1, fallback: false, pending: false };
const message = { role: 'user', content: 'ok\n\n<experience>…</experience>', injected: [[4, 30]], omitted: 0, index: 1 };
const detail = {
  position: 0,
  stepIndex: 0,
  state: 'Task: fix it',
  stateTokens: 4,
  selected: [{ id: 'P1', text: 'When tests fail, read the log.', cosine: 0.42, mmr: 0.3, scope: 'global', rerankPosition: 0 }],
  excluded: [{ id: 'P9', cause: 'internalized', cosine: 0.5 }],
  block: '<experience>…</experience>',
  blockTokens: 40,
  student: [{ ...message, content: 'ok', injected: [] }],
  teacher: [message],
  earlierMessages: 0,
};

test('host messages: each kind in its valid shape passes', () => {
  for (const m of [
    plan,
    { ...plan, rerankUnavailable: 'no model', globalBlock: { text: 'b', tokens: 1 } },
    { type: 'rows', start: 0, rows: [row] },
    { type: 'detail', detail },
    { type: 'divergence', model: 'smollm2-135m-instruct', scores: [{ position: 0, klPerToken: 0.12, tokens: 9 }] },
    { type: 'divergenceUnavailable', reason: 'not running', action: 'startWorker' },
    { type: 'busy', message: 'Planning…' },
    { type: 'emptyPool', trajectory: { id: 'codex:1', task: 'fix it' } },
    { type: 'error', kind: 'deleted', message: 'gone' },
  ]) {
    const parsed = injectionHostMessage.safeParse(m);
    assert.equal(parsed.success, true, `${m.type}: ${parsed.success ? '' : parsed.error.message}`);
  }
});

test('host messages: wrong fields, unknown kinds and oversized row batches are refused', () => {
  assert.equal(injectionHostMessage.safeParse({ ...plan, options: { ...options, k: 9 } }).success, false);
  assert.equal(injectionHostMessage.safeParse({ ...plan, options: { ...options, mode: 'stepwise' } }).success, false);
  assert.equal(injectionHostMessage.safeParse({ ...plan, tokenCounter: 'guess' }).success, false);
  assert.equal(injectionHostMessage.safeParse({ type: 'rows', start: 0, rows: Array.from({ length: MAX_ROWS_PER_REQUEST + 1 }, (_, i) => ({ ...row, position: i })) }).success, false);
  assert.equal(injectionHostMessage.safeParse({ type: 'rows', start: -1, rows: [] }).success, false);
  assert.equal(injectionHostMessage.safeParse({ type: 'detail', detail: { ...detail, teacher: [{ ...message, role: 'tool' }] } }).success, false);
  assert.equal(injectionHostMessage.safeParse({ type: 'detail', detail: { ...detail, teacher: [{ ...message, injected: [[4]] }] } }).success, false);
  assert.equal(injectionHostMessage.safeParse({ type: 'divergence', model: 'm', scores: [{ position: 0, klPerToken: -1, tokens: 1 }] }).success, false);
  assert.equal(injectionHostMessage.safeParse({ type: 'error', kind: 'oops', message: 'x' }).success, false);
  assert.equal(injectionHostMessage.safeParse({ type: 'eval', code: 'alert(1)' }).success, false);
});

test('webview messages: only the known requests with valid fields are accepted', () => {
  for (const m of [
    { type: 'ready' },
    { type: 'rows', start: 4_900, count: 100 },
    { type: 'selectStep', position: 4_999 },
    { type: 'setOptions', options: { ...options, mode: 'global', k: 8, selector: 'rerank', includeInternalized: true } },
    { type: 'revealPrinciple', id: 'P12' },
    { type: 'divergence', positions: [0, 1, 2] },
    { type: 'startWorker' },
    { type: 'run', action: 'summarize' },
    { type: 'run', action: 'close' },
  ]) {
    assert.equal(injectionWebviewMessage.safeParse(m).success, true, JSON.stringify(m));
  }
  for (const m of [
    { type: 'rows', start: 0, count: MAX_ROWS_PER_REQUEST + 1 },
    { type: 'rows', start: 0, count: 0 },
    { type: 'selectStep', position: 1.5 },
    { type: 'setOptions', options: { ...options, k: 0 } },
    { type: 'setOptions', options: { ...options, selector: 'random' } },
    { type: 'setOptions', options: { mode: 'global' } },
    { type: 'revealPrinciple', id: '' },
    { type: 'revealPrinciple', id: 'P'.repeat(65) },
    { type: 'divergence', positions: [] },
    { type: 'divergence', positions: Array.from({ length: MAX_DIVERGENCE_STEPS + 1 }, (_, i) => i) },
    { type: 'run', action: 'rm -rf' },
    'ready',
    null,
  ]) {
    assert.equal(injectionWebviewMessage.safeParse(m).success, false, JSON.stringify(m));
  }
});
