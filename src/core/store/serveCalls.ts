/**
 * The serving log (migration 8): each principles_for_state call with what it returned, and each
 * helpful / harmful report. Counts on the principle row are what selection reads; the rows here are
 * why the counts are what they are.
 */
import type { Database } from 'better-sqlite3';
import { fromJson, nowIso, opt, toJson } from './json.js';

export type Verdict = 'helpful' | 'harmful';

export interface ServedEntry {
  readonly id: string;
  readonly score: number;
}

export interface ServeCallRecord {
  readonly id: string;
  readonly at: string;
  readonly client: string;
  readonly targetModel?: string;
  readonly workspace?: string;
  readonly stateHash: string;
  /** The decision state as it was embedded: redacted, within the token budget. */
  readonly stateText: string;
  readonly truncated: boolean;
  readonly embedderId: string;
  readonly results: readonly ServedEntry[];
  /** The captured trajectory the call was found in, once it was. */
  readonly trajectoryId?: string;
  readonly stepIndex?: number;
  /** The verdict that trajectory's outcome credited to the returned principles. */
  readonly credited?: Verdict;
}

interface CallRow {
  id: string;
  at: string;
  client: string;
  target_model: string | null;
  workspace: string | null;
  state_hash: string;
  state_text: string;
  truncated: number;
  embedder_id: string;
  results_json: string;
  trajectory_id: string | null;
  step_index: number | null;
  credited: string | null;
}

function fromRow(row: CallRow): ServeCallRecord {
  return {
    id: row.id,
    at: row.at,
    client: row.client,
    targetModel: opt(row.target_model),
    workspace: opt(row.workspace),
    stateHash: row.state_hash,
    stateText: row.state_text,
    truncated: row.truncated === 1,
    embedderId: row.embedder_id,
    results: fromJson<ServedEntry[]>(row.results_json, []),
    trajectoryId: opt(row.trajectory_id),
    stepIndex: opt(row.step_index),
    credited: row.credited === 'helpful' || row.credited === 'harmful' ? row.credited : undefined,
  };
}

export interface FeedbackRecord {
  readonly seq: number;
  readonly principleId: string;
  readonly verdict: Verdict;
  readonly note?: string;
  readonly callId?: string;
  /** `agent`: reported by the agent (or user) directly; `outcome`: credited from a captured run's outcome. */
  readonly origin: 'agent' | 'outcome';
  readonly at: string;
}

export class ServeCallRepository {
  constructor(private readonly db: Database) {}

  /** Logs one call (its own IMMEDIATE transaction: the writer lock is taken at once or waited for). */
  insert(call: Omit<ServeCallRecord, 'trajectoryId' | 'stepIndex' | 'credited'>): void {
    this.db
      .transaction(() => {
        this.db
          .prepare(
            `INSERT INTO serve_calls (id, at, client, target_model, workspace, state_hash, state_text, truncated, embedder_id, results_json)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(call.id, call.at, call.client, call.targetModel ?? null, call.workspace ?? null, call.stateHash, call.stateText, call.truncated ? 1 : 0, call.embedderId, toJson(call.results));
      })
      .immediate();
  }

  get(id: string): ServeCallRecord | undefined {
    const row = this.db.prepare<[string], CallRow>('SELECT * FROM serve_calls WHERE id = ?').get(id);
    return row === undefined ? undefined : fromRow(row);
  }

  /** Calls with this state hash, oldest first. */
  byStateHash(hash: string): ServeCallRecord[] {
    return this.db.prepare<[string], CallRow>('SELECT * FROM serve_calls WHERE state_hash = ? ORDER BY at, id').all(hash).map(fromRow);
  }

  /** The most recent calls, newest first. */
  recent(limit = 100): ServeCallRecord[] {
    return this.db.prepare<[number], CallRow>('SELECT * FROM serve_calls ORDER BY at DESC, id DESC LIMIT ?').all(limit).map(fromRow);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM serve_calls').get() as { n: number }).n;
  }

  /** Records where a call was found and what it credited; the caller holds the transaction. */
  link(id: string, trajectoryId: string, stepIndex: number, credited: Verdict | undefined): void {
    this.db.prepare('UPDATE serve_calls SET trajectory_id = ?, step_index = ?, credited = ? WHERE id = ?').run(trajectoryId, stepIndex, credited ?? null, id);
  }

  /**
   * Adds a report and moves the principle's count by `delta` (−1 withdraws an outcome's earlier credit);
   * the caller holds the transaction. Returns false for an unknown principle.
   */
  addFeedback(entry: Omit<FeedbackRecord, 'seq' | 'at'>, delta: 1 | -1 = 1): boolean {
    const column = entry.verdict === 'helpful' ? 'helpful' : 'harmful';
    const changed = this.db.prepare(`UPDATE principles SET ${column} = max(0, ${column} + ?) WHERE id = ?`).run(delta, entry.principleId).changes;
    if (changed === 0) return false;
    this.db
      .prepare('INSERT INTO principle_feedback (principle_id, verdict, note, call_id, origin, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(entry.principleId, entry.verdict, entry.note ?? (delta === 1 ? null : 'withdrawn: the run it was credited from changed outcome'), entry.callId ?? null, entry.origin, nowIso());
    return true;
  }

  feedback(principleId: string): FeedbackRecord[] {
    const rows = this.db
      .prepare<[string], { seq: number; principle_id: string; verdict: string; note: string | null; call_id: string | null; origin: string; at: string }>('SELECT * FROM principle_feedback WHERE principle_id = ? ORDER BY seq')
      .all(principleId);
    return rows.map((r) => ({
      seq: r.seq,
      principleId: r.principle_id,
      verdict: r.verdict === 'harmful' ? 'harmful' : 'helpful',
      note: opt(r.note),
      callId: opt(r.call_id),
      origin: r.origin === 'outcome' ? 'outcome' : 'agent',
      at: r.at,
    }));
  }
}
