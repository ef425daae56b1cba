/**
 * The ONNX embedder behind the TextEmbedder port. The model runs in a worker thread of its own
 * (onnxWorker.ts): tokenization and inference never run on the thread that called, which in the
 * extension is the editor's extension host. This file loads neither onnxruntime-node nor the tokenizer.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { embedInChunks, type TextEmbedder } from './embedder.js';
import { EMBEDDER_ROLE, EmbedderLoadError, type EmbedderVariant, type FromWorker, type OnnxModelInfo, type ToWorker } from './onnxProtocol.js';

export interface OnnxEmbedderOptions {
  readonly dir: string;
  readonly variant: EmbedderVariant;
  readonly threads: number;
  readonly batchSize?: number;
  readonly maxBatchTokens?: number;
  /** The worker's script; by default the one beside this module (sources) or beside the bundle (dist/embeddingWorker.js). */
  readonly workerScript?: string;
}

/** Texts per message to the thread: an abort takes effect between chunks, and each chunk is still long enough to bucket well. */
const CHUNK = 512;

function defaultWorkerScript(): string {
  return __filename.endsWith('.ts') ? join(__dirname, 'onnxWorker.ts') : join(__dirname, 'embeddingWorker.js');
}

function startWorker(script: string, workerData: unknown): Worker {
  // Sources run through tsx (tests, benchmarks) start their thread with tsx's require hook.
  return script.endsWith('.ts')
    ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, { eval: true, workerData })
    : new Worker(script, { workerData });
}

export interface OnnxEmbedder extends TextEmbedder {
  readonly info: OnnxModelInfo;
}

/**
 * Starts the thread and loads the model there; resolves once it has passed every load check.
 * Rejects with EmbedderLoadError (the folder's fault, named) when it cannot serve.
 */
export async function createOnnxEmbedder(options: OnnxEmbedderOptions): Promise<OnnxEmbedder> {
  const { workerScript = defaultWorkerScript(), ...modelOptions } = options;
  // Checked here too, so the common case of no model at all does not start a thread to find out.
  if (!existsSync(options.dir)) throw new EmbedderLoadError(`the ONNX model is missing at ${options.dir}`, 'missing');
  let worker: Worker;
  try {
    worker = startWorker(workerScript, { role: EMBEDDER_ROLE, options: modelOptions });
  } catch (error) {
    throw new EmbedderLoadError(`the embedder's thread could not start from ${workerScript} (${error instanceof Error ? error.message : String(error)})`, 'worker');
  }
  const pending = new Map<number, { resolve: (data: Float32Array) => void; reject: (error: Error) => void }>();
  let dead: Error | undefined;
  let onDisposed: (() => void) | undefined;
  const fail = (error: Error): void => {
    dead ??= error;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };

  const info = await new Promise<OnnxModelInfo>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new EmbedderLoadError(`the embedder's thread failed while loading (${error.message})`, 'worker'));
    };
    const onExit = (code: number): void => {
      reject(new EmbedderLoadError(`the embedder's thread exited while loading (code ${String(code)})`, 'worker'));
    };
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.once('message', (message: FromWorker) => {
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (message.type === 'ready') resolve(message.info);
      else if (message.type === 'failed') reject(new EmbedderLoadError(message.message, message.kind));
      else reject(new EmbedderLoadError(`the embedder's thread answered ${message.type} before loading`, 'worker'));
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });

  worker.on('message', (message: FromWorker) => {
    if (message.type === 'vectors' || message.type === 'error') {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.type === 'vectors') waiter?.resolve(message.data);
      else waiter?.reject(new Error(`embedding failed: ${message.message}`));
    } else if (message.type === 'disposed') {
      onDisposed?.();
    }
  });
  worker.on('error', (error) => {
    fail(new Error(`the embedder's thread failed: ${error.message}`));
  });
  worker.on('exit', (code) => {
    fail(new Error(`the embedder's thread exited (code ${String(code)})`));
    onDisposed?.();
  });
  // An idle embedder must not keep a CLI or a test process alive.
  worker.unref();

  let nextId = 0;
  const request = (texts: readonly string[], maxTokens: number | undefined): Promise<Float32Array> =>
    new Promise<Float32Array>((resolve, reject) => {
      if (dead !== undefined) {
        reject(dead);
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ type: 'embed', id, texts, ...(maxTokens === undefined ? {} : { maxTokens }) } satisfies ToWorker);
    }).finally(() => {
      if (pending.size === 0) worker.unref();
    });

  return {
    id: info.id,
    dim: info.dim,
    description: info.description,
    info,
    embed(texts, signal, options) {
      return embedInChunks(texts, info.dim, CHUNK, (chunk) => request(chunk, options?.maxTokens), signal);
    },
    async dispose() {
      if (dead !== undefined) return;
      const done = new Promise<void>((resolve) => {
        onDisposed = resolve;
      });
      worker.ref();
      worker.postMessage({ type: 'dispose' } satisfies ToWorker);
      await done;
      fail(new Error('the embedder was disposed'));
      await worker.terminate();
    },
  };
}
