/**
 * The dataset of a round on the user's own data: for each assistant step of the chosen trajectories,
 * the decision state as the model reads it (truncated to its context), the student view without
 * principles and, for the teacher, the block the injection planner chose for that step. The target
 * is the recorded action (off-policy on the user's successful runs, the paper's stable choice); a
 * round may replace it by kept teacher samples (targets.ts), and `meta.target` says which it is.
 *
 * Records are in the trainer's format (trainer/internalize_trainer/data.py): `messages` is the
 * student view, `blocks` maps an observation's message index to the block appended to it in the
 * teacher view, `targets` the assistant turn learned. `meta` says where each record came from; the
 * trainer ignores it. Trajectories and principle text in the store are already redacted at capture
 * and curation, so nothing here sees a secret that was not masked before.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { TextEmbedder } from '../embedding/embedder.js';
import { estimateTokens, type ChatMessage } from '../llm/languageModel.js';
import type { Principle } from '../principle.js';
import type { Store } from '../store/index.js';
import { planTrajectories } from '../injection/planner.js';
import { renderViews } from '../injection/renderer.js';
import { fitTokens, type TokenCounter } from '../injection/state.js';
import type { InjectionOptions, InjectionPlan } from '../injection/types.js';
import type { OutcomeLabel, Trajectory, TrajectorySource } from '../trajectory.js';

/** Which stored trajectories count as teacher data. */
export interface TrajectorySelection {
  /** `success` by default: off-policy distillation learns from high-quality runs only. `any` takes every outcome. */
  readonly outcome?: OutcomeLabel | 'any';
  readonly source?: TrajectorySource;
  readonly workspace?: string;
  /** ISO dates (or date-times): a trajectory counts when it started on or after `since` and before the end of `until`. */
  readonly since?: string;
  readonly until?: string;
  /** Only trajectories imported after this ISO time (the continual step's "new since the last iteration"). */
  readonly importedAfter?: string;
}

export type DatasetErrorCode = 'no-trajectories' | 'no-principles' | 'no-records' | 'bad-file';

/** A dataset that cannot be built or read; the message names the filter, file, line or field. */
export class DatasetError extends Error {
  override readonly name = 'DatasetError';
  constructor(
    message: string,
    readonly code: DatasetErrorCode,
  ) {
    super(message);
  }
}

/** Where a record's target came from: the agent's recorded step, or a kept teacher sample (src/core/distill/targets.ts). */
export type TargetSource =
  | { readonly source: 'recorded' }
  | {
      readonly source: 'teacher-sample';
      /** Which of the state's k samples. */
      readonly sample: number;
      readonly filter: 'divergence' | 'judge';
      /** The divergence filter's measures, nats per token: the teacher's NLL with the block, the base model's without it, their difference. */
      readonly teacherNll?: number;
      readonly studentNll?: number;
      readonly margin?: number;
      readonly judge?: { readonly model: string; readonly verdict: 'kept'; readonly reason: string };
    };

export interface RecordMeta {
  readonly trajectoryId: string;
  readonly sessionId: string;
  readonly stepIndex: number;
  /** The principles in this step's block (all of the global block in global mode). */
  readonly principles: readonly string[];
  readonly split: 'train' | 'heldout';
  /** Earlier steps left out or a message cut from the middle, to fit the model's context. */
  readonly truncated: boolean;
  /** Absent in datasets written before targets had a source: those are recorded actions. */
  readonly target?: TargetSource;
}

/** One target turn in the trainer's record format. */
export interface DistillRecord {
  readonly messages: readonly ChatMessage[];
  readonly blocks: Readonly<Record<string, string>>;
  readonly targets: readonly number[];
  readonly meta: RecordMeta;
}

export interface DatasetStats {
  readonly trajectories: number;
  readonly sessions: { readonly train: number; readonly heldout: number };
  readonly trainRecords: number;
  readonly heldoutRecords: number;
  /** Estimated tokens of the training records (teacher view: messages plus blocks). */
  readonly trainTokens: number;
  /** Decision states shortened to fit the context (earlier steps dropped or a message cut). */
  readonly truncatedStates: number;
  /** Records left out by the round's size cap (maxTrainRecords, maxHeldoutRecords); absent when nothing was. */
  readonly capped?: { readonly train: number; readonly heldout: number };
  /** Steps left out of training, by why. */
  readonly skipped: {
    readonly noPrinciples: number;
    readonly noObservation: number;
    readonly emptyAction: number;
    /** The action (with the block) leaves less than MIN_CONTEXT_TOKENS of the context: left out, never cut. */
    readonly actionTooLong: number;
  };
  /** Training and held-out states per principle id. */
  readonly principleStates: Readonly<Record<string, { readonly train: number; readonly heldout: number }>>;
}

export interface Dataset {
  readonly train: readonly DistillRecord[];
  readonly heldout: readonly DistillRecord[];
  readonly stats: DatasetStats;
}

export interface DatasetOptions {
  readonly injection: InjectionOptions;
  /** Tokens the model may read per record (student view; the teacher's block comes on top of the state's share). */
  readonly contextTokens: number;
  /** Share of sessions held out for scoring (0–0.9). */
  readonly heldoutFraction: number;
  /** Seed of the session split: the same seed, the same split. */
  readonly seed: number;
  /** At most this many training records, spread over the runs (a quick check of the loop); 0 or absent: every state. */
  readonly maxTrainRecords?: number;
  /** At most this many held-out records to score on; 0 or absent: every held-out state. */
  readonly maxHeldoutRecords?: number;
}

export const DEFAULT_DATASET_OPTIONS: Omit<DatasetOptions, 'injection'> = { contextTokens: 1024, heldoutFraction: 0.2, seed: 0 };

export interface BuildInput {
  readonly trajectories: readonly Trajectory[];
  /** The frozen pool (accepted principles of the iteration's snapshot). */
  readonly pool: readonly Principle[];
  /** Principles internalized for the target model: not trained again, but still scored on held-out states. */
  readonly internalizedIds: ReadonlySet<string>;
  readonly embedder: TextEmbedder;
  readonly options: DatasetOptions;
  readonly embedCache?: (texts: readonly string[]) => Promise<Float32Array>;
  readonly evidenceWorkspaces?: ReadonlyMap<string, string>;
  readonly countTokens?: TokenCounter;
  readonly signal?: AbortSignal;
}

/** The selection in words, for logs and the iteration's configuration. */
export function describeSelection(s: TrajectorySelection): string {
  return [
    `outcome ${s.outcome ?? 'success'}`,
    s.source === undefined ? '' : `source ${s.source}`,
    s.workspace === undefined ? '' : `workspace ${s.workspace}`,
    s.since === undefined ? '' : `since ${s.since}`,
    s.until === undefined ? '' : `until ${s.until}`,
  ]
    .filter((x) => x !== '')
    .join(', ');
}

/**
 * The stored trajectories the selection takes, filters applied one after another so that an empty
 * result names the filter that emptied it.
 */
export function selectTrajectories(store: Store, selection: TrajectorySelection): Trajectory[] {
  const all = store.trajectories.list({ limit: -1 });
  if (all.length === 0) throw new DatasetError(`No trajectories are stored in ${store.path}: capture or import some first (\`internalize import PATH\`).`, 'no-trajectories');
  const untilEnd = selection.until === undefined ? undefined : selection.until.length <= 10 ? `${selection.until}T23:59:59.999Z` : selection.until;
  const filters: { readonly name: string; readonly keep: (s: (typeof all)[number]) => boolean; readonly on: boolean }[] = [
    { name: `outcome ${selection.outcome ?? 'success'}`, on: (selection.outcome ?? 'success') !== 'any', keep: (s) => s.outcome === (selection.outcome ?? 'success') },
    { name: `source ${selection.source ?? ''}`, on: selection.source !== undefined, keep: (s) => s.source === selection.source },
    { name: `workspace ${selection.workspace ?? ''}`, on: selection.workspace !== undefined, keep: (s) => s.workspace === selection.workspace },
    { name: `since ${selection.since ?? ''}`, on: selection.since !== undefined, keep: (s) => s.startedAt !== undefined && s.startedAt >= (selection.since ?? '') },
    { name: `until ${selection.until ?? ''}`, on: untilEnd !== undefined, keep: (s) => s.startedAt !== undefined && s.startedAt <= (untilEnd ?? '') },
  ];
  let kept = all;
  const counts: string[] = [`${String(all.length)} stored`];
  for (const filter of filters) {
    if (!filter.on) continue;
    const next = kept.filter(filter.keep);
    counts.push(`${String(next.length)} with ${filter.name}`);
    if (next.length === 0) {
      throw new DatasetError(`No trajectory qualifies as teacher data: the filter "${filter.name}" left none (${counts.join(', then ')}). Widen that filter${filter.name.startsWith('outcome') ? ', mark successful runs in the Trajectories view, or take every outcome' : ''}.`, 'no-trajectories');
    }
    kept = next;
  }
  let trajectories = kept.map((s) => store.trajectories.get(s.id)).filter((t): t is Trajectory => t !== undefined);
  if (selection.importedAfter !== undefined) {
    const after = selection.importedAfter;
    const recent = new Set(store.db.prepare<[string], { id: string }>('SELECT id FROM trajectories WHERE imported_at > ?').all(after).map((r) => r.id));
    trajectories = trajectories.filter((t) => recent.has(t.id));
  }
  return trajectories.filter((t) => t.steps.length > 0);
}

/** The principles a round may use: the snapshot's accepted ones; an empty set says why. */
export function trainablePool(pool: readonly Principle[], internalized: ReadonlySet<string>, model: string): Principle[] {
  const accepted = pool.filter((p) => p.status === 'accepted');
  if (accepted.length === 0) throw new DatasetError('The pool has no accepted principles: accept some in the Principles view (or `internalize pool --apply ID`) before a round on your data.', 'no-principles');
  const open = accepted.filter((p) => !internalized.has(p.id));
  if (open.length === 0) {
    throw new DatasetError(`All ${String(accepted.length)} accepted principles are already internalized for ${model}: add new principles, or choose another base model.`, 'no-principles');
  }
  return accepted;
}

/** A deterministic number in [0, 1) per session and seed. */
function sessionDraw(key: string, seed: number): number {
  return createHash('sha256').update(`${String(seed)}\u0000${key}`).digest().readUInt32BE(0) / 2 ** 32;
}

/** Session key → held out? At least one session on each side when there are two or more. */
export function splitSessions(keys: readonly string[], fraction: number, seed: number): Map<string, boolean> {
  const unique = [...new Set(keys)];
  const draws = unique.map((key) => ({ key, u: sessionDraw(key, seed) })).sort((a, b) => a.u - b.u);
  const out = new Map(draws.map((d) => [d.key, d.u < fraction]));
  if (draws.length >= 2 && fraction > 0) {
    const first = draws[0];
    const last = draws.at(-1);
    if (first !== undefined && ![...out.values()].some(Boolean)) out.set(first.key, true);
    if (last !== undefined && [...out.values()].every(Boolean)) out.set(last.key, false);
  }
  return out;
}

const sessionKey = (t: Trajectory): string => `${t.source}:${t.sessionId}`;

interface Window {
  readonly messages: ChatMessage[];
  /** Old message index → index in the window. */
  readonly at: Map<number, number>;
  readonly truncated: boolean;
}

/**
 * The conversation before and including the target turn, within `budget` tokens: the system prompt
 * and task first, then the most recent messages that fit (a long one cut from the middle). The
 * target itself is never cut: a changed action would teach something the agent did not do.
 */
function fitWindow(full: readonly ChatMessage[], head: number, target: number, budget: number, count: TokenCounter): Window | undefined {
  let truncated = false;
  const fit = (m: ChatMessage, max: number): ChatMessage => {
    const f = fitTokens(m.content, max, count);
    if (f.cut) truncated = true;
    return f.cut ? { ...m, content: f.text } : m;
  };
  const targetMessage = full[target];
  if (targetMessage === undefined) throw new RangeError(`no message ${String(target)}`);
  let used = count(targetMessage.content);
  const room = budget - used;
  if (room < MIN_CONTEXT_TOKENS) return undefined;
  // The system prompt and the task share at most half of what the target leaves; recent steps get the rest.
  const headCount = Math.min(head, target);
  const perHead = Math.floor(room / 2 / Math.max(headCount, 1));
  const headMessages: ChatMessage[] = [];
  for (let i = 0; i < headCount; i++) {
    const m = full[i];
    if (m === undefined) continue;
    const fitted = fit(m, perHead);
    headMessages.push(fitted);
    used += count(fitted.content);
  }
  const perMessage = Math.max(MIN_CONTEXT_TOKENS, Math.floor(budget / 3));
  const middle: { index: number; message: ChatMessage }[] = [];
  for (let i = target - 1; i >= head; i--) {
    const m = full[i];
    if (m === undefined) continue;
    const fitted = fit(m, Math.min(perMessage, Math.max(0, budget - used)));
    const tokens = count(fitted.content);
    if (fitted.content === '' || used + tokens > budget) {
      truncated = true;
      break;
    }
    middle.unshift({ index: i, message: fitted });
    used += tokens;
  }
  const at = new Map<number, number>();
  const messages: ChatMessage[] = [];
  headMessages.forEach((m, i) => {
    at.set(i, messages.length);
    messages.push(m);
  });
  for (const { index, message } of middle) {
    at.set(index, messages.length);
    messages.push(message);
  }
  at.set(target, messages.length);
  messages.push(targetMessage);
  return { messages, at, truncated };
}

/** Below this many tokens of context besides the action, a state says too little to learn from. */
const MIN_CONTEXT_TOKENS = 32;

interface Built {
  readonly records: DistillRecord[];
  truncated: number;
  readonly skipped: { noPrinciples: number; noObservation: number; emptyAction: number; actionTooLong: number };
}

/** The records of one trajectory under one plan: one per assistant step (held-out ones keep steps without a block, for action NLL). */
function recordsOf(trajectory: Trajectory, plan: InjectionPlan, split: 'train' | 'heldout', options: DatasetOptions, count: TokenCounter, built: Built): void {
  const end = (trajectory.steps.at(-1)?.index ?? -1) + 1;
  const full = renderViews(trajectory, plan, end).student;
  const assistantAt = full.flatMap((m, i) => (m.role === 'assistant' ? [i] : []));
  const head = assistantAt[0] ?? full.length;
  const taskAt = full.findIndex((m) => m.role === 'user');
  const global = plan.options.mode === 'global';
  const cumulative = plan.options.persistence === 'cumulative';
  const anchorOf = (position: number): number => {
    const i = (assistantAt[position] ?? 0) - 1;
    return full[i]?.role === 'user' ? i : -1;
  };
  trajectory.steps.forEach((step, position) => {
    const target = assistantAt[position];
    const stepPlan = plan.steps[position];
    if (target === undefined || stepPlan === undefined) return;
    if ((full[target]?.content ?? '').trim() === '') {
      built.skipped.emptyAction++;
      return;
    }
    const principles = global ? (plan.globalSelected ?? []).map((p) => p.id) : stepPlan.selected.map((p) => p.id);
    const block = global ? (plan.globalBlock ?? '') : stepPlan.block;
    const anchor = global ? taskAt : anchorOf(position);
    if (split === 'train' && block === '') {
      built.skipped.noPrinciples++;
      return;
    }
    if (split === 'train' && anchor < 0) {
      // No observation before this step to carry the block: the teacher would read what the student reads.
      built.skipped.noObservation++;
      return;
    }
    const blockTokens = block === '' ? 0 : count(block);
    const window = fitWindow(full, head, target, options.contextTokens - blockTokens, count);
    if (window === undefined) {
      built.skipped.actionTooLong++;
      return;
    }
    const blocks: Record<string, string> = {};
    const put = (oldIndex: number, text: string): void => {
      const at = window.at.get(oldIndex);
      if (at !== undefined && text !== '') blocks[String(at)] = text;
    };
    if (global) put(taskAt, block);
    else if (cumulative) {
      for (let q = 0; q <= position; q++) {
        const a = anchorOf(q);
        if (a >= 0) put(a, plan.steps[q]?.block ?? '');
      }
    } else if (anchor >= 0) put(anchor, block);
    if (window.truncated) built.truncated++;
    built.records.push({
      messages: window.messages,
      blocks,
      targets: [window.messages.length - 1],
      meta: { trajectoryId: trajectory.id, sessionId: trajectory.sessionId, stepIndex: step.index, principles, split, truncated: window.truncated, target: { source: 'recorded' } },
    });
  });
}

/**
 * Builds the round's dataset: sessions split into train and held-out (by seed), every state planned
 * against the frozen pool, one record per assistant step. Training leaves out principles already
 * internalized for the target model; held-out states are planned with the whole pool, so that every
 * principle, old or new, is scored each iteration and forgetting shows.
 */
export async function buildDataset(input: BuildInput): Promise<Dataset> {
  const { trajectories, pool, options } = input;
  if (trajectories.length === 0) throw new DatasetError('No trajectory qualifies as teacher data.', 'no-trajectories');
  if (!(options.heldoutFraction >= 0 && options.heldoutFraction <= 0.9)) throw new RangeError(`heldoutFraction must be from 0 to 0.9, not ${String(options.heldoutFraction)}`);
  if (!(options.contextTokens >= 128)) throw new RangeError(`contextTokens must be at least 128, not ${String(options.contextTokens)}`);
  const count = input.countTokens ?? estimateTokens;
  const split = splitSessions(trajectories.map(sessionKey), options.heldoutFraction, options.seed);
  const trainSet = trajectories.filter((t) => split.get(sessionKey(t)) !== true);
  const heldSet = trajectories.filter((t) => split.get(sessionKey(t)) === true);
  const common = { pool, embedder: input.embedder, countTokens: input.countTokens, embedCache: input.embedCache, evidenceWorkspaces: input.evidenceWorkspaces, signal: input.signal };
  const trainPlans = await planTrajectories({ ...common, trajectories: trainSet, internalizedIds: input.internalizedIds, options: { ...options.injection, includeInternalized: false } });
  const heldPlans = await planTrajectories({ ...common, trajectories: heldSet, internalizedIds: new Set(), options: { ...options.injection, includeInternalized: true } });

  const built: Built = { records: [], truncated: 0, skipped: { noPrinciples: 0, noObservation: 0, emptyAction: 0, actionTooLong: 0 } };
  trainSet.forEach((t, i) => {
    const plan = trainPlans[i];
    if (plan !== undefined) recordsOf(t, plan, 'train', options, count, built);
  });
  const allTrain = built.records.splice(0);
  heldSet.forEach((t, i) => {
    const plan = heldPlans[i];
    if (plan !== undefined) recordsOf(t, plan, 'heldout', options, count, built);
  });
  const train = evenlySpaced(allTrain, options.maxTrainRecords);
  const heldout = evenlySpaced(built.records, options.maxHeldoutRecords);
  if (train.length === 0) {
    const s = built.skipped;
    throw new DatasetError(
      `No training record: ${String(trainSet.length)} training trajectories gave no step to learn from (${String(s.noPrinciples)} steps had no principle selected, ${String(s.noObservation)} had no observation to carry the block, ${String(s.emptyAction)} had an empty action, ${String(s.actionTooLong)} an action too long for the context). Add principles that apply to these runs, lower the injection score floor, or take more trajectories.`,
      'no-records',
    );
  }
  const principleStates: Record<string, { train: number; heldout: number }> = {};
  for (const r of [...train, ...heldout]) {
    for (const id of r.meta.principles) {
      const row = (principleStates[id] ??= { train: 0, heldout: 0 });
      row[r.meta.split]++;
    }
  }
  const trainTokens = recordTokens(train, count);
  return {
    train,
    heldout,
    stats: {
      trajectories: trajectories.length,
      sessions: { train: new Set(trainSet.map(sessionKey)).size, heldout: new Set(heldSet.map(sessionKey)).size },
      trainRecords: train.length,
      heldoutRecords: heldout.length,
      trainTokens,
      truncatedStates: built.truncated,
      skipped: { ...built.skipped },
      principleStates,
      ...(train.length < allTrain.length || heldout.length < built.records.length ? { capped: { train: allTrain.length - train.length, heldout: built.records.length - heldout.length } } : {}),
    },
  };
}

/**
 * At most `max` records, spread evenly over the list (records come trajectory by trajectory, so every
 * run keeps some of its steps); all of them without a cap. The same input gives the same records.
 */
export function evenlySpaced<T>(records: readonly T[], max: number | undefined): T[] {
  if (max === undefined || max <= 0 || records.length <= max) return [...records];
  return Array.from({ length: max }, (_, i) => records[Math.floor((i * records.length) / max)] as T);
}

/** Writes records as JSON lines (atomically: a reader never sees half a file). */
export function writeJsonl(path: string, records: readonly DistillRecord[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${String(process.pid)}`;
  writeFileSync(tmp, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  renameSync(tmp, path);
}

const recordSchema = z.object({
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })).min(1),
  blocks: z.record(z.string().regex(/^\d+$/u), z.string()),
  targets: z.array(z.number().int().nonnegative()).min(1),
  meta: z.object({
    trajectoryId: z.string(),
    sessionId: z.string(),
    stepIndex: z.number().int(),
    principles: z.array(z.string()),
    split: z.enum(['train', 'heldout']),
    truncated: z.boolean(),
    target: z
      .discriminatedUnion('source', [
        z.object({ source: z.literal('recorded') }),
        z.object({
          source: z.literal('teacher-sample'),
          sample: z.number().int().nonnegative(),
          filter: z.enum(['divergence', 'judge']),
          teacherNll: z.number().optional(),
          studentNll: z.number().optional(),
          margin: z.number().optional(),
          judge: z.object({ model: z.string(), verdict: z.literal('kept'), reason: z.string() }).optional(),
        }),
      ])
      .optional(),
  }),
});

/** Reads a dataset file; a bad line is an error naming the file, the line and the field. */
/** The tokens a training pass reads for these records: every message and every principle block. */
export function recordTokens(records: readonly DistillRecord[], count: (text: string) => number = estimateTokens): number {
  return records.reduce((sum, r) => sum + r.messages.reduce((n, m) => n + count(m.content), 0) + Object.values(r.blocks).reduce((n, b) => n + count(b), 0), 0);
}

export function readJsonl(path: string): DistillRecord[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DatasetError(`Cannot read the dataset ${path}: ${error instanceof Error ? error.message : String(error)}`, 'bad-file');
  }
  const out: DistillRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${path}:${String(i + 1)}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new DatasetError(`${where}: not valid JSON.`, 'bad-file');
    }
    const parsed = recordSchema.safeParse(value);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(record)'}: ${issue.message}`);
      throw new DatasetError(`${where}: not a dataset record (${problems.join('; ')}).`, 'bad-file');
    }
    out.push(parsed.data);
  });
  return out;
}

/** One file with both splits (each record's meta.split says which), for export and inspection. */
export function exportDataset(trainPath: string, heldoutPath: string, to: string): number {
  const records = [...readJsonl(trainPath), ...readJsonl(heldoutPath)];
  writeJsonl(to, records);
  return records.length;
}
