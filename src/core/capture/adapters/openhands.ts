/**
 * OpenHands event streams: a JSON array of events as the UI exports them and as the repository's
 * replay trajectories hold them (`tests/runtime/trajs/*.json`), or `{events: [...]}`. Actions carry
 * `action` (run, edit, read, message, finish, think, browse, …), `args` and `tool_call_metadata`
 * (`tool_call_id`, `function_name`, the model response with usage); observations carry
 * `observation`, `content`, `cause` (the action's id) and `extras` (exit code in `metadata`).
 * Sessions on disk (`~/.openhands/sessions/<id>/events/<n>.json`) hold one event per file; an
 * `events` folder is read as one array.
 */
import { basename, dirname } from 'node:path';
import type { Trajectory } from '../../trajectory.js';
import { TrajectoryBuilder } from '../builder.js';
import type { DocumentAdapter, FileContext, ParseIssue } from '../types.js';
import { asArray, asRecord, isoTime, type JsonRecord, num, parseArguments, parseJsonDocument, str } from '../values.js';

const SILENT_ACTIONS = new Set(['change_agent_state', 'system', 'recall', 'null']);

function feedEvents(builder: TrajectoryBuilder, events: readonly unknown[]): void {
  const callOfAction = new Map<number, string>();
  for (const raw of events) {
    const event = asRecord(raw);
    if (!event) continue;
    const at = isoTime(event.timestamp);
    const source = str(event.source);
    const action = str(event.action);
    const observation = str(event.observation);
    const args = asRecord(event.args) ?? {};
    const meta = asRecord(event.tool_call_metadata);
    if (action !== undefined) {
      if (SILENT_ACTIONS.has(action)) continue;
      if (source === 'user') {
        if (action === 'message') builder.user(str(args.content) ?? str(event.message) ?? '', at);
        continue;
      }
      const response = asRecord(meta?.model_response);
      const model = str(response?.model);
      const options = { at, model, group: str(response?.id) };
      const thought = str(args.thought);
      if (thought !== undefined && thought !== '') builder.thought(thought, options);
      if (action === 'message') {
        builder.text(str(args.content) ?? str(event.message) ?? '', options);
        builder.closeStep();
        continue;
      }
      if (action === 'finish') {
        const outputs = asRecord(args.outputs);
        builder.text(str(args.final_thought) ?? str(outputs?.content) ?? str(event.message) ?? '', options);
        const state = str(args.task_completed);
        builder.verdict({
          label: state === 'false' ? 'failure' : 'success',
          evidence: { kind: 'heuristic', detail: state !== undefined ? `agent finished (task_completed: ${state})` : 'agent called finish' },
        });
      }
      let callArgs: Readonly<Record<string, unknown>> = { ...args };
      const fn = asArray(asRecord(asArray(response?.choices)[0])?.message && asRecord(asRecord(asArray(response?.choices)[0])?.message)?.tool_calls)
        .map((c) => asRecord(c))
        .find((c) => str(c?.id) === str(meta?.tool_call_id));
      const fnArgs = asRecord(fn?.function)?.arguments;
      if (fnArgs !== undefined) callArgs = parseArguments(fnArgs);
      const id = builder.call(str(meta?.function_name) ?? action, callArgs, str(meta?.tool_call_id), options);
      const eventId = num(event.id);
      if (eventId !== undefined) callOfAction.set(eventId, id);
      const usage = asRecord(response?.usage);
      if (usage) {
        builder.stepUsage({
          inputTokens: num(usage.prompt_tokens) ?? 0,
          outputTokens: num(usage.completion_tokens) ?? 0,
          cacheReadTokens: num(usage.cache_read_input_tokens) ?? num(asRecord(usage.prompt_tokens_details)?.cached_tokens) ?? 0,
          cacheWriteTokens: num(usage.cache_creation_input_tokens) ?? 0,
        });
      }
      continue;
    }
    if (observation !== undefined) {
      const extras = asRecord(event.extras) ?? {};
      if (observation === 'agent_state_changed') {
        const state = str(extras.agent_state);
        if (state === 'error') builder.verdict({ label: 'failure', evidence: { kind: 'error', detail: str(extras.reason) ?? 'agent entered the error state' } });
        continue;
      }
      if (observation === 'null' || observation === 'recall') continue;
      const cause = num(event.cause);
      const callId = str(meta?.tool_call_id) ?? (cause !== undefined ? callOfAction.get(cause) : undefined);
      const metadata = asRecord(extras.metadata);
      const exitCode = num(metadata?.exit_code) ?? num(extras.exit_code);
      const content = str(event.content) ?? str(event.message) ?? '';
      const isError = observation === 'error' || (exitCode !== undefined && exitCode !== 0 && exitCode !== -1);
      if (observation === 'error' && callId === undefined) {
        builder.verdict({ label: 'failure', evidence: { kind: 'error', detail: content.slice(0, 200) } });
      }
      builder.observe({ callId, content, isError, exitCode }, at);
    }
  }
}

function parse(file: FileContext, text: string, issues: ParseIssue[]): Trajectory[] {
  const value = parseJsonDocument(file, text, issues);
  if (value === undefined) return [];
  const record: JsonRecord | undefined = asRecord(value);
  const events = Array.isArray(value) ? (value as unknown[]) : asArray(record?.events ?? record?.history);
  if (events.length === 0) {
    issues.push({ file: file.path, field: 'events', message: 'no events' });
    return [];
  }
  const name = basename(file.path) === 'events' ? basename(dirname(file.path)) : basename(file.path).replace(/\.json$/u, '');
  const sessionId = str(record?.session_id) ?? str(record?.id) ?? name;
  const builder = new TrajectoryBuilder('openhands', sessionId);
  builder.sourcePath = file.path;
  feedEvents(builder, events);
  return [builder.build()];
}

export const openhandsAdapter: DocumentAdapter = {
  kind: 'document',
  format: 'openhands',
  source: 'openhands',
  detect(_path, head) {
    const first = head.slice(0, 16384);
    if (/"source"\s*:\s*"(user|agent|environment)"/u.test(first) && /"(action|observation)"\s*:\s*"/u.test(first) && !/"schema_version"\s*:\s*"ATIF/u.test(first)) return 0.85;
    return 0;
  },
  parse,
};
