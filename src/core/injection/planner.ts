/**
 * The injection planner: for one trajectory and one pool, which principles go where. Step-wise, each
 * decision state gets the few principles that fit it (embedding top-k with MMR, optionally re-ranked
 * by a language model); global, the pool (or its task top-k) goes once into the system prompt.
 * Everything that plans — the preview, the CLI, the dataset builder, serving — calls planTrajectory
 * (or planTrajectories, its batched form), so the same trajectory, pool and options give the same
 * plan everywhere.
 */
import type { TextEmbedder } from '../embedding/embedder.js';
import type { LanguageModel } from '../llm/languageModel.js';
import { estimateTokens } from '../llm/languageModel.js';
import type { Principle } from '../principle.js';
import type { Trajectory } from '../trajectory.js';
import type { TextRedactor } from '../experience/pipeline.js';
import { guardModel } from '../experience/pipeline.js';
import { textRedactor } from '../experience/textRedaction.js';
import { createRedactor } from '../redaction/index.js';
import { dotF32 } from './exactDot.js';
import { PRINCIPLES_PLACEHOLDER } from './options.js';
import { rerank, RERANK_MAX } from './rerank.js';
import { scopeAllows, trajectoryFacts, type EvidenceWorkspaces } from './scope.js';
import { ALLOWED, BLOCKED_INTERNALIZED, BLOCKED_SCOPE, selectBatch, type RowSelection } from './select.js';
import { decisionState, fitTokens } from './state.js';
import type { ExcludedPrinciple, InjectionOptions, InjectionPlan, SelectedPrinciple, StepPlan } from './types.js';

export interface PlanInput {
  readonly trajectory: Trajectory;
  readonly pool: readonly Principle[];
  readonly internalizedIds: ReadonlySet<string>;
  readonly embedder: TextEmbedder;
  readonly options: InjectionOptions;
  /** The re-rank model (selector `rerank`); every message it gets is re-checked for secrets first. */
  readonly rerank?: LanguageModel;
  /** The target model's tokenizer, when the worker is up; otherwise token counts are estimates. */
  readonly countTokens?: (text: string) => number;
  /** Embeds through the store's vector cache (embedCached) instead of the embedder directly. */
  readonly embedCache?: (texts: readonly string[]) => Promise<Float32Array>;
  /** Workspaces of the pool's evidence trajectories, for `workspace` scope (store: evidenceWorkspaces). */
  readonly evidenceWorkspaces?: EvidenceWorkspaces;
  /** The secret re-check for text sent to the re-rank model; the capture detectors when absent. */
  readonly redact?: TextRedactor;
  readonly signal?: AbortSignal;
}

/** The global block holds the whole pool up to the paper's pool cap; a larger pool gives its task top of this many. */
export const GLOBAL_MAX_PRINCIPLES = 50;
/** How many embedding candidates the re-rank model sees. */
const RERANK_CANDIDATES = 12;

/** What a principle is embedded as: the situation it applies to, then what to do. */
export function principleEmbeddingText(p: Principle): string {
  const when = p.when.trim();
  return when === '' || p.text.toLowerCase().includes(when.toLowerCase()) ? p.text : `${when}\n${p.text}`;
}

/** The block for `principles`, by `template` (`{principles}` becomes a numbered list with ids). */
export function renderBlock(template: string, principles: readonly { id: string; text: string }[]): string {
  if (principles.length === 0) return '';
  const list = principles.map((p, i) => `${String(i + 1)}. [${p.id}] ${p.text.replace(/\s+/gu, ' ').trim()}`).join('\n');
  return template.split(PRINCIPLES_PLACEHOLDER).join(list);
}

/** Plans one trajectory: planTrajectories with one element, so both give the same answer for the same state. */
export async function planTrajectory(input: PlanInput): Promise<InjectionPlan> {
  const [plan] = await planTrajectories({ ...input, trajectories: [input.trajectory] });
  if (plan === undefined) throw new Error(`no plan was made for trajectory ${input.trajectory.id}`);
  return plan;
}

export interface PlanManyInput extends Omit<PlanInput, 'trajectory'> {
  readonly trajectories: readonly Trajectory[];
}

/**
 * Plans many trajectories against one pool at dataset scale: the pool is embedded once, every
 * decision state of every trajectory in one embedding call and one batched selection (each row
 * with its own trajectory's scope mask). Plans come back in input order.
 */
export async function planTrajectories(input: PlanManyInput): Promise<InjectionPlan[]> {
  const { trajectories, pool, options, embedder, signal } = input;
  const count = input.countTokens ?? estimateTokens;
  const embed = input.embedCache ?? ((texts: readonly string[]) => embedder.embed(texts, signal));
  const dim = embedder.dim;

  // Filters come before ranking: a blocked principle never takes a candidate slot.
  const leaveOutInternalized = options.targetModel !== undefined && !options.includeInternalized;
  const masks = trajectories.map((trajectory) => {
    const facts = trajectoryFacts(trajectory, options.workspace);
    const mask = new Uint8Array(pool.length);
    pool.forEach((p, i) => {
      if (leaveOutInternalized && input.internalizedIds.has(p.id)) mask[i] = BLOCKED_INTERNALIZED;
      else if (!scopeAllows(p, facts, input.evidenceWorkspaces)) mask[i] = BLOCKED_SCOPE;
      else mask[i] = ALLOWED;
    });
    return mask;
  });

  const states = trajectories.map((trajectory) => trajectory.steps.map((s) => decisionState(trajectory, s.index, options.stateTokenBudget, count)));
  const principleVectors = pool.length === 0 ? new Float32Array(0) : await embed(pool.map(principleEmbeddingText));
  checkVectors(principleVectors, pool.length, dim, 'principles');
  const config = { k: options.k, scoreFloor: options.scoreFloor, mmrLambda: options.mmrLambda };
  const similarity = (i: number, j: number): number => dotF32(principleVectors, i * dim, principleVectors, j * dim, dim);
  const selected = (sel: { index: number; cosine: number; mmr: number }, rerankPosition?: number): SelectedPrinciple => {
    const p = pool[sel.index];
    if (p === undefined) throw new RangeError(`selection index ${String(sel.index)} outside the pool`);
    return { id: p.id, text: p.text, reason: { cosine: sel.cosine, mmr: sel.mmr, scope: p.scope, ...(rerankPosition === undefined ? {} : { rerankPosition }) } };
  };
  const excluded = (row: RowSelection): ExcludedPrinciple[] => row.blocked.map((b) => ({ id: pool[b.index]?.id ?? '', cause: b.cause, cosine: b.cosine }));
  const base = (trajectory: Trajectory) => ({
    trajectoryId: trajectory.id,
    options,
    embedder: { id: embedder.id, description: embedder.description },
    tokenCounter: input.countTokens === undefined ? ('estimate' as const) : ('model' as const),
  });

  if (options.mode === 'global') {
    // The task stands for the whole run: the pool, or the task's top of it when the pool is larger than a prompt should carry.
    const tasks = trajectories.map((t) => fitTokens(`Task: ${t.task.trim()}`, options.stateTokenBudget, count).text);
    const taskVectors = pool.length === 0 || tasks.length === 0 ? new Float32Array(0) : await embed(tasks);
    if (pool.length > 0) checkVectors(taskVectors, tasks.length, dim, 'tasks');
    const plans: InjectionPlan[] = [];
    for (const [t, trajectory] of trajectories.entries()) {
      const mask = masks[t] ?? new Uint8Array(pool.length);
      const allowed = mask.reduce((n, m) => n + (m === ALLOWED ? 1 : 0), 0);
      let chosen: SelectedPrinciple[] = [];
      let blocked: ExcludedPrinciple[] = [];
      if (allowed > 0) {
        const all = allowed <= GLOBAL_MAX_PRINCIPLES;
        const [row] = await selectBatch({
          states: taskVectors.subarray(t * dim, (t + 1) * dim), rows: 1, principles: principleVectors, n: pool.length, dim,
          maskFor: () => mask,
          config: all ? { ...config, k: allowed, scoreFloor: -Infinity, mmrLambda: 1, candidates: allowed } : { ...config, k: GLOBAL_MAX_PRINCIPLES, scoreFloor: -Infinity, mmrLambda: 1 },
          signal,
        });
        const picks = row?.picks ?? [];
        // The whole pool keeps the pool's order (as curated); a task top keeps relevance order.
        chosen = (all ? [...picks].sort((a, b) => a.index - b.index) : picks).map((p) => selected(p));
        blocked = row === undefined ? [] : excluded(row).filter((e) => e.cause !== 'below-floor');
      }
      const globalBlock = renderBlock(options.blockTemplate, chosen);
      const steps: StepPlan[] = (states[t] ?? []).map((s) => ({ stepIndex: s.stepIndex, state: s.text, stateTokens: s.tokens, selected: [], excluded: [], block: '', blockTokens: 0 }));
      plans.push({ ...base(trajectory), globalBlock, globalSelected: chosen, globalExcluded: blocked, globalBlockTokens: globalBlock === '' ? 0 : count(globalBlock), steps });
    }
    return plans;
  }

  // Every state of every trajectory in one product; rowOwner maps a row back to its trajectory's mask.
  const flat = states.flat();
  const rowOwner = new Int32Array(flat.length);
  let offset = 0;
  states.forEach((list, t) => {
    rowOwner.fill(t, offset, offset + list.length);
    offset += list.length;
  });
  let rows: RowSelection[] = [];
  if (pool.length > 0 && flat.length > 0) {
    const stateVectors = await embed(flat.map((s) => s.text));
    checkVectors(stateVectors, flat.length, dim, 'decision states');
    rows = await selectBatch({
      states: stateVectors, rows: flat.length, principles: principleVectors, n: pool.length, dim,
      maskFor: (row) => masks[rowOwner[row] ?? 0],
      config: { ...config, candidates: Math.max(4 * options.k, 16, RERANK_CANDIDATES) },
      keepCandidates: options.selector === 'rerank',
      signal,
    });
  }

  const model = options.selector === 'rerank' && input.rerank !== undefined ? guardModel(input.rerank, input.redact ?? (await defaultRedactor())).model : undefined;
  const plans: InjectionPlan[] = [];
  let flatIndex = 0;
  for (const [t, trajectory] of trajectories.entries()) {
    const steps: StepPlan[] = [];
    for (const state of states[t] ?? []) {
      signal?.throwIfAborted();
      const row = rows[flatIndex++];
      let picks: SelectedPrinciple[] = row === undefined ? [] : row.picks.map((s) => selected(s));
      let rerankFallback: string | undefined;
      if (options.selector === 'rerank' && row !== undefined) {
        const candidates = row.candidates.filter((c) => c.cosine >= options.scoreFloor).slice(0, RERANK_CANDIDATES);
        if (model === undefined) {
          rerankFallback = 'no re-rank model is configured; embedding order kept';
        } else if (candidates.length > 0) {
          const answer = await rerank(model, state.text, candidates.map((c) => ({ id: pool[c.index]?.id ?? '', text: pool[c.index]?.text ?? '' })), signal);
          if (answer.ok) {
            const byId = new Map(candidates.map((c) => [pool[c.index]?.id ?? '', c]));
            const ordered = answer.ids.slice(0, Math.min(options.k, RERANK_MAX)).flatMap((id) => {
              const c = byId.get(id);
              return c === undefined ? [] : [{ index: c.index, score: c.cosine }];
            });
            // The MMR value of the model's order, so the preview can still show redundancy.
            const values = mmrValues(ordered, options.mmrLambda, similarity);
            picks = ordered.map((c, position) => selected({ index: c.index, cosine: c.score, mmr: values[position] ?? c.score }, position));
          } else {
            rerankFallback = `${answer.reason}; embedding order kept`;
          }
        }
      }
      const pickedIds = new Set(picks.map((p) => p.id));
      const block = renderBlock(options.blockTemplate, picks);
      steps.push({
        stepIndex: state.stepIndex,
        state: state.text,
        stateTokens: state.tokens,
        selected: picks,
        excluded: row === undefined ? [] : excluded(row).filter((e) => !pickedIds.has(e.id)),
        block,
        blockTokens: block === '' ? 0 : count(block),
        ...(rerankFallback === undefined ? {} : { rerankFallback }),
      });
    }
    plans.push({ ...base(trajectory), steps });
  }
  return plans;
}

/** λ·cosine − (1−λ)·max similarity to the earlier ones, for a given order. */
function mmrValues(ordered: readonly { index: number; score: number }[], lambda: number, similarity: (i: number, j: number) => number): number[] {
  return ordered.map((c, i) => {
    if (i === 0) return lambda * c.score;
    const redundancy = Math.max(...ordered.slice(0, i).map((p) => similarity(c.index, p.index)));
    return lambda * c.score - (1 - lambda) * redundancy;
  });
}

function checkVectors(vectors: Float32Array, rows: number, dim: number, what: string): void {
  if (vectors.length !== rows * dim) {
    throw new RangeError(`The embedder returned ${String(vectors.length)} numbers for ${String(rows)} ${what}; expected ${String(rows * dim)} (dimension ${String(dim)}).`);
  }
}

let sharedRedactor: Promise<TextRedactor> | undefined;

/** The capture detectors (secretlint preset + entropy scan), loaded once per process. */
function defaultRedactor(): Promise<TextRedactor> {
  sharedRedactor ??= createRedactor().then(textRedactor);
  return sharedRedactor;
}

