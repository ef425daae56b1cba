import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { TextEmbedder } from '../../core/embedding/embedder.js';
import { createEmbedder } from '../../core/embedding/resolve.js';
import { DatasetError, writeJsonl } from '../../core/distill/dataset.js';
import {
  describePhaseTimes,
  estimateMinutes,
  estimateRound,
  exportIterationDataset,
  parseRoundConfig,
  resumeRound,
  ROUND_SIZES,
  runRound,
  RoundConfigError,
  type RoundConfig,
  type RoundEnvironment,
  type RoundEvent,
} from '../../core/distill/round.js';
import { RoundBusyError } from '../../core/distill/roundLock.js';
import type { WorkerClient, WorkerOptions } from '../../core/distill/worker.js';
import { llmJudge, type LlmJudge } from '../../core/distill/judge.js';
import { textRedactor } from '../../core/experience/textRedaction.js';
import { openAiCompatibleModel } from '../../core/llm/openaiCompatible.js';
import { createRedactor } from '../../core/redaction/index.js';
import { openStore, type IterationRecord } from '../../core/store/index.js';
import { parseArgs, UsageError, type ParsedArgs } from '../args.js';
import { databasePath, type CliIo, type Command } from '../context.js';
import { iterationTable } from '../iterationTable.js';
import { distillWorld, isWorldIteration, worldConfigFrom } from './distillWorld.js';

const USAGE =
  'internalize distill [--toy | --suite [--principles P2,P6]] [--lean-memory] [--iterations N] [--model NAME|DIR] [--regime off-policy|on-policy|sft] [--injection stepwise|cumulative|global] [--k N] [--lora-rank N] [--epochs N] [--device auto|cpu|cuda] [--outcome success|failure|unknown|any] [--source NAME] [--workspace DIR] [--since DATE] [--until DATE] [--context-tokens N] [--size quick|full] [--targets recorded|teacher-samples] [--samples K] [--sample-filter divergence|judge] [--judge-url URL --judge-model NAME] [--judge-states N] [--auto-accept] [--dry-run] [--export-dataset FILE [--iteration N]] [--resume N] [--runs DIR] [--python PATH] [--models-dir DIR] [--db PATH]';

const SUMMARY = `Distill your accepted principles into a local model on your own trajectories, iteration after iteration: each iteration freezes the pool, builds the dataset (step-wise teacher views of your successful runs), trains from the previous student, scores every principle on held-out sessions by divergence, and lets the collapse guard decide.
  --size quick tries the loop in minutes on a CPU (at most 12 training and 6 held-out states spread over the runs, 512-token contexts, one epoch, 6 general prompts), as the editor's Quick check; --size full (the default) takes every decision state.
  --dry-run estimates records, tokens and the time of each phase without training (with --export-dataset FILE it also writes the dataset it would train and score on). --export-dataset FILE writes the dataset of the last iteration run (or of --iteration N, without running) as JSONL in the trainer's record format.
  --targets teacher-samples trains on the base model's own responses at each state (with its principles in context; --samples K per state, default 4) instead of the recorded actions, keeping those the filter accepts: divergence (default: fluent, and likelier with the principles than without) or judge (an LLM judge).
  --judge-url URL --judge-model NAME: an OpenAI-compatible endpoint (API key in INTERNALIZE_JUDGE_API_KEY) that judges teacher samples and gives each principle an LLM-judge score beside the divergence score (student against base answers on --judge-states held-out states, default 12). Text is redacted before it is sent.
  --auto-accept applies the pool operations the offline miner finds in trajectories captured since the previous iteration (without it they wait for review).
  --toy runs the built-in toy world instead (a tiny model learns four principles of a synthetic tool-use world, the whole loop in minutes on CPU); --suite runs the built-in principle suite on --model (checkers score each principle; --principles P2,P6 chooses which, all ten by default); both take --regime, --epochs and --injection stepwise|cumulative, write the same iteration records as the editor and resume with --resume N.
  Defaults: the built-in SmolLM2-135M-Instruct, off-policy, step-wise ephemeral injection, k 5, LoRA rank 8, 2 epochs, successful trajectories. The worker's Python is --python, else INTERNALIZE_PYTHON, else ./.venv/bin/python, else python3.`;

/** How the command gets its embedder; tests pass their own. */
export type EmbedderResolver = (io: CliIo) => Promise<TextEmbedder>;

const VALUES = ['db', 'size', 'iterations', 'model', 'regime', 'injection', 'k', 'lora-rank', 'epochs', 'device', 'outcome', 'source', 'workspace', 'since', 'until', 'context-tokens', 'targets', 'samples', 'sample-filter', 'judge-url', 'judge-model', 'judge-states', 'export-dataset', 'iteration', 'resume', 'runs', 'python', 'models-dir', 'principles'];
const FLAGS = ['dry-run', 'auto-accept', 'toy', 'suite', 'lean-memory'];

function whole(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const raw = args.options.get(name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/u.test(raw) || Number(raw) < min || Number(raw) > max) throw new UsageError(`--${name} must be a whole number from ${String(min)} to ${String(max)}, not "${raw}".`);
  return Number(raw);
}

/** The round's configuration from the command line, validated by the same parser the editor's settings go through. */
export function configFrom(args: ParsedArgs, cwd: string): RoundConfig {
  const raw: Record<string, unknown> = {};
  // The size first: --epochs and --context-tokens given beside it win over its values.
  const size = args.options.get('size');
  if (size !== undefined) {
    if (size !== 'quick' && size !== 'full') throw new UsageError(`--size must be quick or full, not "${size}".`);
    Object.assign(raw, ROUND_SIZES[size]);
  }
  const model = args.options.get('model');
  // A path the user typed is relative to where they typed it; a built-in name stays a name.
  if (model !== undefined) raw.model = model.includes('/') || model.includes('\\') || model.startsWith('.') ? resolve(cwd, model) : model;
  const regime = args.options.get('regime');
  if (regime !== undefined) raw.regime = regime;
  const injection: Record<string, unknown> = {};
  const mode = args.options.get('injection');
  if (mode !== undefined) {
    if (mode === 'stepwise' || mode === 'ephemeral') Object.assign(injection, { mode: 'stepwise', persistence: 'ephemeral' });
    else if (mode === 'cumulative') Object.assign(injection, { mode: 'stepwise', persistence: 'cumulative' });
    else if (mode === 'global') injection.mode = 'global';
    else throw new UsageError(`--injection must be stepwise, cumulative or global, not "${mode}".`);
  }
  const k = whole(args, 'k', 1, 8);
  if (k !== undefined) injection.k = k;
  raw.injection = injection;
  const rank = whole(args, 'lora-rank', 1, 256);
  if (rank !== undefined) raw.loraRank = rank;
  const epochs = whole(args, 'epochs', 1, 50);
  if (epochs !== undefined) raw.epochs = epochs;
  const context = whole(args, 'context-tokens', 128, 131_072);
  if (context !== undefined) raw.contextTokens = context;
  const device = args.options.get('device');
  if (device !== undefined) raw.device = device;
  const selection: Record<string, unknown> = {};
  for (const key of ['outcome', 'source', 'workspace', 'since', 'until']) {
    const value = args.options.get(key);
    if (value !== undefined) selection[key] = key === 'workspace' ? resolve(cwd, value) : value;
  }
  raw.selection = selection;
  const targets = args.options.get('targets');
  if (targets !== undefined) raw.targets = targets;
  const samples: Record<string, unknown> = {};
  const count = whole(args, 'samples', 1, 32);
  if (count !== undefined) samples.k = count;
  const filter = args.options.get('sample-filter');
  if (filter !== undefined) samples.filter = filter;
  if (Object.keys(samples).length > 0) {
    if (targets !== 'teacher-samples') throw new UsageError('--samples and --sample-filter go with --targets teacher-samples.');
    raw.samples = samples;
  }
  const judgeStates = whole(args, 'judge-states', 0, 500);
  if (judgeStates !== undefined) raw.judgeStates = judgeStates;
  try {
    return parseRoundConfig(raw, 'options');
  } catch (error) {
    if (error instanceof RoundConfigError) {
      throw new UsageError(error.message.replace(/\bloraRank\b/u, '--lora-rank').replace(/\bselection\.(\w+)/gu, '--$1').replace(/\bsamples\.k\b/u, '--samples').replace(/\bsamples\.filter\b/u, '--sample-filter').replace(/\bjudgeStates\b/u, '--judge-states'));
    }
    throw error;
  }
}

/** The LLM judge of --judge-url and --judge-model (both or neither), behind the same redaction as Summarize's prompts. */
export async function judgeFrom(args: ParsedArgs, io: CliIo): Promise<LlmJudge | undefined> {
  const url = args.options.get('judge-url');
  const model = args.options.get('judge-model');
  if (url === undefined && model === undefined) return undefined;
  if (url === undefined || model === undefined) throw new UsageError('--judge-url and --judge-model go together: the OpenAI-compatible endpoint and the model name there.');
  if (!/^https?:\/\//u.test(url)) throw new UsageError(`--judge-url must be an http(s) URL such as http://127.0.0.1:8080/v1, not "${url}".`);
  const apiKey = io.env.INTERNALIZE_JUDGE_API_KEY;
  return llmJudge(openAiCompatibleModel({ baseUrl: url, model, ...(apiKey === undefined || apiKey === '' ? {} : { apiKey }), maxRetries: 3 }), textRedactor(await createRedactor()));
}

function pythonFor(args: ParsedArgs, io: CliIo): string {
  const given = args.options.get('python') ?? io.env.INTERNALIZE_PYTHON;
  if (given !== undefined && given !== '') return resolve(io.cwd, given);
  const venv = join(io.cwd, '.venv', 'bin', 'python');
  return existsSync(venv) ? venv : 'python3';
}

/** Progress for a terminal: each phase once, each worker phase (training, a suite's calibration…) every tenth of the way, log lines as they come. */
export function progressPrinter(io: CliIo): (event: RoundEvent) => void {
  let lastTenth = -1;
  let lastStage = '';
  return (e) => {
    if (e.event === 'phase') {
      lastTenth = -1;
      io.err(`[iteration ${String(e.iteration)}] ${e.message}\n`);
    } else if (e.event === 'progress') {
      const stage = `${e.phase}${e.principle === undefined ? '' : ` ${e.principle}`}`;
      const tenth = Math.floor((10 * e.step) / Math.max(e.total, 1));
      if (tenth === lastTenth && stage === lastStage) return;
      lastTenth = tenth;
      lastStage = stage;
      const parts = [`  ${stage} ${String(e.step)}/${String(e.total)}`];
      if (e.loss !== undefined) parts.push(`loss ${e.loss.toFixed(4)}`);
      if (e.tokens_per_s !== undefined) parts.push(`${String(Math.round(e.tokens_per_s))} tok/s`);
      if (e.eta_s !== undefined && e.eta_s > 0) parts.push(`ETA ${String(Math.ceil(e.eta_s))} s`);
      io.err(`${parts.join(' · ')}\n`);
    } else if (e.event === 'log' && e.level !== 'debug') io.err(`  ${e.message}\n`);
    else if (e.event === 'failed') io.err(`[iteration ${String(e.iteration)}] ${e.status}: ${e.reason}\n${e.logTail.length > 0 ? `  worker log tail:\n${e.logTail.map((l) => `    ${l}`).join('\n')}\n` : ''}`);
  };
}

/** Tests may start the worker their own way (to end it the hard way mid-round). */
export type WorkerStarter = (options: WorkerOptions) => WorkerClient;

export function makeDistillCommand(resolveEmbedder: EmbedderResolver, startWorker?: WorkerStarter): Command {
  return {
    name: 'distill',
    usage: USAGE,
    summary: SUMMARY,
    async run(argv, io) {
      const args = parseArgs(argv, { values: VALUES, flags: FLAGS });
      if (args.positionals.length > 0) throw new UsageError(`distill takes no positional arguments; got ${args.positionals.join(' ')}.`);
      const iterations = whole(args, 'iterations', 1, 20) ?? 1;
      const resume = whole(args, 'resume', 1, 1_000_000);
      const only = whole(args, 'iteration', 1, 1_000_000);
      const exportTo = args.options.get('export-dataset');
      if (only !== undefined && exportTo === undefined) throw new UsageError('--iteration N goes with --export-dataset FILE (which iteration\'s dataset to write).');
      const config = configFrom(args, io.cwd);
      const judge = await judgeFrom(args, io);
      const world = worldConfigFrom(args, config);
      const dbPath = databasePath(args.options.get('db'), io);
      const store = openStore(dbPath);
      try {
        const runsDir = resolve(io.cwd, args.options.get('runs') ?? join(dirname(dbPath), 'runs'));
        const modelsDir = args.options.get('models-dir') ?? io.env.INTERNALIZE_MODELS_DIR;
        const base = { store, runsDir, python: pythonFor(args, io), ...(modelsDir === undefined || modelsDir === '' ? {} : { modelsDir: resolve(io.cwd, modelsDir) }), onEvent: progressPrinter(io), ...(startWorker === undefined ? {} : { startWorker }) };
        // A built-in round needs no embedder: it goes to its own service before one is loaded.
        if (world !== undefined) return await distillWorld(io, base, { config: world });
        if (resume !== undefined && isWorldIteration(store, resume)) return await distillWorld(io, base, { resume });
        if (exportTo !== undefined && only !== undefined) {
          try {
            const n = exportIterationDataset(store, only, resolve(io.cwd, exportTo));
            io.out(`Wrote ${String(n)} records of iteration ${String(only)} to ${resolve(io.cwd, exportTo)}.\n`);
            return 0;
          } catch (error) {
            if (!(error instanceof RoundConfigError || error instanceof DatasetError)) throw error;
            io.err(`${error.message}\n`);
            return 1;
          }
        }
        const embedder = await resolveEmbedder(io);
        const abort = new AbortController();
        const stop = (): void => {
          io.err('Stopping: the worker saves a checkpoint at its next step…\n');
          abort.abort();
        };
        process.once('SIGINT', stop);
        try {
          const env: RoundEnvironment = { ...base, embedder, ...(judge === undefined ? {} : { judge }), continual: { autoAccept: args.flags.has('auto-accept') }, signal: abort.signal };
          if (args.flags.has('dry-run')) {
            const estimate = await estimateRound(env, config);
            const s = estimate.stats;
            io.out(
              `Embedder: ${embedder.id}\nA round on ${config.model} (${config.regime}, ${config.injection.mode === 'global' ? 'global' : `step-wise ${config.injection.persistence}`}, k ${String(config.injection.k)}) would train on ${String(s.trainRecords)} states and score on ${String(s.heldoutRecords)} held-out states, from ${String(s.trajectories)} trajectories (${String(s.sessions.train)} training / ${String(s.sessions.heldout)} held-out sessions).\n` +
                `About ${String(s.trainTokens)} tokens per epoch, ${String(config.epochs)} epoch${config.epochs === 1 ? '' : 's'}; ${String(s.truncatedStates)} states cut to ${String(config.contextTokens)} tokens; left out: ${String(s.skipped.noPrinciples)} steps without a selected principle, ${String(s.skipped.noObservation)} without an observation to carry the block, ${String(s.skipped.emptyAction)} with an empty action, ${String(s.skipped.actionTooLong)} with an action too long for the context.\n` +
                `Estimated time: about ${estimateMinutes(estimate.seconds)} for the first iteration (${describePhaseTimes(estimate.phases)}), ${estimateMinutes(estimate.loopSeconds(iterations))} for ${String(iterations)} iteration${iterations === 1 ? '' : 's'}, training at ${String(Math.round(estimate.tokensPerSecond))} tokens/s (${estimate.basis === 'assumed' ? `assumed for a ~135M model on ${config.device === 'cuda' ? 'a GPU' : 'CPU'}; a finished iteration measures each phase` : `the rates measured in ${estimate.basis}`}).${estimate.replayTokens > 0 ? ` Training replays about ${String(estimate.replayTokens)} tokens of earlier iterations' records.` : ''}\n`,
            );
            if (exportTo !== undefined) {
              // The dataset this round would train and score on, written for inspection; nothing trains.
              const to = resolve(io.cwd, exportTo);
              const { train, heldout } = estimate.dataset;
              writeJsonl(to, [...train, ...heldout]);
              io.out(`Wrote the planned dataset, ${String(train.length)} training and ${String(heldout.length)} held-out records (each record's meta.split says which), to ${to}.\n`);
            }
            return 0;
          }
          const records: IterationRecord[] = [];
          if (resume !== undefined) records.push(await resumeRound(env, resume));
          else {
            for (let i = 0; i < iterations; i++) {
              const record = await runRound(env, config);
              records.push(record);
              if (record.status !== 'done' || abort.signal.aborted) break;
            }
          }
          io.out(iterationTable(store, records));
          const last = records.at(-1);
          if (exportTo !== undefined && last?.config.dataset !== undefined) {
            const n = exportIterationDataset(store, last.number, resolve(io.cwd, exportTo));
            io.out(`Wrote ${String(n)} records of iteration ${String(last.number)} to ${resolve(io.cwd, exportTo)}.\n`);
          }
          if (last?.verdict?.code === 'no-cuda') io.err('Run again with --device cpu (or --device auto) to train on this machine\'s CPU.\n');
          return records.every((r) => r.status === 'done') ? 0 : 1;
        } catch (error) {
          if (error instanceof DatasetError || error instanceof RoundBusyError || error instanceof RoundConfigError) {
            io.err(`${error.message}\n`);
            return 1;
          }
          throw error;
        } finally {
          process.removeListener('SIGINT', stop);
          await embedder.dispose();
        }
      } finally {
        store.close();
      }
    },
  };
}

export const distillCommand = makeDistillCommand((io) => createEmbedder({ env: io.env }));
