/**
 * The dense-embedding port. Injection (selection at every decision state), the experience
 * pipeline's nearest-principle pre-filter and serving all embed through this one interface, so the
 * same text gets the same vector wherever it is asked for.
 */

/** How a call wants its texts embedded. */
export interface EmbedOptions {
  /**
   * Each text is cut to at most this many of the model's own tokens, special tokens included, from the
   * middle (its start and its end kept): a model's cost grows with its real tokens, which a character
   * count cannot bound (dense JSON or code runs near one token per two characters). An embedder without
   * a token window (the lexical one) ignores it.
   */
  readonly maxTokens?: number;
}

export interface TextEmbedder {
  /**
   * Stable identity of the vectors this embedder produces: part of every cache key, so a changed
   * model file (another checksum) or another variant (fp32 / int8) never reuses stale vectors.
   * E.g. `onnx:all-MiniLM-L6-v2:int8:1a2b3c4d`, `lexical:hash-1024:v1`.
   */
  readonly id: string;
  /** Vector length. */
  readonly dim: number;
  /** Which embedder is active and why, for the UI and the CLI: "lexical: the ONNX model is missing at …". */
  readonly description: string;
  /**
   * L2-normalized embeddings of `texts`, row-major: row i is `[i * dim, (i + 1) * dim)`.
   * Texts longer than the model's window are truncated by the embedder, never rejected.
   */
  embed(texts: readonly string[], signal?: AbortSignal, options?: EmbedOptions): Promise<Float32Array>;
  /** Frees threads and sessions; the embedder is unusable afterwards. */
  dispose(): Promise<void>;
}

/**
 * Embeds `texts` `chunk` at a time into one row-major matrix: between chunks a pending abort, and any other
 * request, get their turn. `embedChunk` answers one chunk's rows.
 */
export async function embedInChunks(
  texts: readonly string[],
  dim: number,
  chunk: number,
  embedChunk: (texts: readonly string[]) => Promise<Float32Array>,
  signal?: AbortSignal,
): Promise<Float32Array> {
  const out = new Float32Array(texts.length * dim);
  for (let start = 0; start < texts.length; start += chunk) {
    signal?.throwIfAborted();
    out.set(await embedChunk(texts.slice(start, start + chunk)), start * dim);
  }
  signal?.throwIfAborted();
  return out;
}
