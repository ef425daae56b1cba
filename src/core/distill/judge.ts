/**
 * The LLM judge of a round on the user's data, through any configured LanguageModel (vscode.lm, an
 * OpenAI-compatible endpoint, the local worker's model). It does two jobs:
 *  - keeps or rejects a teacher sample, graded against the recorded action and the step's principles;
 *  - grades two answers at one held-out state (the student's and the base model's, both written
 *    without principles) for following one principle: the "llm-judge" score beside the divergence one.
 * Every message passes the last-moment redaction before it leaves (secrets never reach a model), every
 * answer is JSON validated with one repair attempt, at temperature 0.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { guardModel, type TextRedactor } from '../experience/pipeline.js';
import type { ChatMessage, LanguageModel } from '../llm/languageModel.js';
import { chatStructured } from '../llm/structured.js';
import type { DistillRecord } from './dataset.js';

const SYSTEM = 'You review the actions of coding agents against short principles. You are strict, brief and fair. Answer exactly in the format asked for.';

/** Characters of one message the judge reads: the decision state is context, not the thing judged. */
const MESSAGE_CHARS = 1200;
/** Messages of the decision state the judge reads, besides the task: the latest ones. */
const RECENT_MESSAGES = 4;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.floor(max / 2))}\n[… ${String(text.length - max)} characters left out …]\n${text.slice(-Math.floor(max / 2))}`;
}

/** The decision state in words: the task and the latest messages before the target turn, each clipped. */
export function stateText(record: DistillRecord): string {
  const target = record.targets.at(-1) ?? record.messages.length - 1;
  const before = record.messages.slice(0, target);
  const task = before.find((m) => m.role === 'user');
  const recent = before.slice(-RECENT_MESSAGES).filter((m) => m !== task);
  const lines = task === undefined ? [] : [`TASK:\n${clip(task.content, MESSAGE_CHARS)}`];
  for (const m of recent) lines.push(`${m.role === 'assistant' ? 'AGENT' : m.role === 'user' ? 'OBSERVATION' : m.role.toUpperCase()}:\n${clip(m.content, MESSAGE_CHARS)}`);
  return lines.join('\n\n');
}

export interface PrincipleText {
  readonly id: string;
  readonly text: string;
}

export const sampleVerdictSchema = z.object({
  follows_principles: z.boolean(),
  sound: z.boolean(),
  reason: z.string().min(1).max(400),
});
export type SampleVerdictAnswer = z.infer<typeof sampleVerdictSchema>;

/** The prompt that grades one teacher sample: is it a sound next action that follows the principles? */
export function sampleJudgePrompt(record: DistillRecord, principles: readonly PrincipleText[], recorded: string, sample: string): ChatMessage[] {
  const list = principles.map((p) => `- ${p.id}: ${p.text}`).join('\n');
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `An agent is at this decision state:\n\n${stateText(record)}\n\nThe principles that apply here:\n${list}\n\nWhat the agent actually did next (it worked):\n${clip(recorded, MESSAGE_CHARS)}\n\nA CANDIDATE next action written by another model:\n${clip(sample, MESSAGE_CHARS)}\n\nJudge the candidate only. "follows_principles": does it act as the principles say (true when it does not contradict any of them and follows the ones that bear on this state)? "sound": is it a sensible next step for the task, as good as or better than what the agent did (a different but reasonable action is sound; an empty, confused, repetitive or off-task answer is not)? Reply with a JSON object: {"follows_principles": true|false, "sound": true|false, "reason": "one sentence"}.`,
    },
  ];
}

export type Following = 'follows' | 'violates' | 'not-applicable';
const following = z.enum(['follows', 'violates', 'not-applicable']);
export const followingSchema = z.object({ a: following, b: following, reason: z.string().min(1).max(400) });
export type FollowingAnswer = z.infer<typeof followingSchema>;

/** The prompt that grades two answers at one state for following one principle (A and B, in an order the caller draws). */
export function followingPrompt(record: DistillRecord, principle: PrincipleText, a: string, b: string): ChatMessage[] {
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `An agent is at this decision state:\n\n${stateText(record)}\n\nThe principle:\n${principle.text}\n\nTwo candidate next actions:\nA:\n${clip(a, MESSAGE_CHARS)}\n\nB:\n${clip(b, MESSAGE_CHARS)}\n\nFor each candidate, say whether it "follows" the principle, "violates" it, or the principle is "not-applicable" to what it does. Judge each on its own; the order means nothing. Reply with a JSON object: {"a": "follows"|"violates"|"not-applicable", "b": "follows"|"violates"|"not-applicable", "reason": "one sentence"}.`,
    },
  ];
}

/** The judge a round calls; built by `llmJudge`, so redaction and validation cannot be skipped. */
export interface LlmJudge {
  /** The model's name, recorded with every verdict and score. */
  readonly model: string;
  readonly endpoint: string;
  /** Calls made, secrets the redaction replaced, and tokens sent (estimated). */
  readonly stats: { calls: number; redacted: number; tokens: number };
  gradeSample(record: DistillRecord, principles: readonly PrincipleText[], recorded: string, sample: string, signal?: AbortSignal): Promise<SampleVerdictAnswer>;
  gradeFollowing(record: DistillRecord, principle: PrincipleText, a: string, b: string, signal?: AbortSignal): Promise<FollowingAnswer>;
}

/** A judge over `model`; every message is redacted by `redact` right before it is sent. */
export function llmJudge(model: LanguageModel, redact: TextRedactor): LlmJudge {
  const guarded = guardModel(model, redact);
  const stats = { calls: 0, redacted: 0, tokens: 0 };
  const ask = async <S extends z.ZodType>(messages: ChatMessage[], schema: S, name: string, signal?: AbortSignal): Promise<z.infer<S>> => {
    stats.calls++;
    try {
      return await chatStructured(guarded.model, messages, schema, { name, signal, maxTokens: 200 });
    } finally {
      stats.redacted = guarded.stats.redacted;
      stats.tokens = guarded.stats.tokens;
    }
  };
  return {
    model: model.model,
    endpoint: model.endpoint,
    stats,
    gradeSample: (record, principles, recorded, sample, signal) => ask(sampleJudgePrompt(record, principles, recorded, sample), sampleVerdictSchema, 'sample_verdict', signal),
    gradeFollowing: (record, principle, a, b, signal) => ask(followingPrompt(record, principle, a, b), followingSchema, 'principle_following', signal),
  };
}

/** Whether the student's answer is shown as A for this state and principle: a fixed draw, so position bias cancels out over states. */
export function studentFirst(record: number, principleId: string): boolean {
  return (createHash('sha256').update(`${String(record)}\u0000${principleId}`).digest()[0] ?? 0) % 2 === 0;
}

export interface HeldoutAnswer {
  readonly record: number;
  readonly principles: readonly string[];
  readonly base: string;
  readonly student: string;
}

/** One principle's LLM-judge score: the share of judged states where the student's answer follows it, beside the base model's share. */
export interface JudgeScore {
  readonly method: 'llm-judge';
  readonly model: string;
  /** Student follows ÷ states where the principle applied to at least one answer; null when it applied nowhere or every call failed. */
  readonly score: number | null;
  readonly base: number | null;
  readonly states: number;
  readonly notApplicable: number;
  readonly failed: number;
  readonly reason: string;
}

/**
 * Grades the held-out answers for every principle picked at their states. A failed call (the model
 * unreachable, an answer that stays invalid after one repair) counts as failed, never as a verdict;
 * the round goes on, since this score is an addition to the divergence score.
 */
export async function judgeScores(
  judge: LlmJudge,
  answers: readonly HeldoutAnswer[],
  heldout: readonly DistillRecord[],
  principles: ReadonlyMap<string, string>,
  signal?: AbortSignal,
  onError?: (message: string) => void,
): Promise<Map<string, JudgeScore>> {
  const tallies = new Map<string, { student: number; base: number; applied: number; notApplicable: number; failed: number }>();
  for (const answer of answers) {
    const record = heldout[answer.record];
    if (record === undefined) throw new RangeError(`the worker answered held-out record ${String(answer.record)}, but there are ${String(heldout.length)}`);
    for (const id of answer.principles) {
      const text = principles.get(id);
      if (text === undefined) continue;
      signal?.throwIfAborted();
      const row = tallies.get(id) ?? { student: 0, base: 0, applied: 0, notApplicable: 0, failed: 0 };
      tallies.set(id, row);
      const first = studentFirst(answer.record, id);
      try {
        const verdict = await judge.gradeFollowing(record, { id, text }, first ? answer.student : answer.base, first ? answer.base : answer.student, signal);
        const student = first ? verdict.a : verdict.b;
        const base = first ? verdict.b : verdict.a;
        if (student === 'not-applicable' && base === 'not-applicable') row.notApplicable++;
        else {
          row.applied++;
          if (student === 'follows') row.student++;
          if (base === 'follows') row.base++;
        }
      } catch (error) {
        if (signal?.aborted === true) throw error;
        row.failed++;
        onError?.(`The judge could not grade ${id} at held-out state ${String(answer.record)}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
  const out = new Map<string, JudgeScore>();
  for (const [id, t] of [...tallies].sort(([a], [b]) => a.localeCompare(b))) {
    const judged = t.applied > 0;
    const reason = judged
      ? `${String(t.applied)} held-out states graded by ${judge.model}; the student's answer follows it in ${String(t.student)}, the base model's in ${String(t.base)}`
      : t.failed > 0 && t.notApplicable === 0
        ? `every judge call failed (${String(t.failed)})`
        : `the judge found it applied to neither answer at ${String(t.notApplicable)} state(s)`;
    out.set(id, { method: 'llm-judge', model: judge.model, score: judged ? t.student / t.applied : null, base: judged ? t.base / t.applied : null, states: t.applied, notApplicable: t.notApplicable, failed: t.failed, reason });
  }
  return out;
}
