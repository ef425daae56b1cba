/**
 * Aider's chat history: `.aider.chat.history.md` in the project's git root (or the file named by
 * `--chat-history-file` / `AIDER_CHAT_HISTORY_FILE`), Markdown that aider appends to as it runs
 * (aider/io.py). Each launch starts with `# aider chat started at YYYY-MM-DD HH:MM:SS` (local time);
 * user input is `#### <line>`; aider's own output is `> <message>` (only the first line of a
 * multi-line message is quoted, its last line ends with two spaces); the model's replies are plain
 * Markdown with SEARCH/REPLACE or whole-file edit blocks. `.aider.input.history` beside it holds the
 * typed lines with their times.
 *
 * One trajectory per launch; one step per model reply, plus one per shell command the user ran
 * (`/run`, `/test`, `!cmd`, `/git`). The file only grows, so it is re-read whole (a document) and a
 * session keeps its id (file path + start time) across reads.
 */
import { dirname } from 'node:path';
import type { Trajectory } from '../../trajectory.js';
import { TrajectoryBuilder } from '../builder.js';
import type { DocumentAdapter, FileContext, ParseIssue } from '../types.js';

const HEADER = /^# aider chat started at (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})\s*$/u;
const HISTORY_NAME = /(^|[\\/])\.aider\.chat\.history\.md$/u;
const INPUT_NAME = /(^|[\\/])\.aider\.input\.history$/u;
/** Slash commands whose text is a request to the model rather than an editor action. */
const REQUEST_COMMANDS = /^\/(ask|code|architect|context)\s+(\S[\s\S]*)$/u;
const SHELL_COMMANDS = /^(?:\/(run|test)\s+([\s\S]+)|!([\s\S]+)|\/git\s+([\s\S]*))$/u;

type Block = { readonly kind: 'user' | 'tool' | 'assistant'; readonly lines: string[] };

/** Aider ends each line it writes for the user and for itself with two spaces (a Markdown line break). */
function marked(line: string): boolean {
  return line.endsWith('  ');
}

/**
 * Splits one session's lines into user, tool and assistant blocks. A `####` or `>` line inside a
 * reply is Markdown of the model unless aider's two-space ending says aider wrote it; a quoted
 * message without that ending runs on (blank lines included) to the line that has it.
 */
function blocks(lines: readonly string[]): Block[] {
  const out: Block[] = [];
  let current: Block | undefined;
  let fence = false;
  const push = (kind: Block['kind'], line: string): void => {
    if (current?.kind !== kind || kind === 'tool') {
      current = { kind, lines: [] };
      out.push(current);
    }
    current.lines.push(line);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const inReply = current?.kind === 'assistant';
    if (inReply && fence) {
      if (/^\s*(```|~~~)/u.test(line)) fence = false;
      current?.lines.push(line);
      continue;
    }
    if ((line.startsWith('#### ') || line.trimEnd() === '####') && (marked(line) || !inReply)) {
      if (current?.kind === 'user') current.lines.push(line.slice(5).trimEnd());
      else push('user', line.slice(5).trimEnd());
      continue;
    }
    if (line.startsWith('>') && (marked(line) || !inReply)) {
      const message = [line.replace(/^> ?/u, '')];
      // An unmarked first line is a multi-line message: read on to the marked line that ends it.
      while (!marked(message[message.length - 1] ?? '  ') && i + 1 < lines.length && !HEADER.test(lines[i + 1] ?? '')) message.push(lines[++i] ?? '');
      push('tool', message.map((l) => l.trimEnd()).join('\n').trim());
      continue;
    }
    if (line.trim() === '') {
      if (inReply) current?.lines.push(line);
      else current = undefined;
      continue;
    }
    if (!inReply) {
      current = { kind: 'assistant', lines: [] };
      out.push(current);
      fence = false;
    }
    current?.lines.push(line);
    if (/^\s*(```|~~~)/u.test(line)) fence = !fence;
  }
  return out;
}

interface Edit {
  readonly path: string;
  readonly search?: string;
  readonly replace?: string;
  readonly content?: string;
}

/** SEARCH/REPLACE blocks (path on the line before the fence, or inside it for diff-fenced) and whole-file fences. */
function editsOf(lines: readonly string[]): { edits: Edit[]; wholeFiles: Map<string, string> } {
  const edits: Edit[] = [];
  const wholeFiles = new Map<string, string>();
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trimEnd();
    if (/^<{5,9} SEARCH\s*$/u.test(line)) {
      let j = i - 1;
      while (j >= 0 && (lines[j] ?? '').trim() === '') j--;
      if (j >= 0 && /^\s*```/u.test(lines[j] ?? '')) j--;
      const path = (lines[j] ?? '').trim().replace(/^[`*]+|[`*:]+$/gu, '');
      const search: string[] = [];
      const replace: string[] = [];
      let part: string[] = search;
      let k = i + 1;
      for (; k < lines.length; k++) {
        const l = lines[k] ?? '';
        if (/^={5,9}\s*$/u.test(l)) part = replace;
        else if (/^>{5,9} REPLACE\s*$/u.test(l)) break;
        else part.push(l);
      }
      edits.push({ path, search: search.join('\n'), replace: replace.join('\n') });
      i = k;
      continue;
    }
    // Whole edit format: a path line, then a fence holding the file's new content.
    const fence = /^\s*```\S*\s*$/u.exec(line);
    if (fence && i > 0 && /^\S+\.\S+$/u.test((lines[i - 1] ?? '').trim())) {
      const body: string[] = [];
      let k = i + 1;
      for (; k < lines.length && !/^\s*```\s*$/u.test(lines[k] ?? ''); k++) body.push(lines[k] ?? '');
      // A fence holding SEARCH/REPLACE blocks is read by the branch above, line by line.
      if (!body.some((b) => /^<{5,9} SEARCH/u.test(b))) {
        wholeFiles.set((lines[i - 1] ?? '').trim(), body.join('\n'));
        i = k;
      }
    }
  }
  return { edits, wholeFiles };
}

/** "Tokens: 3.2k sent, 1.1k cache write, 21 received." in aider's counting (k = thousand). */
function usageOf(message: string): { inputTokens: number; outputTokens: number; cacheWriteTokens?: number; cacheReadTokens?: number } | undefined {
  const m = /^Tokens: (.+?)\.(?: Cost:|\s*$)/u.exec(message);
  if (!m) return undefined;
  const count = (label: string): number | undefined => {
    const hit = new RegExp(`([\\d.]+)([kM]?) ${label}`, 'u').exec(m[1] ?? '');
    if (!hit) return undefined;
    const scale = hit[2] === 'k' ? 1e3 : hit[2] === 'M' ? 1e6 : 1;
    return Math.round(Number(hit[1]) * scale);
  };
  const usage: { inputTokens: number; outputTokens: number; cacheWriteTokens?: number; cacheReadTokens?: number } = { inputTokens: count('sent') ?? 0, outputTokens: count('received') ?? 0 };
  const write = count('cache write');
  const read = count('cache hit');
  if (write !== undefined) usage.cacheWriteTokens = write;
  if (read !== undefined) usage.cacheReadTokens = read;
  return usage;
}

/** The reply's thinking (`<thinking-content-…>` or `<think>` blocks) apart from what it said. */
function splitThinking(text: string): { thought?: string; said: string } {
  const thoughts: string[] = [];
  const said = text.replace(/<(thinking-content-[0-9a-f]+|think)>([\s\S]*?)<\/\1>/gu, (_, _tag: string, body: string) => {
    thoughts.push(body.trim());
    return '';
  });
  return thoughts.length > 0 ? { thought: thoughts.join('\n\n'), said: said.trim() } : { said: said.trim() };
}

/** `.aider.input.history`: `# <local time>` then the typed lines, each prefixed with `+`. */
function inputTimes(text: string | undefined): { at: string; text: string }[] {
  if (text === undefined) return [];
  const out: { at: string; text: string[] }[] = [];
  for (const line of text.split('\n')) {
    const head = /^# (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})/u.exec(line);
    if (head) out.push({ at: `${head[1] ?? ''}T${head[2] ?? ''}`, text: [] });
    else if (line.startsWith('+')) out[out.length - 1]?.text.push(line.slice(1));
  }
  return out.map((e) => ({ at: e.at, text: e.text.join('\n').trim() }));
}

interface Session {
  readonly start: string;
  readonly lines: string[];
}

function sessions(text: string): Session[] {
  const out: Session[] = [];
  let fence = false;
  for (const line of text.split(/\r?\n/u)) {
    const header = fence ? null : HEADER.exec(line);
    if (header) {
      out.push({ start: `${header[1] ?? ''}T${header[2] ?? ''}`, lines: [] });
      fence = false;
      continue;
    }
    const last = out[out.length - 1];
    if (!last) continue;
    last.lines.push(line);
    if (/^\s*```/u.test(line)) fence = !fence;
  }
  return out;
}

/** The shell command a user line runs, if it is one. */
function shellCommand(text: string): string | undefined {
  const m = SHELL_COMMANDS.exec(text.trim());
  if (!m) return undefined;
  if (m[4] !== undefined) return `git ${m[4]}`.trim();
  return (m[2] ?? m[3] ?? '').trim();
}

/**
 * One launch as a trajectory, or undefined when the model never replied (a launch that only
 * printed its banner, or whose first request failed before any answer, is not a run).
 */
function parseSession(file: FileContext, session: Session, sessionId: string, times: { at: string; text: string }[], until: string | undefined): Trajectory | undefined {
  const builder = new TrajectoryBuilder('aider', sessionId);
  builder.sourcePath = file.path;
  builder.workspace = dirname(file.path);
  builder.time(session.start);
  let replies = 0;
  let lintAfterLastEdit: string | undefined;
  const all = blocks(session.lines);
  for (let b = 0; b < all.length; b++) {
    const block = all[b];
    if (!block) continue;
    if (block.kind === 'user') {
      const text = block.lines.join('\n').trim();
      const timed = times.find((t) => t.text === text && t.at >= session.start && (until === undefined || t.at < until));
      if (timed) {
        builder.time(timed.at);
        times.splice(times.indexOf(timed), 1);
      }
      const command = shellCommand(text);
      if (command !== undefined && command !== 'git') {
        builder.closeStep();
        const id = builder.call('shell', { command, by: 'user' });
        // What aider printed after it: the output itself in older versions, a note in newer ones.
        const output: string[] = [];
        while (all[b + 1]?.kind === 'tool') output.push(...(all[++b]?.lines ?? []));
        if (output.length > 0) builder.observe({ callId: id, content: output.join('\n'), isError: false });
        else builder.closeStep();
        continue;
      }
      const request = REQUEST_COMMANDS.exec(text)?.[2] ?? (text.startsWith('/') ? undefined : text);
      if (builder.task === '' && request !== undefined) {
        builder.task = request;
        builder.touch();
      } else if (builder.stepCount > 0) builder.user(text);
      continue;
    }
    if (block.kind === 'tool') {
      for (const message of block.lines) {
        const model = /^(?:Main model|Model): (\S+)/u.exec(message)?.[1];
        if (model !== undefined && builder.model === undefined) builder.model = model;
      }
      continue;
    }
    // A reply and the messages aider printed after it (tokens, applied edits, commands it ran).
    replies++;
    builder.closeStep();
    const raw = block.lines.join('\n');
    const { thought, said } = splitThinking(raw);
    const options = builder.model === undefined ? {} : { model: builder.model };
    if (thought !== undefined) builder.thought(thought, options);
    if (said !== '') builder.text(said, options);
    else builder.assistant(options);
    const { edits, wholeFiles } = editsOf(said.split('\n'));
    const editIds = edits.map((e) => ({ path: e.path, id: builder.call('edit_file', { path: e.path, search: e.search ?? '', replace: e.replace ?? '' }) }));
    const messages: string[] = [];
    while (all[b + 1]?.kind === 'tool') messages.push(...(all[++b]?.lines ?? []));
    const observations: { callId?: string; content: string; isError: boolean }[] = [];
    const notes: string[] = [];
    let running: { id: string; output: string[] } | undefined;
    const endRun = (): void => {
      if (running && running.output.length > 0) observations.push({ callId: running.id, content: running.output.join('\n'), isError: false });
      running = undefined;
    };
    for (const message of messages) {
      const usage = usageOf(message);
      if (usage) {
        builder.stepUsage(usage);
        continue;
      }
      const applied = /^Applied edit to (.+)$/u.exec(message)?.[1]?.trim();
      if (applied !== undefined) {
        lintAfterLastEdit = undefined;
        let targets = editIds.filter((e) => e.path === applied);
        if (targets.length === 0) {
          const content = wholeFiles.get(applied);
          targets = [{ path: applied, id: builder.call(content === undefined ? 'edit_file' : 'write_file', content === undefined ? { path: applied } : { path: applied, content }) }];
        }
        for (const target of targets) observations.push({ callId: target.id, content: message, isError: false });
        continue;
      }
      const failedPath = /failed to exactly match lines in (\S+)/u.exec(message)?.[1];
      if (/SEARCH\/REPLACE blocks? failed to match/u.test(message)) {
        const target = editIds.find((e) => e.path === failedPath);
        observations.push(target ? { callId: target.id, content: message, isError: true } : { content: message, isError: true });
        continue;
      }
      const command = /^Running (.+)$/u.exec(message)?.[1];
      if (command !== undefined) {
        endRun();
        running = { id: builder.call('shell', { command }), output: [] };
        continue;
      }
      if (/^# Fix any errors below/u.test(message)) {
        lintAfterLastEdit = message.split('\n').find((l) => /^## Running:/u.test(l))?.replace(/^## Running:\s*/u, '') ?? 'lint';
        observations.push({ content: message, isError: true });
        continue;
      }
      if (running) running.output.push(message);
      else notes.push(message);
    }
    endRun();
    for (const o of observations) builder.observe(o);
    if (notes.length > 0) builder.observe({ content: notes.join('\n'), isError: notes.some((n) => /^(?:litellm\.\w+Error|Error[: ])/u.test(n)) });
    builder.closeStep();
  }
  if (replies === 0) return undefined;
  if (lintAfterLastEdit !== undefined) builder.verdict({ label: 'failure', evidence: { kind: 'error', detail: `lint errors after the last edit (${lintAfterLastEdit})` } });
  return builder.build();
}

function parse(file: FileContext, text: string, issues: ParseIssue[]): Trajectory[] {
  const all = sessions(text);
  if (all.length === 0) {
    issues.push({ file: file.path, line: 1, message: 'no "# aider chat started at" line; not an aider chat history' });
    return [];
  }
  const times = inputTimes(file.readSibling?.('.aider.input.history'));
  const seen = new Map<string, number>();
  const out: Trajectory[] = [];
  all.forEach((session, i) => {
    // Two launches in the same second are rare but real (a relaunch after an upgrade prompt).
    const n = (seen.get(session.start) ?? 0) + 1;
    seen.set(session.start, n);
    const id = `${file.path}#${session.start}${n > 1 ? `#${String(n)}` : ''}`;
    const trajectory = parseSession(file, session, id, times, all[i + 1]?.start);
    if (trajectory) out.push(trajectory);
  });
  return out;
}

export const aiderAdapter: DocumentAdapter = {
  kind: 'document',
  format: 'aider',
  source: 'aider',
  detect(path, head) {
    if (HISTORY_NAME.test(path)) return 0.99;
    // A history written elsewhere with --chat-history-file keeps aider's session header.
    if (/^# aider chat started at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/mu.test(head.slice(0, 8192))) return 0.95;
    return 0;
  },
  parse,
  // The typed lines alone are no conversation: their times are read with the chat history beside them.
  mainFileOf: (path) => (INPUT_NAME.test(path) ? '.aider.chat.history.md' : undefined),
};
