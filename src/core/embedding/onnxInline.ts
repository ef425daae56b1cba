/**
 * The ONNX embedder in the calling thread, for a process whose only job is to answer embedding-backed
 * requests (`internalize mcp`). The editor keeps the worker thread of onnx.ts, since its extension
 * host must never block; a serving process has nothing else to keep responsive, and the hand-off to a
 * worker and back cost a warm principles_for_state call about 4 ms at the median and 8 ms at p95 on a
 * loaded 2-core machine (a sleeping thread woken twice per call, on a core whose caches hold other work).
 */
import { embedInChunks } from './embedder.js';
import type { OnnxEmbedder } from './onnx.js';
import { loadOnnxModel, type OnnxModelOptions } from './onnxModel.js';

/** Texts per batch call: between them a pending abort, and any other request, get their turn. */
const CHUNK = 64;

/** Loads and checks the model here; rejects with EmbedderLoadError (the folder's fault, named) when it cannot serve. */
export async function createInlineOnnxEmbedder(options: OnnxModelOptions): Promise<OnnxEmbedder> {
  const model = await loadOnnxModel(options);
  const { info } = model;
  let disposed = false;
  return {
    id: info.id,
    dim: info.dim,
    description: info.description,
    info,
    embed(texts, signal, embedOptions) {
      return embedInChunks(
        texts,
        info.dim,
        CHUNK,
        (chunk) => {
          if (disposed) return Promise.reject(new Error('the embedder was disposed'));
          return model.embed(chunk, embedOptions?.maxTokens);
        },
        signal,
      );
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await model.dispose();
    },
  };
}
