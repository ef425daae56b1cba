/**
 * The accepted pool kept warm for serving: the principles and their vectors as one row-major
 * matrix (also held in WebAssembly memory for the exact dots), rebuilt only when the pool changes. A
 * call then costs one state embedding and one matrix-vector product, not a pool read, a cache lookup
 * per principle or a copy of the matrix.
 *
 * The pool's version is checked at every call, so a principle accepted, edited or retired in the
 * editor is served at the next call, by any process. The check is an aggregate over the accepted rows
 * (about 0.8 ms for 2,000 on a loaded core), taken only when something may have written since the last
 * one: another connection's commit moves SQLite's data_version, this connection's own writes move its
 * total_changes(), and the serving log's insert is told apart (ownWrite), so a serving process that only
 * logs its calls reads two counters per call.
 */
import type { Database } from 'better-sqlite3';
import { embedCached } from '../embedding/cache.js';
import type { TextEmbedder } from '../embedding/embedder.js';
import { dotArena, type DotArena } from '../injection/exactDot.js';
import { principleEmbeddingText } from '../injection/planner.js';
import type { Principle } from '../principle.js';
import type { Store } from '../store/index.js';
import { evidenceWorkspaces } from '../store/injection.js';

export interface WarmPool {
  readonly version: string;
  readonly principles: readonly Principle[];
  /** Positions of the principles whose scope is not `global`: the only ones a state's scope can block. */
  readonly scoped: readonly number[];
  /** Position of each principle by id. */
  readonly positions: ReadonlyMap<string, number>;
  /** principles.length × dim, L2-normalized rows. */
  readonly vectors: Float32Array;
  readonly evidenceWorkspaces: ReadonlyMap<string, string>;
  /** The vectors already in WebAssembly memory with room for one state, so a call copies in only its state. */
  readonly arena: DotArena;
}

/**
 * Changes with any accepted principle's text, `when`, scope or status (saves stamp updated_at; the
 * count and lengths catch two changes within one millisecond). Helpful/harmful counts are not part
 * of it: feedback must not cost a rebuild, and the counts are read fresh per call.
 */
export function poolVersion(db: Database): string {
  const row = db
    .prepare("SELECT count(*) AS n, coalesce(max(updated_at), '') AS at, total(length(text) + length(when_text) + length(scope)) AS chars FROM principles WHERE status = 'accepted'")
    .get() as { n: number; at: string; chars: number };
  return `${String(row.n)}|${row.at}|${String(row.chars)}`;
}

const warm = new WeakMap<Database, Map<string, { pool: WarmPool } | { pending: Promise<WarmPool>; version: string }>>();

interface Checked {
  readonly dataVersion: number;
  changes: number;
  readonly version: string;
}
const checked = new WeakMap<Database, Checked>();

function counters(db: Database): { dataVersion: number; changes: number } {
  const row = db.prepare('SELECT total_changes() AS changes').get() as { changes: number };
  return { dataVersion: db.pragma('data_version', { simple: true }) as number, changes: row.changes };
}

/** poolVersion, recomputed only when a write may have happened since the last check (see the module comment). */
function currentVersion(db: Database): string {
  const now = counters(db);
  const last = checked.get(db);
  if (last?.dataVersion === now.dataVersion && last.changes === now.changes) return last.version;
  const version = poolVersion(db);
  checked.set(db, { ...now, version });
  return version;
}

/**
 * Runs `write`, a write of the caller's own that touches no principle (the serving log), so that it does
 * not cost the next call a version check. Only when nothing else wrote through this connection since the
 * last check: a write interleaved by another task still forces the check.
 */
export function ownWrite<T>(db: Database, write: () => T): T {
  const last = checked.get(db);
  const before = last === undefined ? undefined : counters(db).changes;
  const out = write();
  if (last !== undefined && before === last.changes) last.changes = counters(db).changes;
  return out;
}

/** The warm pool for this store and embedder, rebuilt (vectors through the store's cache) when the version moved. */
export async function warmPool(store: Store, embedder: TextEmbedder, signal?: AbortSignal): Promise<WarmPool> {
  const version = currentVersion(store.db);
  let byEmbedder = warm.get(store.db);
  if (byEmbedder === undefined) {
    byEmbedder = new Map();
    warm.set(store.db, byEmbedder);
  }
  const held = byEmbedder.get(embedder.id);
  if (held !== undefined && 'pool' in held && held.pool.version === version) return held.pool;
  // Concurrent calls during a rebuild share it instead of embedding the pool twice.
  if (held !== undefined && 'pending' in held && held.version === version) return held.pending;
  const cache = byEmbedder;
  const pending = (async (): Promise<WarmPool> => {
    const principles = store.principles.list({ status: 'accepted' });
    const vectors = principles.length === 0 ? new Float32Array(0) : await embedCached(store, embedder, principles.map(principleEmbeddingText), signal);
    if (vectors.length !== principles.length * embedder.dim) {
      throw new RangeError(`The embedder returned ${String(vectors.length)} numbers for ${String(principles.length)} principles; expected ${String(principles.length * embedder.dim)}.`);
    }
    const matrix = Float32Array.from(vectors);
    return {
      version,
      principles,
      scoped: principles.flatMap((p, i) => (p.scope === 'global' ? [] : [i])),
      positions: new Map(principles.map((p, i) => [p.id, i])),
      vectors: matrix,
      evidenceWorkspaces: evidenceWorkspaces(store, principles),
      arena: dotArena(matrix, principles.length, embedder.dim, 1),
    };
  })();
  cache.set(embedder.id, { pending, version });
  try {
    const pool = await pending;
    cache.set(embedder.id, { pool });
    return pool;
  } catch (error) {
    cache.delete(embedder.id);
    throw error;
  }
}
