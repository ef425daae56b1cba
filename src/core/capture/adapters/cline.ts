/**
 * Cline and Roo Code task folders, in the editor's global storage:
 * `<user data>/User/globalStorage/saoudrizwan.claude-dev/tasks/<task id>/` (Cline) and
 * `…/rooveterinaryinc.roo-cline/tasks/<task id>/` (Roo Code). `api_conversation_history.json` is the
 * Anthropic-style message list sent to the model: tool calls are XML blocks inside assistant text
 * (`<read_file><path>…</path></read_file>`) or, with native tool calling, `tool_use` blocks; results
 * come back as user text starting `[tool_name for '…'] Result:` or `tool_result` blocks. The
 * sibling `ui_messages.json` adds timestamps, the model, token counts and the completion result.
 */
import { basename, dirname } from 'node:path';
import type { Trajectory, TrajectorySource } from '../../trajectory.js';
import { TrajectoryBuilder } from '../builder.js';
import type { DocumentAdapter, FileContext, ParseIssue } from '../types.js';
import { asArray, asRecord, exitCodeFromText, isoTime, type JsonRecord, num, parseArguments, parseJsonDocument, str, textOf } from '../values.js';

const TOOLS = [
  'execute_command', 'read_file', 'write_to_file', 'replace_in_file', 'apply_diff', 'insert_content', 'search_and_replace',
  'search_files', 'list_files', 'list_code_definition_names', 'codebase_search', 'browser_action', 'use_mcp_tool',
  'access_mcp_resource', 'ask_followup_question', 'attempt_completion', 'plan_mode_respond', 'new_task', 'switch_mode',
  'update_todo_list', 'fetch_instructions', 'web_fetch', 'load_mcp_documentation', 'condense', 'new_rule', 'report_bug',
];
const TOOL_BLOCK = new RegExp(`<(${TOOLS.join('|')})>([\\s\\S]*?)(?:</\\1>|$)`, 'gu');
const PARAM = /<([a-z_]+)>([\s\S]*?)<\/\1>/gu;
// "[execute_command for 'npm test'] Result:" (Cline), "[read_file for 'a.ts']\nFile: …" (Roo Code), "[attempt_completion] Result:".
// With " Result:" any tool name is accepted: real Cline answers its `use_subagents` call with "[subagents] Result:".
const RESULT = new RegExp(`^\\[(?:(${TOOLS.join('|')})(?: for '[\\s\\S]*?')?[^\\]\\n]*\\](?: Result:)?|([a-z_]+)(?: for '[\\s\\S]*?')?\\] Result:)`, 'u');
// Boilerplate Cline adds to user turns: not something the user said.
const BOILERPLATE = /^\s*(?:\[TASK RESUMPTION\]|# task_progress|The user has provided feedback on the results\.|New instructions for task continuation:\s*$|\(The user did not provide a new message)/u;

function parseXmlCalls(text: string): { calls: { name: string; args: Record<string, unknown> }[]; rest: string; thinking: string } {
  const calls: { name: string; args: Record<string, unknown> }[] = [];
  const thinking: string[] = [];
  let rest = text.replace(/<thinking>([\s\S]*?)<\/thinking>/gu, (_m, inner: string) => {
    thinking.push(inner.trim());
    return '';
  });
  rest = rest.replace(TOOL_BLOCK, (_m, name: string, body: string) => {
    const args: Record<string, unknown> = {};
    for (const match of body.matchAll(PARAM)) {
      const key = match[1];
      if (key !== undefined) args[key] = (match[2] ?? '').replace(/^\n|\n$/gu, '');
    }
    calls.push({ name, args });
    return '';
  });
  return { calls, rest: rest.trim(), thinking: thinking.join('\n') };
}

function readJson(file: FileContext, name: string): unknown {
  const raw = file.readSibling?.(name);
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

function feedUser(builder: TrajectoryBuilder, content: unknown, at: string | undefined): void {
  const blocks = typeof content === 'string' ? [{ type: 'text', text: content }] : asArray(content);
  let pending: { name: string; text: string[] } | undefined;
  const flush = (): void => {
    if (!pending) return;
    const body = pending.text.join('\n').trim();
    const exitCode = exitCodeFromText(body);
    const isError = /^(The user denied this operation|\[ERROR\]|Error:|The tool execution failed)/mu.test(body) || (exitCode !== undefined && exitCode !== 0);
    const callId = builder.pendingCall(pending.name) ?? builder.pendingCall(`use_${pending.name}`);
    builder.observe({ callId, content: body, isError, exitCode }, at);
    pending = undefined;
  };
  for (const raw of blocks) {
    const block = asRecord(raw);
    if (!block) continue;
    if (str(block.type) === 'tool_result') {
      flush();
      builder.observe({ callId: str(block.tool_use_id), content: textOf(block.content), isError: block.is_error === true }, at);
      continue;
    }
    const text = str(block.text);
    if (text === undefined) continue;
    if (/^\s*<environment_details>/u.test(text)) continue;
    if (BOILERPLATE.test(text) && !/<(?:feedback|user_message|answer)>/u.test(text)) continue;
    const result = RESULT.exec(text);
    if (result) {
      flush();
      pending = { name: result[1] ?? result[2] ?? 'unknown', text: [text.slice(result[0].length)] };
      continue;
    }
    if (pending) {
      pending.text.push(text);
      continue;
    }
    const task = /<task>([\s\S]*?)<\/task>/u.exec(text);
    const feedback = /<(?:feedback|user_message|answer)>([\s\S]*?)<\/(?:feedback|user_message|answer)>/u.exec(text);
    builder.user((task?.[1] ?? feedback?.[1] ?? text).trim(), at);
  }
  flush();
}

function feedAssistant(builder: TrajectoryBuilder, content: unknown, at: string | undefined, model: string | undefined): void {
  const blocks = typeof content === 'string' ? [{ type: 'text', text: content }] : asArray(content);
  const options = { at, model };
  for (const raw of blocks) {
    const block = asRecord(raw);
    if (!block) continue;
    const type = str(block.type);
    if (type === 'text') {
      const parsed = parseXmlCalls(str(block.text) ?? '');
      if (parsed.thinking !== '') builder.thought(parsed.thinking, options);
      builder.text(parsed.rest, options);
      for (const call of parsed.calls) builder.call(call.name, call.args, undefined, options);
    } else if (type === 'thinking' || type === 'reasoning') {
      builder.thought(str(block.thinking) ?? str(block.text) ?? '', options);
    } else if (type === 'tool_use') {
      builder.call(str(block.name) ?? 'unknown', parseArguments(block.input), str(block.id), options);
    }
  }
  builder.closeStep();
}

/** Timestamps, the model, token counts, errors and the completion from the UI event log. */
function readUiMessages(builder: TrajectoryBuilder, ui: readonly unknown[]): { model: string | undefined; sawUsage: boolean } {
  let model: string | undefined;
  let input = 0;
  let output = 0;
  let cacheRead = 0;
  let cacheWrite = 0;
  let sawUsage = false;
  for (const raw of ui) {
    const m = asRecord(raw);
    if (!m) continue;
    const at = isoTime(m.ts);
    if (at) builder.time(at);
    model = str(asRecord(m.modelInfo)?.modelId) ?? model;
    const say = str(m.say);
    if (say === 'api_req_started') {
      let info: JsonRecord | undefined;
      try {
        info = asRecord(JSON.parse(str(m.text) ?? '{}'));
      } catch {
        info = undefined;
      }
      if (info && (num(info.tokensIn) !== undefined || num(info.tokensOut) !== undefined)) {
        sawUsage = true;
        input += num(info.tokensIn) ?? 0;
        output += num(info.tokensOut) ?? 0;
        cacheRead += num(info.cacheReads) ?? 0;
        cacheWrite += num(info.cacheWrites) ?? 0;
      }
    } else if (say === 'completion_result') {
      builder.verdict({ label: 'success', evidence: { kind: 'heuristic', detail: 'agent reported the task complete (attempt_completion)' } });
    } else if (say === 'error') {
      builder.verdict({ label: 'failure', evidence: { kind: 'error', detail: (str(m.text) ?? 'error').slice(0, 200) } });
    }
  }
  if (sawUsage) builder.totalUsage({ inputTokens: input, outputTokens: output, cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite });
  return { model, sawUsage };
}

function parseTask(source: TrajectorySource) {
  return (file: FileContext, text: string, issues: ParseIssue[]): Trajectory[] => {
    const history = parseJsonDocument(file, text, issues);
    if (history === undefined) return [];
    if (!Array.isArray(history)) {
      issues.push({ file: file.path, message: 'expected an array of messages' });
      return [];
    }
    const taskId = basename(dirname(file.path));
    const builder = new TrajectoryBuilder(source, taskId);
    builder.sourcePath = file.path;
    const ui = readJson(file, 'ui_messages.json');
    const { model, sawUsage: sawUiUsage } = readUiMessages(builder, asArray(ui));
    if (model !== undefined) builder.model = model;
    const item = asRecord(readJson(file, 'history_item.json'));
    const cwd = str(item?.workspace) ?? str(item?.cwdOnTaskInitialization);
    if (cwd !== undefined) builder.workspace = cwd;
    for (const raw of history as unknown[]) {
      const message = asRecord(raw);
      if (!message) continue;
      const at = isoTime(message.ts);
      if (str(message.role) === 'assistant') {
        // Newer Cline writes the model and the request's token counts on each assistant message.
        const messageModel = str(asRecord(message.modelInfo)?.modelId) ?? model;
        if (builder.model === undefined && messageModel !== undefined) builder.model = messageModel;
        feedAssistant(builder, message.content, at, messageModel);
        const tokens = asRecord(asRecord(message.metrics)?.tokens);
        if (tokens && !sawUiUsage) {
          builder.stepUsage({ inputTokens: num(tokens.prompt) ?? 0, outputTokens: num(tokens.completion) ?? 0, cacheReadTokens: num(tokens.cached) ?? 0, cacheWriteTokens: 0 });
        }
      }
      else if (str(message.role) === 'user') {
        if (builder.workspace === undefined) {
          const env = /# Current Working Directory \((.+?)\) Files/u.exec(textOf(message.content));
          if (env?.[1] !== undefined) builder.workspace = env[1];
        }
        feedUser(builder, message.content, at);
      }
    }
    const built = builder.build();
    // Without a UI log (or before it records the completion), the last call says whether the agent claimed success.
    const lastCall = built.steps[built.steps.length - 1]?.toolCalls.at(-1);
    if (lastCall?.name === 'attempt_completion' && !built.outcome.evidence.some((e) => e.kind === 'heuristic')) {
      builder.verdict({ label: 'success', evidence: { kind: 'heuristic', detail: 'agent ended with attempt_completion', stepIndex: built.steps.length - 1 } });
      return [builder.build()];
    }
    return [built];
  };
}

function detectFor(kind: 'cline' | 'roo') {
  return (path: string, head: string): number => {
    if (basename(path) !== 'api_conversation_history.json') return 0;
    if (!/^\s*\[/u.test(head)) return 0;
    const roo = /roo-cline|roo-code|kilocode/iu.test(path);
    return kind === 'roo' ? (roo ? 0.95 : 0) : roo ? 0 : 0.9;
  };
}

// The task folder's other files: read through readSibling while its conversation is parsed.
const SIDE_FILES = new Set(['ui_messages.json', 'history_item.json', 'task_metadata.json']);

function mainFileFor(kind: 'cline' | 'roo') {
  return (path: string): string | undefined => {
    if (!SIDE_FILES.has(basename(path))) return undefined;
    const roo = /roo-cline|roo-code|kilocode/iu.test(path);
    return roo === (kind === 'roo') ? 'api_conversation_history.json' : undefined;
  };
}

export const clineAdapter: DocumentAdapter = { kind: 'document', format: 'cline', source: 'cline', detect: detectFor('cline'), parse: parseTask('cline'), mainFileOf: mainFileFor('cline') };
export const rooAdapter: DocumentAdapter = { kind: 'document', format: 'roo', source: 'roo', detect: detectFor('roo'), parse: parseTask('roo'), mainFileOf: mainFileFor('roo') };
