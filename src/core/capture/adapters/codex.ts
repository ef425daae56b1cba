/**
 * OpenAI Codex CLI rollouts: `~/.codex/sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl`
 * (`$CODEX_HOME` moves `~/.codex`). Each line is `{timestamp, type, payload}` with type
 * `session_meta`, `turn_context`, `response_item` (the model-visible items: message, reasoning,
 * function_call, function_call_output, custom_tool_call, local_shell_call, …) or `event_msg`
 * (UI events: user_message, token_count, exec_command_end, task_complete, turn_aborted, error).
 * Rollouts from before the wrapper (0.1x) hold the response items directly on each line.
 */
import { basename } from 'node:path';
import { trajectoryId, type Trajectory } from '../../trajectory.js';
import { changedOf, TrajectoryBuilder } from '../builder.js';
import type { ChangedTrajectory, FileContext, LineAdapter, LineRecord, LineSession, ParseIssue } from '../types.js';
import { asArray, asRecord, exitCodeFromText, isoTime, num, parseArguments, parseLooseJson, str, textOf, type JsonRecord } from '../values.js';

interface CodexState {
  sessionId?: string;
  model?: string;
  /** Exit codes reported by exec_command_end before the matching output item arrived. */
  exitCodes?: Record<string, number>;
}

const ROLLOUT_NAME = /rollout-[\dT:-]+-([0-9a-f-]{36})\.jsonl$/u;

/** `function_call_output.output` is a string, a JSON string with output and metadata, or content parts. */
function readOutput(output: unknown): { content: string; exitCode?: number; isError: boolean } {
  if (typeof output === 'string') {
    const parsed = asRecord(output.startsWith('{') ? parseLooseJson(output) : undefined);
    if (parsed && typeof parsed.output === 'string') {
      const metadata = asRecord(parsed.metadata);
      const exitCode = num(metadata?.exit_code);
      return { content: parsed.output, exitCode, isError: exitCode !== undefined && exitCode !== 0 };
    }
    const exitCode = exitCodeFromText(output);
    return { content: output, exitCode, isError: exitCode !== undefined && exitCode !== 0 };
  }
  const record = asRecord(output);
  if (record) {
    const content = textOf(record.content ?? record);
    const success = record.success;
    return { content, isError: success === false };
  }
  return { content: textOf(output), isError: false };
}

class CodexSession implements LineSession {
  private builder?: TrajectoryBuilder;
  private readonly state: CodexState;

  constructor(
    private readonly file: FileContext,
    state: unknown,
    private readonly load: (id: string) => Trajectory | undefined,
    private readonly issues: ParseIssue[],
  ) {
    const parsed = asRecord(state) ?? {};
    this.state = { sessionId: str(parsed.sessionId), model: str(parsed.model), exitCodes: (asRecord(parsed.exitCodes) ?? {}) as Record<string, number> };
  }

  push({ value, line }: LineRecord): void {
    const record = asRecord(value);
    if (!record) {
      this.issues.push({ file: this.file.path, line, message: 'expected a JSON object per line' });
      return;
    }
    const at = isoTime(record.timestamp);
    const type = str(record.type);
    const payload = asRecord(record.payload);
    if (type === 'session_meta' && payload) {
      this.meta(payload, at);
      return;
    }
    if (type === 'turn_context' && payload) {
      const model = str(payload.model);
      if (model !== undefined) this.state.model = model;
      const b = this.ensure(at);
      b.model ??= model;
      b.workspace ??= str(payload.cwd);
      return;
    }
    if (type === 'response_item' && payload) {
      this.item(payload, at);
      return;
    }
    if (type === 'event_msg' && payload) {
      this.event(payload, at);
      return;
    }
    if (type === 'compacted' || type === 'world_state') return;
    if (type !== undefined && payload === undefined && 'role' in record) {
      this.item(record, at);
      return;
    }
    if (type !== undefined && ['message', 'reasoning', 'function_call', 'function_call_output', 'local_shell_call', 'custom_tool_call', 'custom_tool_call_output'].includes(type)) {
      this.item(record, at);
      return;
    }
    if (type === undefined && str(record.id) !== undefined && line === 1) {
      // Pre-wrapper rollouts open with {id, timestamp, instructions}.
      this.meta(record, at);
      return;
    }
    if (type === undefined) this.issues.push({ file: this.file.path, line, field: 'type', message: 'record has no type' });
  }

  takeChanged(): ChangedTrajectory[] {
    return this.builder ? changedOf([this.builder]) : [];
  }

  saveState(): unknown {
    return this.state;
  }

  private meta(payload: JsonRecord, at: string | undefined): void {
    const id = str(payload.id) ?? str(payload.session_id);
    if (id !== undefined && this.state.sessionId === undefined && this.builder === undefined) this.state.sessionId = id;
    const b = this.ensure(at);
    b.workspace ??= str(payload.cwd);
    const instructions = str(payload.instructions) ?? str(asRecord(payload.base_instructions)?.text);
    if (instructions !== undefined) b.systemPrompt ??= instructions;
    if (at) b.time(at);
  }

  private ensure(at?: string): TrajectoryBuilder {
    if (this.builder) return this.builder;
    const sessionId = this.state.sessionId ?? ROLLOUT_NAME.exec(this.file.path)?.[1] ?? basename(this.file.path, '.jsonl');
    this.state.sessionId = sessionId;
    const builder = new TrajectoryBuilder('codex', sessionId, this.load(trajectoryId('codex', sessionId)));
    builder.sourcePath ??= this.file.path;
    if (this.state.model !== undefined) builder.model ??= this.state.model;
    if (at) builder.time(at);
    this.builder = builder;
    return builder;
  }

  private item(item: JsonRecord, at: string | undefined): void {
    const b = this.ensure(at);
    const options = { at, model: this.state.model };
    switch (str(item.type)) {
      case 'message': {
        const role = str(item.role);
        const text = textOf(item.content);
        if (role === 'assistant') b.text(text, options);
        else if (role === 'user') {
          // Codex injects its environment and AGENTS.md as user messages wrapped in tags.
          if (!/^\s*<(environment_context|user_instructions|user_shell_command|turn_aborted)>/u.test(text) && !text.startsWith('# AGENTS.md')) b.user(text, at);
        } else if (role === 'developer' || role === 'system') b.systemPrompt ??= text;
        return;
      }
      case 'reasoning': {
        const summary = asArray(item.summary).map((s) => textOf(s)).join('\n');
        b.thought(summary !== '' ? summary : textOf(item.content), options);
        return;
      }
      case 'function_call':
      case 'custom_tool_call':
      case 'tool_search_call': {
        const args = item.arguments ?? item.input;
        b.call(str(item.name) ?? str(item.type) ?? 'unknown', parseArguments(args), str(item.call_id) ?? str(item.id), options);
        return;
      }
      case 'local_shell_call': {
        const action = asRecord(item.action);
        b.call('local_shell', { command: action?.command ?? [] }, str(item.call_id) ?? str(item.id), options);
        return;
      }
      case 'web_search_call': {
        b.call('web_search', asRecord(item.action) ?? {}, str(item.call_id) ?? str(item.id), options);
        return;
      }
      case 'function_call_output':
      case 'custom_tool_call_output':
      case 'tool_search_output': {
        const callId = str(item.call_id);
        const out = readOutput(item.output ?? item.tools);
        const exitCodes = this.state.exitCodes ?? {};
        const reported = callId !== undefined ? exitCodes[callId] : undefined;
        if (callId !== undefined) Reflect.deleteProperty(exitCodes, callId);
        const exitCode = out.exitCode ?? reported;
        b.observe({ callId, content: out.content, isError: out.isError || (exitCode !== undefined && exitCode !== 0), exitCode }, at);
        return;
      }
      default:
        return;
    }
  }

  private event(payload: JsonRecord, at: string | undefined): void {
    const b = this.ensure(at);
    switch (str(payload.type)) {
      case 'token_count': {
        const info = asRecord(payload.info);
        const total = asRecord(info?.total_token_usage);
        if (total) {
          b.totalUsage({
            inputTokens: num(total.input_tokens) ?? 0,
            outputTokens: num(total.output_tokens) ?? 0,
            cacheReadTokens: num(total.cached_input_tokens) ?? 0,
          });
        }
        return;
      }
      case 'exec_command_end': {
        const callId = str(payload.call_id);
        const exitCode = num(payload.exit_code);
        if (callId !== undefined && exitCode !== undefined) {
          this.state.exitCodes ??= {};
          this.state.exitCodes[callId] = exitCode;
        }
        return;
      }
      case 'turn_aborted':
        b.verdict({ label: 'failure', evidence: { kind: 'exit-status', detail: `turn aborted: ${str(payload.reason) ?? 'unknown reason'}` } });
        return;
      case 'task_complete':
        if (at) b.time(at);
        return;
      case 'error':
        b.verdict({ label: 'failure', evidence: { kind: 'error', detail: str(payload.message) ?? 'error event' } });
        return;
      default:
        return;
    }
  }
}

export const codexAdapter: LineAdapter = {
  kind: 'lines',
  format: 'codex',
  source: 'codex',
  detect(path, head) {
    const first = head.slice(0, 4096);
    if (/"type"\s*:\s*"(session_meta|response_item|turn_context|event_msg)"/u.test(first)) return /rollout-/u.test(path) ? 1 : 0.9;
    if (/rollout-.*\.jsonl$/u.test(path) && /"(instructions|role)"/u.test(first) && !/"(messages|trajectories|conversations)"\s*:\s*\[/u.test(first)) return 0.7;
    return 0;
  },
  open(file, state, load, issues) {
    return new CodexSession(file, state, load, issues);
  },
};
