import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { summarizeIteration } from '../../core/distill/ledger.js';
import { adoptSuitePrinciples, recordSuiteScores, suiteReport } from '../../core/distill/suite.js';
import { WorkerClient, type WorkerEvent } from '../../core/distill/worker.js';
import type { IterationRecord, Store } from '../../core/store/index.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { reportError } from '../errors.js';
import { runDashboard } from '../webviews/runDashboard.js';
import { resumePreset } from './iterationsPlan.js';

interface Running {
  readonly worker: WorkerClient;
  readonly iteration: number;
  cancelled: boolean;
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

/** The toy world: a tiny model learns four principles of a synthetic tool-use world, in under a minute. */
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
      { label: '$(beaker) Toy world', description: 'built in · under a minute', detail: 'A tiny model learns four principles of a synthetic tool-use world: the whole loop on CPU.', id: 'toy' },
      { label: '$(lightbulb) My principles and trajectories', description: 'needs the injection planner', detail: 'Distill your accepted principles into your base model.', id: 'mine' },
    ];
    // Resume Round (commands/iterations.ts): the same kind of round re-runs the same iteration from its checkpoint.
    const resume = resumePreset(preset);
    const kind = resume !== undefined ? kinds.find((k) => k.id === resume.kind) : typeof preset === 'string' ? kinds.find((k) => k.id === preset) : await vscode.window.showQuickPick(kinds, { title: 'Start Distillation Round', placeHolder: 'What should this round internalize?' });
    if (kind === undefined) return;
    if (kind.id === 'mine') {
      void vscode.window.showWarningMessage(
        `Internalize ${ctx.version}: rounds on your own principles are not available in this build yet; they arrive with the step-wise injection planner and dataset builder. The principle suite and the toy world run the same trainer.`,
      );
      return;
    }
    const store = ctx.getStore();
    const number = resume?.iteration ?? (store.iterations.latest()?.number ?? 0) + 1;
    const storage = ctx.extension.globalStorageUri.fsPath;
    const outDir = join(storage, 'runs', `iteration-${String(number)}`);
    mkdirSync(outDir, { recursive: true });
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
    const current: Running = { worker, iteration: number, cancelled: false };
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
      await running.worker.cancel().catch(() => undefined);
    }),
    { dispose: () => running?.worker.dispose(0) },
  );
}
