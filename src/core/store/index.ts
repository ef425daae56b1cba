import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from 'better-sqlite3';
import { explainOpenError, StoreError } from './errors.js';
import { IterationRepository, PrincipleScoreRepository, RunRepository } from './iterations.js';
import { loadSqlite } from './native.js';
import { PoolOpRepository, PrincipleRepository, SnapshotRepository } from './principles.js';
import { migrate, SCHEMA_VERSION } from './schema.js';
import { SourceRepository } from './sources.js';
import { TrajectoryRepository } from './trajectories.js';

export { StoreError } from './errors.js';
export { SCHEMA_VERSION } from './schema.js';
export type { SourceRecord } from './sources.js';
export type { TrajectorySummary, TrajectoryFilter, SearchHit, TrajectoryRows } from './trajectories.js';
export { toRows } from './trajectories.js';
export type { StoredPoolOp, PoolOpStatus, PrincipleHistoryEntry } from './principles.js';
export type { IterationRecord, IterationStatus, PrincipleScoreRecord, RunRecord, RunStatus } from './iterations.js';

export interface StoreOptions {
  /** Open for reading only: a second connection that never takes the write lock (WAL lets it read while the writer writes). */
  readonly readonly?: boolean;
  /** How long a statement waits for another process's lock before failing with a clear message. */
  readonly busyTimeoutMs?: number;
}

/** The embedded database: one writer connection per process, WAL so that readers never wait for it. */
export interface Store {
  readonly path: string;
  readonly db: Database;
  readonly sources: SourceRepository;
  readonly trajectories: TrajectoryRepository;
  readonly principles: PrincipleRepository;
  readonly poolOps: PoolOpRepository;
  readonly snapshots: SnapshotRepository;
  readonly iterations: IterationRepository;
  readonly runs: RunRepository;
  readonly scores: PrincipleScoreRepository;
  transaction<T>(fn: () => T): T;
  close(): void;
}

/**
 * Opens (creating if needed) and migrates the database at `path` (`:memory:` for tests).
 * Never overwrites a file that is not an Internalize database: it fails with a StoreError instead.
 */
export function openStore(path: string, options: StoreOptions = {}): Store {
  const Sqlite = loadSqlite();
  if (path !== ':memory:' && !options.readonly) mkdirSync(dirname(path), { recursive: true });
  let db: Database;
  try {
    db = new Sqlite(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false, timeout: options.busyTimeoutMs ?? 5000 });
  } catch (error) {
    throw explainOpenError(path, error);
  }
  try {
    // The first statement is where SQLite actually reads the header: a foreign file fails here, untouched.
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StoreError(
        `The database at ${path} was written by a newer Internalize (schema ${String(version)}, this one knows ${String(SCHEMA_VERSION)}).`,
        'too-new',
        'Update the extension, or point internalize.store.path at another file.',
      );
    }
    if (!options.readonly) {
      if (path !== ':memory:') db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db);
    }
    db.pragma('foreign_keys = ON');
  } catch (error) {
    db.close();
    throw error instanceof StoreError ? error : explainOpenError(path, error);
  }
  return {
    path,
    db,
    sources: new SourceRepository(db),
    trajectories: new TrajectoryRepository(db),
    principles: new PrincipleRepository(db),
    poolOps: new PoolOpRepository(db),
    snapshots: new SnapshotRepository(db),
    iterations: new IterationRepository(db),
    runs: new RunRepository(db),
    scores: new PrincipleScoreRepository(db),
    // IMMEDIATE: a write transaction takes the write lock when it begins. A deferred one that reads
    // first fails at once with SQLITE_BUSY when another connection commits in between (WAL cannot
    // upgrade a stale read snapshot, and the busy timeout does not apply to that case).
    transaction: <T>(fn: () => T): T => db.transaction(fn).immediate(),
    close: () => {
      if (db.open) db.close();
    },
  };
}

/**
 * Moves a database (and its WAL files) aside so a fresh one can be created. Nothing is deleted:
 * returns the backup path so the user can recover or report it.
 */
export function moveStoreAside(path: string, now: Date = new Date()): string | undefined {
  if (!existsSync(path)) return undefined;
  const stamp = now.toISOString().replace(/[:.]/gu, '-');
  const backup = `${path}.${stamp}.bak`;
  renameSync(path, backup);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, backup + suffix);
  }
  return backup;
}
