/**
 * The writing side of capture: one batch, one transaction, so an offset is never ahead of the data
 * it stands for. Sessions that span files are merged here, against what the store holds at the
 * moment of writing, because the parsing side (possibly another thread with its own connection)
 * cannot see batches that are still on their way to the writer.
 */
import { toRows, type SourceRecord, type Store, type TrajectoryRows } from '../store/index.js';
import { fromRows } from '../store/trajectories.js';
import type { Trajectory } from '../trajectory.js';
import { mergeParts, type SessionPart } from './sessions.js';

/** A trajectory as one file holds it, serialized on the parsing side so that the writer mostly binds strings. */
export interface FilePart {
  /** The source file (or OpenHands event folder) that was read: the key of this part. */
  readonly file: string;
  readonly rows: TrajectoryRows;
}

/** What one flush hands to the writer: redacted trajectories and the source offsets they cover. */
export interface IngestBatch {
  readonly parts: FilePart[];
  readonly sources: Omit<SourceRecord, 'updatedAt'>[];
  /** Source records to forget (files that vanished). */
  readonly removed: string[];
}

export interface WriteResult {
  readonly storeMs: number;
  /** Trajectories written (created or updated). */
  readonly trajectories: number;
}

/**
 * The rows to store for one session given what its files just gave. The store keeps no copy of a
 * single-file trajectory; when a second file joins, every file's part is kept and the trajectory is
 * rebuilt from all of them, so re-reading one file replaces only that file's part.
 */
function resolveSession(store: Store, id: string, incoming: ReadonlyMap<string, TrajectoryRows>): { rows: TrajectoryRows; files?: { path: string; part?: Trajectory }[]; added?: string } {
  const known = store.trajectories.files(id);
  const [onlyFile, onlyRows] = incoming.size === 1 ? [...incoming][0] ?? [] : [];
  if (onlyFile !== undefined && onlyRows !== undefined && known.every((f) => f.path === onlyFile && f.part === undefined)) {
    return { rows: onlyRows, added: known.length === 0 ? onlyFile : undefined };
  }
  const parts = new Map<string, Trajectory>();
  for (const file of known) {
    const part = file.part ?? store.trajectories.get(id);
    if (part !== undefined) parts.set(file.path, part);
  }
  for (const [file, rows] of incoming) parts.set(file, fromRows(rows));
  const list: SessionPart[] = [...parts].map(([path, trajectory]) => ({ path, trajectory }));
  return { rows: toRows(mergeParts(list)), files: list.map(({ path, trajectory }) => ({ path, part: trajectory })) };
}

/** Writes one batch in one transaction. */
export function writeBatch(store: Store, batch: IngestBatch): WriteResult {
  const started = performance.now();
  // A file read twice in one batch (it grew during the run): its later part wins.
  const sessions = new Map<string, Map<string, TrajectoryRows>>();
  for (const { file, rows } of batch.parts) {
    const id = rows.trajectory.id;
    const files = sessions.get(id) ?? new Map<string, TrajectoryRows>();
    files.set(file, rows);
    sessions.set(id, files);
  }
  store.transaction(() => {
    const resolved = [...sessions].map(([id, incoming]) => ({ id, ...resolveSession(store, id, incoming) }));
    store.trajectories.upsertRows(resolved.map((r) => r.rows));
    for (const r of resolved) {
      if (r.files !== undefined) store.trajectories.setFiles(r.id, r.files);
      else if (r.added !== undefined) store.trajectories.addFile(r.id, r.added);
    }
    for (const source of batch.sources) store.sources.upsert(source);
    for (const path of batch.removed) store.sources.remove(path);
  });
  return { storeMs: performance.now() - started, trajectories: sessions.size };
}
