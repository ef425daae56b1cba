/**
 * Gemini CLI chats: `~/.gemini/tmp/<project hash>/chats/session-<time>-<id>.json`, one JSON
 * document `{sessionId, projectHash, startTime, lastUpdated, messages}` rewritten on every turn.
 * Messages are `user`, `gemini` (content, thoughts, toolCalls with their results, tokens, model),
 * `info`, `error`, `warning`. Since 0.40 the CLI may write the same as JSONL: a metadata line, one
 * line per message, and `{"$set": …}` metadata updates.
 */
import { basename } from 'node:path';
import type { Trajectory } from '../../trajectory.js';
import { TrajectoryBuilder } from '../builder.js';
import type { DocumentAdapter, FileContext, ParseIssue } from '../types.js';
import { asArray, asRecord, exitCodeFromText, isoTime, num, parseArguments, str, textOf, type JsonRecord } from '../values.js';

function feedMessage(builder: TrajectoryBuilder, message: JsonRecord): void {
  const at = isoTime(message.timestamp);
  const type = str(message.type);
  const content = textOf(message.content ?? message.parts);
  if (type === 'user') {
    builder.user(content, at);
    return;
  }
  if (type === 'error') {
    builder.verdict({ label: 'failure', evidence: { kind: 'error', detail: content.slice(0, 200) } });
    return;
  }
  if (type !== 'gemini' && type !== 'model') return;
  const model = str(message.model);
  const options = { at, model, group: str(message.id) };
  const thoughts = asArray(message.thoughts)
    .map((t) => {
      const r = asRecord(t);
      return [str(r?.subject), str(r?.description)].filter((x) => x !== undefined && x !== '').join(': ');
    })
    .filter((t) => t !== '');
  if (thoughts.length > 0) builder.thought(thoughts.join('\n'), options);
  builder.text(content, options);
  for (const raw of asArray(message.toolCalls)) {
    const call = asRecord(raw);
    if (!call) continue;
    const id = builder.call(str(call.name) ?? 'unknown', parseArguments(call.args), str(call.id), options);
    const response = asArray(call.result)
      .map((r) => {
        const fr = asRecord(asRecord(r)?.functionResponse);
        const resp = asRecord(fr?.response);
        return str(resp?.output) ?? str(resp?.error) ?? textOf(resp);
      })
      .join('\n');
    const status = str(call.status);
    const body = response !== '' ? response : (str(call.resultDisplay) ?? '');
    const exitCode = exitCodeFromText(body);
    if (status !== undefined || body !== '') {
      builder.observe({ callId: id, content: body, isError: status === 'error' || status === 'cancelled' || (exitCode !== undefined && exitCode !== 0), exitCode }, isoTime(call.timestamp) ?? at);
    }
  }
  const tokens = asRecord(message.tokens);
  if (tokens) {
    builder.stepUsage({ inputTokens: num(tokens.input) ?? 0, outputTokens: (num(tokens.output) ?? 0) + (num(tokens.thoughts) ?? 0), cacheReadTokens: num(tokens.cached) ?? 0 });
  }
  builder.closeStep();
}

function parseDocument(file: FileContext, text: string, issues: ParseIssue[]): Trajectory[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  let meta: JsonRecord | undefined;
  const messages: JsonRecord[] = [];
  const whole = asRecord(tryParse(text));
  if (whole) {
    meta = whole;
    for (const m of asArray(whole.messages)) {
      const r = asRecord(m);
      if (r) messages.push(r);
    }
  } else {
    lines.forEach((line, i) => {
      const value = asRecord(tryParse(line));
      if (!value) {
        issues.push({ file: file.path, line: i + 1, message: 'not a JSON object' });
        return;
      }
      if (i === 0 && value.sessionId !== undefined) meta = { ...value };
      else if (asRecord(value.$set)) meta = { ...(meta ?? {}), ...asRecord(value.$set) };
      else messages.push(value);
    });
  }
  if (!meta) {
    issues.push({ file: file.path, field: 'sessionId', message: 'no session metadata' });
    return [];
  }
  const sessionId = str(meta.sessionId) ?? basename(file.path).replace(/\.jsonl?$/u, '');
  const builder = new TrajectoryBuilder('gemini-cli', sessionId);
  builder.sourcePath = file.path;
  // The project hash is sha256 of the project root; the root itself is only known from a sibling file.
  const root = file.readSibling?.('../.project_root')?.trim();
  if (root !== undefined && root !== '') builder.workspace = root;
  const start = isoTime(meta.startTime);
  if (start) builder.time(start);
  for (const message of messages) feedMessage(builder, message);
  const end = isoTime(meta.lastUpdated);
  if (end) builder.time(end);
  return [builder.build()];
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export const geminiCliAdapter: DocumentAdapter = {
  kind: 'document',
  format: 'gemini-cli',
  source: 'gemini-cli',
  detect(path, head) {
    const first = head.slice(0, 8192);
    if (!/"projectHash"\s*:/u.test(first) && !/[\\/]\.gemini[\\/]tmp[\\/]/u.test(path)) return 0;
    if (/"sessionId"\s*:/u.test(first) && (/"messages"\s*:/u.test(first) || /"type"\s*:\s*"(user|gemini)"/u.test(first) || /"kind"\s*:/u.test(first))) return 0.95;
    return 0;
  },
  parse: parseDocument,
};
