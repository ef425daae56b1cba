/**
 * A round on one of the built-in worlds — the toy world or the principle suite — as the same kind of
 * service as a round on the user's data (round.ts), called by the extension and the CLI alike: one
 * round per database (the lock), the pool frozen for the iteration, the iteration and its scores
 * written in one transaction at the end, a failure recorded with its reason, the worker's log tail
 * and the last checkpoint, a stopped round kept resumable, and `resumeWorldRound` to continue it.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { IterationRecord, Store } from '../store/index.js';
import { summarizeIteration } from './ledger.js';
import { BUILTIN_MODEL, lockPath, markStale, recordFailure, RoundConfigError, RoundFailure, type Regime, type RoundEnvironment, type RoundEvent, type RoundPhase } from './round.js';
import { acquireRoundLock } from './roundLock.js';
import { adoptSuitePrinciples, recordSuiteScores, suiteReport } from './suite.js';
import { WorkerClient, type SuiteResult, type WorkerEvent, type WorkerOptions } from './worker.js';

export type World = 'toy' | 'suite';

/** What a built-in round is configured by; stored with the iteration, so a resume runs the same round. */
export interface WorldRoundConfig {
  readonly world: World;
  readonly regime: Regime;
  /** Toy world: whether earlier steps' blocks stay in the context (the suite's prompts are single-turn). */
  readonly persistence: 'ephemeral' | 'cumulative';
  /** Trade speed for memory in the trainer (gradient checkpointing, smaller teacher cache). */
  readonly leanMemory: boolean;
  /** Suite: the base model ('smollm2-135m-instruct', a model folder or a .gguf file). */
  readonly model: string;
  /** Suite: the principles to train (ids like P2); empty means all of them. */
  readonly principles: readonly string[];
  /** Training epochs; absent: the trainer's default. */
  readonly epochs?: number;
}

const worldConfigSchema = z
  .object({
    world: z.enum(['toy', 'suite']),
    regime: z.enum(['off-policy', 'on-policy', 'sft']).default('off-policy'),
    persistence: z.enum(['ephemeral', 'cumulative']).default('ephemeral'),
    leanMemory: z.boolean().default(false),
    model: z.string().trim().min(1).default(BUILTIN_MODEL),
    principles: z.array(z.string().regex(/^P\d+$/u, 'must be suite principle ids like P2')).default([]),
    epochs: z.number().int().min(1).max(50).optional(),
  })
  .strict();

/** Fills a partial configuration from the defaults and validates it; the error names every bad field. */
export function parseWorldRoundConfig(value: unknown, where = 'round configuration'): WorldRoundConfig {
  const parsed = worldConfigSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new RoundConfigError(`Invalid ${where}: ${problems.join('; ')}.`);
  }
  const { epochs, ...rest } = parsed.data;
  return epochs === undefined ? rest : { ...rest, epochs };
}

/** A built-in round needs what a round on the user's data needs, less the embedder, plus where the toy model is cached. */
export type WorldRoundEnvironment = Omit<RoundEnvironment, 'embedder' | 'continual'> & {
  /** Where the taught toy model and its teacher cache live (built on the first toy round). */
  readonly cacheDir: string;
};

export interface WorldRoundResult {
  /** The final record: done, collapsed, failed or cancelled. */
  readonly record: IterationRecord;
  /** One sentence on what a finished round achieved; empty for one that did not finish. */
  readonly summary: string;
  /** Suite: the before/after table per principle, in Markdown. */
  readonly report?: string;
  /** Suite: how many principle scores were stored. */
  readonly scored?: number;
}

/**
 * The CI-sized suite recipe (trainer/internalize_trainer/recipe.py CI_SUITE): a few dozen cases per
 * principle, short answers, one round; the benchmark (bench/internalize) runs the full-size one.
 */
const SUITE_RECIPE = { n_train: 24, n_heldout: 20, teacher_samples: 4, eval_samples: 2, max_new_tokens: 48, max_records_per_principle: 20, rounds: 1, seed: 0 } as const;

/** The iteration record's configuration: the shape the Iterations view and Resume Round read (`world`), plus the round itself. */
function recordConfigOf(config: WorldRoundConfig, outDir: string): Record<string, unknown> {
  const base = { kind: config.world, world: config.world, regime: config.regime, round: config, outDir };
  return config.world === 'toy' ? { ...base, persistence: config.persistence, lean_memory: config.leanMemory } : { ...base, model: config.model, suite: suiteParams(config, undefined) };
}

function distillParams(config: WorldRoundConfig, resumeFrom: string | undefined): Record<string, unknown> {
  return {
    regime: config.regime,
    lean_memory: config.leanMemory,
    ...(config.world === 'toy' ? { persistence: config.persistence } : {}),
    ...(config.epochs === undefined ? {} : { epochs: config.epochs }),
    ...(resumeFrom === undefined ? {} : { resume_from: resumeFrom }),
  };
}

function suiteParams(config: WorldRoundConfig, resumeFrom: string | undefined): Record<string, unknown> {
  return { principles: config.principles.length > 0 ? config.principles : null, ...SUITE_RECIPE, distill: distillParams(config, resumeFrom) };
}

interface WorldState {
  readonly number: number;
  readonly config: WorldRoundConfig;
  readonly recordConfig: Record<string, unknown>;
  readonly startedAt: string;
  readonly runId: number;
  readonly outDir: string;
  lastCheckpoint?: string;
}

/** Runs one new iteration of a built-in round; resolves with its final record and, for the suite, its table. */
export async function runWorldRound(env: WorldRoundEnvironment, config: WorldRoundConfig): Promise<WorldRoundResult> {
  const { store } = env;
  mkdirSync(env.runsDir, { recursive: true });
  const number = (store.iterations.latest()?.number ?? 0) + 1;
  // Taken before the first await: a second round on this database is refused at once.
  const lock = acquireRoundLock(lockPath(store, env.runsDir), number);
  try {
    markStale(store, lock);
    const outDir = join(env.runsDir, `iteration-${String(number)}`);
    const recordConfig = recordConfigOf(config, outDir);
    if (config.world === 'toy') {
      // The toy world trains on its own principles, so the user's pool is frozen as it is: Compare with
      // Previous and Roll Back have a pool to work with. The suite freezes its pool once its principles joined it.
      phase(env, number, 'snapshot', 'freezing the pool');
      if (store.snapshots.get(number) === undefined) store.snapshots.freeze(number, store.principles.list({ status: 'accepted' }));
    }
    return await run(env, begin(store, number, config, recordConfig, new Date().toISOString(), outDir), undefined);
  } finally {
    lock.release();
  }
}

/**
 * Continues a failed or stopped built-in iteration on its stored configuration, from `checkpoint`
 * when given, else the last checkpoint its record kept; without one, training starts again.
 */
export async function resumeWorldRound(env: WorldRoundEnvironment, number: number, checkpoint?: string): Promise<WorldRoundResult> {
  const { store } = env;
  const record = store.iterations.get(number);
  if (record === undefined) throw new RoundConfigError(`There is no iteration ${String(number)} to resume.`);
  if (record.config.world !== 'toy' && record.config.world !== 'suite') throw new RoundConfigError(`Iteration ${String(number)} is not a toy-world or principle-suite round.`);
  if (record.status !== 'failed' && record.status !== 'cancelled') throw new RoundConfigError(`Iteration ${String(number)} is ${record.status}; only a failed or stopped round can be resumed.`);
  const config = parseWorldRoundConfig(record.config.round ?? earlierConfig(record.config), `iteration ${String(number)}'s stored configuration`);
  const lock = acquireRoundLock(lockPath(store, env.runsDir), number);
  try {
    markStale(store, lock);
    const kept = checkpoint ?? (typeof record.verdict?.checkpoint === 'string' ? record.verdict.checkpoint : undefined);
    const from = kept !== undefined && existsSync(join(kept, 'adapter_config.json')) ? kept : undefined;
    const outDir = typeof record.config.outDir === 'string' ? record.config.outDir : join(env.runsDir, `iteration-${String(number)}`);
    const recordConfig = { ...recordConfigOf(config, outDir), ...(from === undefined ? {} : { resumedFrom: from }) };
    const state = begin(store, number, config, recordConfig, record.startedAt ?? new Date().toISOString(), outDir);
    env.onEvent?.({ event: 'log', iteration: number, level: 'info', message: from === undefined ? 'No usable checkpoint was kept: training starts again.' : `Resuming from ${from}.` });
    return await run(env, state, from);
  } finally {
    lock.release();
  }
}

/** A record written before the round service kept its configuration: the world and the trainer's settings it stored. */
function earlierConfig(stored: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const suite = stored.suite as { principles?: unknown } | undefined;
  const pick = (key: string, value: unknown, type: 'string' | 'boolean'): Record<string, unknown> => (typeof value === type ? { [key]: value } : {});
  return {
    world: stored.world,
    ...pick('regime', stored.regime, 'string'),
    ...pick('persistence', stored.persistence, 'string'),
    ...pick('leanMemory', stored.lean_memory, 'boolean'),
    ...pick('model', stored.model, 'string'),
    ...(Array.isArray(suite?.principles) ? { principles: suite.principles } : {}),
  };
}

function phase(env: WorldRoundEnvironment, iteration: number, p: RoundPhase, message: string): void {
  env.onEvent?.({ event: 'phase', iteration, phase: p, message });
}

/** The iteration is `running` in the store, with a run in the runs table whose folder holds its checkpoints. */
function begin(store: Store, number: number, config: WorldRoundConfig, recordConfig: Record<string, unknown>, startedAt: string, outDir: string): WorldState {
  mkdirSync(outDir, { recursive: true });
  store.iterations.save({ number, status: 'running', config: recordConfig, startedAt });
  const runId = store.runs.start('distill', { iteration: number, config: recordConfig, logPath: outDir });
  return { number, config, recordConfig, startedAt, runId, outDir };
}

async function run(env: WorldRoundEnvironment, state: WorldState, resumeFrom: string | undefined): Promise<WorldRoundResult> {
  try {
    return await trainAndRecord(env, state, resumeFrom);
  } catch (error) {
    return { record: recordFailure(env, state, error), summary: '' };
  }
}

async function trainAndRecord(env: WorldRoundEnvironment, state: WorldState, resumeFrom: string | undefined): Promise<WorldRoundResult> {
  const { number, config } = state;
  const forward = (event: WorkerEvent): void => {
    if (event.event === 'progress') {
      const { id: _id, event: _e, ...rest } = event;
      env.onEvent?.({ event: 'progress', iteration: number, ...rest });
    } else if (event.event === 'log') env.onEvent?.({ event: 'log', iteration: number, level: event.level, message: event.message });
    else if (event.event === 'checkpoint') {
      state.lastCheckpoint = event.path;
      env.onEvent?.({ event: 'checkpoint', iteration: number, path: event.path });
    }
  };
  phase(env, number, 'worker', 'starting the training worker');
  const start = env.startWorker ?? ((o: WorkerOptions) => WorkerClient.start(o));
  const worker = start({ python: env.python, env: env.workerEnv, onDiagnostic: env.onDiagnostic });
  const cancel = (): void => {
    void worker.cancel().catch(() => undefined);
  };
  env.signal?.addEventListener('abort', cancel, { once: true });
  try {
    env.signal?.throwIfAborted();
    const hello = await worker.hello();
    env.onEvent?.({ event: 'log', iteration: number, level: 'info', message: `Worker ${hello.version} (protocol ${String(hello.protocol)}, torch ${hello.torch}, ${hello.cuda ? 'CUDA' : 'CPU'})` });
    if (config.world === 'toy') {
      phase(env, number, 'worker', 'teaching the toy model the world (first run only) and caching the teacher…');
      const result = await worker.distill({ toy: true, seed: 0, cache_dir: env.cacheDir, out_dir: state.outDir, config: distillParams(config, resumeFrom) }, forward);
      const collapse = result.metrics.collapse as { collapsed?: boolean; reasons?: string[] } | undefined;
      const record = finish(env, state, { metrics: result.metrics, verdict: collapse ?? {}, collapsed: collapse?.collapsed === true }, () => undefined);
      return { record, summary: summarizeIteration(result.metrics) };
    }
    phase(env, number, 'worker', `loading ${config.model}…`);
    const models = env.modelsDir === undefined ? {} : { models_dir: env.modelsDir };
    const result = await worker.suite({ model: config.model, ...models, out_dir: state.outDir, config: suiteParams(config, resumeFrom) }, forward);
    return finishSuite(env, state, result);
  } catch (error) {
    throw new RoundFailure(error, worker.logTail(), state.lastCheckpoint);
  } finally {
    env.signal?.removeEventListener('abort', cancel);
    worker.dispose();
  }
}

/** The suite's principles join the pool, its scores are stored and its pool frozen, with the iteration, in one transaction. */
function finishSuite(env: WorldRoundEnvironment, state: WorldState, result: SuiteResult): WorldRoundResult {
  const { store } = env;
  const { number, config } = state;
  const texts = result.principles.flatMap((p) => (p.text === undefined || p.text === '' ? [] : [{ id: p.id, text: p.text }]));
  const trained = result.principles.filter((p) => p.calibrated);
  const internalized = trained.filter((p) => p.internalized).length;
  const scores = trained.flatMap((p) => (p.score === null ? [] : [p.score]));
  const metrics: Record<string, unknown> = {
    principles_trained: trained.length,
    principles_internalized: internalized,
    mean_score: scores.length === 0 ? null : scores.reduce((a, b) => a + b, 0) / scores.length,
    retention_ratio: result.retention?.ratio ?? null,
    timings: result.timings,
  };
  let ids = new Map<string, string>();
  let scored = 0;
  const record = finish(env, state, { metrics, verdict: result.collapse ?? {}, collapsed: result.collapse?.collapsed === true }, () => {
    ids = adoptSuitePrinciples(store, texts, number);
    scored = recordSuiteScores(store, number, result, ids);
    // The pool this iteration internalized, frozen: Compare Iterations diffs these snapshots.
    if (store.snapshots.get(number) === undefined) store.snapshots.freeze(number, store.principles.list({ status: 'accepted' }));
  });
  const summary = `${String(internalized)} of ${String(trained.length)} trained principles internalized${result.retention === null ? '' : `; retention NLL ×${result.retention.ratio.toFixed(3)}`}`;
  return { record, summary, report: suiteReport(result, texts, ids, config.model), scored };
}

/** Writes the finished iteration (and whatever `alongside` stores) in one transaction: done with everything, or still running without it. */
function finish(env: WorldRoundEnvironment, state: WorldState, outcome: { metrics: Record<string, unknown>; verdict: Record<string, unknown>; collapsed: boolean }, alongside: () => void): IterationRecord {
  phase(env, state.number, 'save', 'writing the iteration');
  const adapter = outcome.metrics.adapter;
  const record: IterationRecord = {
    number: state.number,
    status: outcome.collapsed ? 'collapsed' : 'done',
    config: state.recordConfig,
    metrics: outcome.metrics,
    verdict: outcome.verdict,
    ...(typeof adapter === 'string' ? { adapterPath: adapter } : {}),
    startedAt: state.startedAt,
    endedAt: new Date().toISOString(),
  };
  env.store.transaction(() => {
    alongside();
    env.store.iterations.save(record);
    env.store.runs.finish(state.runId, 'done');
  });
  const done: RoundEvent = { event: 'done', iteration: state.number, record };
  env.onEvent?.(done);
  return record;
}
