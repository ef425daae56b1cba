/**
 * Which embedder serves: the ONNX model when its folder passes every load check, else the lexical
 * embedder with a description that says exactly why (missing at PATH, corrupt file, wrong dimension,
 * a tokenizer of another model …). A bad model never throws out of here.
 */
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import type { TextEmbedder } from './embedder.js';
import { lexicalTextEmbedder } from './lexical.js';
import { createOnnxEmbedder } from './onnx.js';
import { EmbedderLoadError, type EmbedderVariant, type LoadFailure } from './onnxProtocol.js';

export interface EmbedderSettings {
  /** A local sentence-transformers ONNX export; empty or absent: the built-in MiniLM export in `cacheDir`. */
  readonly modelDir?: string;
  /** int8 by default; the folder's manifest can veto it (the int8 file must keep cosine ≥ 0.99 to fp32). */
  readonly variant?: EmbedderVariant;
  /** onnxruntime's intra-op threads; default: `defaultThreads(thread)`. */
  readonly threads?: number;
  /** The models cache holding the built-in export as `minilm/` (the folder the trainer caches its models in). */
  readonly cacheDir?: string;
  /**
   * Where a front end without settings of its own (the CLI) takes the rest from: INTERNALIZE_EMBEDDING_MODEL,
   * INTERNALIZE_EMBEDDING_VARIANT, INTERNALIZE_EMBEDDING_THREADS, INTERNALIZE_MODELS_DIR (default ~/.internalize/models).
   * Explicit fields win.
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly workerScript?: string;
  /**
   * Where the model runs: `worker` (default), a thread of its own, so the caller's thread never blocks
   * (the editor's extension host); `inline`, the calling thread, for a process that only serves
   * (`internalize mcp`), which saves the hand-off to the thread and back on every call (onnxInline.ts).
   */
  readonly thread?: 'worker' | 'inline';
}

export type ResolvedEmbedder = TextEmbedder &
  ({ readonly kind: 'onnx' } | { readonly kind: 'lexical'; readonly reason: string; readonly failure: LoadFailure });

/** The folder of the built-in export under a models cache. */
export function builtinModelDir(cacheDir: string): string {
  return join(cacheDir, 'minilm');
}

/**
 * onnxruntime's intra-op threads when nothing says otherwise, at most 4. A worker-thread embedder shares
 * the machine with the editor and batch work, so it takes half the cores. An inline one runs only in a
 * process that serves (`internalize mcp`): each of its passes is a burst of a few milliseconds that an
 * agent waits on, so it takes every core (on 2 cores a 64-token pass went from 15.0 to 8.8 ms p50,
 * bench/serve/RESULTS.md).
 */
export function defaultThreads(thread: 'worker' | 'inline' = 'worker'): number {
  const cores = Math.max(1, availableParallelism());
  return Math.min(4, thread === 'inline' ? cores : Math.max(1, Math.floor(cores / 2)));
}

export async function createEmbedder(settings: EmbedderSettings = {}): Promise<ResolvedEmbedder> {
  const env = settings.env ?? {};
  const custom = (settings.modelDir ?? env.INTERNALIZE_EMBEDDING_MODEL ?? '').trim();
  const cacheDir = settings.cacheDir ?? env.INTERNALIZE_MODELS_DIR ?? join(env.HOME ?? homedir(), '.internalize', 'models');
  // fp32 by default: on the benchmark's 2,000 sentences int8's worst cosine to fp32 was 0.988 (< 0.99), and fp32 alone is 2.15x the peer.
  const variant = settings.variant ?? (env.INTERNALIZE_EMBEDDING_VARIANT === 'int8' ? 'int8' : 'fp32');
  const envThreads = Number(env.INTERNALIZE_EMBEDDING_THREADS);
  const threads = settings.threads ?? (Number.isInteger(envThreads) && envThreads > 0 ? envThreads : defaultThreads(settings.thread));
  const dir = custom === '' ? builtinModelDir(cacheDir) : custom;
  try {
    const onnx =
      settings.thread === 'inline'
        ? // Imported only here: a worker-thread caller (the extension host) must never load onnxruntime-node itself.
          await (await import('./onnxInline.js')).createInlineOnnxEmbedder({ dir, variant, threads })
        : await createOnnxEmbedder({ dir, variant, threads, ...(settings.workerScript === undefined ? {} : { workerScript: settings.workerScript }) });
    return Object.assign(onnx, { kind: 'onnx' as const });
  } catch (error) {
    const failure: LoadFailure = error instanceof EmbedderLoadError ? error.kind : 'worker';
    let reason = error instanceof Error ? error.message : String(error);
    if (failure === 'missing' && custom === '') {
      reason += ` (export it with \`python -m internalize_trainer.embedder_export --out ${dir}\` in the trainer's environment, or set internalize.embedding.modelPath to a sentence-transformers ONNX export)`;
    } else if (custom !== '') {
      reason += ' (internalize.embedding.modelPath)';
    }
    return Object.assign(lexicalTextEmbedder(`lexical: ${reason}`), { kind: 'lexical' as const, reason, failure });
  }
}
