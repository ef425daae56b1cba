/**
 * Lexical embedders that need no model: the index-based Embedder (TF-IDF cosine over a corpus, used by
 * the experience pipeline's nearest-principle pre-filter) and a dense hashed-TF TextEmbedder, the
 * fallback when the ONNX model cannot be used.
 */
import type { TextEmbedder } from './embedder.js';

export interface Embedder {
  /** Indexes the corpus, then answers nearest-neighbour queries against it. */
  index(docs: readonly { readonly id: string; readonly text: string }[]): EmbeddingIndex;
}

export interface EmbeddingIndex {
  nearest(query: string, k: number): { id: string; score: number }[];
}

const STOP = new Set(['the', 'a', 'an', 'and', 'or', 'of', 'to', 'in', 'on', 'for', 'with', 'is', 'it', 'when', 'then', 'be', 'by', 'before', 'after', 'that', 'this']);

export function tokenize(text: string): string[] {
  return (text.toLowerCase().match(/[a-z0-9]+/gu) ?? []).filter((t) => !STOP.has(t));
}

type Vec = Map<string, number>;

export function lexicalEmbedder(): Embedder {
  return {
    index(docs) {
      const df = new Map<string, number>();
      const tfs = docs.map((d) => {
        const tf = new Map<string, number>();
        for (const t of tokenize(d.text)) tf.set(t, (tf.get(t) ?? 0) + 1);
        for (const t of tf.keys()) df.set(t, (df.get(t) ?? 0) + 1);
        return tf;
      });
      const n = docs.length;
      const idf = (t: string): number => Math.log((n + 1) / ((df.get(t) ?? 0) + 1)) + 1;
      const weigh = (tf: Map<string, number>): Vec => {
        const v: Vec = new Map();
        let norm = 0;
        for (const [t, c] of tf) {
          const w = (1 + Math.log(c)) * idf(t);
          v.set(t, w);
          norm += w * w;
        }
        norm = Math.sqrt(norm) || 1;
        for (const [t, w] of v) v.set(t, w / norm);
        return v;
      };
      const vecs = tfs.map(weigh);
      // Inverted lists keep a query's cost proportional to the docs sharing a term, not the pool size.
      const postings = new Map<string, { doc: number; w: number }[]>();
      vecs.forEach((v, doc) => {
        for (const [t, w] of v) {
          let list = postings.get(t);
          if (list === undefined) postings.set(t, (list = []));
          list.push({ doc, w });
        }
      });
      return {
        nearest(query, k) {
          const qtf = new Map<string, number>();
          for (const t of tokenize(query)) qtf.set(t, (qtf.get(t) ?? 0) + 1);
          const q = weigh(qtf);
          const scores = new Map<number, number>();
          for (const [t, qw] of q) {
            for (const { doc, w } of postings.get(t) ?? []) scores.set(doc, (scores.get(doc) ?? 0) + qw * w);
          }
          return [...scores]
            .sort((a, b) => b[1] - a[1] || a[0] - b[0])
            .slice(0, k)
            .map(([doc, score]) => ({ id: docs[doc]?.id ?? '', score }));
        },
      };
    },
  };
}

/** Width of the hashed lexical vectors: wide enough that a principle's few dozen terms rarely collide. */
export const LEXICAL_DIM = 1024;
export const LEXICAL_ID = `lexical:hash-${String(LEXICAL_DIM)}:v1`;
/** The window of the lexical embedder: a 5 MB observation costs what its first 64 K characters cost. */
const LEXICAL_MAX_CHARS = 65_536;

// Scripts written without spaces between words: their terms are character bigrams.
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/** Terms of any script: lower-cased words of letters and digits (stop words dropped); unspaced scripts give bigrams. */
export function lexicalTerms(text: string): string[] {
  const terms: string[] = [];
  for (const word of text.slice(0, LEXICAL_MAX_CHARS).toLowerCase().normalize('NFKC').match(/[\p{L}\p{N}\p{M}]+/gu) ?? []) {
    if (!UNSPACED.test(word)) {
      if (!STOP.has(word)) terms.push(word);
      continue;
    }
    // Code points, not UTF-16 units: a bigram never holds half a character.
    const chars = Array.from(word);
    if (chars.length === 1) terms.push(word);
    for (let i = 0; i + 1 < chars.length; i++) terms.push((chars[i] ?? '') + (chars[i + 1] ?? ''));
  }
  return terms;
}

/** FNV-1a over UTF-16 code units: stable across runs and platforms, which a cache key needs. */
function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** One text's hashed, sublinearly weighted (1 + ln tf), signed term vector, L2-normalized; all zeros for a text with no terms. */
export function lexicalVector(text: string, out: Float32Array = new Float32Array(LEXICAL_DIM)): Float32Array {
  const tf = new Map<string, number>();
  for (const t of lexicalTerms(text)) tf.set(t, (tf.get(t) ?? 0) + 1);
  for (const [term, count] of tf) {
    // A second hash picks the sign, so colliding terms cancel on average instead of inflating each other.
    const sign = (fnv1a(term, 0x9e3779b9) & 1) === 0 ? 1 : -1;
    const slot = fnv1a(term, 0x811c9dc5) % LEXICAL_DIM;
    out[slot] = (out[slot] ?? 0) + sign * (1 + Math.log(count));
  }
  let norm = 0;
  for (const x of out) norm += x * x;
  if (norm > 0) {
    const scale = 1 / Math.sqrt(norm);
    for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0) * scale;
  }
  return out;
}

/**
 * The dense lexical TextEmbedder: no model, no thread, same text → same vector. `description` says why
 * it is the one in use (the resolver puts the ONNX model's fault there).
 */
export function lexicalTextEmbedder(description = 'lexical: hashed term frequencies (no model)'): TextEmbedder {
  return {
    id: LEXICAL_ID,
    dim: LEXICAL_DIM,
    description,
    embed(texts, signal) {
      signal?.throwIfAborted();
      const out = new Float32Array(texts.length * LEXICAL_DIM);
      texts.forEach((text, i) => lexicalVector(text, out.subarray(i * LEXICAL_DIM, (i + 1) * LEXICAL_DIM)));
      return Promise.resolve(out);
    },
    dispose: () => Promise.resolve(),
  };
}
