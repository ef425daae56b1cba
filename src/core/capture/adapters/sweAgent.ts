/**
 * SWE-agent `.traj` files (`trajectories/<user>/<run>/<instance>.traj`): one JSON document with
 * `trajectory` (per step: response, thought, action, observation, execution_time, state),
 * `history` (the chat messages, with `tool_calls` and `tool_call_ids` when function calling was
 * used) and `info` (exit_status, submission, model_stats with tokens).
 */
import { basename } from 'node:path';
import type { Trajectory } from '../../trajectory.js';
import { TrajectoryBuilder } from '../builder.js';
import type { DocumentAdapter, FileContext, ParseIssue } from '../types.js';
import { asArray, asRecord, exitCodeFromText, num, parseArguments, parseJsonDocument, str, textOf } from '../values.js';

// Statuses SWE-agent writes when it stopped before the agent submitted on its own.
const FAILED_EXITS = /^(exit_cost|exit_context|exit_error|exit_format|exit_api|early_exit|exit_environment_error|exit_forfeit|autosubmission)/u;

function parse(file: FileContext, text: string, issues: ParseIssue[]): Trajectory[] {
  const value = parseJsonDocument(file, text, issues);
  if (value === undefined) return [];
  const doc = asRecord(value);
  if (!doc || !Array.isArray(doc.trajectory)) {
    issues.push({ file: file.path, field: 'trajectory', message: 'no trajectory array' });
    return [];
  }
  const sessionId = basename(file.path).replace(/\.traj$/u, '');
  const builder = new TrajectoryBuilder('swe-agent', sessionId);
  builder.sourcePath = file.path;
  const history = asArray(doc.history).map((m) => asRecord(m));
  const system = history.find((m) => str(m?.role) === 'system');
  if (system) builder.systemPrompt = textOf(system.content);
  const firstUser = history.find((m) => str(m?.role) === 'user');
  const replay = asRecord(typeof doc.replay_config === 'string' ? safeJson(doc.replay_config) : doc.replay_config);
  const problem = str(asRecord(asRecord(replay?.problem_statement))?.text) ?? str(asRecord(asRecord(replay?.env)?.problem_statement)?.text);
  builder.task = problem ?? (firstUser ? textOf(firstUser.content) : '');
  // Function-calling runs record the real call (name, JSON arguments, id) on the assistant history entries.
  const actionCalls = history.filter((m) => str(m?.role) === 'assistant' && m?.tool_calls !== undefined);
  asArray(doc.trajectory).forEach((raw, i) => {
    const step = asRecord(raw);
    if (!step) return;
    const thought = str(step.thought);
    if (thought !== undefined) builder.thought(thought);
    const response = str(step.response);
    if (response !== undefined && response !== thought) builder.text(response);
    const action = str(step.action) ?? '';
    const recorded = asRecord(asArray(actionCalls[i]?.tool_calls)[0]);
    const fn = asRecord(recorded?.function);
    const name = str(fn?.name) ?? (action.trim().split(/\s+/u)[0] ?? 'bash');
    const args = fn ? parseArguments(fn.arguments) : { command: action };
    const id = builder.call(name === '' ? 'bash' : name, args, str(recorded?.id));
    const observation = str(step.observation) ?? '';
    const exitCode = exitCodeFromText(observation);
    builder.observe({ callId: id, content: observation, isError: exitCode !== undefined && exitCode !== 0, exitCode });
  });
  const info = asRecord(doc.info);
  const exit = str(info?.exit_status);
  if (exit !== undefined) {
    const submitted = exit === 'submitted' || (exit.startsWith('submitted') && !FAILED_EXITS.test(exit));
    builder.verdict({ label: submitted ? 'success' : 'failure', evidence: { kind: 'exit-status', detail: `exit_status ${exit}` } });
  }
  const resolved = info?.resolved ?? asRecord(info?.review)?.resolved;
  if (typeof resolved === 'boolean') builder.verdict({ label: resolved ? 'success' : 'failure', evidence: { kind: 'test-result', detail: resolved ? 'instance resolved' : 'instance not resolved' } });
  const stats = asRecord(info?.model_stats);
  if (stats && (num(stats.tokens_sent) ?? 0) + (num(stats.tokens_received) ?? 0) > 0) {
    builder.totalUsage({ inputTokens: num(stats.tokens_sent) ?? 0, outputTokens: num(stats.tokens_received) ?? 0 });
  }
  return [builder.build()];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export const sweAgentAdapter: DocumentAdapter = {
  kind: 'document',
  format: 'swe-agent',
  source: 'swe-agent',
  detect(path, head) {
    const first = head.slice(0, 16384);
    if (path.endsWith('.traj')) return 0.95;
    if (/"trajectory"\s*:\s*\[/u.test(first) && /"(action|observation|environment)"\s*:/u.test(first)) return 0.6;
    return 0;
  },
  parse,
};
