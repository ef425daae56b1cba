/**
 * GitHub Copilot Chat sessions as VS Code stores them:
 * `<user data>/User/workspaceStorage/<hash>/chatSessions/<session id>.json` (and
 * `globalStorage/emptyWindowChatSessions/` for windows without a folder). A session is
 * `{version, sessionId, creationDate, requests: [{message: {text}, response: [parts], result:
 * {errorDetails, metadata: {toolCallRounds, toolCallResults}}, modelId, timestamp}]}`. Agent-mode
 * tool calls live in `result.metadata.toolCallRounds` (name, JSON arguments, id) with their outputs
 * in `toolCallResults`. Newer VS Code writes `<id>.jsonl` instead: an initial snapshot
 * `{kind: 0, v}` followed by `{kind: 1, k: path, v}` (set) and `{kind: 2, k: path, v}` (append).
 * The folder the workspace belongs to is in the sibling `../workspace.json`.
 */
import { basename } from 'node:path';
import type { Trajectory } from '../../trajectory.js';
import { TrajectoryBuilder } from '../builder.js';
import type { DocumentAdapter, FileContext, ParseIssue } from '../types.js';
import { asArray, asRecord, isoTime, type JsonRecord, parseArguments, parseJsonDocument, str, textOf } from '../values.js';

/** Replays the JSONL operation log into the session document it describes. */
function replayOperations(file: FileContext, text: string, issues: ParseIssue[]): unknown {
  let root: unknown;
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let op: JsonRecord | undefined;
    try {
      op = asRecord(JSON.parse(line));
    } catch {
      issues.push({ file: file.path, line: i + 1, message: 'not JSON' });
      return;
    }
    if (!op) return;
    const kind = op.kind;
    if (kind === 0) {
      root = op.v;
      return;
    }
    const path = asArray(op.k);
    if (path.length === 0 || root === undefined) return;
    let target: unknown = root;
    for (const key of path.slice(0, -1)) {
      target = Array.isArray(target) ? (target as unknown[])[Number(key)] : asRecord(target)?.[String(key)];
    }
    const last = path[path.length - 1];
    const container = target as Record<string, unknown> | unknown[] | undefined;
    if (typeof container !== 'object') return;
    if (kind === 1) {
      (container as Record<string, unknown>)[String(last)] = op.v;
    } else if (kind === 2) {
      const existing = (container as Record<string, unknown>)[String(last)];
      const items = Array.isArray(op.v) ? (op.v as unknown[]) : [op.v];
      if (Array.isArray(existing)) (existing as unknown[]).push(...items);
      else (container as Record<string, unknown>)[String(last)] = items;
    }
  });
  return root;
}

function workspaceOf(file: FileContext): string | undefined {
  const raw = file.readSibling?.('../workspace.json');
  if (raw === undefined) return undefined;
  try {
    const folder = str(asRecord(JSON.parse(raw))?.folder);
    if (folder === undefined) return undefined;
    return folder.startsWith('file://') ? decodeURIComponent(new URL(folder).pathname) : folder;
  } catch {
    return undefined;
  }
}

/**
 * A tool result as Copilot Chat stores it: `{content: [part]}` where a part is a text part
 * (`{value: string}`) or a prompt-tsx element tree (`{value: {node: {children: [...]}}}`) whose text
 * leaves are `{type: 2, text, lineBreakBefore}` (seen in real sessions of Copilot Chat 0.31–0.37).
 */
function toolResultText(output: JsonRecord): string {
  const out: string[] = [];
  const walk = (node: unknown, depth: number): void => {
    const n = asRecord(node);
    if (!n || depth > 64) return;
    const text = str(n.text);
    if (n.type === 2 && text !== undefined) {
      if (n.lineBreakBefore === true && out.length > 0) out.push('\n');
      out.push(text);
      return;
    }
    for (const child of asArray(n.children)) walk(child, depth + 1);
  };
  for (const raw of asArray(output.content)) {
    const part = asRecord(raw);
    if (!part) continue;
    const value = part.value;
    if (typeof value === 'string') out.push(value);
    else if (asRecord(value)?.node !== undefined) walk(asRecord(value)?.node, 0);
    else out.push(textOf(part));
  }
  return out.length > 0 ? out.join('') : textOf(output.content);
}

function responseText(parts: readonly unknown[]): string {
  const out: string[] = [];
  for (const raw of parts) {
    const part = asRecord(raw);
    if (!part) continue;
    const kind = str(part.kind);
    if (kind === undefined || kind === 'markdownContent' || kind === 'markdownVuln') {
      const value = str(asRecord(part.content)?.value) ?? str(part.value);
      if (value !== undefined) out.push(value);
    }
  }
  return out.join('');
}

function feedRequest(builder: TrajectoryBuilder, request: JsonRecord): void {
  const at = isoTime(request.timestamp);
  const message = asRecord(request.message);
  builder.user(str(message?.text) ?? textOf(message?.parts), at);
  const model = str(request.modelId);
  const result = asRecord(request.result);
  const metadata = asRecord(result?.metadata);
  const rounds = asArray(metadata?.toolCallRounds);
  const results = asRecord(metadata?.toolCallResults) ?? {};
  const parts = asArray(request.response);
  if (rounds.length > 0) {
    for (const rawRound of rounds) {
      const round = asRecord(rawRound);
      if (!round) continue;
      const options = { at, model, group: str(round.id) };
      const thinking = asRecord(round.thinking);
      if (thinking) builder.thought(textOf(thinking.text ?? thinking), options);
      builder.text(str(round.response) ?? '', options);
      for (const rawCall of asArray(round.toolCalls)) {
        const call = asRecord(rawCall);
        if (!call) continue;
        const id = builder.call(str(call.name) ?? 'unknown', parseArguments(call.arguments), str(call.id), options);
        const output = asRecord(results[id]);
        if (output) {
          const content = toolResultText(output);
          builder.observe({ callId: id, content, isError: /^ERROR:|^Error:/u.test(content) }, at);
        }
      }
      builder.closeStep();
    }
  } else {
    // Ask mode, or sessions from before tool rounds were recorded: the response parts are the step.
    builder.text(responseText(parts), { at, model });
    for (const raw of parts) {
      const part = asRecord(raw);
      if (str(part?.kind) !== 'toolInvocationSerialized' || !part) continue;
      const name = str(part.toolId) ?? 'unknown';
      const id = builder.call(name, { invocation: textOf(part.invocationMessage) }, str(part.toolCallId), { at, model });
      const past = textOf(part.pastTenseMessage);
      if (past !== '') builder.observe({ callId: id, content: past, isError: false }, at);
    }
    builder.closeStep();
  }
  const error = asRecord(result?.errorDetails);
  if (error) builder.verdict({ label: 'failure', evidence: { kind: 'error', detail: str(error.message) ?? 'request failed' } });
  if (request.isCanceled === true) builder.verdict({ label: 'failure', evidence: { kind: 'exit-status', detail: 'request cancelled' } });
  const vote = asRecord(request.vote) ?? (typeof request.vote === 'number' ? { direction: request.vote } : undefined);
  if (vote && typeof vote.direction === 'number') {
    builder.verdict({ label: vote.direction === 1 ? 'success' : 'failure', evidence: { kind: 'user-verdict', detail: vote.direction === 1 ? 'thumbs up in Copilot Chat' : 'thumbs down in Copilot Chat' } });
  }
}

function parse(file: FileContext, text: string, issues: ParseIssue[]): Trajectory[] {
  const value = file.path.endsWith('.jsonl') ? replayOperations(file, text, issues) : parseJsonDocument(file, text, issues);
  if (value === undefined) return [];
  const session = asRecord(value);
  if (!session || !Array.isArray(session.requests)) {
    issues.push({ file: file.path, field: 'requests', message: 'not a chat session (no requests array)' });
    return [];
  }
  const sessionId = str(session.sessionId) ?? basename(file.path).replace(/\.jsonl?$/u, '');
  const builder = new TrajectoryBuilder('copilot-chat', sessionId);
  builder.sourcePath = file.path;
  const workspace = workspaceOf(file);
  if (workspace !== undefined) builder.workspace = workspace;
  const created = isoTime(session.creationDate);
  if (created) builder.time(created);
  for (const request of asArray(session.requests)) {
    const r = asRecord(request);
    if (r) feedRequest(builder, r);
  }
  const last = isoTime(session.lastMessageDate);
  if (last) builder.time(last);
  return [builder.build()];
}

export const copilotChatAdapter: DocumentAdapter = {
  kind: 'document',
  format: 'copilot-chat',
  source: 'copilot-chat',
  detect(path, head) {
    const first = head.slice(0, 16384);
    const inFolder = /[\\/](chatSessions|emptyWindowChatSessions)[\\/]/u.test(path);
    if (/"requests"\s*:/u.test(first) && (/"(responderUsername|requesterUsername|initialLocation)"\s*:/u.test(first) || inFolder)) return 0.95;
    if (inFolder && /"kind"\s*:\s*0/u.test(first)) return 0.9;
    return 0;
  },
  parse,
};
