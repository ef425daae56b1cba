import { join } from 'node:path';
import { WorkerClient, WorkerError } from '../../core/distill/worker.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';

const IDLE_MS = 5 * 60_000;

/** Errors after which the worker process is gone: the next request starts a new one. */
const GONE = new Set(['exited', 'no-python', 'no-package', 'spawn-failed']);

export interface IdleWorker {
  /** The running worker, started now if there is none; each call keeps it alive for another idle period. */
  get(): WorkerClient;
  /** The running worker, if any, without starting one. */
  peek(): WorkerClient | undefined;
  /** Forgets a worker that a failure showed to be gone, so the next `get` starts a fresh one. */
  failed(error: unknown): void;
  stop(): void;
}

/**
 * A training worker started on first use, kept while it is used and stopped after five idle minutes
 * and when the extension stops. Callers check workspace trust before `get`: nothing here starts a
 * Python process on its own.
 */
export function idleWorker(ctx: InternalizeContext, label: string): IdleWorker {
  let worker: WorkerClient | undefined;
  let idle: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (idle !== undefined) clearTimeout(idle);
    worker?.dispose();
    worker = undefined;
  };
  ctx.push({ dispose: stop });
  return {
    get() {
      if (idle !== undefined) clearTimeout(idle);
      idle = setTimeout(stop, IDLE_MS);
      if (worker === undefined) {
        const python = config.pythonPath() || 'python3';
        ctx.log.info(`${label}: starting the worker (${python}) for ${config.baseModel()}`);
        worker = WorkerClient.start({
          python,
          cwd: ctx.extension.globalStorageUri.fsPath,
          onDiagnostic: (line) => {
            ctx.log.debug(`[${label}] ${line}`);
          },
        });
      }
      return worker;
    },
    peek: () => worker,
    failed(error) {
      if (error instanceof WorkerError && GONE.has(error.code)) stop();
    },
    stop,
  };
}

/** Where the worker finds and caches its models: the trainer's models folder of this window. */
export function modelsDir(ctx: InternalizeContext): string {
  return process.env.INTERNALIZE_MODELS_DIR ?? join(ctx.extension.globalStorageUri.fsPath, 'models');
}
