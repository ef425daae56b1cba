import { join } from 'node:path';
import { createEmbedder, type EmbedderSettings, type ResolvedEmbedder } from '../core/embedding/resolve.js';
import { config } from './config.js';
import type { InternalizeContext } from './context.js';

/** The embedder settings of this window: the internalize.embedding.* settings over the models folder the trainer also uses. */
export function embedderSettings(ctx: InternalizeContext): EmbedderSettings {
  const threads = config.embeddingThreads();
  return {
    modelDir: config.embeddingModelPath(),
    variant: config.embeddingVariant(),
    cacheDir: process.env.INTERNALIZE_MODELS_DIR ?? join(ctx.extension.globalStorageUri.fsPath, 'models'),
    ...(threads === undefined ? {} : { threads }),
  };
}

/**
 * The window's embedder, resolved on first use (the model loads in its own thread) and again after an
 * internalize.embedding.* change; the resolution and its reason go to the log.
 */
export function windowEmbedder(ctx: InternalizeContext): () => Promise<ResolvedEmbedder> {
  // One per window: every caller shares the same model thread.
  const existing = perWindow.get(ctx);
  if (existing !== undefined) return existing;
  let resolved: Promise<ResolvedEmbedder> | undefined;
  const release = (): void => {
    const previous = resolved;
    resolved = undefined;
    void previous?.then((e) => e.dispose());
  };
  ctx.push(
    { dispose: release },
    config.onDidChange((event) => {
      if (event.affectsConfiguration('internalize.embedding')) release();
    }),
  );
  const get = (): Promise<ResolvedEmbedder> =>
    (resolved ??= createEmbedder(embedderSettings(ctx)).then((embedder) => {
      if (embedder.kind === 'onnx') ctx.log.info(`Embeddings: ${embedder.description}`);
      else ctx.log.warn(`Embeddings: ${embedder.description}`);
      return embedder;
    }));
  perWindow.set(ctx, get);
  return get;
}

const perWindow = new WeakMap<InternalizeContext, () => Promise<ResolvedEmbedder>>();
