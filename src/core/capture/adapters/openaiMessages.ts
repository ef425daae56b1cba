/**
 * Generic OpenAI-style rollouts, as research code publishes them: one JSON object per line holding
 * a chat `messages` array (or `conversations`, or the ExpInternalization/Youtu-agent shape
 * `trajectories: [{agent, trajectory: [messages]}]`), with optional reward/outcome fields and the
 * task as `problem`/`question`/`prompt`. Each line is its own trajectory.
 */
import { createHash } from 'node:crypto';
import type { Trajectory } from '../../trajectory.js';
import { changedOf, TrajectoryBuilder } from '../builder.js';
import { feedChatMessages } from './chatMessages.js';
import { verdictFromReward } from '../outcome.js';
import type { ChangedTrajectory, FileContext, LineAdapter, LineRecord, LineSession, ParseIssue } from '../types.js';
import { asArray, asRecord, str, type JsonRecord } from '../values.js';

const REWARD_FIELDS = ['reward', 'score', 'outcome', 'success', 'resolved', 'label', 'correct', 'is_correct', 'passed'] as const;

function messagesOf(record: JsonRecord): { messages: readonly unknown[]; agent?: string } | undefined {
  for (const key of ['messages', 'conversations', 'conversation', 'trajectory']) {
    const list = record[key];
    if (Array.isArray(list)) return { messages: list as unknown[] };
  }
  const first = asRecord(asArray(record.trajectories)[0]);
  if (first && Array.isArray(first.trajectory)) return { messages: first.trajectory as unknown[], agent: str(first.agent) };
  return undefined;
}

class MessagesSession implements LineSession {
  private readonly changed: TrajectoryBuilder[] = [];

  constructor(
    private readonly file: FileContext,
    private readonly issues: ParseIssue[],
  ) {}

  push({ value, line }: LineRecord): void {
    const record = asRecord(value);
    if (!record) {
      this.issues.push({ file: this.file.path, line, message: 'expected a JSON object per line' });
      return;
    }
    const found = messagesOf(record);
    if (!found) {
      this.issues.push({ file: this.file.path, line, field: 'messages', message: 'no messages, conversations or trajectories array' });
      return;
    }
    // The line's content names the session, so the same rollout imported from two places is one trajectory.
    const explicit = str(record.id) ?? str(record.session_id) ?? str(record.uuid);
    const digest = createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 24);
    const builder = new TrajectoryBuilder('openai-messages', explicit !== undefined ? `${explicit}:${digest}` : digest);
    builder.sourcePath = `${this.file.path}#L${String(line)}`;
    const model = str(record.model);
    if (model !== undefined) builder.model = model;
    feedChatMessages(builder, found.messages, { model });
    const problem = str(record.problem) ?? str(record.question) ?? str(record.task) ?? str(record.instruction);
    if (problem !== undefined) builder.task = problem;
    for (const field of REWARD_FIELDS) {
      const verdict = verdictFromReward(record[field], field);
      if (verdict) {
        builder.verdict(verdict.verdict);
        if (verdict.reward !== undefined) builder.reward ??= verdict.reward;
        break;
      }
    }
    const error = str(record.error);
    if (error !== undefined && error !== '') builder.verdict({ label: 'failure', evidence: { kind: 'error', detail: error } });
    builder.touch();
    this.changed.push(builder);
  }

  takeChanged(): ChangedTrajectory[] {
    const out = changedOf(this.changed);
    this.changed.length = 0;
    return out;
  }

  saveState(): unknown {
    return {};
  }
}

export const openaiMessagesAdapter: LineAdapter = {
  kind: 'lines',
  format: 'openai-messages',
  source: 'openai-messages',
  detect(_path, head) {
    const first = head.slice(0, 65536);
    // An object per line, or one array of them (a rollout file written with json.dump).
    if (/^\s*[[{]/u.test(first) && /"(messages|conversations|trajectories)"\s*:\s*\[/u.test(first) && /"role"\s*:/u.test(first)) return 0.75;
    return 0;
  },
  open(file: FileContext, _state: unknown, _load: (id: string) => Trajectory | undefined, issues: ParseIssue[]) {
    return new MessagesSession(file, issues);
  },
};
