import * as vscode from 'vscode';
import { parseInjectionOptions } from '../../core/injection/options.js';
import { renderViews } from '../../core/injection/renderer.js';
import type { InjectionOptions } from '../../core/injection/types.js';
import { config } from '../config.js';
import { windowEmbedder } from '../embedder.js';
import type { InternalizeContext } from '../context.js';
import { reportError } from '../errors.js';
import { availableModels } from '../llm/models.js';
import { InjectionPanels, type DivergenceSource, type PreviewServices } from '../webviews/injectionPanel.js';
import { divergenceRecords, planPreview } from '../webviews/injectionModel.js';
import { idleWorker, modelsDir } from '../worker/idleWorker.js';
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

/**
 * The divergence column's worker: started only when the user asks (never in an untrusted
 * workspace), kept while the column is used, stopped when idle and when the extension stops.
 */
function workerDivergence(ctx: InternalizeContext, render: PreviewServices['render']): DivergenceSource {
  const pool = idleWorker(ctx, 'divergence');
  return {
    status() {
      if (!vscode.workspace.isTrusted) return { ready: false, reason: 'This workspace is not trusted, and Internalize never starts its training worker (a Python process) in an untrusted workspace.', action: 'trust' };
      if (pool.peek() === undefined) {
        return {
          ready: false,
          reason: `The divergence column needs the training worker with ${config.baseModel()} loaded (internalize.trainer.baseModel, run by ${config.pythonPath() || 'python3'}); it is not running.`,
          action: 'startWorker',
        };
      }
      return { ready: true, model: config.baseModel() };
    },
    async start() {
      if (!vscode.workspace.isTrusted || pool.peek() !== undefined) return;
      try {
        await pool.get().hello();
      } catch (error) {
        pool.stop();
        throw error;
      }
    },
    async score(trajectory, plan, positions) {
      if (pool.peek() === undefined) throw new Error('the training worker is not running');
      const running = pool.get();
      const { records, positions: scored, zero } = divergenceRecords(trajectory, plan, positions, render);
      const none = zero.map((position) => ({ position, klPerToken: 0, tokens: 0 }));
      if (records.length === 0) return none;
      try {
        const result = await running.score({
          model: config.baseModel(),
          models_dir: modelsDir(ctx),
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
        pool.failed(error);
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
