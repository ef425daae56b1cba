import * as vscode from 'vscode';
import { localWorkerModel } from '../../core/distill/localModel.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { idleWorker, modelsDir } from '../worker/idleWorker.js';
import type { ModelChoice } from './models.js';

/**
 * The local worker's model as a summarizing model: a worker started on first use (never in an
 * untrusted workspace), kept while it is used, stopped when idle and when the extension stops.
 */
export function localModelProvider(ctx: InternalizeContext): () => ModelChoice | undefined {
  const pool = idleWorker(ctx, 'local model');
  return () => {
    if (!vscode.workspace.isTrusted) return undefined;
    const model = config.baseModel();
    return {
      provider: 'local',
      label: `${model} (local)`,
      detail: 'on this machine, in the training worker; nothing leaves it (a small model: expect modest principles)',
      create: () =>
        Promise.resolve(
          localWorkerModel({
            model,
            modelsDir: modelsDir(ctx),
            worker: () => pool.get(),
            // A worker that is gone is replaced on the next request; a job error leaves it serving.
            onWorkerError: (error) => {
              pool.failed(error);
            },
          }),
        ),
    };
  };
}
