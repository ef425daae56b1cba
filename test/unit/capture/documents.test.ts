import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { danglingCallIds, parseBytes, parseFixture } from './helpers.js';

describe('copilotChat adapter', () => {
  it('reads agent tool-call rounds, their results, the workspace folder and the final test run', () => {
    const { trajectories } = parseFixture('copilot-chat', 'copilot-chat', 'workspaceStorage', '3f2a9c', 'chatSessions', '6d0c1f7e-2b55-4c1e-9d1a-3f2b8e4a7c10.json');
    const t = trajectories[0]!;
    assert.equal(t.workspace, '/home/dev/shop-api');
    assert.equal(t.model, 'copilot/gpt-4.1');
    assert.equal(t.steps.flatMap((s) => s.toolCalls).length, 3);
    assert.equal(t.steps[0]!.toolCalls[0]!.arguments.command, 'npm test');
    assert.equal(t.outcome.label, 'success');
    assert.equal(t.outcome.evidence.find((e) => e.kind === 'test-result')?.detail, 'jest: all passed');
    assert.deepEqual(danglingCallIds(t), []);
  });

  it('replays the JSONL operation log of newer VS Code', () => {
    const t = parseFixture('copilot-chat', 'copilot-chat', 'workspaceStorage', '3f2a9c', 'chatSessions', '9e1d2c3b-7a6f-4e5d-8c9b-0a1b2c3d4e5f.jsonl').trajectories[0]!;
    assert.equal(t.task, 'What does the retry helper do?');
    assert.match(t.steps[0]!.text ?? '', /exponential backoff/u);
    assert.equal(t.endedAt, new Date(1762000009000).toISOString());
  });
});

describe('copilotChat adapter on real sessions (git-ai-project/git-ai fixtures, Apache-2.0)', () => {
  const real = (name: string) => parseFixture('copilot-chat', 'copilot-chat', 'workspaceStorage', 'git-ai-real', 'chatSessions', name).trajectories;

  it('reads a real agent session (.json, Copilot Chat with claude-sonnet-4): rounds, calls, prompt-tsx results', () => {
    const [t, ...rest] = real('copilot_session_simple.json');
    assert.equal(rest.length, 0);
    assert.equal(t!.sessionId, '331fed7f-cfd6-409c-8502-06a56322b636');
    assert.equal(t!.task, 'What can you help me with?');
    assert.equal(t!.model, 'copilot/claude-sonnet-4');
    assert.equal(t!.steps.length, 5);
    const calls = t!.steps.flatMap((s) => s.toolCalls);
    assert.deepEqual(calls.map((c) => c.name), ['replace_string_in_file', 'grep_search']);
    assert.equal(calls[1]!.id, 'toolu_vrtx_01QZ8eYAhaNiLjhip28kHbk7__vscode-1759845028971');
    assert.deepEqual(calls[1]!.arguments, { query: 'Bonjour', isRegexp: false });
    const observations = t!.steps.flatMap((s) => s.observations);
    assert.deepEqual(observations.map((o) => o.callId), calls.map((c) => c.id));
    // The results are prompt-tsx element trees; their text leaves are what the model saw.
    assert.match(observations[0]!.content, /^The following files were successfully edited:\n\/Users\/svarlamov\/projects\/testing-git\/index\.ts/u);
    assert.match(observations[1]!.content, /1 match/u);
    assert.match(observations[1]!.content, /console\.log\('Bonjour'\);/u);
    assert.ok(observations.every((o) => !o.isError));
    assert.equal(t!.startedAt, '2025-10-07T13:50:46.680Z');
    assert.equal(t!.outcome.label, 'unknown');
    assert.deepEqual(danglingCallIds(t!), []);
  });

  it('replays a real operation log (.jsonl, Copilot Chat 0.37.1 with gpt-4o): snapshot, sets and appended requests', () => {
    const [t, ...rest] = real('copilot_session_multiline.jsonl');
    assert.equal(rest.length, 0);
    assert.equal(t!.sessionId, '7de89a80-6d93-43e7-be0a-0a9afe980198');
    assert.equal(t!.task, 'Add a joke about 7sadfh32u23gdaWF to jokes.csv');
    assert.equal(t!.model, 'copilot/gpt-4o');
    assert.equal(t!.steps.length, 4);
    const calls = t!.steps.flatMap((s) => s.toolCalls);
    assert.deepEqual(calls.map((c) => c.name), ['read_file', 'insert_edit_into_file']);
    assert.equal(calls[0]!.arguments.filePath, '/Users/svarlamov/projects/testing-git/jokes.csv');
    const observations = t!.steps.flatMap((s) => s.observations);
    assert.deepEqual(observations.map((o) => o.callId), calls.map((c) => c.id));
    assert.match(observations[0]!.content, /id,setup,punchline/u);
    // The second request arrives as a kind-2 append to ["requests"].
    assert.match(t!.steps[3]!.text ?? '', /has been successfully added/u);
    assert.equal(t!.endedAt, '2026-02-08T20:43:37.096Z');
    assert.deepEqual(danglingCallIds(t!), []);
  });
});

describe('cline and roo adapters', () => {
  it('parses XML tool calls and their results, exit codes, usage and the completion', () => {
    const t = parseFixture('cline', 'cline', 'saoudrizwan.claude-dev', 'tasks', '1759400100000', 'api_conversation_history.json').trajectories[0]!;
    assert.equal(t.source, 'cline');
    assert.equal(t.task, 'Make the failing unit test in utils pass');
    assert.equal(t.workspace, '/home/dev/utils-lib');
    assert.deepEqual(t.steps.flatMap((s) => s.toolCalls.map((c) => c.name)), ['execute_command', 'replace_in_file', 'execute_command', 'attempt_completion']);
    const observations = t.steps.flatMap((s) => s.observations);
    assert.equal(observations[0]!.exitCode, 1);
    assert.equal(observations[0]!.isError, true);
    assert.equal(t.steps[0]!.thought, 'I should run the tests to see what fails.');
    assert.equal(t.model, 'claude-sonnet-4-5-20250929');
    assert.equal(t.usage?.inputTokens, 10810);
    assert.equal(t.outcome.label, 'success');
    assert.deepEqual(danglingCallIds(t), []);
  });

  it('accepts the result header without "Result:" that Roo Code writes', () => {
    const history = JSON.stringify([
      { role: 'user', content: [{ type: 'text', text: '<task>\nfix\n</task>' }] },
      { role: 'assistant', content: [{ type: 'text', text: '<read_file>\n<path>src/a.ts</path>\n</read_file>' }] },
      { role: 'user', content: [{ type: 'text', text: "[read_file for 'src/a.ts']\nFile: src/a.ts\n 1 | x" }] },
    ]);
    const t = parseBytes('roo', '/x/rooveterinaryinc.roo-cline/tasks/1/api_conversation_history.json', history).trajectories[0]!;
    assert.equal(t.steps[0]!.observations[0]!.callId, t.steps[0]!.toolCalls[0]!.id);
    assert.match(t.steps[0]!.observations[0]!.content, /^File: src\/a\.ts/u);
  });

  it('links native tool_use ids to "[name for …] Result:" text, and reads per-message model and metrics (shape of Cline 3.x native tool calling)', () => {
    // Written by us after the shape of a real, unlicensed public task file (mike4567/MRA04242026,
    // api_conversation_history.json at 7644913): tool_use blocks carry ids, yet results come back as user text.
    const history = JSON.stringify([
      { role: 'user', content: [{ type: 'text', text: '<task>\nlook around\n</task>' }], ts: 1777073160794 },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'tooluse_A', name: 'use_subagents', input: { prompt_1: 'map the repo' }, call_id: 'tooluse_A' }], modelInfo: { modelId: 'claude_4_5_opus', providerId: 'openai', mode: 'plan' }, metrics: { tokens: { prompt: 100, completion: 10, cached: 5 } }, ts: 1777073173494 },
      { role: 'user', content: [{ type: 'text', text: '[subagents] Result:\nTotal: 1' }, { type: 'text', text: '[TASK RESUMPTION] This task was interrupted 3 days ago.' }], ts: 1777073180000 },
      { role: 'assistant', content: [
        { type: 'tool_use', id: 'tooluse_B', name: 'read_file', input: { path: 'a.ts' } },
        { type: 'tool_use', id: 'tooluse_C', name: 'read_file', input: { path: 'b.ts' } },
      ], modelInfo: { modelId: 'claude_4_5_opus' }, metrics: { tokens: { prompt: 200, completion: 20, cached: 0 } }, ts: 1777073190000 },
      { role: 'user', content: [{ type: 'text', text: "[read_file for 'a.ts'] Result:\n1 | a" }, { type: 'text', text: "[read_file for 'b.ts'] Result:\n1 | b" }], ts: 1777073200000 },
    ]);
    const t = parseBytes('cline', '/x/saoudrizwan.claude-dev/tasks/1777073160794/api_conversation_history.json', history).trajectories[0]!;
    assert.equal(t.model, 'claude_4_5_opus');
    assert.deepEqual(t.usage, { inputTokens: 300, outputTokens: 30, cacheReadTokens: 5, cacheWriteTokens: 0 });
    const observations = t.steps.flatMap((s) => s.observations);
    assert.deepEqual(observations.map((o) => o.callId), ['tooluse_A', 'tooluse_B', 'tooluse_C']);
    assert.deepEqual(observations.map((o) => o.content), ['Total: 1', '1 | a', '1 | b']);
    assert.equal(t.steps[0]!.userMessages, undefined);
    assert.deepEqual(danglingCallIds(t), []);
  });

  it('reads native tool_use blocks in a Roo Code task', () => {
    const t = parseFixture('roo', 'roo', 'rooveterinaryinc.roo-cline', 'tasks', '1761000000000', 'api_conversation_history.json').trajectories[0]!;
    assert.equal(t.source, 'roo');
    assert.equal(t.workspace, '/home/dev/notes-app');
    assert.equal(t.steps[0]!.observations[0]!.callId, 'toolu_01RooSearch');
  });
});

describe('geminiCli adapter', () => {
  it('reads tool calls with their results and exit codes from a chat document', () => {
    const t = parseFixture('gemini-cli', 'gemini-cli', 'large.json').trajectories[0]!;
    assert.equal(t.sessionId, 'session-2025-12-16T23-47-b4f17607');
    const observations = t.steps.flatMap((s) => s.observations);
    assert.deepEqual(observations.map((o) => o.exitCode), [0, 1]);
    assert.equal(observations[1]!.isError, true);
    assert.equal(t.model, 'gemini-3-flash-preview');
    assert.deepEqual(danglingCallIds(t), []);
  });

  it('reads the JSONL session layout', () => {
    const t = parseFixture('gemini-cli', 'gemini-cli', 'jsonl_v040.jsonl').trajectories[0]!;
    assert.equal(t.sessionId, 'gemini_stage0_jsonl');
    assert.equal(t.task, 'Say hello and list files.');
    assert.equal(t.steps[0]!.toolCalls[0]!.arguments.command, 'ls -F');
  });
});

describe('openhands adapter', () => {
  it('links observations to actions by tool call id and takes usage from the model response', () => {
    const t = parseFixture('openhands', 'openhands', 'basic.json').trajectories[0]!;
    assert.match(t.task, /2048 game/u);
    assert.equal(t.model, 'claude-3-5-sonnet-20241022');
    const edit = t.steps[0]!.toolCalls[0]!;
    assert.equal(edit.name, 'str_replace_editor');
    assert.equal(edit.arguments.command, 'create');
    assert.equal(t.steps[0]!.observations[0]!.callId, edit.id);
    assert.ok((t.usage?.inputTokens ?? 0) > 0);
    assert.equal(t.outcome.label, 'success');
  });
});

describe('sweAgent adapter', () => {
  it('uses the function-calling history for call names and the exit status for the outcome', () => {
    const t = parseFixture('swe-agent', 'swe-agent', '6e44b9__sweagenttestrepo-1c2844.traj').trajectories[0]!;
    assert.equal(t.steps.length, 5);
    assert.deepEqual(t.steps.map((s) => s.toolCalls[0]!.name), ['find_file', 'open', 'edit', 'bash', 'submit']);
    assert.equal(t.steps[0]!.toolCalls[0]!.id, 'call_fJuazlMUN5fQDQ73G6XSpYpx');
    // A submitted patch is not yet a fixed issue: without tests, a resolved flag or a reward the outcome stays unknown.
    assert.equal(t.outcome.label, 'unknown');
    assert.equal(t.outcome.evidence[0]!.detail, 'exit_status submitted');
    assert.match(t.systemPrompt ?? '', /autonomous programmer/u);
  });
});

describe('atif adapter', () => {
  it('maps agent steps, tool calls and observation results by source_call_id', () => {
    const t = parseFixture('atif', 'atif', 'openhands-hello-world.trajectory.json').trajectories[0]!;
    assert.equal(t.source, 'atif');
    assert.match(t.task, /hello\.txt/u);
    const calls = t.steps.flatMap((s) => s.toolCalls);
    assert.ok(calls.length >= 1);
    assert.deepEqual(danglingCallIds(t), []);
    const terminus = parseFixture('atif', 'atif', 'terminus2-hello-world-linear-history.trajectory.json').trajectories[0]!;
    assert.equal(terminus.model, 'openai/gpt-4o');
    assert.ok(terminus.steps.length >= 1);
  });
});

describe('openaiMessages adapter', () => {
  it('reads published rollouts: Python-repr tool calls, tool results, problem and reward', () => {
    const { trajectories, issues } = parseFixture('openai-messages', 'openai-messages', 'rollout-step11-head4.jsonl');
    assert.equal(issues.length, 0);
    assert.equal(trajectories.length, 4);
    const first = trajectories.find((t) => t.task.includes('Data and AI Trends Report 2024'))!;
    assert.equal(first.outcome.label, 'success');
    assert.equal(first.outcome.reward, 1);
    const call = first.steps[0]!.toolCalls[0]!;
    assert.equal(call.name, 'search');
    assert.equal(typeof call.arguments.query, 'string');
    assert.equal(first.steps[0]!.observations[0]!.callId, call.id);
    assert.ok(trajectories.some((t) => t.outcome.label === 'failure'));
    for (const t of trajectories) assert.deepEqual(danglingCallIds(t), []);
  });
});
