import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore } from '../../../src/core/store/index.js';
import { createRedactor, importPaths } from '../../../src/core/capture/index.js';
import { classifyError } from '../../../src/core/experience/errorClasses.js';
import { commandRole, toolRole } from '../../../src/core/experience/roles.js';
import { checkPrinciple, describeProblems } from '../../../src/core/experience/specificity.js';
import type { Trajectory } from '../../../src/core/trajectory.js';

test('every tool name in the real fixtures has a role, except tools that are not the agent\'s own', async () => {
  const store = openStore(':memory:');
  await importPaths(store, await createRedactor({ secretlint: false }), [join(__dirname, '..', '..', 'fixtures')]);
  const names = new Map<string, string>();
  for (const s of store.trajectories.list({ limit: 1000 })) {
    const t = store.trajectories.get(s.id) as Trajectory;
    for (const st of t.steps) for (const c of st.toolCalls) names.set(`${t.source} ${c.name}`, toolRole(c));
  }
  store.close();
  const other = [...names].filter(([, role]) => role === 'other').map(([n]) => n).sort();
  // A test tool of a parser's fixture, an MCP server's tool, and a name the fixture trimmed.
  assert.deepEqual(other, ['claude-code FailingTool', 'claude-code [trimmed for fixture]', 'codex mcp__synthetic__lookup']);
  assert.equal(names.get('cline replace_in_file'), 'edit');
  assert.equal(names.get('claude-code MultiEdit'), 'edit');
  assert.equal(names.get('codex apply_patch'), 'edit');
  assert.equal(names.get('copilot-chat read_file'), 'read');
  assert.equal(names.get('swe-agent find_file'), 'search');
});

test('shell commands take the role of the program they run', () => {
  assert.equal(commandRole('cd app && npm test -- --watch=false'), 'test');
  assert.equal(commandRole('python -m pytest -q tests/'), 'test');
  assert.equal(commandRole('pip install requests'), 'install');
  assert.equal(commandRole('which rg'), 'check');
  assert.equal(commandRole('node --version'), 'check');
  assert.equal(commandRole('sed -n 1,20p src/a.py'), 'read');
  assert.equal(commandRole("sed -i 's/a/b/' src/a.py"), 'edit');
  assert.equal(commandRole('rg -n TODO'), 'search');
  assert.equal(commandRole('git status'), 'vcs');
  assert.equal(commandRole('FOO=1 sudo make'), 'build');
  assert.equal(commandRole('python main.py'), 'run');
  assert.equal(toolRole({ id: '1', name: 'str_replace_editor', arguments: { command: 'view', path: '/a' } }), 'read');
  assert.equal(toolRole({ id: '1', name: 'shell', arguments: { command: ['bash', '-lc', 'cat README.md'] } }), 'read');
  assert.equal(toolRole({ id: '1', name: 'lookup_weather', arguments: {} }), 'other');
});

test('error texts from different programs fall into one class each', () => {
  const cases: [string, ReturnType<typeof classifyError>][] = [
    ['/bin/bash: line 1: rg: command not found', 'missing-command'],
    ["'make' is not recognized as an internal or external command,", 'missing-command'],
    ['Error: Tool execution failed with error: Command not found', 'missing-command'],
    ["ModuleNotFoundError: No module named 'requests'", 'missing-dependency'],
    ["Error: Cannot find module 'lodash'", 'missing-dependency'],
    ['Command executed.\nOutput:\n  11 passing (20ms)\n  1 failing\nExit code: 1', 'failing-test'],
    ['FAILED tests/test_app.py::test_x - AssertionError: assert 1 == 2', 'failing-test'],
    ['--- FAIL: TestParse (0.00s)', 'failing-test'],
    ['  File "a.py", line 3\n    def f(:\nSyntaxError: invalid syntax', 'syntax-error'],
    ["src/a.ts(3,5): error TS2322: Type 'string' is not assignable to type 'number'.", 'compile-error'],
    ['bash: ./deploy.sh: Permission denied', 'permission'],
    ['Command timed out after 120s', 'timeout'],
    ['ls: /non-existent-directory: No such file or directory', 'not-found'],
    ['curl: (6) Could not resolve host: example.invalid', 'network'],
    ['## SearchReplaceNoExactMatch: This SEARCH block failed to exactly match lines in a.ts', 'edit-mismatch'],
    ['String to replace not found in file.', 'edit-mismatch'],
    ['CONFLICT (content): Merge conflict in a.txt', 'conflict'],
    ["The user doesn't want to proceed with this tool use.", 'declined'],
    ['usage: tar [-c|-x] [options]', 'bad-usage'],
    ['Error: Exit code 1\ntally/report.py:3:8: F401 [*] `os` imported but unused', 'lint'],
    ['ERROR: Potential secrets about to be committed to git repo!', 'secret-detected'],
    ['something odd happened', undefined],
  ];
  for (const [text, cls] of cases) assert.equal(classifyError(text), cls, text);
  assert.equal(classifyError('', 127), 'missing-command');
  assert.equal(classifyError('', 124), 'timeout');
  // A long log is read where programs report: its start and its end.
  assert.equal(classifyError(`${'x'.repeat(50_000)}\nbash: jq: command not found`), 'missing-command');
});

test('the principle check: form, word limit, instance details and agent tool names', () => {
  assert.deepEqual(checkPrinciple('When a command fails because a tool is missing, check that it is installed before running it again.'), []);
  const tool = checkPrinciple('When a tool reports an error, respond with replace_in_file or MultiEdit as runs that recovered did.');
  assert.equal(describeProblems(tool), 'instance details: tool "replace_in_file", tool "MultiEdit"');
  assert.deepEqual(checkPrinciple('Always read the file first.').map((p) => p.kind), ['form']);
  assert.deepEqual(checkPrinciple('When tests fail, read them. Then fix the code.').map((p) => p.kind), ['form']);
  const long = `When tests fail, ${Array.from({ length: 40 }, () => 'read').join(' ')}.`;
  assert.equal(describeProblems(checkPrinciple(long)), '43 words, more than 32');
});
