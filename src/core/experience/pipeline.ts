/**
 * The extraction pipeline (docs/ARCHITECTURE.md, "Experience"): per-trajectory summary → group critique contrasting
 * successes and failures of similar tasks → proposed operations against the nearest existing
 * principles only → batch reconciliation → recorded as proposed PoolOps in one transaction.
 * Every model call happens before anything is written, so a failure leaves the store as it was.
 */
import { z } from 'zod';
import type { Granularity } from '../principle.js';
import type { Trajectory } from '../trajectory.js';
import type { Store } from '../store/index.js';
import type { ChatRequest, LanguageModel } from '../llm/languageModel.js';
import { chatStructured, StructuredOutputError } from '../llm/structured.js';
import type { Embedder } from '../embedding/lexical.js';
import { lexicalEmbedder } from '../embedding/lexical.js';
import { proposeOps } from './curation.js';
import { copiesExample, critiquePrompt, operationsPrompt, rewritePrompt, summaryPrompt } from './prompts.js';
import type { CandidateOp, DroppedOp } from './reconcile.js';
import { reconcile } from './reconcile.js';
import { renderTrajectory } from './render.js';
import type { SpecificitySpan } from './specificity.js';
import { checkPrinciple, checkSpecificity, describeProblems } from './specificity.js';

/** Re-checks text for secrets right before it is sent; returns the text to send and how many were replaced. */
export type TextRedactor = (text: string) => { text: string; count: number } | Promise<{ text: string; count: number }>;

export const DEFAULT_POOL_CAP = 50;

export interface ExtractOptions {
  readonly store: Store;
  readonly model: LanguageModel;
  readonly trajectories: readonly Trajectory[];
  readonly redact: TextRedactor;
  readonly embedder?: Embedder;
  readonly granularity?: Granularity;
  /** The pool cap of the paper (50); ADDs beyond it are dropped with a reason. */
  readonly maxPoolSize?: number;
  /** How many nearest principles a group's operations prompt sees. */
  readonly nearestK?: number;
  /** Task similarity at or above which two trajectories fall in one group. */
  readonly groupThreshold?: number;
  /**
   * Principle-level text that fails the principle check (form, word limit, instance details) gets one
   * rewrite through the model and is dropped if it still fails (default on); off, it is proposed and flagged.
   */
  readonly rewriteSpecific?: boolean;
  readonly autoAccept?: boolean;
  readonly iteration?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ExtractProgress) => void;
}

export type ExtractProgress =
  | { readonly stage: 'summary'; readonly done: number; readonly total: number }
  | { readonly stage: 'critique'; readonly done: number; readonly total: number }
  | { readonly stage: 'operations'; readonly done: number; readonly total: number };

export interface ExtractResult {
  readonly batchId: string;
  /** Ids of the recorded PoolOps, in batch order. */
  readonly opIds: readonly number[];
  readonly dropped: readonly DroppedOp[];
  /**
   * The principle check on what the model wrote: texts it proposed (ADD and UPDATE), how many passed
   * as written, and how many passed after their one rewrite.
   */
  readonly check: { readonly texts: number; readonly passed: number; readonly rewritten: number };
  /** Principle-level additions and updates that carry instance details (only when rewriteSpecific is off). */
  readonly flagged: readonly { readonly opId: number; readonly spans: readonly SpecificitySpan[] }[];
  readonly groups: readonly (readonly string[])[];
  readonly summaries: ReadonlyMap<string, string>;
  readonly critiques: readonly string[];
  /** Secrets the last-moment redaction replaced in the text sent. */
  readonly redactedInPrompts: number;
  readonly tokensSent: number;
}

/**
 * A principle is a sentence: the schema asks for at least this many characters, which also keeps a
 * grammar-constrained small model from answering with the prompt's "..." placeholders.
 */
const MIN_TEXT_CHARS = 16;

const Operations = z.object({
  operations: z.array(
    z.discriminatedUnion('op', [
      z.object({ op: z.literal('ADD'), text: z.string().min(MIN_TEXT_CHARS), rationale: z.string().optional() }),
      z.object({ op: z.literal('UPDATE'), id: z.string().min(1), text: z.string().min(MIN_TEXT_CHARS), rationale: z.string().optional() }),
      z.object({ op: z.literal('DELETE'), id: z.string().min(1), rationale: z.string().optional() }),
      z.object({ op: z.literal('NONE'), rationale: z.string().optional() }),
    ]),
  ),
});
const Rewrite = z.object({ text: z.string().min(1) });

/**
 * Room for the operations answer: five operations of a 32-word sentence and a rationale each are
 * about 500 tokens of JSON, so this leaves twice that before a cut answer would fail to parse.
 */
export const OPERATIONS_MAX_TOKENS = 1024;
/** One sentence in JSON, with room for a model that thinks aloud before it. */
export const REWRITE_MAX_TOKENS = 256;

/**
 * A principle-level ADD or UPDATE that fails the principle check (form, word limit, instance details)
 * goes back to the model once with its problems named; what still fails is dropped with the reason,
 * so nothing instance-level is proposed. A rewrite the model cannot give as JSON is dropped too:
 * one unusable sentence should not cost the whole batch.
 */
async function principleOrRewrite(model: LanguageModel, c: CandidateOp, signal: AbortSignal | undefined): Promise<CandidateOp | DroppedOp> {
  if (c.raw.op !== 'ADD' && c.raw.op !== 'UPDATE') return c;
  const problems = checkPrinciple(c.raw.text);
  if (problems.length === 0) return c;
  let text: string;
  try {
    text = (await chatStructured(model, rewritePrompt(c.raw.text, describeProblems(problems)), Rewrite, { name: 'rewrite', signal, maxTokens: REWRITE_MAX_TOKENS })).text.trim();
  } catch (e) {
    if (!(e instanceof StructuredOutputError)) throw e;
    return { candidate: c, reason: `fails the principle check (${describeProblems(problems)}) and the model gave no usable rewrite` };
  }
  const still = checkPrinciple(text);
  if (still.length > 0) return { candidate: { ...c, raw: { ...c.raw, text } }, reason: `still fails the principle check after one rewrite (${describeProblems(still)}); first text: "${c.raw.text}"` };
  return { ...c, raw: { ...c.raw, text } };
}

/** Groups trajectories of similar tasks (lexical similarity of the task text), deterministically. */
export function groupBySimilarTask(trajectories: readonly Trajectory[], threshold = 0.3, embedder: Embedder = lexicalEmbedder()): Trajectory[][] {
  const index = embedder.index(trajectories.map((t, i) => ({ id: String(i), text: t.task })));
  const groupOf: number[] = [];
  const groups: Trajectory[][] = [];
  trajectories.forEach((t, i) => {
    const near = index.nearest(t.task, Math.min(trajectories.length, 20)).find((n) => Number(n.id) < i && n.score >= threshold);
    const g = near === undefined ? undefined : groupOf[Number(near.id)];
    if (g === undefined) {
      groupOf[i] = groups.length;
      groups.push([t]);
    } else {
      groupOf[i] = g;
      groups[g]?.push(t);
    }
  });
  return groups;
}

/** A model wrapper that redacts every message right before it leaves, and counts what it sends. */
export function guardModel(model: LanguageModel, redact: TextRedactor): { model: LanguageModel; stats: { redacted: number; tokens: number } } {
  const stats = { redacted: 0, tokens: 0 };
  return {
    stats,
    model: {
      model: model.model,
      endpoint: model.endpoint,
      estimateTokens: (text) => model.estimateTokens(text),
      async chat(request: ChatRequest) {
        const messages = [];
        for (const m of request.messages) {
          const r = await redact(m.content);
          stats.redacted += r.count;
          stats.tokens += model.estimateTokens(r.text);
          messages.push({ ...m, content: r.text });
        }
        return model.chat({ ...request, messages });
      },
    },
  };
}

export async function extractExperience(options: ExtractOptions): Promise<ExtractResult> {
  const granularity = options.granularity ?? 'principle';
  const cap = options.maxPoolSize ?? DEFAULT_POOL_CAP;
  const k = options.nearestK ?? 10;
  const embedder = options.embedder ?? lexicalEmbedder();
  const { model, stats } = guardModel(options.model, options.redact);
  const signal = options.signal;

  const summaries = new Map<string, string>();
  let done = 0;
  for (const t of options.trajectories) {
    const answer = await model.chat({ messages: summaryPrompt(renderTrajectory(t), granularity), signal, temperature: 0 });
    summaries.set(t.id, answer.text.trim());
    options.onProgress?.({ stage: 'summary', done: ++done, total: options.trajectories.length });
  }

  const groups = groupBySimilarTask(options.trajectories, options.groupThreshold, embedder);
  const critiques: string[] = [];
  done = 0;
  for (const group of groups) {
    const answer = await model.chat({
      messages: critiquePrompt(group[0]?.task ?? '', group.map((t) => ({ outcome: t.outcome.label, summary: summaries.get(t.id) ?? '' })), granularity),
      signal,
      temperature: 0,
    });
    critiques.push(answer.text.trim());
    options.onProgress?.({ stage: 'critique', done: ++done, total: groups.length });
  }

  const accepted = options.store.principles.list({ status: 'accepted' });
  const pool = new Map(accepted.map((p) => [p.id, p.text]));
  const poolIndex = embedder.index(accepted.map((p) => ({ id: p.id, text: p.text })));
  const candidates: CandidateOp[] = [];
  done = 0;
  for (const [g, critique] of critiques.entries()) {
    const nearest = poolIndex.nearest(critique, k).map((n) => ({ id: n.id, text: pool.get(n.id) ?? '' }));
    const parsed = await chatStructured(model, operationsPrompt(critique, nearest, granularity, { poolSize: pool.size, cap }), Operations, { name: 'pool_operations', signal, maxTokens: OPERATIONS_MAX_TOKENS });
    const evidence = (groups[g] ?? []).map((t) => ({ trajectoryId: t.id }));
    for (const raw of parsed.operations) candidates.push({ raw, group: g, evidence });
    options.onProgress?.({ stage: 'operations', done: ++done, total: critiques.length });
  }

  const rejected: DroppedOp[] = [];
  // Qwen2.5-Coder-1.5B returned the prompt's good examples word for word (bench/results/experience.md).
  const copied = candidates.filter((c) => (c.raw.op === 'ADD' || c.raw.op === 'UPDATE') && copiesExample(c.raw.text));
  for (const c of copied) rejected.push({ candidate: c, reason: 'copies an example from the prompt, not a lesson of these runs' });
  candidates.splice(0, candidates.length, ...candidates.filter((c) => !copied.includes(c)));
  const texts = candidates.filter((c) => c.raw.op === 'ADD' || c.raw.op === 'UPDATE');
  const check = { texts: texts.length, passed: texts.filter((c) => 'text' in c.raw && checkPrinciple(c.raw.text).length === 0).length, rewritten: 0 };
  if (granularity === 'principle' && options.rewriteSpecific !== false) {
    const kept: CandidateOp[] = [];
    for (const c of candidates) {
      const checked = await principleOrRewrite(model, c, signal);
      if ('reason' in checked) rejected.push(checked);
      else {
        if (checked !== c) check.rewritten++;
        kept.push(checked);
      }
    }
    candidates.splice(0, candidates.length, ...kept);
  }

  const reconciled = reconcile(candidates, { pool, cap });
  const batchId = `batch-${new Date().toISOString()}`;
  const opIds = proposeOps(options.store, reconciled.ops, {
    origin: 'llm',
    granularity,
    iteration: options.iteration,
    batchId,
    model: options.model.model,
    autoAccept: options.autoAccept,
  });
  const flagged: { opId: number; spans: SpecificitySpan[] }[] = [];
  if (granularity === 'principle') {
    reconciled.ops.forEach((op, i) => {
      const id = opIds[i];
      if (id === undefined || !('text' in op)) return;
      const spans = checkSpecificity(op.text);
      if (spans.length > 0) flagged.push({ opId: id, spans });
    });
  }
  return {
    batchId,
    opIds,
    dropped: [...rejected, ...reconciled.dropped],
    check,
    flagged,
    groups: groups.map((g) => g.map((t) => t.id)),
    summaries,
    critiques,
    redactedInPrompts: stats.redacted,
    tokensSent: stats.tokens,
  };
}
