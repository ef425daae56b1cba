/**
 * Claude Code session logs: `~/.claude/projects/<escaped cwd>/<session uuid>.jsonl`, one JSON record
 * per line (user, assistant, summary, system, attachment, …). An assistant message is streamed as
 * several lines sharing `message.id`, each with one content block (text, thinking, tool_use); tool
 * results come back as user lines with `tool_result` blocks. Sub-agents write
 * `<session>/subagents/agent-<id>.jsonl`; older versions wrote them inline with `isSidechain: true`.
 */
import { basename, dirname } from 'node:path';
import { trajectoryId, type Trajectory } from '../../trajectory.js';
import { changedOf, TrajectoryBuilder } from '../builder.js';
import type { ChangedTrajectory, FileContext, LineAdapter, LineRecord, LineSession, ParseIssue } from '../types.js';
import { asArray, asRecord, bool, exitCodeFromText, isoTime, num, parseArguments, str, textOf } from '../values.js';

interface SessionState {
  lastUsageId?: string;
}

/** An inline sub-agent: the uuid of its last record (its next record names it as parent) and its agent id once seen. */
interface SidechainState {
  last?: string;
  agentId?: string;
}

interface FileState {
  sessions: Record<string, SessionState>;
  /** Inline sub-agents by session id. */
  sidechains: Record<string, SidechainState>;
}

function subagentOf(path: string): { parent: string; agent: string } | undefined {
  const name = basename(path, '.jsonl');
  const dir = dirname(path);
  if (!name.startsWith('agent-')) return undefined;
  // <session>/subagents/agent-x.jsonl, or deeper (<session>/subagents/workflows/<wf>/agent-x.jsonl).
  const parts = dir.split(/[\\/]/u);
  const at = parts.lastIndexOf('subagents');
  if (at <= 0) return undefined;
  return { parent: parts[at - 1] ?? name, agent: name.slice('agent-'.length) };
}

const NOT_A_TASK = /^\s*<(command-|local-command|system-reminder|user-prompt-submit-hook)/u;

class ClaudeCodeSession implements LineSession {
  private readonly builders = new Map<string, TrajectoryBuilder>();
  private readonly state: FileState;
  private readonly subagent: { parent: string; agent: string } | undefined;
  private summary?: string;

  constructor(
    private readonly file: FileContext,
    state: unknown,
    private readonly load: (id: string) => Trajectory | undefined,
    private readonly issues: ParseIssue[],
  ) {
    const parsed = asRecord(state);
    this.state = {
      sessions: (asRecord(parsed?.sessions) ?? {}) as Record<string, SessionState>,
      sidechains: (asRecord(parsed?.sidechains) ?? {}) as Record<string, SidechainState>,
    };
    this.subagent = subagentOf(file.path);
  }

  push({ value, line }: LineRecord): void {
    const record = asRecord(value);
    if (!record) {
      this.issues.push({ file: this.file.path, line, message: 'expected a JSON object per line' });
      return;
    }
    const type = str(record.type);
    if (type === undefined) {
      this.issues.push({ file: this.file.path, line, field: 'type', message: 'record has no type' });
      return;
    }
    if (type === 'summary') {
      // Summary lines carry no session id; they describe the file's main session.
      this.summary ??= str(record.summary);
      return;
    }
    if (type !== 'user' && type !== 'assistant') return;
    const message = asRecord(record.message);
    if (!message) {
      this.issues.push({ file: this.file.path, line, field: 'message', message: `${type} record has no message object` });
      return;
    }
    const builder = this.builderFor(record);
    const at = isoTime(record.timestamp);
    const cwd = str(record.cwd);
    if (cwd !== undefined && builder.workspace === undefined) builder.workspace = cwd;
    if (type === 'assistant') this.assistant(builder, record, message, at);
    else this.user(builder, record, message, at);
  }

  takeChanged(): ChangedTrajectory[] {
    // A summary names the file's main session; alone (a file of summaries and snapshots) it is no session.
    const main = this.summary !== undefined ? [...this.builders.values()].find((b) => b.parentSessionId === undefined) : undefined;
    if (main !== undefined && this.summary !== undefined) {
      if (main.task === '') {
        main.task = this.summary;
        main.touch();
      }
    }
    return changedOf(this.builders.values());
  }

  saveState(): unknown {
    return this.state;
  }

  private assistant(builder: TrajectoryBuilder, record: Readonly<Record<string, unknown>>, message: Readonly<Record<string, unknown>>, at: string | undefined): void {
    const messageId = str(message.id) ?? str(record.requestId);
    const model = str(message.model);
    const options = { at, model: model === '<synthetic>' ? undefined : model, group: messageId };
    const content = message.content;
    if (typeof content === 'string') builder.text(content, options);
    for (const block of asArray(content)) {
      const b = asRecord(block);
      if (!b) continue;
      const blockType = str(b.type);
      if (blockType === 'text') builder.text(str(b.text) ?? '', options);
      else if (blockType === 'thinking') builder.thought(str(b.thinking) ?? '', options);
      else if (blockType === 'tool_use' || blockType === 'server_tool_use') builder.call(str(b.name) ?? 'unknown', parseArguments(b.input), str(b.id), options);
    }
    builder.assistant(options);
    const usage = asRecord(message.usage);
    const sessionState = this.sessionState(builder);
    if (usage && messageId !== sessionState.lastUsageId) {
      sessionState.lastUsageId = messageId;
      builder.stepUsage({
        inputTokens: num(usage.input_tokens) ?? 0,
        outputTokens: num(usage.output_tokens) ?? 0,
        cacheReadTokens: num(usage.cache_read_input_tokens) ?? 0,
        cacheWriteTokens: num(usage.cache_creation_input_tokens) ?? 0,
      });
    }
  }

  private user(builder: TrajectoryBuilder, record: Readonly<Record<string, unknown>>, message: Readonly<Record<string, unknown>>, at: string | undefined): void {
    const content = message.content;
    const meta = bool(record.isMeta) === true || bool(record.isCompactSummary) === true;
    if (typeof content === 'string') {
      if (!meta) this.userText(builder, content, at);
      return;
    }
    const toolUseResult = asRecord(record.toolUseResult);
    for (const block of asArray(content)) {
      const b = asRecord(block);
      if (!b) continue;
      const blockType = str(b.type);
      if (blockType === 'tool_result') {
        const text = textOf(b.content);
        const stderr = str(toolUseResult?.stderr);
        const body = stderr !== undefined && stderr !== '' && !text.includes(stderr) ? `${text}\n${stderr}` : text;
        const isError = bool(b.is_error) === true || bool(toolUseResult?.is_error) === true || bool(toolUseResult?.interrupted) === true;
        const exitCode = num(toolUseResult?.exitCode) ?? num(toolUseResult?.returnCode) ?? (isError ? exitCodeFromText(text) : undefined);
        builder.observe({ callId: str(b.tool_use_id), content: body, isError, exitCode }, at);
      } else if (blockType === 'text' && !meta) {
        this.userText(builder, str(b.text) ?? '', at);
      }
    }
  }

  private userText(builder: TrajectoryBuilder, text: string, at: string | undefined): void {
    if (builder.stepCount === 0 && builder.task === '' && NOT_A_TASK.test(text)) return;
    builder.user(text, at);
  }

  private sessionState(builder: TrajectoryBuilder): SessionState {
    let state = this.state.sessions[builder.sessionId];
    if (!state) {
      state = {};
      this.state.sessions[builder.sessionId] = state;
    }
    return state;
  }

  private sidechainOf(record: Readonly<Record<string, unknown>>, session: string): string {
    const key = sidechainKey(this.state.sidechains, record, session);
    const chain = this.state.sidechains[key] ?? {};
    chain.last = str(record.uuid) ?? chain.last;
    chain.agentId ??= str(record.agentId);
    this.state.sidechains[key] = chain;
    return key;
  }

  private builderFor(record: Readonly<Record<string, unknown>>): TrajectoryBuilder {
    const fileSession = basename(this.file.path, '.jsonl');
    const recordSession = str(record.sessionId) ?? fileSession;
    let sessionId = recordSession;
    let parent: string | undefined;
    if (this.subagent) {
      parent = this.subagent.parent;
      sessionId = `${this.subagent.parent}/agent-${this.subagent.agent}`;
    } else if (bool(record.isSidechain) === true) {
      parent = recordSession;
      sessionId = this.sidechainOf(record, recordSession);
    }
    let builder = this.builders.get(sessionId);
    if (!builder) {
      builder = new TrajectoryBuilder('claude-code', sessionId, this.load(trajectoryId('claude-code', sessionId)));
      builder.sourcePath ??= this.file.path;
      if (parent !== undefined) builder.parentSessionId = parent;
      this.builders.set(sessionId, builder);
    }
    return builder;
  }
}

/**
 * Which inline sub-agent a sidechain record belongs to. The records of one sub-agent form a chain
 * (each names the previous as `parentUuid`), and its first records may come before it has an
 * `agentId`: a record continues the chain whose last record is its parent, else the sub-agent with
 * its agent id, else the one still without an id; only a record that starts a chain starts a new one.
 */
function sidechainKey(chains: Record<string, SidechainState>, record: Readonly<Record<string, unknown>>, session: string): string {
  const parentUuid = str(record.parentUuid);
  const agentId = str(record.agentId);
  const mine = Object.keys(chains).filter((k) => k.startsWith(`${session}/`));
  const byParent = parentUuid !== undefined ? mine.find((k) => chains[k]?.last === parentUuid) : undefined;
  if (byParent !== undefined) return byParent;
  if (agentId !== undefined) {
    const byAgent = mine.find((k) => chains[k]?.agentId === agentId) ?? [...mine].reverse().find((k) => chains[k]?.agentId === undefined);
    if (byAgent !== undefined) return byAgent;
  } else if (record.parentUuid !== null) {
    // Not a chain's first record and no chain claims it: the latest sub-agent (older logs carry no uuids).
    const latest = mine.at(-1);
    if (latest !== undefined) return latest;
  }
  const base = `${session}/sidechain-${agentId ?? 'task'}`;
  let key = base;
  for (let n = 2; chains[key] !== undefined; n++) key = `${base}-${String(n)}`;
  return key;
}

export const claudeCodeAdapter: LineAdapter = {
  kind: 'lines',
  format: 'claude-code',
  source: 'claude-code',
  detect(path, head) {
    const first = head.slice(0, 4096);
    const looksLikeRecord = /"type"\s*:\s*"(user|assistant|summary|system|file-history-snapshot|attachment)"/u.test(first) && /"(sessionId|leafUuid|parentUuid|uuid)"/u.test(first);
    if (!looksLikeRecord) return 0;
    return /[\\/]\.claude[\\/]projects[\\/]/u.test(path) ? 1 : 0.8;
  },
  open(file, state, load, issues) {
    return new ClaudeCodeSession(file, state, load, issues);
  },
};
