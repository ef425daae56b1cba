import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { learnFromUse, servePrinciples } from '../../../src/core/serving/index.js';
import { ServeCallRepository } from '../../../src/core/store/serveCalls.js';
import { hashedEmbedder } from '../injection/helpers.js';
import { seededStore } from './storeFixture.js';

const TASK = 'Fix the failing test in the orders module';
const FIRST_STATE = { task: TASK, steps: [{ tool: 'Bash', action: 'pytest tests/test_orders.py', observation: 'FAILED tests/test_orders.py::test_total - AssertionError', isError: true }] };
const SECOND_STATE = { text: 'I edited src/orders.py; the tests should be re-run before finishing' };

/**
 * A Claude Code session (the JSON lines it writes under ~/.claude/projects) in which the agent
 * called the MCP tool twice: the first answer carried its callId, the second came back as an error
 * text (so only its arguments can tie it to the log).
 */
function claudeSession(firstCallId: string): string {
  const base = { isSidechain: false, userType: 'external', cwd: '/home/dev/shop', sessionId: 'ses-serve-1', version: '2.1.80', gitBranch: 'main' };
  let n = 0;
  let parent: string | null = null;
  const lines: string[] = [];
  const push = (type: 'user' | 'assistant', content: unknown): void => {
    n++;
    const uuid = `m${String(n)}`;
    lines.push(JSON.stringify({ ...base, parentUuid: parent, type, uuid, timestamp: `2026-11-30T10:00:${String(n).padStart(2, '0')}.000Z`, message: { role: type, content } }));
    parent = uuid;
  };
  const call = (id: string, name: string, input: unknown): void => {
    push('assistant', [{ type: 'tool_use', id, name, input }]);
  };
  const result = (id: string, text: string, isError = false): void => {
    push('user', [{ type: 'tool_result', tool_use_id: id, content: text, is_error: isError }]);
  };
  push('user', TASK);
  call('tu1', 'Bash', { command: 'pytest tests/test_orders.py' });
  result('tu1', 'FAILED tests/test_orders.py::test_total - AssertionError', true);
  call('tu2', 'mcp__internalize__principles_for_state', FIRST_STATE);
  result('tu2', `Principles for this state (callId ${firstCallId}):\n1. [P1] When tests fail, read the failing test output and the code under test before editing anything.`);
  call('tu3', 'Edit', { file_path: 'src/orders.py', old_string: '+ 2', new_string: '' });
  result('tu3', 'The file src/orders.py has been updated.');
  call('tu4', 'mcp__internalize__principles_for_state', SECOND_STATE);
  result('tu4', 'MCP server "internalize" disconnected', true);
  call('tu5', 'Bash', { command: 'pytest tests/test_orders.py' });
  result('tu5', '1 passed in 0.02s');
  push('assistant', [{ type: 'text', text: 'Fixed: the total no longer adds 2.' }]);
  return `${lines.join('\n')}\n`;
}

test('captured calls are linked to the log and the run outcome credits each served principle once', async (t) => {
  const { store, db, dir } = seededStore(t);
  const embedder = hashedEmbedder();
  const first = await servePrinciples({ store, embedder, state: FIRST_STATE, k: 2, client: 'claude-code' });
  const second = await servePrinciples({ store, embedder, state: SECOND_STATE, k: 2, client: 'claude-code' });
  // A call from another session with another state: it must stay unlinked.
  const unrelated = await servePrinciples({ store, embedder, state: { text: 'the shell says command not found' }, k: 1 });
  const served = new Set([...first.principles, ...second.principles].map((p) => p.id));
  assert.ok(served.size >= 2, [...served].join(','));

  // The session arrives through the capture core, as a watcher or `internalize import` would bring it.
  const log = join(dir, 'projects', '-home-dev-shop', '0b5e0000-0000-4000-8000-000000000001.jsonl');
  mkdirSync(join(dir, 'projects', '-home-dev-shop'), { recursive: true });
  writeFileSync(log, claudeSession(first.callId));
  const io = { out: () => undefined, err: (s: string) => assert.fail(s), env: { HOME: dir }, cwd: dir };
  assert.equal(await runCli(['import', '--db', db, log], io), 0);
  const [summary] = store.trajectories.list({ source: 'claude-code' });
  assert.ok(summary !== undefined);
  store.trajectories.setOutcome(summary.id, { label: 'success', evidence: [{ kind: 'user-verdict', detail: 'marked by the user' }] });

  const counts = (): Record<string, [number, number]> =>
    Object.fromEntries([...served].map((id) => [id, [store.principles.get(id)?.helpful ?? -1, store.principles.get(id)?.harmful ?? -1]]));
  const report = learnFromUse(store);
  assert.deepEqual({ linked: report.linked, unmatched: report.unmatched }, { linked: 2, unmatched: 0 });
  const calls = new ServeCallRepository(store.db);
  assert.equal(calls.get(first.callId)?.trajectoryId, summary.id, 'linked by the callId in the answer');
  assert.equal(calls.get(second.callId)?.trajectoryId, summary.id, 'linked by the state hash of the arguments');
  assert.equal(calls.get(unrelated.callId)?.trajectoryId, undefined);
  const helpfulOnce = Object.fromEntries([...served].map((id) => {
    const times = [first, second].filter((r) => r.principles.some((p) => p.id === id)).length;
    return [id, [times, 0]];
  }));
  assert.deepEqual(counts(), helpfulOnce);

  // Importing the session again and learning again changes nothing.
  assert.equal(await runCli(['import', '--db', db, log], io), 0);
  store.trajectories.setOutcome(summary.id, { label: 'success', evidence: [{ kind: 'user-verdict', detail: 'marked by the user' }] });
  assert.deepEqual(learnFromUse(store), { linked: 0, credited: 0, unmatched: 0, proposedDeletes: [] });
  assert.deepEqual(counts(), helpfulOnce);

  // The user re-marks the run as a failure: the credit moves from helpful to harmful, it is not added.
  store.trajectories.setOutcome(summary.id, { label: 'failure', evidence: [{ kind: 'user-verdict', detail: 'marked by the user' }] });
  learnFromUse(store, { trajectoryIds: [summary.id] });
  assert.deepEqual(counts(), Object.fromEntries(Object.entries(helpfulOnce).map(([id, [h]]) => [id, [0, h ?? 0]])));
  assert.equal(calls.get(first.callId)?.credited, 'harmful');
  // Every move is on record: credits, then their withdrawal.
  const firstId = first.principles[0]?.id ?? '';
  assert.deepEqual(calls.feedback(firstId).filter((f) => f.callId === first.callId).map((f) => [f.verdict, f.origin]), [['helpful', 'outcome'], ['helpful', 'outcome'], ['harmful', 'outcome']]);
});
