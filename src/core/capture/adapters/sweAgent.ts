/**
 * SWE-agent `.traj` files (`trajectories/<user>/<run>/<instance>.traj`): one JSON document with
 * `trajectory` (per step: response, thought, action, observation, execution_time, state),
 * `history` (the chat messages, with `tool_calls` and `tool_call_ids` when function calling was
 * used) and `info` (exit_status, submission, model_stats with tokens). Function-calling agents may
 * leave only `history`. Demonstrations (worked examples marked `is_demo`) precede the real issue in
 * the history and are skipped.
 */
import { basename } from 'node:path';
import type { Trajectory } from '../../trajectory.js';
import { TrajectoryBuilder } from '../builder.js';
import type { DocumentAdapter, FileContext, ParseIssue } from '../types.js';
import { verdictFromReward } from '../outcome.js';
import { asArray, asRecord, exitCodeFromText, type JsonRecord, num, parseArguments, parseJsonDocument, str, textOf } from '../values.js';
import { feedChatMessages } from './chatMessages.js';

// Statuses SWE-agent writes when it stopped before the agent submitted on its own.
const FAILED_EXITS = /^(exit_cost|exit_context|exit_error|exit_format|exit_api|early_exit|exit_environment_error|exit_forfeit|autosubmission)/u;

/** Demonstrations are worked examples SWE-agent puts in the history before the real issue; they are not this run. */
function isDemonstration(message: JsonRecord | undefined): boolean {
  return message?.is_demo === true || str(message?.message_type) === 'demonstration';
}

/** The issue the run worked on: the replayed problem statement, else the first user message that is not a demonstration. */
function taskOf(doc: JsonRecord, history: readonly (JsonRecord | undefined)[]): string {
  const replay = asRecord(typeof doc.replay_config === 'string' ? safeJson(doc.replay_config) : doc.replay_config);
  const problem = str(asRecord(replay?.problem_statement)?.text) ?? str(asRecord(asRecord(replay?.env)?.problem_statement)?.text);
  if (problem !== undefined) return problem;
  const firstUser = history.find((m) => str(m?.role) === 'user' && !isDemonstration(m));
  return firstUser ? textOf(firstUser.content) : '';
}

/** Steps from the `trajectory` array, with call names and ids from the function-calling history where it has them. */
function fromTrajectory(builder: TrajectoryBuilder, steps: readonly unknown[], history: readonly (JsonRecord | undefined)[]): void {
  const actionCalls = history.filter((m) => str(m?.role) === 'assistant' && m?.tool_calls !== undefined && !isDemonstration(m));
  steps.forEach((raw, i) => {
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
}

/**
 * Steps from the chat history alone, as function-calling agents leave it when the `.traj` has no
 * `trajectory` array: assistant messages with `tool_calls` (or an `action` string), and `tool`
 * messages naming the calls they answer. The system prompt, the issue and demonstrations are not steps.
 */
function fromHistory(builder: TrajectoryBuilder, history: readonly (JsonRecord | undefined)[]): void {
  let seenTask = false;
  const messages = history.filter((m): m is JsonRecord => {
    if (m === undefined || isDemonstration(m) || str(m.role) === 'system') return false;
    if (str(m.role) === 'user' && !seenTask) {
      seenTask = true;
      return false;
    }
    return true;
  });
  for (const message of messages) {
    const role = str(message.role);
    if (role === 'assistant' && message.tool_calls === undefined && str(message.action) !== undefined) {
      const thought = str(message.thought);
      if (thought !== undefined) builder.thought(thought);
      const action = str(message.action) ?? '';
      builder.call(action.trim().split(/\s+/u)[0] ?? 'bash', { command: action });
      continue;
    }
    if (role === 'user' && builder.pendingCall() !== undefined) {
      // Without function calling the observation comes back as the next user message.
      const content = textOf(message.content);
      const exitCode = exitCodeFromText(content);
      builder.observe({ callId: builder.pendingCall(), content, isError: exitCode !== undefined && exitCode !== 0, exitCode });
      continue;
    }
    feedChatMessages(builder, [message]);
  }
}

function parse(file: FileContext, text: string, issues: ParseIssue[]): Trajectory[] {
  const value = parseJsonDocument(file, text, issues);
  if (value === undefined) return [];
  const doc = asRecord(value);
  const history = asArray(doc?.history).map((m) => asRecord(m));
  const steps = asArray(doc?.trajectory);
  if (!doc || (steps.length === 0 && history.length === 0)) {
    issues.push({ file: file.path, field: 'trajectory', message: 'neither a trajectory array nor a history of messages' });
    return [];
  }
  const sessionId = basename(file.path).replace(/\.traj$/u, '');
  const builder = new TrajectoryBuilder('swe-agent', sessionId);
  builder.sourcePath = file.path;
  const system = history.find((m) => str(m?.role) === 'system');
  if (system) builder.systemPrompt = textOf(system.content);
  builder.task = taskOf(doc, history);
  if (steps.length > 0) fromTrajectory(builder, steps, history);
  else fromHistory(builder, history);
  const info = asRecord(doc.info);
  const exit = str(info?.exit_status);
  if (exit !== undefined) {
    // `submitted` only says a patch was handed in; whether it fixes the issue takes tests, a resolved flag or a reward.
    const failed = FAILED_EXITS.test(exit);
    builder.verdict({ label: failed ? 'failure' : 'unknown', evidence: { kind: 'exit-status', detail: `exit_status ${exit}` } });
  }
  const resolved = info?.resolved ?? asRecord(info?.review)?.resolved;
  if (typeof resolved === 'boolean') builder.verdict({ label: resolved ? 'success' : 'failure', evidence: { kind: 'test-result', detail: resolved ? 'instance resolved' : 'instance not resolved' } });
  const reward = verdictFromReward(info?.reward ?? info?.score, info?.reward !== undefined ? 'reward' : 'score');
  if (reward) {
    builder.verdict(reward.verdict);
    if (reward.reward !== undefined) builder.reward = reward.reward;
  }
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
    if (/"history"\s*:\s*\[/u.test(first) && /"(message_type|agent)"\s*:/u.test(first) && /"(environment|info)"\s*:/u.test(first)) return 0.6;
    return 0;
  },
  parse,
};
