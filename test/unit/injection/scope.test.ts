import { test } from 'node:test';
import assert from 'node:assert/strict';
import { languagesIn, scopeAllows, trajectoryFacts } from '../../../src/core/injection/scope.js';
import { join } from 'node:path';
import { evidenceWorkspaces, internalizedIds } from '../../../src/core/store/injection.js';
import { openStore } from '../../../src/core/store/index.js';
import { codingRun, principle, step, trajectory } from './helpers.js';

test('languages come from file extensions in tool-call arguments', () => {
  assert.deepEqual(languagesIn('edit src/app.tsx and lib/util.py, see https://example.com and v1.2'), ['typescript', 'python']);
  const run = trajectory([step(0, { name: 'apply_patch', args: { input: '*** Update File: crates/core/src/lib.rs\n@@' } }), step(1, { name: 'Bash', args: { command: 'go test ./...' } })]);
  const facts = trajectoryFacts(run);
  assert.deepEqual([...facts.languages], ['rust']);
  assert.deepEqual([...facts.tools].sort(), ['apply_patch', 'bash']);
});

test('scopes: language aliases, tools case-insensitive, workspace through evidence', () => {
  const facts = trajectoryFacts(codingRun());
  assert.ok(scopeAllows(principle('P1', 'x', 'language:py'), facts));
  assert.ok(scopeAllows(principle('P1', 'x', 'tool:BASH'), facts));
  assert.ok(!scopeAllows(principle('P1', 'x', 'tool:Grep'), facts));
  const ws = principle('P2', 'x', 'workspace', { evidence: [{ trajectoryId: 'claude-code:1' }] });
  assert.ok(!scopeAllows(ws, facts), 'unknown evidence workspace: left out');
  assert.ok(scopeAllows(ws, facts, new Map([['claude-code:1', '/home/dev/shop/']])));
  assert.ok(!scopeAllows(ws, facts, new Map([['claude-code:1', '/home/dev/other']])));
  const win = trajectoryFacts(trajectory([], { workspace: 'E:\\Work\\Repo\\' }));
  assert.ok(scopeAllows(ws, win, new Map([['claude-code:1', 'e:/work/repo']])));
  assert.ok(scopeAllows(principle('P3', 'x', 'workspace', { evidence: [{ trajectoryId: codingRun().id }] }), facts), 'its own evidence run');
});

test('internalizedIds follows the target model and the latest score', () => {
  const store = openStore(':memory:');
  try {
    store.iterations.save({ number: 1, status: 'done', config: { model: 'smollm2-135m-instruct' } });
    store.iterations.save({ number: 2, status: 'done', config: { world: 'toy' } });
    store.iterations.save({ number: 3, status: 'done', config: { model: 'smollm2-135m-instruct' } });
    const score = (principleId: string, internalized: boolean) => ({ principleId, method: 'checker' as const, internalized, detail: {} });
    store.scores.save(1, [score('P1', true), score('P2', true), score('P3', false)]);
    store.scores.save(2, [score('P3', true)]);
    store.scores.save(3, [score('P2', false)]);
    assert.deepEqual([...internalizedIds(store, 'smollm2-135m-instruct')].sort(), ['P1'], 'P2 was forgotten in iteration 3; P3 was internalized only by another model');
    assert.deepEqual([...internalizedIds(store, 'qwen')], []);
  } finally {
    store.close();
  }
});

test('evidenceWorkspaces reads the workspaces of workspace-scoped principles\' evidence', async () => {
  const { importPaths } = await import('../../../src/core/capture/index.js');
  const { createRedactor } = await import('../../../src/core/redaction/index.js');
  const store = openStore(':memory:');
  try {
    await importPaths(store, await createRedactor(), [join(__dirname, '..', '..', 'fixtures', 'cline')]);
    const id = store.trajectories.list({})[0]?.id ?? '';
    const pool = [principle('P1', 'x', 'workspace', { evidence: [{ trajectoryId: id }, { trajectoryId: 'codex:missing' }] }), principle('P2', 'y', 'global', { evidence: [{ trajectoryId: id }] })];
    assert.deepEqual([...evidenceWorkspaces(store, pool)], [[id, '/home/dev/utils-lib']]);
  } finally {
    store.close();
  }
});
