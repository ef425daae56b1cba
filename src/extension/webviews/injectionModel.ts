import type { InjectionOptions, InjectionPlan, RenderedViews } from '../../core/injection/types.js';
import type { TextEmbedder } from '../../core/embedding/embedder.js';
import type { Principle } from '../../core/principle.js';
import type { Store } from '../../core/store/index.js';
import { evidenceWorkspaces, internalizedIds as internalizedFor } from '../../core/store/injection.js';
import { embedCached } from '../../core/embedding/cache.js';
import { planTrajectory } from '../../core/injection/planner.js';
import type { LanguageModel } from '../../core/llm/languageModel.js';
import type { Step, Trajectory } from '../../core/trajectory.js';
import type { PreviewOptions, ShownMessage, StepDetail, StepRow } from '../../protocol/injection.js';

/**
 * What the Injection Preview shows, computed without `vscode` so that unit tests and the CLI
 * parity test run the very code the panel runs: the pool it plans against, the one call into the
 * planner, the timeline rows of a range and one step's detail, clipped for the webview.
 */

/** A shown message longer than this keeps its head and its end (where the block is appended). */
export const MAX_SHOWN_CHARS = 6000;
/** Messages of each view shown before the assistant turn; earlier ones are counted, not sent. */
export const SHOWN_MESSAGES = 6;

/** A plan, or the reason there is none to show. */
export type PlannedPreview = { readonly kind: 'plan'; readonly plan: InjectionPlan; readonly poolSize: number } | { readonly kind: 'emptyPool' };

export interface PreviewPlanRequest {
  readonly store: Store;
  readonly trajectory: Trajectory;
  readonly embedder: TextEmbedder;
  readonly options: InjectionOptions;
  /** The re-rank model, when the selector is `rerank`. */
  readonly rerank?: LanguageModel;
  readonly signal?: AbortSignal;
}

/**
 * The one call from the extension into the planner: the trajectory against the accepted pool,
 * with the principles internalized for the target model and the pool's evidence workspaces from
 * the store. The CLI's `preview` plans the same way (the parity test holds both to it).
 */
export async function planPreview(request: PreviewPlanRequest): Promise<PlannedPreview> {
  const { store, options } = request;
  const { pool, internalizedIds } = previewPool(store, options.targetModel);
  if (pool.length === 0) return { kind: 'emptyPool' };
  const plan = await planTrajectory({
    trajectory: request.trajectory,
    pool,
    internalizedIds,
    embedder: request.embedder,
    options,
    rerank: request.rerank,
    evidenceWorkspaces: evidenceWorkspaces(store, pool),
    // Vectors of principles and states come from the store's cache: reopening a preview embeds nothing again.
    embedCache: (texts) => embedCached(store, request.embedder, texts, request.signal),
    signal: request.signal,
  });
  return { kind: 'plan', plan, poolSize: pool.length };
}

/** The pool a preview plans against: the accepted principles, and those internalized for `targetModel`. */
export function previewPool(store: Store, targetModel: string | undefined): { pool: Principle[]; internalizedIds: Set<string> } {
  const pool = store.principles.list({ status: 'accepted' });
  return { pool, internalizedIds: targetModel === undefined ? new Set() : internalizedFor(store, targetModel) };
}

export function toPreviewOptions(options: InjectionOptions): PreviewOptions {
  return {
    mode: options.mode === 'global' ? 'global' : options.persistence === 'cumulative' ? 'stepwise-cumulative' : 'stepwise-ephemeral',
    k: options.k,
    selector: options.selector,
    includeInternalized: options.includeInternalized,
  };
}

/** The planner's options with the webview's toggles applied (persistence is kept for global, where it has no effect). */
export function withPreviewOptions(base: InjectionOptions, toggles: PreviewOptions): InjectionOptions {
  return {
    ...base,
    mode: toggles.mode === 'global' ? 'global' : 'stepwise',
    persistence: toggles.mode === 'stepwise-cumulative' ? 'cumulative' : toggles.mode === 'stepwise-ephemeral' ? 'ephemeral' : base.persistence,
    k: toggles.k,
    selector: toggles.selector,
    includeInternalized: toggles.includeInternalized,
  };
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/gu, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** What the agent did at a step, on one line: its tool calls with their first argument, else its text. */
export function actionSummary(step: Step | undefined): string {
  if (step === undefined) return '';
  const calls = step.toolCalls.map((c) => {
    const first = Object.values(c.arguments)[0];
    const arg = typeof first === 'string' ? first : first === undefined ? '' : JSON.stringify(first);
    return arg === '' ? c.name : `${c.name}: ${oneLine(arg, 80)}`;
  });
  if (calls.length > 0) return oneLine(calls.join(' · '), 300);
  return oneLine(step.text ?? step.thought ?? '(no action)', 300);
}

/**
 * Timeline rows `[start, start + count)`; nothing outside the range is touched. Positions past the
 * plan (a long run whose first steps are planned first) come from the trajectory, marked pending.
 */
export function stepRows(trajectory: Trajectory, plan: InjectionPlan, start: number, count: number): StepRow[] {
  const byIndex = stepLookup(trajectory);
  const end = Math.min(start + count, Math.max(plan.steps.length, trajectory.steps.length));
  const rows: StepRow[] = [];
  for (let position = start; position < end; position++) {
    const s = plan.steps[position];
    if (s !== undefined) {
      rows.push({ position, stepIndex: s.stepIndex, action: actionSummary(byIndex(s.stepIndex)), selected: s.selected.map((p) => p.id), blockTokens: s.blockTokens, excluded: s.excluded.length, fallback: s.rerankFallback !== undefined, pending: false });
      continue;
    }
    const step = trajectory.steps[position];
    if (step !== undefined) rows.push({ position, stepIndex: step.index, action: actionSummary(step), selected: [], blockTokens: 0, excluded: 0, fallback: false, pending: true });
  }
  return rows;
}

const lookups = new WeakMap<Trajectory, Map<number, Step>>();

/** Steps by their index (indices need not be positions), built once per trajectory. */
function stepLookup(trajectory: Trajectory): (index: number) => Step | undefined {
  let map = lookups.get(trajectory);
  if (map === undefined) {
    map = new Map(trajectory.steps.map((s) => [s.index, s]));
    lookups.set(trajectory, map);
  }
  const found = map;
  return (index) => found.get(index);
}

/**
 * A long message (a 5 MB observation) cut to `max` characters: its head and its end, with a note
 * of what was left out between them. The end is kept as far back as the first injected range (up
 * to `max`), so the block stays visible; ranges are moved to the clipped text.
 */
export function clipMessage(content: string, ranges: readonly (readonly [number, number])[], max = MAX_SHOWN_CHARS): Omit<ShownMessage, 'role' | 'index'> {
  const injected = ranges.map(([a, b]): [number, number] => [a, b]);
  if (content.length <= max) return { content, injected, omitted: 0 };
  const firstInjected = Math.min(content.length, ...ranges.map(([a]) => a));
  const tailLength = Math.min(max, Math.max(Math.floor(max / 2), content.length - firstInjected));
  const headLength = Math.max(0, max - tailLength);
  const tailStart = content.length - tailLength;
  const omitted = tailStart - headLength;
  const marker = `\n… ${omitted.toLocaleString('en-US')} characters left out …\n`;
  const shift = headLength + marker.length - tailStart;
  const moved = injected.flatMap(([a, b]): [number, number][] => {
    if (b <= headLength) return [[a, b]];
    if (a >= tailStart) return [[a + shift, b + shift]];
    // A range that spans the cut keeps its visible parts.
    const parts: [number, number][] = [];
    if (a < headLength) parts.push([a, headLength]);
    if (b > tailStart) parts.push([tailStart + shift, b + shift]);
    return parts;
  });
  return { content: `${content.slice(0, headLength)}${marker}${content.slice(tailStart)}`, injected: moved, omitted };
}

/**
 * The last `SHOWN_MESSAGES` messages of a view, clipped, plus the system prompt and any message
 * that carries injected text (the global block sits in the system prompt, far from the end).
 */
function shown(messages: RenderedViews['student'], ranges: RenderedViews['injectedRanges'] | undefined): { messages: ShownMessage[]; left: number } {
  const first = Math.max(0, messages.length - SHOWN_MESSAGES);
  const out: ShownMessage[] = [];
  messages.forEach((m, i) => {
    const marked = (ranges?.[i]?.length ?? 0) > 0;
    if (i >= first || marked || (i === 0 && m.role === 'system')) out.push({ role: m.role, index: i, ...clipMessage(m.content, ranges?.[i] ?? []) });
  });
  return { messages: out, left: messages.length - out.length };
}

/** One step's detail: the plan's reasons and both views around the decision state, ready to send. */
export function stepDetail(plan: InjectionPlan, position: number, views: RenderedViews): StepDetail {
  const step = plan.steps[position];
  if (step === undefined) throw new RangeError(`The plan has ${String(plan.steps.length)} decision states; there is none at position ${String(position)}.`);
  const student = shown(views.student, undefined);
  const teacher = shown(views.teacher, views.injectedRanges);
  // Global: every step shares the one block in the system prompt.
  const global = plan.options.mode === 'global';
  const selected = global ? (plan.globalSelected ?? []) : step.selected;
  return {
    position,
    stepIndex: step.stepIndex,
    state: step.state,
    stateTokens: step.stateTokens,
    selected: selected.map((p) => ({ id: p.id, text: p.text, cosine: p.reason.cosine, mmr: p.reason.mmr, scope: p.reason.scope, rerankPosition: p.reason.rerankPosition })),
    excluded: (global ? (plan.globalExcluded ?? []) : step.excluded).map((e) => ({ ...e })),
    block: global ? (plan.globalBlock ?? '') : step.block,
    blockTokens: global ? (plan.globalBlockTokens ?? 0) : step.blockTokens,
    rerankFallback: step.rerankFallback,
    student: student.messages,
    teacher: teacher.messages,
    earlierMessages: Math.min(student.left, teacher.left),
  };
}

/** Messages before the scored turn that the worker sees (plus the first): a late step's whole history would take minutes per score. */
export const DIVERGENCE_CONTEXT_MESSAGES = 8;

/** One dataset record as the worker's `score` takes it: the student's messages, the block per observation, the target turn. */
export interface DivergenceRecord {
  readonly messages: { readonly role: 'system' | 'user' | 'assistant'; readonly content: string }[];
  readonly blocks: Record<string, string>;
  readonly targets: number[];
}

type Render = (trajectory: Trajectory, plan: InjectionPlan, stepIndex: number) => RenderedViews;

/**
 * The records that score the given plan positions: per step, the student's view up to the decision
 * state, the recorded next action as the target turn, and the step's block on the message it was
 * appended to. Steps without a block have no divergence by definition (teacher = student): they
 * come back in `zero` instead of costing the worker a forward pass.
 */
export function divergenceRecords(trajectory: Trajectory, plan: InjectionPlan, positions: readonly number[], render: Render): { records: DivergenceRecord[]; positions: number[]; zero: number[] } {
  if (plan.options.mode === 'global') throw new Error('divergence is measured per step-wise block; switch the mode to step-wise to see it');
  const records: DivergenceRecord[] = [];
  const scored: number[] = [];
  const zero: number[] = [];
  for (const position of positions) {
    const step = plan.steps[position];
    if (step === undefined) continue;
    if (step.block === '') {
      zero.push(position);
      continue;
    }
    const views = render(trajectory, plan, step.stepIndex);
    let context = views.student;
    let target: RenderedViews['student'][number] | undefined;
    const last = context[context.length - 1];
    if (last?.role === 'assistant') {
      target = last;
      context = context.slice(0, -1);
    } else {
      // The recorded action is the assistant turn that follows this decision state in the next state's view.
      const next = plan.steps[position + 1];
      const after = next === undefined ? undefined : render(trajectory, plan, next.stepIndex).student[context.length];
      target = after?.role === 'assistant' ? after : undefined;
    }
    if (target === undefined) continue;
    const marked = views.injectedRanges.map((r, i) => (r.length > 0 && i < context.length ? i : -1)).filter((i) => i >= 0);
    const blockAt = marked[marked.length - 1];
    if (blockAt === undefined) {
      zero.push(position);
      continue;
    }
    // A block on a message of its own (the step had no observation to append it to) has no place in a worker record.
    if (views.teacher.length !== views.student.length || context[blockAt]?.role !== 'user') continue;
    const keep = [...new Set([0, ...Array.from({ length: Math.min(DIVERGENCE_CONTEXT_MESSAGES, context.length) }, (_, i) => context.length - 1 - i)])].filter((i) => i >= 0).sort((a, b) => a - b);
    if (!keep.includes(blockAt)) continue;
    const messages = keep.flatMap((i) => {
      const m = context[i];
      return m === undefined ? [] : [{ role: m.role, content: m.content }];
    });
    messages.push({ role: 'assistant', content: target.content });
    records.push({ messages, blocks: { [String(keep.indexOf(blockAt))]: step.block }, targets: [messages.length - 1] });
    scored.push(position);
  }
  return { records, positions: scored, zero };
}
