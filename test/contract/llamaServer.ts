/**
 * The llama.cpp server (src/core/llm/llamaServer.ts) as the contract tests and the experience benchmark
 * run it: the built-in SmolLM2-135M-Instruct GGUF, one thread, a fixed seed.
 * scripts/setup-llama-server.sh builds the environment this looks for.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startLlamaServer as startServer, type LlamaServer } from '../../src/core/llm/llamaServer.js';

export type { LlamaServer } from '../../src/core/llm/llamaServer.js';

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

/**
 * SmolLM2 on a free port. One thread: on a shared 2-core machine, two OpenMP threads spin against the
 * other load and generation drops to under one token a second (bench/llm/RESULTS.md).
 */
export function startLlamaServer(env: LlamaEnvironment, readyWithinMs = 60_000): Promise<LlamaServer> {
  return startServer({ ...env, alias: LLAMA_ALIAS, contextTokens: 2048, threads: 1, seed: 0, readyWithinMs });
}
