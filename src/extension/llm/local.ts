import { join } from 'node:path';
import * as vscode from 'vscode';
import { localWorkerModel } from '../../core/distill/localModel.js';
import { WorkerClient, WorkerError } from '../../core/distill/worker.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import type { ModelChoice } from './models.js';

/** The worker is stopped after this long without a request, which frees the model's memory. */
const IDLE_MS = 5 * 60_000;

/**
 * The local worker's model as a summarizing model: a worker started on first use (never in an
 * untrusted workspace), kept while it is used, stopped when idle and when the extension stops.
 */
export function localModelProvider(ctx: InternalizeContext): () => ModelChoice | undefined {
  let worker: WorkerClient | undefined;
  let idle: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (idle !== undefined) clearTimeout(idle);
    worker?.dispose();
    worker = undefined;
  };
  ctx.push({ dispose: stop });
  const get = (): WorkerClient => {
    if (idle !== undefined) clearTimeout(idle);
    idle = setTimeout(stop, IDLE_MS);
    if (worker === undefined) {
      const storage = ctx.extension.globalStorageUri.fsPath;
      ctx.log.info(`Local model: starting the worker (${config.pythonPath() || 'python3'}) for ${config.baseModel()}`);
      worker = WorkerClient.start({
        python: config.pythonPath() || 'python3',
        cwd: storage,
        onDiagnostic: (line) => {
          ctx.log.debug(`[local model] ${line}`);
        },
      });
    }
    return worker;
  };
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
            modelsDir: process.env.INTERNALIZE_MODELS_DIR ?? join(ctx.extension.globalStorageUri.fsPath, 'models'),
            worker: get,
            onWorkerError: (error) => {
              // A worker that is gone is replaced on the next request; a job error leaves it serving.
              if (error instanceof WorkerError && ['exited', 'no-python', 'no-package', 'spawn-failed'].includes(error.code)) worker = undefined;
            },
          }),
        ),
    };
  };
}
