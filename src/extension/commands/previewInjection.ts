import { join } from 'node:path';
import * as vscode from 'vscode';
import { WorkerClient, WorkerError } from '../../core/distill/worker.js';
import { windowEmbedder } from '../embedder.js';
import { parseInjectionOptions } from '../../core/injection/options.js';
import { renderViews } from '../../core/injection/renderer.js';
import type { InjectionOptions } from '../../core/injection/types.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { reportError } from '../errors.js';
import { availableModels } from '../llm/models.js';
import { InjectionPanels, type DivergenceSource, type PreviewServices } from '../webviews/injectionPanel.js';
import { divergenceRecords, planPreview } from '../webviews/injectionModel.js';
import { idFrom, pickTrajectory } from './trajectories.js';

/** The planner's options from settings; a bad value is refused with the setting that is wrong. */
function optionsFromSettings(): InjectionOptions {
  return parseInjectionOptions(
    {
      mode: config.injectionMode(),
      persistence: config.injectionPersistence(),
      selector: config.injectionSelector(),
      k: config.injectionTopK(),
      scoreFloor: config.injectionScoreFloor(),
      blockTemplate: config.injectionBlockTemplate(),
      targetModel: config.baseModel(),
    },
    'settings (internalize.injection.*)',
  );
}

const RERANK_NEEDS_MODEL = 'The LLM re-rank needs a language model: a VS Code chat model, or internalize.llm.baseUrl and internalize.llm.model for an OpenAI-compatible endpoint.';

/** The worker is stopped after this long without a divergence request, which frees the model's memory. */
const IDLE_MS = 5 * 60_000;

/**
 * The divergence column's worker: started only when the user asks (never in an untrusted
 * workspace), kept while the column is used, stopped when idle and when the extension stops.
 */
function workerDivergence(ctx: InternalizeContext, render: PreviewServices['render']): DivergenceSource {
  let worker: WorkerClient | undefined;
  let idle: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (idle !== undefined) clearTimeout(idle);
    worker?.dispose();
    worker = undefined;
  };
  ctx.push({ dispose: stop });
  const touch = (): void => {
    if (idle !== undefined) clearTimeout(idle);
    idle = setTimeout(stop, IDLE_MS);
  };
  return {
    status() {
      if (!vscode.workspace.isTrusted) return { ready: false, reason: 'This workspace is not trusted, and Internalize never starts its training worker (a Python process) in an untrusted workspace.', action: 'trust' };
      if (worker === undefined) {
        return {
          ready: false,
          reason: `The divergence column needs the training worker with ${config.baseModel()} loaded (internalize.trainer.baseModel, run by ${config.pythonPath() || 'python3'}); it is not running.`,
          action: 'startWorker',
        };
      }
      return { ready: true, model: config.baseModel() };
    },
    async start() {
      if (!vscode.workspace.isTrusted || worker !== undefined) return;
      const python = config.pythonPath() || 'python3';
      ctx.log.info(`Injection Preview: starting the worker (${python}) for divergence scores with ${config.baseModel()}`);
      const started = WorkerClient.start({
        python,
        cwd: ctx.extension.globalStorageUri.fsPath,
        onDiagnostic: (line) => {
          ctx.log.debug(`[divergence] ${line}`);
        },
      });
      worker = started;
      touch();
      try {
        await started.hello();
      } catch (error) {
        if (worker === started) stop();
        throw error;
      }
    },
    async score(trajectory, plan, positions) {
      const running = worker;
      if (running === undefined) throw new Error('the training worker is not running');
      touch();
      const { records, positions: scored, zero } = divergenceRecords(trajectory, plan, positions, render);
      const none = zero.map((position) => ({ position, klPerToken: 0, tokens: 0 }));
      if (records.length === 0) return none;
      try {
        const result = await running.score({
          model: config.baseModel(),
          models_dir: process.env.INTERNALIZE_MODELS_DIR ?? join(ctx.extension.globalStorageUri.fsPath, 'models'),
          dataset: records,
          persistence: plan.options.persistence,
        });
        return [
          ...none,
          ...result.scores.flatMap((s) => {
            const position = scored[s.record];
            return position === undefined ? [] : [{ position, klPerToken: Math.max(0, s.kl_per_token), tokens: s.tokens }];
          }),
        ];
      } catch (error) {
        // A worker that is gone is replaced on the user's next request.
        if (error instanceof WorkerError && ['exited', 'no-python', 'no-package', 'spawn-failed'].includes(error.code)) stop();
        throw error;
      }
    },
  };
}

/**
 * "Preview Injection": from a trajectory row (context menu, inline), the trajectory timeline's
 * toolbar, or the palette (pick a trajectory). One preview per trajectory.
 */
export function registerPreviewInjectionCommand(ctx: InternalizeContext): void {
  const render: PreviewServices['render'] = renderViews;
  // The window's one embedder (internalize.embedding.* settings), shared with About and the language-model tools.
  const embedder = windowEmbedder(ctx);
  const divergence = workerDivergence(ctx, render);
  const panels = new InjectionPanels(ctx, {
    options: optionsFromSettings,
    plan: async (trajectory, options, signal) => {
      // The re-rank model: the first the user has (VS Code's chat models, then an OpenAI-compatible endpoint).
      const rerank = options.selector === 'rerank' ? await (await availableModels(ctx))[0]?.create() : undefined;
      if (options.selector === 'rerank' && rerank === undefined) throw new Error(RERANK_NEEDS_MODEL);
      return planPreview({ store: ctx.getStore(), trajectory, options, signal, rerank, embedder: await embedder() });
    },
    render,
    rerankUnavailable: async () => {
      const models = await availableModels(ctx);
      return models.length > 0 ? undefined : RERANK_NEEDS_MODEL;
    },
    divergence,
  });
  ctx.push(
    vscode.commands.registerCommand('internalize.previewInjection', async (arg: unknown) => {
      try {
        const id = idFrom(arg) ?? (await pickTrajectory(ctx, 'Preview Injection'));
        if (id !== undefined) panels.show(id);
      } catch (error) {
        await reportError(ctx.log, 'Internalize could not open the Injection Preview', error);
      }
    }),
  );
}
