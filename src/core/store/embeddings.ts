import { createHash } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { nowIso } from './json.js';

/** The cache key of a text: sha256 of its UTF-8 bytes, hex. */
export function textHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** SQLite binds at most 32,766 variables; lookups go in slices well below that. */
const LOOKUP_SLICE = 500;

/** Cached embeddings: (embedder id, text hash) → float32 vector. */
export class EmbeddingRepository {
  private readonly insert: Statement<[string, string, number, Buffer, string]>;

  constructor(private readonly db: Database) {
    this.insert = db.prepare('INSERT OR REPLACE INTO embeddings (embedder_id, text_hash, dim, vector, created_at) VALUES (?, ?, ?, ?, ?)');
  }

  /** The stored vectors among `hashes` for this embedder (a row of another width is ignored: it cannot be this embedder's). */
  get(embedderId: string, dim: number, hashes: readonly string[]): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    const unique = [...new Set(hashes)];
    for (let start = 0; start < unique.length; start += LOOKUP_SLICE) {
      const slice = unique.slice(start, start + LOOKUP_SLICE);
      const rows = this.db
        .prepare(`SELECT text_hash, vector FROM embeddings WHERE embedder_id = ? AND dim = ? AND text_hash IN (${slice.map(() => '?').join(',')})`)
        .all(embedderId, dim, ...slice) as { text_hash: string; vector: Buffer }[];
      for (const row of rows) {
        if (row.vector.byteLength !== dim * 4) continue;
        // Copied out of the driver's buffer, whose memory is not guaranteed to be 4-byte aligned or ours to keep.
        const vector = new Float32Array(dim);
        new Uint8Array(vector.buffer).set(row.vector);
        out.set(row.text_hash, vector);
      }
    }
    return out;
  }

  /** Stores vectors in one IMMEDIATE transaction. */
  put(embedderId: string, dim: number, entries: readonly { readonly hash: string; readonly vector: Float32Array }[]): void {
    const at = nowIso();
    this.db
      .transaction(() => {
        for (const { hash, vector } of entries) {
          if (vector.length !== dim) throw new Error(`embedding of width ${String(vector.length)} stored as ${embedderId} (${String(dim)} dimensions)`);
          this.insert.run(embedderId, hash, dim, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength), at);
        }
      })
      .immediate();
  }

  count(embedderId?: string): number {
    const row = (embedderId === undefined
      ? this.db.prepare('SELECT count(*) AS n FROM embeddings').get()
      : this.db.prepare('SELECT count(*) AS n FROM embeddings WHERE embedder_id = ?').get(embedderId)) as { n: number };
    return row.n;
  }

  /** Drops the vectors of every other embedder (after a model change they can never be hit again). */
  pruneOthers(embedderId: string): number {
    return this.db.prepare('DELETE FROM embeddings WHERE embedder_id <> ?').run(embedderId).changes;
  }
}
