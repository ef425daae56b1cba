/**
 * Embeddings through the store's cache: principles and decision states are embedded once per
 * (embedder id, text hash), so a changed principle text is embedded again and nothing else is.
 */
import type { Database } from 'better-sqlite3';
import { EmbeddingRepository, textHash } from '../store/embeddings.js';
import type { TextEmbedder } from './embedder.js';

/** Texts per embed call for the misses: large enough to batch well, small enough to store as it goes. */
const BATCH = 256;

export interface CacheStats {
  readonly hits: number;
  readonly embedded: number;
}

/**
 * Embeddings of `texts` (row-major, as TextEmbedder.embed), taking cached vectors from the store and
 * embedding only the misses, in batches; each batch is stored as soon as it is embedded, so an aborted
 * run keeps what it finished. Duplicate texts are embedded once.
 */
export async function embedCached(
  store: { readonly db: Database },
  embedder: TextEmbedder,
  texts: readonly string[],
  signal?: AbortSignal,
): Promise<Float32Array & { readonly stats: CacheStats }> {
  const repo = new EmbeddingRepository(store.db);
  const { dim } = embedder;
  const hashes = texts.map(textHash);
  const found = repo.get(embedder.id, dim, hashes);
  const hits = hashes.filter((h) => found.has(h)).length;
  const missing = new Map<string, string>();
  texts.forEach((text, i) => {
    const hash = hashes[i] ?? '';
    if (!found.has(hash)) missing.set(hash, text);
  });
  const todo = [...missing];
  for (let start = 0; start < todo.length; start += BATCH) {
    const slice = todo.slice(start, start + BATCH);
    const vectors = await embedder.embed(
      slice.map(([, text]) => text),
      signal,
    );
    const entries = slice.map(([hash], k) => ({ hash, vector: vectors.slice(k * dim, (k + 1) * dim) }));
    repo.put(embedder.id, dim, entries);
    for (const { hash, vector } of entries) found.set(hash, vector);
  }
  const out = new Float32Array(texts.length * dim);
  hashes.forEach((hash, i) => {
    const vector = found.get(hash);
    if (vector !== undefined) out.set(vector, i * dim);
  });
  return Object.assign(out, { stats: { hits, embedded: todo.length } });
}

/**
 * `embedder` with the store's cache in front: same id, width and description, so callers that take a
 * TextEmbedder (the injection planner, previews) get cached vectors without knowing about the store.
 */
export function withStoreCache(store: { readonly db: Database }, embedder: TextEmbedder): TextEmbedder {
  return {
    id: embedder.id,
    dim: embedder.dim,
    description: embedder.description,
    // The store keys vectors by text alone, so a call that cuts its texts to a token cap goes past it.
    embed: (texts, signal, options) => (options?.maxTokens === undefined ? embedCached(store, embedder, texts, signal) : embedder.embed(texts, signal, options)),
    dispose: () => embedder.dispose(),
  };
}
