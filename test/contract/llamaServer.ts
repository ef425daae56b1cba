/**
 * A real llama.cpp server (llama-cpp-python's OpenAI-compatible `llama_cpp.server`) on 127.0.0.1,
 * started and stopped by the test that uses it, serving the built-in SmolLM2-135M-Instruct GGUF.
 * scripts/setup-llama-server.sh builds the environment this looks for.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
/** The name the server is told to serve the model under. */
export const LLAMA_ALIAS = 'smollm2-135m-instruct';

export interface LlamaEnvironment {
  readonly python: string;
  readonly gguf: string;
}

/** The server's interpreter and model file, or one line saying what is missing and how to get it. */
export function llamaEnvironment(): LlamaEnvironment | string {
  const python = join(ROOT, '.cache', 'llama-venv', 'bin', 'python');
  const gguf = join(ROOT, '.cache', 'models', 'downloads', 'SmolLM2-135M-Instruct.Q4_1.gguf');
  const stamp = join(ROOT, '.cache', 'llama-venv', '.internalize-stamp');
  if (!existsSync(python) || !existsSync(stamp)) return 'no llama.cpp server environment (.cache/llama-venv); run scripts/setup-llama-server.sh';
  if (!existsSync(gguf)) return `no model file ${gguf}; run scripts/setup-llama-server.sh`;
  return { python, gguf };
}

export interface LlamaServer {
  /** `http://127.0.0.1:PORT/v1` */
  readonly baseUrl: string;
  readonly process: ChildProcess;
  /** What the server wrote to stdout and stderr so far (its log). */
  log(): string;
  /** Ends the server (SIGTERM, then SIGKILL after a grace period) and waits for it to exit. */
  stop(): Promise<void>;
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

/** Starts a server on a free port and resolves once it answers `/v1/models`; retries if the port was taken meanwhile. */
export async function startLlamaServer(env: LlamaEnvironment, readyWithinMs = 60_000): Promise<LlamaServer> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(env, await freePort(), readyWithinMs);
    } catch (error) {
      lastError = error as Error;
      if (!/address already in use/iu.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('the llama.cpp server did not start');
}

async function startOnce(env: LlamaEnvironment, port: number, readyWithinMs: number): Promise<LlamaServer> {
  const args = ['-m', 'llama_cpp.server', '--model', env.gguf, '--model_alias', LLAMA_ALIAS, '--host', '127.0.0.1', '--port', String(port), '--n_ctx', '2048', '--n_threads', '1', '--n_threads_batch', '1', '--seed', '0'];
  // One thread: on a shared 2-core machine, two OpenMP threads spin against the other load and
  // generation drops to under one token a second (measured; see bench/llm/RESULTS.md).
  const child = spawn(env.python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1', OMP_WAIT_POLICY: 'PASSIVE' } });
  let output = '';
  const keep = (chunk: Buffer): void => {
    // The log is for failure messages; its tail is what matters.
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // A test runner that dies must not leave a server behind.
  const reap = (): void => {
    if (!exited(child)) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  const baseUrl = `http://127.0.0.1:${String(port)}/v1`;
  const server: LlamaServer = {
    baseUrl,
    process: child,
    log: () => output,
    async stop() {
      process.removeListener('exit', reap);
      if (exited(child)) return;
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 5_000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
      }
    },
  };
  const deadline = Date.now() + readyWithinMs;
  while (Date.now() < deadline) {
    if (exited(child)) {
      await server.stop();
      throw new Error(`the llama.cpp server exited before it was ready (code ${String(child.exitCode)}): ${lastLines(output)}`);
    }
    try {
      const response = await fetch(`${baseUrl}/models`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return server;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await server.stop();
  throw new Error(`the llama.cpp server did not answer within ${String(readyWithinMs / 1000)} s: ${lastLines(output)}`);
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join(' | ');
}
