/**
 * llama.cpp's OpenAI-compatible server (llama-cpp-python's `llama_cpp.server`) on 127.0.0.1: started on a
 * free port, ready once it answers `/v1/models`, stopped with everything in its process group. The editor's
 * local summarizer, the contract tests and the experience benchmark all start it here, so the arguments,
 * the readiness check and the error messages are one piece of code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import type { ChatRequest, ChatResponse, LanguageModel } from './languageModel.js';
import { estimateTokens } from './languageModel.js';
import { openAiCompatibleModel } from './openaiCompatible.js';

export interface LlamaServerOptions {
  /** An interpreter with llama-cpp-python[server] installed (scripts/setup-llama-server.sh builds one). */
  readonly python: string;
  /** The GGUF model file. */
  readonly gguf: string;
  /** The name the server serves the model under; the `model` of every request. */
  readonly alias: string;
  readonly contextTokens?: number;
  /** Threads for generation and for the prompt; see `llamaThreads`. */
  readonly threads?: number;
  readonly seed?: number;
  /** A fixed port; without one a free port is taken (and another one if it is taken meanwhile). */
  readonly port?: number;
  readonly readyWithinMs?: number;
}

export type LlamaServerErrorKind = 'binary-missing' | 'model-missing' | 'port-in-use' | 'crashed' | 'timeout';

/** Why the server could not be started, with the end of its log (empty when it never ran). */
export class LlamaServerError extends Error {
  override readonly name = 'LlamaServerError';
  constructor(
    message: string,
    readonly kind: LlamaServerErrorKind,
    readonly logTail = '',
  ) {
    super(message);
  }
}

export interface LlamaServer {
  /** `http://127.0.0.1:PORT/v1` */
  readonly baseUrl: string;
  readonly process: ChildProcess;
  /** The end of what the server wrote to stdout and stderr (its log). */
  log(): string;
  /** Ends the server and its process group (SIGTERM, SIGKILL after `graceMs`) and waits until it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const LOG_KEEP = 20_000;

/**
 * Threads for a machine with `cores` cores: one core is left to the editor and the extension host, and at
 * most 8 are used. On a shared 2-core machine that is one thread, which matters: two OpenMP threads that
 * spin against other load collapse to a few tokens a second (bench/llm/RESULTS.md).
 */
export function llamaThreads(cores: number): number {
  return Math.max(1, Math.min(8, cores - 1));
}

/** The server's command line after the interpreter. */
export function llamaServerArgs(options: LlamaServerOptions, port: number): string[] {
  const threads = String(options.threads ?? 1);
  const args = ['-m', 'llama_cpp.server', '--model', options.gguf, '--model_alias', options.alias, '--host', '127.0.0.1', '--port', String(port)];
  args.push('--n_ctx', String(options.contextTokens ?? 2048), '--n_threads', threads, '--n_threads_batch', threads);
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  return args;
}

/** The last lines of a log, on one line, for an error message. */
export function logTail(log: string, lines = 5): string {
  return log
    .trim()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-lines)
    .join(' | ');
}

/**
 * What a server that exited before it was ready says about why, read from its log: the interpreter lacks
 * llama-cpp-python, the port was taken, or anything else (a crash, with the log's end).
 */
export function exitError(options: LlamaServerOptions, port: number, log: string, code: number | null, signal: NodeJS.Signals | null): LlamaServerError {
  const tail = logTail(log);
  if (/No module named '?llama_cpp/u.test(log)) {
    return new LlamaServerError(`${options.python} has no llama-cpp-python server (${tail}); install llama-cpp-python[server] into it, or point to an interpreter that has it (scripts/setup-llama-server.sh builds one).`, 'binary-missing', tail);
  }
  if (/address already in use/iu.test(log)) {
    return new LlamaServerError(`port ${String(port)} on 127.0.0.1 is already in use, so llama.cpp's server could not listen there; stop what holds it or choose another port.`, 'port-in-use', tail);
  }
  const how = signal === null ? `with code ${String(code)}` : `on ${signal}`;
  return new LlamaServerError(`llama.cpp's server exited ${how} before it was ready, serving ${options.gguf}: ${tail || 'it wrote nothing'}`, 'crashed', tail);
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

/** Whether something already listens on `port`: a fixed port that is taken fails before the model loads. */
async function portTaken(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise<boolean>((resolve) => {
    probe.once('error', () => { resolve(true); });
    probe.listen(port, '127.0.0.1', () => probe.close(() => { resolve(false); }));
  });
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { resolve(false); }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Signals the child's process group (it leads one: see `spawn` below), or the child alone where there are none. */
function signalTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (exited(child) || child.pid === undefined) return;
  try {
    if (process.platform === 'win32') child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts the server and resolves once it serves `options.alias` on `/v1/models`. Fails with a
 * LlamaServerError that says which of its kinds went wrong; a server that is not ready in time is killed.
 */
export async function startLlamaServer(options: LlamaServerOptions): Promise<LlamaServer> {
  if (!existsSync(options.python)) {
    throw new LlamaServerError(`no interpreter at ${options.python}: llama.cpp's server runs in a Python with llama-cpp-python[server] (scripts/setup-llama-server.sh builds one in .cache/llama-venv).`, 'binary-missing');
  }
  if (!existsSync(options.gguf)) throw new LlamaServerError(`no model file at ${options.gguf}; fetch it again or choose another model.`, 'model-missing');
  if (options.port !== undefined) {
    if (await portTaken(options.port)) throw new LlamaServerError(`port ${String(options.port)} on 127.0.0.1 is already in use; stop what holds it or choose another port.`, 'port-in-use');
    return startOn(options, options.port);
  }
  let last: LlamaServerError | undefined;
  // A free port can be taken between the probe and the server's bind; another one is tried then.
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOn(options, await freePort());
    } catch (error) {
      if (!(error instanceof LlamaServerError) || error.kind !== 'port-in-use') throw error;
      last = error;
    }
  }
  throw last ?? new LlamaServerError('no free port for llama.cpp\'s server', 'port-in-use');
}

async function startOn(options: LlamaServerOptions, port: number): Promise<LlamaServer> {
  // Its own process group, so that stop() reaches whatever the server starts; PASSIVE keeps idle OpenMP threads from spinning.
  const child = spawn(options.python, llamaServerArgs(options, port), {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1', OMP_WAIT_POLICY: 'PASSIVE' },
    detached: process.platform !== 'win32',
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-LOG_KEEP);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let spawnError: Error | undefined;
  child.on('error', (error) => (spawnError = error));
  // A host that exits (a test runner, the extension host) must not leave a server behind.
  const reap = (): void => {
    signalTree(child, 'SIGKILL');
  };
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));
  const baseUrl = `http://127.0.0.1:${String(port)}/v1`;
  const server: LlamaServer = {
    baseUrl,
    process: child,
    log: () => output,
    async stop(graceMs = 5_000) {
      signalTree(child, 'SIGTERM');
      if (!(await waitForExit(child, graceMs))) {
        signalTree(child, 'SIGKILL');
        await waitForExit(child, 5_000);
      }
    },
  };
  const readyWithinMs = options.readyWithinMs ?? 60_000;
  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    if (spawnError !== undefined) {
      process.removeListener('exit', reap);
      throw new LlamaServerError(`could not run ${options.python} (${spawnError.message}); point to an interpreter with llama-cpp-python[server].`, 'binary-missing');
    }
    if (exited(child)) throw exitError(options, port, output, child.exitCode, child.signalCode);
    if (await serves(baseUrl, options.alias) && !exited(child)) return server;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop();
  const tail = logTail(output);
  throw new LlamaServerError(`llama.cpp's server did not answer within ${String(readyWithinMs / 1000)} s (${tail || 'it wrote nothing'}); it was stopped. A large model on a busy machine may need longer.`, 'timeout', tail);
}

/** Whether the server at `baseUrl` answers and serves `alias` (so a stranger on the same port is not taken for it). */
async function serves(baseUrl: string, alias: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/models`, { signal: AbortSignal.timeout(1_000) });
    if (!response.ok) return false;
    const body = (await response.json()) as { data?: { id?: unknown }[] };
    return body.data?.some((m) => m.id === alias) === true;
  } catch {
    return false; // not listening yet
  }
}

/** Schedules `run` after `ms` and returns what cancels it; injected so a test need not wait minutes. */
export type Schedule = (run: () => void, ms: number) => () => void;

const realSchedule: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms);
  // An idle timer alone keeps no process alive.
  timer.unref();
  return () => { clearTimeout(timer); };
};

export interface OnDemandOptions {
  /** Starts a server; called on first use and again after an idle stop or a crash. */
  readonly start: () => Promise<LlamaServer>;
  /** How long the server may sit unused before it is stopped. */
  readonly idleMs: number;
  readonly schedule?: Schedule;
  /** One line per start and stop, for the log. */
  readonly onEvent?: (line: string) => void;
}

/**
 * One server, started on first use, kept while requests use it, stopped `idleMs` after the last one
 * ends, and started again by the next request; a server that crashes is replaced the same way.
 */
export class OnDemandLlamaServer {
  private running: Promise<LlamaServer> | undefined;
  private cancelIdle: (() => void) | undefined;
  private busy = 0;
  private readonly schedule: Schedule;

  constructor(private readonly options: OnDemandOptions) {
    this.schedule = options.schedule ?? realSchedule;
  }

  /** The running server, or the one being started, without starting one. */
  current(): Promise<LlamaServer> | undefined {
    return this.running;
  }

  /** Runs `task` against the server (started if needed); the idle period starts when the last task ends. */
  async use<T>(task: (server: LlamaServer) => Promise<T>): Promise<T> {
    this.busy++;
    this.cancelIdle?.();
    this.cancelIdle = undefined;
    try {
      return await task(await this.server());
    } finally {
      this.busy--;
      this.armIdle();
    }
  }

  /** Starts the server now, so the first request does not wait for the model to load. */
  async warm(): Promise<void> {
    await this.use(() => Promise.resolve());
  }

  /** Stops the server (if any) and waits for it to exit. */
  async stop(): Promise<void> {
    this.cancelIdle?.();
    this.cancelIdle = undefined;
    const running = this.running;
    this.running = undefined;
    if (running === undefined) return;
    let server: LlamaServer;
    try {
      server = await running;
    } catch {
      return; // it never started
    }
    await server.stop();
  }

  private armIdle(): void {
    if (this.busy > 0 || this.running === undefined) return;
    this.cancelIdle?.();
    this.cancelIdle = this.schedule(() => {
      this.cancelIdle = undefined;
      if (this.busy > 0) return;
      this.options.onEvent?.(`stopping llama.cpp's server after ${String(Math.round(this.options.idleMs / 1000))} s unused`);
      void this.stop();
    }, this.options.idleMs);
  }

  private server(): Promise<LlamaServer> {
    if (this.running !== undefined) return this.running;
    const started = this.options.start();
    this.running = started;
    started.then(
      (server) => {
        this.options.onEvent?.(`llama.cpp's server is ready at ${server.baseUrl}`);
        server.process.once('exit', (code, signal) => {
          if (this.running === started) this.running = undefined;
          this.options.onEvent?.(`llama.cpp's server ended (${signal ?? `code ${String(code)}`})`);
        });
      },
      () => {
        if (this.running === started) this.running = undefined;
      },
    );
    return started;
  }
}

export interface ServerModelOptions {
  readonly alias: string;
  /** Per request; a small model on a few CPU cores may take minutes for one summary. */
  readonly timeoutMs: number;
  readonly maxRetries?: number;
  /** What the consent dialog shows as where the text goes. */
  readonly endpoint?: string;
}

/** A LanguageModel over an on-demand server: each request (re)starts it when needed and holds off its idle stop. */
export function onDemandModel(server: OnDemandLlamaServer, options: ServerModelOptions): LanguageModel {
  let client: { baseUrl: string; model: LanguageModel } | undefined;
  const chat = (request: ChatRequest): Promise<ChatResponse> =>
    server.use(({ baseUrl }) => {
      // A restarted server listens on another port: the client follows it.
      if (client?.baseUrl !== baseUrl) client = { baseUrl, model: openAiCompatibleModel({ baseUrl, model: options.alias, timeoutMs: options.timeoutMs, maxRetries: options.maxRetries ?? 1 }) };
      return client.model.chat(request);
    });
  return { model: options.alias, endpoint: options.endpoint ?? 'llama.cpp on this machine (127.0.0.1)', chat, estimateTokens };
}
