/**
 * A distillation round on the user's own data, as one service the extension and the CLI both call:
 * freeze the pool, build the dataset, distill from the merged previous student (the base model for
 * the first iteration), score every principle on held-out states, let the collapse guard decide, and
 * write the iteration and its scores in one transaction at the end. The iteration record is
 * `running` while it runs and `done`, `collapsed`, `failed` or `cancelled` after, with the reason
 * and the worker's log tail; a stopped round keeps its checkpoint and `resumeRound` continues it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { embedCached } from '../embedding/cache.js';
import type { TextEmbedder } from '../embedding/embedder.js';
import { DEFAULT_INJECTION_OPTIONS, InjectionOptionsError, parseInjectionOptions } from '../injection/options.js';
import type { InjectionOptions } from '../injection/types.js';
import type { PoolSnapshot, Principle } from '../principle.js';
import type { IterationRecord, Store } from '../store/index.js';
import { evidenceWorkspaces, internalizedIds, iterationModel } from '../store/injection.js';
import { TRAJECTORY_SOURCES } from '../trajectory.js';
import { continualStep, type ContinualOptions } from './continual.js';
import { buildDataset, describeSelection, exportDataset, readJsonl, recordTokens, selectTrajectories, trainablePool, writeJsonl, type Dataset, type DatasetStats, type TrajectorySelection } from './dataset.js';
import { acquireRoundLock, type HeldLock } from './roundLock.js';
import { judgeScores, type JudgeScore, type LlmJudge } from './judge.js';
import { DEFAULT_SAMPLE_OPTIONS, describeRejections, teacherSampleRecords, workerSampleConfig, type SampleOptions, type TargetStats } from './targets.js';
import { WorkerClient, WorkerError, type RoundScoreResult, type WorkerEvent, type WorkerOptions } from './worker.js';

export type Regime = 'off-policy' | 'on-policy' | 'sft';
export type Device = 'auto' | 'cpu' | 'cuda';

/** Everything a round on the user's data is configured by; stored with the iteration, so a resume runs the same round. */
export interface RoundConfig {
  /** The base model: 'smollm2-135m-instruct' (built in), a Hugging Face model folder or a .gguf file. */
  readonly model: string;
  readonly regime: Regime;
  readonly injection: InjectionOptions;
  readonly selection: TrajectorySelection;
  readonly loraRank: number;
  readonly device: Device;
  readonly epochs: number;
  readonly learningRate: number;
  /** Tokens per record the model reads (the decision state is cut to fit). */
  readonly contextTokens: number;
  readonly heldoutFraction: number;
  readonly seed: number;
  /** Divergence score from which a principle counts as internalized (no longer injected when serving). */
  readonly threshold: number;
  /** The collapse guard's limit on the rise of retention NLL against the base model. */
  readonly maxRetentionIncrease: number;
  /** Keep the student near the base model on general prompts while it trains (what holds retention). */
  readonly replay: boolean;
  /**
   * Who teaches iteration n > 1: `anchored` (default) keeps the original base model with the principles in
   * context as the teacher while the student continues from the merged previous student; `previous` lets the
   * previous student teach. The continual benchmark measured anchored + replay of earlier kept records as the
   * configuration that forgets least (bench/results/internalize-continual.md).
   */
  readonly teacher: 'anchored' | 'previous';
  /** Train each iteration on the earlier iterations' training records too, so earlier principles are rehearsed. */
  readonly replayKept: boolean;
  /**
   * The training targets: `recorded` (default) is the agent's own successful step; `teacher-samples` replaces it by
   * the teacher's own responses at that state (the base model with the block samples `samples.k`), kept by a filter.
   */
  readonly targets: 'recorded' | 'teacher-samples';
  readonly samples: SampleOptions;
  /**
   * Held-out states the base model and the student answer for the LLM-judge score, when the round has a judge model;
   * 0 turns the judge score off. Without a judge model there is no such score (absent, never zero).
   */
  readonly judgeStates: number;
  /** At most this many training states per iteration, spread over the runs; 0: every state (the round's size, see ROUND_SIZES). */
  readonly maxTrainRecords: number;
  /** At most this many held-out states scored per iteration; 0: every held-out state. */
  readonly maxHeldoutRecords: number;
  /** General prompts per set (replay, retention) the base model answers; 0: all of them (20 each). Fewer: a noisier retention. */
  readonly generalPrompts: number;
}

export const BUILTIN_MODEL = 'smollm2-135m-instruct';

export const DEFAULT_ROUND_CONFIG: RoundConfig = {
  model: BUILTIN_MODEL,
  regime: 'off-policy',
  injection: DEFAULT_INJECTION_OPTIONS,
  selection: { outcome: 'success' },
  loraRank: 8,
  device: 'auto',
  epochs: 2,
  learningRate: 2e-4,
  contextTokens: 1024,
  heldoutFraction: 0.2,
  seed: 0,
  threshold: 0.5,
  maxRetentionIncrease: 0.05,
  replay: true,
  teacher: 'anchored',
  replayKept: true,
  targets: 'recorded',
  samples: DEFAULT_SAMPLE_OPTIONS,
  judgeStates: 12,
  maxTrainRecords: 0,
  maxHeldoutRecords: 0,
  generalPrompts: 0,
};

/** The knobs a round's size sets together. */
export type RoundSize = Pick<RoundConfig, 'epochs' | 'contextTokens' | 'maxTrainRecords' | 'maxHeldoutRecords' | 'generalPrompts'>;

/**
 * The sizes the editor offers. `full` trains on every state; `quick` checks that the loop works on your data
 * in minutes on a CPU (a dozen training states, short contexts, one epoch, a few general prompts), at the
 * price of scores and a retention measured on few states.
 */
export const ROUND_SIZES: Readonly<Record<'full' | 'quick', RoundSize>> = {
  full: { epochs: DEFAULT_ROUND_CONFIG.epochs, contextTokens: DEFAULT_ROUND_CONFIG.contextTokens, maxTrainRecords: 0, maxHeldoutRecords: 0, generalPrompts: 0 },
  quick: { epochs: 1, contextTokens: 512, maxTrainRecords: 12, maxHeldoutRecords: 6, generalPrompts: 6 },
};

/** Which of ROUND_SIZES a configuration has, or undefined when its knobs were set by hand. */
export function roundSizeOf(config: RoundConfig): keyof typeof ROUND_SIZES | undefined {
  return (Object.keys(ROUND_SIZES) as (keyof typeof ROUND_SIZES)[]).find((name) => Object.entries(ROUND_SIZES[name]).every(([k, v]) => config[k as keyof RoundSize] === v));
}

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/u, 'must be a date like 2026-01-31');
const configSchema = z
  .object({
    model: z.string().trim().min(1),
    regime: z.enum(['off-policy', 'on-policy', 'sft']),
    injection: z.unknown(),
    selection: z
      .object({
        outcome: z.enum(['success', 'failure', 'unknown', 'any']).optional(),
        source: z.enum(TRAJECTORY_SOURCES).optional(),
        workspace: z.string().min(1).optional(),
        since: isoDate.optional(),
        until: isoDate.optional(),
      })
      .strict(),
    loraRank: z.number().int().min(1).max(256),
    device: z.enum(['auto', 'cpu', 'cuda']),
    epochs: z.number().int().min(1).max(50),
    learningRate: z.number().positive().max(1),
    contextTokens: z.number().int().min(128).max(131_072),
    heldoutFraction: z.number().min(0).max(0.9),
    seed: z.number().int().nonnegative(),
    threshold: z.number().min(0).max(1),
    maxRetentionIncrease: z.number().positive().max(10),
    replay: z.boolean(),
    teacher: z.enum(['anchored', 'previous']),
    replayKept: z.boolean(),
    targets: z.enum(['recorded', 'teacher-samples']),
    samples: z
      .object({
        k: z.number().int().min(1).max(32),
        filter: z.enum(['divergence', 'judge']),
        temperature: z.number().positive().max(2),
        maxNewTokens: z.number().int().min(8).max(2048),
        minMargin: z.number().min(-10).max(10),
        maxTeacherNll: z.number().positive().max(20),
      })
      .strict()
      .partial(),
    judgeStates: z.number().int().min(0).max(500),
    maxTrainRecords: z.number().int().min(0).max(1_000_000),
    maxHeldoutRecords: z.number().int().min(0).max(1_000_000),
    generalPrompts: z.number().int().min(0).max(20),
  })
  .strict()
  .partial();

export class RoundConfigError extends Error {
  override readonly name = 'RoundConfigError';
}

/** Fills a partial configuration from the defaults and validates it; the error names every bad field. */
export function parseRoundConfig(value: unknown, where = 'round configuration'): RoundConfig {
  const parsed = configSchema.safeParse(value ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new RoundConfigError(`Invalid ${where}: ${problems.join('; ')}.`);
  }
  const defined = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as Partial<RoundConfig> & { injection?: unknown };
  let injection: InjectionOptions;
  try {
    injection = parseInjectionOptions(defined.injection ?? {}, `${where}: injection`);
  } catch (error) {
    if (error instanceof InjectionOptionsError) throw new RoundConfigError(error.message);
    throw error;
  }
  const selection = Object.fromEntries(Object.entries(defined.selection ?? {}).filter(([, v]) => v !== undefined)) as TrajectorySelection;
  if (selection.since !== undefined && selection.until !== undefined && selection.since > selection.until) {
    throw new RoundConfigError(`Invalid ${where}: selection.since (${selection.since}) is after selection.until (${selection.until}).`);
  }
  const samples = { ...DEFAULT_SAMPLE_OPTIONS, ...(Object.fromEntries(Object.entries(defined.samples ?? {}).filter(([, v]) => v !== undefined)) as Partial<SampleOptions>) };
  const out: RoundConfig = { ...DEFAULT_ROUND_CONFIG, ...defined, injection, selection: { ...DEFAULT_ROUND_CONFIG.selection, ...selection }, samples };
  if (out.targets === 'teacher-samples' && out.regime === 'on-policy') {
    throw new RoundConfigError(`Invalid ${where}: targets "teacher-samples" replace the recorded actions that off-policy and SFT learn; the on-policy regime samples its own actions. Choose off-policy or SFT, or the recorded targets.`);
  }
  return out;
}

/** What a round reports while it runs; progress, log and checkpoint events have the worker's shape (the Run Dashboard reads them). */
export type RoundEvent =
  | { readonly event: 'phase'; readonly iteration: number; readonly phase: RoundPhase; readonly message: string }
  | { readonly event: 'progress'; readonly iteration: number; readonly phase: string; readonly step: number; readonly total: number; readonly loss?: number; readonly kl?: number; readonly tokens_per_s?: number; readonly eta_s?: number; readonly principle?: string }
  | { readonly event: 'log'; readonly iteration: number; readonly level: string; readonly message: string }
  | { readonly event: 'checkpoint'; readonly iteration: number; readonly path: string }
  | { readonly event: 'done'; readonly iteration: number; readonly record: IterationRecord }
  | { readonly event: 'failed'; readonly iteration: number; readonly status: 'failed' | 'cancelled'; readonly reason: string; readonly logTail: readonly string[]; readonly checkpoint?: string };

export type RoundPhase = 'continual' | 'snapshot' | 'dataset' | 'worker' | 'general' | 'sample' | 'train' | 'score' | 'judge' | 'save';

/** What a round needs from its host (the extension's context or the CLI's options). */
export interface RoundEnvironment {
  readonly store: Store;
  /** Where iteration folders go (`iteration-N/`: dataset, checkpoints, adapter, merged student). */
  readonly runsDir: string;
  /** The Python with internalize_trainer (the project's .venv). */
  readonly python: string;
  /** Where built-in and downloaded models are kept. */
  readonly modelsDir?: string;
  readonly embedder: TextEmbedder;
  readonly workerEnv?: Readonly<Record<string, string | undefined>>;
  /** The continual step before iteration n > 1; absent: no mining between iterations. */
  readonly continual?: ContinualOptions;
  readonly onEvent?: (event: RoundEvent) => void;
  /** Lines the worker wrote outside the protocol (stderr), for a log. */
  readonly onDiagnostic?: (line: string) => void;
  readonly signal?: AbortSignal;
  /** Tests and hosts may start the worker their own way. */
  readonly startWorker?: (options: WorkerOptions) => WorkerClient;
  /**
   * The LLM judge (a configured model behind redaction, see judge.ts): grades teacher samples with the judge filter, and
   * gives the LLM-judge score per principle beside the divergence score. Absent: no judge score, and the judge filter is refused.
   */
  readonly judge?: LlmJudge;
}

/** The dataset files of an iteration, under its folder. */
export function datasetPaths(runsDir: string, iteration: number): { readonly train: string; readonly heldout: string } {
  const dir = join(runsDir, `iteration-${String(iteration)}`, 'dataset');
  return { train: join(dir, 'train.jsonl'), heldout: join(dir, 'heldout.jsonl') };
}

/** Writes an iteration's dataset (both splits, meta.split on each record) to one JSONL file; returns the record count. */
export function exportIterationDataset(store: Store, iteration: number, to: string): number {
  const record = store.iterations.get(iteration);
  if (record === undefined) throw new RoundConfigError(`There is no iteration ${String(iteration)} in ${store.path}.`);
  const dataset = record.config.dataset as { train?: unknown; heldout?: unknown } | undefined;
  if (typeof dataset?.train !== 'string' || typeof dataset.heldout !== 'string') {
    throw new RoundConfigError(`Iteration ${String(iteration)} was not a round on your data: it has no stored dataset.`);
  }
  return exportDataset(dataset.train, dataset.heldout, to);
}

/** The round lock of a store: beside the database file, so every process on it sees the same one. */
export function lockPath(store: Store, runsDir: string): string {
  return store.path === ':memory:' ? join(runsDir, 'round.lock') : `${store.path}.round.lock`;
}

/** The model a round starts from: the merged student of the latest finished own-data iteration on the same base, else the base. */
export function startingModel(store: Store, model: string): { readonly model: string; readonly from?: number } {
  const previous = store.iterations
    .list()
    .filter((it) => it.status === 'done' && it.config.kind === 'own-data' && iterationModel(it.config) === model)
    .at(-1);
  const merged = previous?.metrics?.merged;
  if (previous !== undefined && typeof merged === 'string' && existsSync(join(merged, 'config.json'))) return { model: merged, from: previous.number };
  return { model };
}

interface Prepared {
  readonly dataset: DatasetStats;
  readonly paths: { readonly train: string; readonly heldout: string };
}

/** The dataset of the selected trajectories over the given principles, in memory. */
async function datasetFor(env: RoundEnvironment, config: RoundConfig, principles: readonly Principle[]): Promise<Dataset> {
  const { store } = env;
  const internalized = internalizedIds(store, config.model);
  const pool = trainablePool(principles, internalized, config.model);
  return buildDataset({
    trajectories: selectTrajectories(store, config.selection),
    pool,
    internalizedIds: internalized,
    embedder: env.embedder,
    options: { injection: { ...config.injection, targetModel: config.model }, contextTokens: config.contextTokens, heldoutFraction: config.heldoutFraction, seed: config.seed, maxTrainRecords: config.maxTrainRecords, maxHeldoutRecords: config.maxHeldoutRecords },
    embedCache: (texts) => embedCached(store, env.embedder, texts),
    evidenceWorkspaces: evidenceWorkspaces(store, pool),
    signal: env.signal,
  });
}

async function prepareDataset(env: RoundEnvironment, config: RoundConfig, snapshot: PoolSnapshot, iteration: number): Promise<{ prepared: Prepared; dataset: Dataset }> {
  const dataset = await datasetFor(env, config, snapshot.principles);
  const paths = datasetPaths(env.runsDir, iteration);
  writeJsonl(paths.train, dataset.train);
  writeJsonl(paths.heldout, dataset.heldout);
  return { prepared: { dataset: dataset.stats, paths }, dataset };
}

/** The phases a round's time goes to, as the estimate and the Run Dashboard count them. */
export const TIMED_PHASES = ['general', 'sample', 'train', 'score', 'judge'] as const;
export type TimedPhase = (typeof TIMED_PHASES)[number];
export type PhaseTimes = Readonly<Partial<Record<TimedPhase, number>>>;

/** A rough time for a round, from what an earlier iteration on the same model and device measured, else from assumed rates. */
export interface RoundEstimate {
  readonly stats: DatasetStats;
  /** The dataset the round would build now, in memory (a dry run can write it for inspection). */
  readonly dataset: Dataset;
  /** The next iteration: its phases together, plus starting the worker and writing the iteration. */
  readonly seconds: number;
  /** The next iteration's seconds per phase; a phase the round skips (or whose work is on disk already) is absent. */
  readonly phases: PhaseTimes;
  readonly tokensPerSecond: number;
  /** Where the rates came from: 'iteration N' (measured) or 'assumed'. */
  readonly basis: string;
  /** Tokens of the earlier iterations' training records that the next iteration replays beside its own. */
  readonly replayTokens: number;
  /** Whether the base model's general answers are on disk already (they are written once per model and size). */
  readonly generalCached: boolean;
  /** The phases of the k-th iteration (1-based) of a loop started now: each replays the records of those before it. */
  phasesAt(k: number): PhaseTimes;
  /** A loop of `n` iterations started now, in seconds. */
  loopSeconds(n: number): number;
}

/** A whole-minute figure for an estimate, never below 1: "about 3 min". */
export function estimateMinutes(seconds: number): string {
  return `${String(Math.max(1, Math.round(seconds / 60)))} min`;
}

const PHASE_NAMES: Readonly<Record<TimedPhase, string>> = { general: 'general answers (once per model)', sample: 'teacher samples', train: 'training', score: 'scoring', judge: 'judging' };

/** An estimate's phases in the order they run, as the editor's confirmation and `distill --dry-run` say them: "training 4 min, scoring 26 s". */
export function describePhaseTimes(phases: PhaseTimes): string {
  return TIMED_PHASES.flatMap((p) => {
    const s = phases[p];
    return s === undefined ? [] : [`${PHASE_NAMES[p]} ${s < 90 ? `${String(Math.max(1, Math.round(s)))} s` : `${String(Math.round(s / 60))} min`}`];
  }).join(', ');
}

/** The training sets of the earlier finished own-data iterations that still exist on disk, oldest first. */
export function earlierTrainingSets(store: Store, before: number): string[] {
  return store.iterations
    .list()
    .filter((it) => it.number < before && it.config.kind === 'own-data' && (it.status === 'done' || it.status === 'collapsed'))
    .flatMap((it) => {
      const train = (it.config.dataset as { train?: unknown } | undefined)?.train;
      return typeof train === 'string' && existsSync(train) ? [train] : [];
    });
}

/**
 * Assumed training throughput (tokens/s, teacher and student passes included) for a ~135M model before anything was
 * measured: SmolLM2-135M off-policy on 2 CPU cores trained 53–54 tokens/s in a quiet run (4,945 tokens in 92 s, then
 * 9,890 with replay in 188 s). After the first iteration the estimate uses the rates that iteration measured.
 */
const ASSUMED_TOKENS_PER_S: Readonly<Record<Device, number>> = { auto: 55, cpu: 55, cuda: 6000 };
/**
 * Assumed generation rate (new tokens/s) of a ~135M model answering prompts in batches: the Quick check's 12 general
 * answers of up to 48 tokens took 17 s on 2 cores. Teacher samples are written one state at a time: about 20 tokens/s.
 */
const ASSUMED_GENERATED_PER_S: Readonly<Record<Device, number>> = { auto: 34, cpu: 34, cuda: 800 };
const ASSUMED_SAMPLED_PER_S: Readonly<Record<Device, number>> = { auto: 20, cpu: 20, cuda: 400 };
/** A judge model's time per graded held-out state (one call per picked principle): unknown until measured, so a guess. */
const ASSUMED_JUDGE_S_PER_STATE = 15;
/** Records per optimizer step (the trainer's default batch), and the micro-batch they are split into on a CPU. */
const STEP_RECORDS = 8;
const CPU_MICRO_BATCH = 2;
/** Starting the worker and writing the iteration. */
const FIXED_SECONDS = 30;
/** General answers per prompt count: a replay set and a retention set (the built-in sets hold 20 prompts each). */
const GENERAL_SETS = 2;
const GENERAL_PROMPTS = 20;
const GENERAL_TOKENS = 48;

/** Where the base model's general answers for a round's size are kept (written once, read by every later round). */
export function generalAnswersDir(runsDir: string, config: Pick<RoundConfig, 'model' | 'generalPrompts'>): string {
  return join(runsDir, 'general', `${modelKey(config.model)}${config.generalPrompts > 0 ? `-${String(config.generalPrompts)}` : ''}`);
}

function generalAnswersCached(dir: string): boolean {
  return existsSync(join(dir, 'replay.jsonl')) && existsSync(join(dir, 'retention.jsonl'));
}

/** Tokens of a training set on disk; 0 for one that cannot be read (the estimate must not fail on it). */
function fileTokens(path: string): number {
  try {
    return recordTokens(readJsonl(path));
  } catch {
    return 0;
  }
}

/** What an iteration measured, kept in its metrics as `phase_seconds` for the next estimate. */
interface MeasuredPhases {
  readonly seconds: PhaseTimes;
  readonly generalCached: boolean;
  readonly replayTokens: number;
  readonly judgeStates: number;
  readonly sampledTokens: number;
}

/** Seconds per phase with the work each measured: tokens replayed, states judged, tokens sampled. */
function phaseTimes(seconds: Partial<Record<RoundPhase, number>>, work: { readonly generalCached: boolean; readonly replayTokens: number; readonly judgeStates: number; readonly sampledTokens: number }): Record<string, unknown> {
  const kept = Object.fromEntries(TIMED_PHASES.flatMap((p) => (seconds[p] === undefined ? [] : [[p, Math.round(seconds[p] * 10) / 10]])));
  return { ...kept, general_cached: work.generalCached, replay_tokens: work.replayTokens, judge_states: work.judgeStates, sampled_tokens: work.sampledTokens };
}

function measuredPhases(metrics: Readonly<Record<string, unknown>> | undefined): MeasuredPhases | undefined {
  const raw = metrics?.phase_seconds;
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const seconds = Object.fromEntries(TIMED_PHASES.flatMap((p) => (typeof r[p] === 'number' && Number.isFinite(r[p]) && r[p] >= 0 ? [[p, r[p]]] : [])));
  const count = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0);
  return { seconds, generalCached: r.general_cached === true, replayTokens: count(r.replay_tokens), judgeStates: count(r.judge_states), sampledTokens: count(r.sampled_tokens) };
}

/** Builds the dataset in memory (nothing is written, nothing trains) and estimates records, tokens and time per phase. */
export async function estimateRound(env: RoundEnvironment, config: RoundConfig): Promise<RoundEstimate> {
  const { store } = env;
  const dataset = await datasetFor(env, config, store.principles.list({ status: 'accepted' }));
  const { stats } = dataset;
  const earlier = store.iterations
    .list()
    .filter((it) => it.config.kind === 'own-data' && iterationModel(it.config) === config.model && (it.config.round as Partial<RoundConfig> | undefined)?.device === config.device && (it.status === 'done' || it.status === 'collapsed'));
  const measured = earlier
    .map((it) => ({ number: it.number, rate: (it.metrics?.train as { tokens_per_s?: unknown } | undefined)?.tokens_per_s, phases: measuredPhases(it.metrics), data: it.metrics?.dataset as { train?: number; heldout?: number } | undefined }))
    .filter((m): m is typeof m & { rate: number } => typeof m.rate === 'number' && m.rate > 0)
    .at(-1);
  const rate = measured?.rate ?? ASSUMED_TOKENS_PER_S[config.device];
  const per = (phase: TimedPhase, units: number | undefined): number | undefined => {
    const s = measured?.phases?.seconds[phase];
    return s === undefined || units === undefined || units <= 0 ? undefined : s / units;
  };
  const heldTokens = stats.trainTokens * (stats.heldoutRecords / Math.max(stats.trainRecords, 1));
  const judgeStates = env.judge === undefined ? 0 : Math.min(config.judgeStates, stats.heldoutRecords);
  // Scoring reads each held-out state three times (teacher, base, student) without a backward pass; with a judge it also
  // writes the base model's and the student's answers on the judged states.
  const answerSeconds = (2 * judgeStates * config.samples.maxNewTokens) / ASSUMED_SAMPLED_PER_S[config.device];
  const scoreSeconds = (per('score', measured?.data?.heldout) ?? heldTokens / rate / Math.max(stats.heldoutRecords, 1)) * stats.heldoutRecords + (measured?.phases?.seconds.score === undefined ? answerSeconds : 0);
  const samplingUnits = stats.trainRecords * config.samples.k * config.samples.maxNewTokens;
  const sampleSeconds = config.targets === 'teacher-samples' ? samplingUnits * (per('sample', measured?.phases?.sampledTokens) ?? 1 / ASSUMED_SAMPLED_PER_S[config.device]) : 0;
  const generalCached = generalAnswersCached(generalAnswersDir(env.runsDir, config));
  const generalSeconds = generalCached ? 0 : (GENERAL_SETS * (config.generalPrompts > 0 ? Math.min(config.generalPrompts, GENERAL_PROMPTS) : GENERAL_PROMPTS) * GENERAL_TOKENS) / ASSUMED_GENERATED_PER_S[config.device];
  const judgeSeconds = judgeStates * (per('judge', measured?.phases?.judgeStates) ?? ASSUMED_JUDGE_S_PER_STATE);
  const replayTokens = config.replayKept ? earlierTrainingSets(store, Number.MAX_SAFE_INTEGER).reduce((sum, path) => sum + fileTokens(path), 0) : 0;
  const phasesAt = (k: number): PhaseTimes => {
    // The k-th iteration replays what is on disk now plus the k − 1 iterations of this loop before it (each about this one's size).
    const replay = config.replayKept ? replayTokens + (k - 1) * stats.trainTokens : 0;
    const out: Partial<Record<TimedPhase, number>> = {};
    if (k === 1 && generalSeconds > 0) out.general = generalSeconds;
    if (sampleSeconds > 0) out.sample = sampleSeconds;
    out.train = ((stats.trainTokens + replay) * config.epochs) / rate;
    out.score = scoreSeconds;
    if (judgeSeconds > 0) out.judge = judgeSeconds;
    return out;
  };
  const total = (p: PhaseTimes): number => FIXED_SECONDS + Object.values(p).reduce((a, b) => a + b, 0);
  const phases = phasesAt(1);
  return {
    stats,
    dataset,
    seconds: total(phases),
    phases,
    tokensPerSecond: rate,
    basis: measured === undefined ? 'assumed' : `iteration ${String(measured.number)}`,
    replayTokens,
    generalCached,
    phasesAt,
    loopSeconds: (n) => Array.from({ length: Math.max(0, n) }, (_, i) => total(phasesAt(i + 1))).reduce((a, b) => a + b, 0),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Model-folder hash for the general answers' cache: one per base model. */
function modelKey(model: string): string {
  return createHash('sha256').update(model).digest('hex').slice(0, 12);
}

interface RoundState {
  readonly number: number;
  readonly config: RoundConfig;
  readonly recordConfig: Record<string, unknown>;
  readonly startedAt: string;
  readonly runId: number;
  readonly outDir: string;
  lastCheckpoint?: string;
}

/** Runs one new iteration on the user's data; resolves with its final record (done, collapsed, failed or cancelled). */
export async function runRound(env: RoundEnvironment, config: RoundConfig): Promise<IterationRecord> {
  const { store } = env;
  if (config.targets === 'teacher-samples' && config.samples.filter === 'judge' && env.judge === undefined) {
    throw new RoundConfigError('Teacher samples with the judge filter need a language model to judge them: configure one (a model for Summarize, or --judge-url and --judge-model on the command line), or choose the divergence filter.');
  }
  mkdirSync(env.runsDir, { recursive: true });
  const number = (store.iterations.latest()?.number ?? 0) + 1;
  const lock = acquireRoundLock(lockPath(store, env.runsDir), number);
  try {
    markStale(store, lock);
    const emit = (event: RoundEvent): void => env.onEvent?.(event);
    const phase = (p: RoundPhase, message: string): void => {
      emit({ event: 'phase', iteration: number, phase: p, message });
    };
    const previous = store.iterations.list().filter((it) => it.config.kind === 'own-data').at(-1);
    if (previous?.startedAt !== undefined && env.continual !== undefined) {
      phase('continual', 'mining trajectories captured since the last iteration');
      const mined = continualStep(store, previous.startedAt, number, env.continual);
      emit({ event: 'log', iteration: number, level: 'info', message: `Continual step: ${String(mined.newTrajectories)} new trajectories, ${String(mined.proposed)} pool operations proposed${env.continual.autoAccept ? ' and accepted' : ' (waiting for review in the Principles view)'}.` });
    }
    phase('snapshot', 'freezing the pool');
    // The frozen snapshot is what trains: an edit or a retirement during the round changes the next one.
    const snapshot = store.snapshots.get(number) ?? store.snapshots.freeze(number, store.principles.list({ status: 'accepted' }));
    const start = startingModel(store, config.model);
    const outDir = join(env.runsDir, `iteration-${String(number)}`);
    const recordConfig: Record<string, unknown> = {
      kind: 'own-data',
      model: config.model,
      regime: config.regime,
      injection: config.injection.mode === 'global' ? 'global' : `stepwise-${config.injection.persistence}`,
      k: config.injection.k,
      lora: { r: config.loraRank },
      startModel: start.model,
      ...(start.from === undefined ? {} : { startIteration: start.from }),
      snapshot: number,
      selection: describeSelection(config.selection),
      targets: config.targets === 'recorded' ? 'recorded' : `teacher-samples (${config.samples.filter})`,
      ...(env.judge === undefined ? {} : { judge: env.judge.model }),
      round: config,
      outDir,
    };
    const startedAt = new Date().toISOString();
    store.iterations.save({ number, status: 'running', config: recordConfig, startedAt });
    const runId = store.runs.start('own-data', { iteration: number, config: recordConfig, logPath: outDir });
    const state: RoundState = { number, config, recordConfig, startedAt, runId, outDir };
    try {
      phase('dataset', 'building the dataset from your trajectories');
      const { prepared } = await prepareDataset(env, config, snapshot, number);
      const s = prepared.dataset;
      recordConfig.dataset = { ...prepared.paths, ...s };
      store.iterations.save({ number, status: 'running', config: recordConfig, startedAt });
      emit({
        event: 'log',
        iteration: number,
        level: 'info',
        message: `Dataset: ${String(s.trainRecords)} training and ${String(s.heldoutRecords)} held-out states from ${String(s.trajectories)} trajectories (${String(s.sessions.train)}/${String(s.sessions.heldout)} sessions), about ${String(s.trainTokens)} tokens; ${String(s.truncatedStates)} states cut to ${String(config.contextTokens)} tokens.`,
      });
      return await trainAndScore(env, state, undefined);
    } catch (error) {
      return recordFailure(env, state, error);
    }
  } finally {
    lock.release();
  }
}

/** Continues a failed or cancelled own-data iteration from its last checkpoint, on its stored dataset and configuration. */
export async function resumeRound(env: RoundEnvironment, number: number): Promise<IterationRecord> {
  const { store } = env;
  const record = store.iterations.get(number);
  if (record === undefined) throw new RoundConfigError(`There is no iteration ${String(number)} to resume.`);
  if (record.config.kind !== 'own-data') throw new RoundConfigError(`Iteration ${String(number)} is not a round on your data; only those can be resumed.`);
  if (record.status !== 'failed' && record.status !== 'cancelled') throw new RoundConfigError(`Iteration ${String(number)} is ${record.status}; only a failed or stopped round can be resumed.`);
  const dataset = record.config.dataset as { train?: unknown; heldout?: unknown } | undefined;
  if (typeof dataset?.train !== 'string' || !existsSync(dataset.train)) {
    throw new RoundConfigError(`Iteration ${String(number)} stopped before its dataset was written; start a new round instead.`);
  }
  const config = parseRoundConfig(record.config.round, `iteration ${String(number)}'s stored configuration`);
  const lock = acquireRoundLock(lockPath(store, env.runsDir), number);
  try {
    markStale(store, lock);
    const checkpoint = typeof record.verdict?.checkpoint === 'string' && existsSync(join(record.verdict.checkpoint, 'adapter_config.json')) ? record.verdict.checkpoint : undefined;
    const startedAt = record.startedAt ?? new Date().toISOString();
    const recordConfig = { ...record.config, ...(checkpoint === undefined ? {} : { resumedFrom: checkpoint }) };
    store.iterations.save({ number, status: 'running', config: recordConfig, startedAt });
    const outDir = typeof record.config.outDir === 'string' ? record.config.outDir : join(env.runsDir, `iteration-${String(number)}`);
    const runId = store.runs.start('own-data', { iteration: number, config: recordConfig, logPath: outDir });
    const state: RoundState = { number, config, recordConfig, startedAt, runId, outDir, lastCheckpoint: checkpoint };
    env.onEvent?.({ event: 'log', iteration: number, level: 'info', message: checkpoint === undefined ? 'No usable checkpoint was kept: training starts again on the same dataset.' : `Resuming from ${checkpoint}.` });
    try {
      return await trainAndScore(env, state, checkpoint);
    } catch (error) {
      return recordFailure(env, state, error);
    }
  } finally {
    lock.release();
  }
}

/** Runs `iterations` rounds one after another; stops at the first that does not finish `done`. */
export async function runRounds(env: RoundEnvironment, config: RoundConfig, iterations: number): Promise<IterationRecord[]> {
  const out: IterationRecord[] = [];
  for (let i = 0; i < iterations; i++) {
    const record = await runRound(env, config);
    out.push(record);
    if (record.status !== 'done') break;
  }
  return out;
}

/** A lock taken over from a process that ended: its iteration is no longer running, whatever its record says. */
export function markStale(store: Store, lock: HeldLock): void {
  const stale = lock.staleIteration === undefined ? undefined : store.iterations.get(lock.staleIteration);
  if (stale?.status !== 'running') return;
  store.iterations.save({ ...stale, status: 'failed', endedAt: new Date().toISOString(), verdict: { ...stale.verdict, error: 'The process running this round ended without finishing it (the editor or the command line was closed or killed).' } });
}

async function trainAndScore(env: RoundEnvironment, state: RoundState, resumeFrom: string | undefined): Promise<IterationRecord> {
  const { store } = env;
  const { number, config, recordConfig } = state;
  const emit = (event: RoundEvent): void => env.onEvent?.(event);
  // Seconds per phase, kept with the metrics: the next estimate reads them (estimateRound).
  const phaseSeconds: Partial<Record<RoundPhase, number>> = {};
  let current: { phase: RoundPhase; since: number } | undefined;
  const closePhase = (): void => {
    if (current !== undefined) phaseSeconds[current.phase] = (phaseSeconds[current.phase] ?? 0) + (performance.now() - current.since) / 1000;
    current = undefined;
  };
  const phase = (p: RoundPhase, message: string): void => {
    closePhase();
    current = { phase: p, since: performance.now() };
    emit({ event: 'phase', iteration: number, phase: p, message });
  };
  const dataset = recordConfig.dataset as { train: string; heldout: string };
  const teacherModel = config.teacher === 'anchored' ? config.model : String(recordConfig.startModel);
  const persistence = config.injection.mode === 'global' ? 'cumulative' : config.injection.persistence;
  const forward = (event: WorkerEvent): void => {
    if (event.event === 'progress') {
      const { id: _id, event: _e, ...rest } = event;
      // Off-policy without a CE term trains on the forward KL itself: the loss is the KL.
      emit({ event: 'progress', iteration: number, ...rest, ...(config.regime === 'off-policy' && rest.loss !== undefined && event.phase === 'train' ? { kl: rest.loss } : {}) });
    } else if (event.event === 'log') emit({ event: 'log', iteration: number, level: event.level, message: event.message });
    else if (event.event === 'checkpoint') {
      state.lastCheckpoint = event.path;
      emit({ event: 'checkpoint', iteration: number, path: event.path });
    }
  };

  phase('worker', 'starting the training worker');
  const start = env.startWorker ?? ((o: WorkerOptions) => WorkerClient.start(o));
  const worker = start({ python: env.python, env: env.workerEnv, onDiagnostic: env.onDiagnostic });
  const cancel = (): void => {
    void worker.cancel().catch(() => undefined);
  };
  env.signal?.addEventListener('abort', cancel, { once: true });
  const tail = (): string[] => worker.logTail();
  try {
    env.signal?.throwIfAborted();
    const hello = await worker.hello();
    if (config.device === 'cuda' && !hello.cuda) {
      throw new WorkerError(`CUDA was chosen, but the worker's torch ${hello.torch} sees no CUDA device on this machine. Choose the device "cpu" (or "auto", which uses a GPU only when there is one), or install a CUDA build of torch.`, 'no-cuda');
    }
    const models = env.modelsDir === undefined ? {} : { models_dir: env.modelsDir };
    phase('general', 'answering the general prompts with the base model (once per model)');
    // A smaller set of general prompts is a set of its own: its answers are kept apart from the full set's.
    const prompts = config.generalPrompts > 0 ? { prompts: config.generalPrompts } : {};
    const generalDir = generalAnswersDir(env.runsDir, config);
    const generalCached = generalAnswersCached(generalDir);
    const general = await worker.general({ model: config.model, ...models, ...prompts, out_dir: generalDir }, forward);
    const replay = config.replay ? general.replay : undefined;
    const retention = general.retention;
    // A resumed iteration keeps the samples it kept before: sampling again would train on another dataset.
    if (config.targets === 'teacher-samples' && recordConfig.targetStats === undefined) {
      phase('sample', `sampling ${String(config.samples.k)} teacher responses per training state (${config.samples.filter} filter)`);
      const sampled = await worker.sampleTargets({ model: teacherModel, ...models, dataset: dataset.train, persistence, config: workerSampleConfig(config.samples, config.seed), ...(config.device === 'auto' ? {} : { device: config.device }) }, forward);
      const recorded = readJsonl(dataset.train);
      const principles = new Map((store.snapshots.get(number)?.principles ?? []).map((p) => [p.id, p.text]));
      const warn = (message: string): void => {
        emit({ event: 'log', iteration: number, level: 'warning', message });
      };
      const { records, stats } = await teacherSampleRecords(recorded, sampled, config.samples.filter, { judge: env.judge, principles, signal: env.signal, onError: warn });
      const samplesPath = join(dirname(dataset.train), 'train-samples.jsonl');
      writeJsonl(samplesPath, records);
      recordConfig.dataset = { ...(recordConfig.dataset as Record<string, unknown>), recorded: dataset.train, train: samplesPath, trainRecords: records.length };
      recordConfig.targetStats = stats;
      store.iterations.save({ number, status: 'running', config: recordConfig, startedAt: state.startedAt });
      dataset.train = samplesPath;
      emit({ event: 'log', iteration: number, level: 'info', message: `Teacher samples: ${String(stats.kept)} of ${String(stats.sampled)} kept by the ${stats.filter} filter, from ${String(stats.statesWithKept)} of ${String(stats.states)} training states (${describeRejections(stats.rejected)}).` });
    }

    phase('train', `training (${config.regime}) from ${String(recordConfig.startModel)}`);
    const device = config.device === 'auto' ? {} : { device: config.device };
    // On a CPU the worker keeps every activation of a micro-batch for the backward pass (no checkpointing there):
    // 8 states of 512 tokens took SmolLM2-135M to 13.7 GB, 19 GB with iteration 2's replayed records, and a 24 GB
    // machine running the editor beside it ran out of memory. Micro-batches of 2 accumulated 4 times make the same
    // optimizer steps (the loss is normalized over the whole step's tokens) at about a quarter of the activations.
    const onCpu = config.device === 'cpu' || (config.device === 'auto' && !hello.cuda);
    const microBatches = onCpu ? { batch_size: CPU_MICRO_BATCH, grad_accum: STEP_RECORDS / CPU_MICRO_BATCH } : {};
    const earlier = config.replayKept ? earlierTrainingSets(env.store, state.number) : [];
    const earlierTokens = earlier.reduce((sum, path) => sum + fileTokens(path), 0);
    if (earlier.length > 0) emit({ event: 'log', iteration: state.number, level: 'info', message: `Replaying the training records of ${String(earlier.length)} earlier iteration(s) beside this one's.` });
    const distilled = await worker.distill(
      {
        model: String(recordConfig.startModel),
        ...(config.teacher === 'anchored' && recordConfig.startModel !== config.model ? { teacher_model: config.model } : {}),
        ...models,
        dataset: dataset.train,
        ...(earlier.length === 0 ? {} : { earlier_datasets: earlier }),
        ...(replay === undefined ? {} : { replay }),
        out_dir: join(state.outDir, 'train'),
        config: { regime: config.regime, persistence, epochs: config.epochs, learning_rate: config.learningRate, seed: config.seed, save_merged: true, lora: { r: config.loraRank, alpha: 2 * config.loraRank }, ...device, ...microBatches, ...(resumeFrom === undefined ? {} : { resume_from: resumeFrom }) },
      },
      forward,
    );
    const merged = distilled.metrics.merged;
    if (typeof merged !== 'string') throw new WorkerError('The worker finished training but saved no merged student; the next iteration would have nothing to start from.', 'no-merged');

    phase('score', 'scoring every principle on held-out states');
    const answers = env.judge === undefined ? 0 : config.judgeStates;
    const scored = await worker.scoreRound(
      { model: config.model, ...models, student: merged, dataset: dataset.heldout, retention, persistence, threshold: config.threshold, max_retention_increase: config.maxRetentionIncrease, ...device, ...(answers > 0 ? { answers, answer_tokens: config.samples.maxNewTokens } : {}) },
      forward,
    );
    let judged: Map<string, JudgeScore> | undefined;
    if (env.judge !== undefined && answers > 0) {
      phase('judge', `grading held-out answers for each principle with ${env.judge.model}`);
      const principles = new Map((store.snapshots.get(number)?.principles ?? []).map((p) => [p.id, p.text]));
      judged = await judgeScores(env.judge, scored.answers ?? [], readJsonl(dataset.heldout), principles, env.signal, (message) => {
        emit({ event: 'log', iteration: number, level: 'warning', message });
      });
    }
    closePhase();
    phase('save', 'writing the iteration');
    const collapsed = scored.collapse.collapsed;
    const heldout = (recordConfig.dataset as { heldoutRecords?: unknown } | undefined)?.heldoutRecords;
    const sampled = (recordConfig.targetStats as TargetStats | undefined)?.sampled ?? 0;
    const metrics = {
      ...roundMetrics(distilled.metrics, scored, recordConfig, judged),
      phase_seconds: phaseTimes(phaseSeconds, {
        generalCached,
        replayTokens: earlierTokens,
        judgeStates: judged === undefined ? 0 : Math.min(answers, typeof heldout === 'number' ? heldout : answers),
        sampledTokens: sampled * config.samples.maxNewTokens,
      }),
    };
    const final: IterationRecord = {
      number,
      status: collapsed ? 'collapsed' : 'done',
      config: recordConfig,
      adapterPath: typeof distilled.metrics.adapter === 'string' ? distilled.metrics.adapter : undefined,
      metrics,
      verdict: { ...scored.collapse },
      startedAt: state.startedAt,
      endedAt: new Date().toISOString(),
    };
    // One transaction: the iteration is done with its scores, or still running without them.
    store.transaction(() => {
      store.scores.save(number, scoreRows(scored, judged));
      store.iterations.save(final);
      store.runs.finish(state.runId, 'done');
    });
    emit({ event: 'done', iteration: number, record: final });
    return final;
  } catch (error) {
    throw new RoundFailure(error, tail(), state.lastCheckpoint);
  } finally {
    env.signal?.removeEventListener('abort', cancel);
    worker.dispose();
  }
}

/** A failure inside the worker's part of a round, carrying its log tail and the last checkpoint. */
export class RoundFailure extends Error {
  constructor(
    override readonly cause: unknown,
    readonly logTail: readonly string[],
    readonly checkpoint: string | undefined,
  ) {
    super(errorText(cause));
  }
}

/** Records a round that did not finish (failed, or cancelled when its signal was aborted) with its reason, log tail and checkpoint, in one transaction. */
export function recordFailure(env: Pick<RoundEnvironment, 'store' | 'signal' | 'onEvent'>, state: Pick<RoundState, 'number' | 'recordConfig' | 'startedAt' | 'runId' | 'lastCheckpoint'>, error: unknown): IterationRecord {
  const cancelled = env.signal?.aborted === true;
  const failure = error instanceof RoundFailure ? error : undefined;
  const reason = cancelled ? 'Stopped at your request.' : errorText(failure?.cause ?? error);
  const logTail = failure?.logTail ?? [];
  const checkpoint = failure?.checkpoint ?? state.lastCheckpoint;
  const record: IterationRecord = {
    number: state.number,
    status: cancelled ? 'cancelled' : 'failed',
    config: state.recordConfig,
    verdict: { error: reason, logTail, ...(checkpoint === undefined ? {} : { checkpoint }), ...(failure?.cause instanceof WorkerError ? { code: failure.cause.code } : {}) },
    startedAt: state.startedAt,
    endedAt: new Date().toISOString(),
  };
  env.store.transaction(() => {
    env.store.iterations.save(record);
    env.store.runs.finish(state.runId, cancelled ? 'cancelled' : 'failed', reason);
  });
  env.onEvent?.({ event: 'failed', iteration: state.number, status: cancelled ? 'cancelled' : 'failed', reason, logTail, ...(checkpoint === undefined ? {} : { checkpoint }) });
  return record;
}

/** One row per principle: the divergence score, and beside it in `detail.judge` the LLM-judge score when a judge graded it. */
function scoreRows(scored: RoundScoreResult, judged?: ReadonlyMap<string, JudgeScore>): { principleId: string; method: 'divergence'; score?: number; internalized: boolean; detail: Record<string, unknown> }[] {
  return scored.principles.map((p) => {
    const judge = judged?.get(p.id);
    return {
      principleId: p.id,
      method: 'divergence' as const,
      ...(p.score === null ? {} : { score: p.score }),
      internalized: p.internalized,
      detail: { kl_before: p.kl_before, kl_after: p.kl_after, states: p.states, tokens: p.tokens, reason: p.reason, ...(judge === undefined ? {} : { judge }) },
    };
  });
}

function roundMetrics(train: Readonly<Record<string, unknown>>, scored: RoundScoreResult, recordConfig: Readonly<Record<string, unknown>>, judged?: ReadonlyMap<string, JudgeScore>): Record<string, unknown> {
  const scores = scored.principles.flatMap((p) => (p.score === null ? [] : [p.score]));
  const dataset = recordConfig.dataset as DatasetStats | undefined;
  const judgeScores = judged === undefined ? [] : [...judged.values()].flatMap((j) => (j.score === null ? [] : [j.score]));
  const targets = recordConfig.targetStats as TargetStats | undefined;
  return {
    kind: 'own-data',
    principles_scored: scored.principles.length,
    principles_internalized: scored.principles.filter((p) => p.internalized).length,
    mean_score: scores.length === 0 ? null : scores.reduce((a, b) => a + b, 0) / scores.length,
    score_method: 'divergence',
    action_nll: scored.action_nll,
    retention_ratio: scored.retention?.ratio ?? null,
    retention: scored.retention,
    train: Object.fromEntries(Object.entries(train).filter(([k]) => k !== 'rank')),
    tokens_per_s: train.tokens_per_s,
    merged: train.merged,
    dataset: dataset === undefined ? undefined : { train: dataset.trainRecords, heldout: dataset.heldoutRecords, tokens: dataset.trainTokens, truncated: dataset.truncatedStates },
    targets: targets === undefined ? 'recorded' : `teacher-samples (${targets.filter})`,
    ...(targets === undefined ? {} : { samples_kept: targets.kept, samples_sampled: targets.sampled }),
    // Absent without a judge model: no judge score is not a score of zero.
    ...(judged === undefined ? {} : { judge_model: recordConfig.judge ?? null, mean_judge_score: judgeScores.length === 0 ? null : judgeScores.reduce((a, b) => a + b, 0) / judgeScores.length }),
  };
}
