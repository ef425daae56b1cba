import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore } from '../../../src/core/store/index.js';
import { createRedactor, importPaths } from '../../../src/core/capture/index.js';
import { describeDrops, errorSignature, mine, minePatterns, minedOps } from '../../../src/core/experience/miner.js';
import { proposeOps } from '../../../src/core/experience/curation.js';
import { checkPrinciple } from '../../../src/core/experience/specificity.js';
import type { Step, ToolCall, Trajectory, TrajectorySource } from '../../../src/core/trajectory.js';

const fixtures = join(__dirname, '..', '..', 'fixtures');

test('real fixtures: the error→recovery pairs a reader can point out become general principles with their evidence', async () => {
  // What a reader sees in the fixtures:
  //  - claude-code/representative_messages.jsonl: a call fails with "Error: Tool execution failed
  //    with error: Command not found" (step 1) and the agent goes on with a MultiEdit that succeeds.
  //  - cline/.../api_conversation_history.json: `npm test` reports "1 failing" (step 0) and the next
  //    call, replace_in_file, succeeds; the run ends with all tests passing.
  //  - copilot-chat (shop-api): `npm test` prints "Tests: 1 failed" with no error flag (step 0), then
  //    replace_string_in_file, then the tests pass.
  // Only the last lesson recurs, in two agents under two tool names: at the default support of 2 it
  // is the one recovery found, and the miner must not invent others.
  const store = openStore(':memory:');
  await importPaths(store, await createRedactor({ secretlint: false }), [fixtures]);
  const all = store.trajectories.list().map((s) => store.trajectories.get(s.id)).filter((t): t is Trajectory => t !== undefined);
  assert.ok(all.length > 10);
  const recurring = minePatterns(all).filter((p) => p.kind === 'error-recovery');
  assert.deepEqual(recurring.map((p) => [p.text, p.support, p.agents]), [['When tests fail, fix the code the failure points to, then run the tests again.', 2, ['cline', 'copilot-chat']]]);
  const report = mine(all, { minSupport: 1 });
  const found = report.patterns.filter((p) => p.kind === 'error-recovery');
  const missing = found.find((p) => p.key.startsWith('missing-command'));
  assert.ok(missing, JSON.stringify(found));
  assert.equal(missing.action, 'edit');
  assert.equal(missing.text, 'When a command fails because a tool is missing, continue with a way that does not need it instead of retrying the command.');
  assert.equal(missing.support, 1);
  assert.deepEqual(missing.agents, ['claude-code']);
  assert.match(missing.evidence[0]?.trajectoryId ?? '', /^claude-code:/u);
  assert.equal(missing.evidence[0]?.stepIndex, 1);
  const tests = found.find((p) => p.key.startsWith('failing-test'));
  assert.ok(tests);
  assert.deepEqual(tests.evidence.map((e) => `${e.trajectoryId.split(':')[0] ?? ''} step ${String(e.stepIndex)}`).sort(), ['cline step 0', 'copilot-chat step 0']);
  // No text the miner proposes names a tool, a path or a literal of a run.
  assert.ok(report.patterns.length >= 2);
  for (const p of report.patterns) assert.deepEqual(checkPrinciple(p.text), [], p.text);
  store.close();
});

let nextCall = 0;
function call(name: string, args: Record<string, unknown>): ToolCall {
  return { id: `c${String(nextCall++)}`, name, arguments: args };
}

function step(index: number, c: ToolCall, out: string, failed = false, exitCode?: number): Step {
  return { index, toolCalls: [c], observations: [{ callId: c.id, content: out, isError: failed, ...(exitCode === undefined ? {} : { exitCode }) }] };
}

function traj(id: string, source: TrajectorySource, label: 'success' | 'failure' | 'unknown', steps: Step[]): Trajectory {
  return { id, source, sessionId: id, task: 't', outcome: { label, evidence: [] }, steps };
}

test('one lesson across three agents, each with its own tool names and error text, is one principle', () => {
  const runs = [
    traj('cc', 'claude-code', 'success', [
      step(0, call('Bash', { command: 'rg -n TODO src' }), '/bin/bash: line 1: rg: command not found', true, 127),
      step(1, call('Bash', { command: 'which grep' }), '/usr/bin/grep'),
      step(2, call('Bash', { command: 'grep -rn TODO src' }), 'src/a.ts:3: // TODO'),
    ]),
    traj('cx', 'codex', 'success', [
      step(0, call('shell', { command: ['bash', '-lc', 'jq .name package.json'] }), 'bash: jq: command not found', true, 127),
      step(1, call('shell', { command: ['bash', '-lc', 'command -v jq'] }), '', false, 0),
      step(2, call('shell', { command: ['bash', '-lc', 'node -e "console.log(1)"'] }), '1', false, 0),
    ]),
    traj('cl', 'cline', 'success', [
      step(0, call('execute_command', { command: 'make build' }), "'make' is not recognized as an internal or external command", true, 1),
      step(1, call('execute_command', { command: 'make --version' }), 'GNU Make 4.3'),
      step(2, call('execute_command', { command: 'make build' }), 'ok'),
    ]),
  ];
  const report = mine(runs);
  const recovery = report.patterns.filter((p) => p.kind === 'error-recovery');
  assert.equal(recovery.length, 1, JSON.stringify(report.patterns, null, 1));
  const [p] = recovery;
  assert.equal(p?.text, 'When a command fails because a tool is missing, check that it is installed before running it again.');
  assert.equal(p.support, 3);
  assert.deepEqual(p.agents, ['claude-code', 'cline', 'codex']);
  assert.deepEqual(p.evidence.map((e) => e.trajectoryId), ['cc', 'cx', 'cl']);
  const op = minedOps([p])[0];
  assert.match(op?.rationale ?? '', /3 trajectories from 3 agents \(claude-code, cline, codex\)/u);
  assert.deepEqual(mine(runs), report, 'deterministic');
});

test('a failing loop and the habits that tell successes from failures, in roles, with the support of each', () => {
  const read = (i: number) => step(i, call('Read', { file_path: '/w/src/app.ts' }), 'export const x = 1;');
  const edit = (i: number, secret = false) => step(i, call('Edit', { file_path: '/w/src/app.ts', old_string: 'a', new_string: secret ? 'const key = "[REDACTED:openai-api-key]"' : 'const key = process.env.RATES_API_KEY' }), 'ok');
  const test_ = (i: number, fail = false) => step(i, call('Bash', { command: 'npm test' }), fail ? 'Tests: 1 failed, 4 passed' : 'Tests: 5 passed', fail, fail ? 1 : 0);
  const runs = [
    traj('s1', 'claude-code', 'success', [test_(0, true), read(1), edit(2), test_(3)]),
    traj('s2', 'codex', 'success', [step(0, call('shell', { command: 'pytest -q' }), '1 failed, 3 passed', true, 1), step(1, call('shell', { command: 'sed -n 1,40p tests/test_app.py' }), 'def test_x(): ...', false, 0), step(2, call('apply_patch', { input: '*** Begin Patch\n+API_KEY = os.environ["RATES_API_KEY"]' }), 'Done'), step(3, call('shell', { command: 'pytest -q' }), '4 passed', false, 0)]),
    traj('f1', 'cline', 'failure', [test_(0, true), edit(1, true), test_(2, true), test_(3, true), test_(4, true)]),
    traj('f2', 'claude-code', 'failure', [test_(0, true), edit(1, true), test_(2, true), test_(3, true), test_(4, true)]),
  ];
  const report = mine(runs);
  const texts = new Map(report.patterns.map((p) => [p.key, p]));
  assert.equal(texts.get('repeat')?.text, 'When the same action has failed the same way twice, stop repeating it, read the error, and change the approach.');
  assert.equal(texts.get('repeat')?.support, 2);
  assert.deepEqual(texts.get('repeat')?.evidence, [{ trajectoryId: 'f1', stepIndex: 2 }, { trajectoryId: 'f2', stepIndex: 2 }]);
  // The successes' recovery after a failing test and their habit before editing are one lesson, one principle.
  const readFirst = report.patterns.filter((p) => p.text === 'When tests fail, read the failing test and its message before editing any code.');
  assert.equal(readFirst.length, 1);
  // Shown by the successes that read first and by the failures that edited straight away.
  assert.deepEqual(readFirst[0]?.agents, ['claude-code', 'cline', 'codex']);
  assert.equal(readFirst[0].support, 4);
  // The failures also edited right after their failing tests, but a failed run's recovery is no lesson.
  assert.ok(!report.patterns.some((p) => p.text.startsWith('When tests fail, fix the code')));
  assert.equal(texts.get('read-before-edit')?.support, 4);
  assert.equal(texts.get('secrets-out-of-files')?.text, 'When a change needs an API key or other secret, read it from an environment variable instead of writing it into a file.');
  assert.equal(texts.get('tests-pass-before-done')?.text, 'When the latest test run still fails, keep fixing or report the failure instead of declaring the task done.');
  assert.deepEqual(texts.get('tests-pass-before-done')?.evidence, [{ trajectoryId: 's1', stepIndex: 3 }, { trajectoryId: 's2', stepIndex: 3 }, { trajectoryId: 'f1', stepIndex: 4 }, { trajectoryId: 'f2', stepIndex: 4 }]);
  // Both failures also ran the tests after their last edit: no contrast, no principle.
  assert.equal(texts.get('test-after-edit'), undefined);
  assert.equal(texts.get('secrets-out-of-files')?.support, 4);
  for (const p of report.patterns) assert.deepEqual(checkPrinciple(p.text), [], p.text);

  const store = openStore(':memory:');
  const ids = proposeOps(store, minedOps(report.patterns), { origin: 'mined', batchId: 'mine-1' });
  assert.equal(ids.length, report.patterns.length);
  assert.equal(store.poolOps.list({ status: 'proposed' }).length, report.patterns.length);
  store.close();
});

test('a recurring error of no known class is dropped, and the report says how many and why', () => {
  const odd = (id: string) => traj(id, 'codex', 'unknown', [step(0, call('shell', { command: 'frob --all' }), 'frobnication incomplete at block deadbeef12', true, 3), step(1, call('shell', { command: 'frob --some' }), 'done', false, 0)]);
  const report = mine([odd('a'), odd('b')]);
  assert.deepEqual(report.patterns, []);
  assert.deepEqual(report.dropped, [{ kind: 'error-recovery', key: 'frobnication incomplete at block <hex>', support: 2, reason: 'the error fits no known class, so no general situation can be named' }]);
  assert.equal(describeDrops(report.dropped), '1 dropped: 1 because the error fits no known class, so no general situation can be named');
  assert.equal(describeDrops([]), 'none dropped');
});

test('error signatures drop paths, numbers, quoted literals and hashes', () => {
  assert.equal(errorSignature('  \nError at /home/u/x.py:12: "bad" deadbeef1'), 'error at <path>:<n>: <str> <hex>');
  assert.deepEqual(minePatterns([]), []);
  assert.deepEqual(mine([]), { patterns: [], dropped: [], trajectories: 0 });
});
