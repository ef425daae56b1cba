import type { Database } from 'better-sqlite3';
import type { Observation, Outcome, OutcomeLabel, Step, TokenUsage, ToolCall, Trajectory, TrajectorySource } from '../trajectory.js';
import { fromJson, nowIso, opt, toJson } from './json.js';

/** One row of the Trajectories view: enough to list and group without loading steps. */
export interface TrajectorySummary {
  readonly id: string;
  readonly source: TrajectorySource;
  readonly sessionId: string;
  readonly workspace?: string;
  readonly task: string;
  readonly model?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly outcome: OutcomeLabel;
  readonly stepCount: number;
  readonly redactionCount: number;
}

export interface TrajectoryFilter {
  readonly source?: TrajectorySource;
  readonly outcome?: OutcomeLabel;
  readonly workspace?: string;
  readonly limit?: number;
  readonly offset?: number;
}

export interface SearchHit {
  readonly trajectoryId: string;
  readonly stepIndex: number;
  readonly snippet: string;
}

interface TrajectoryRow {
  id: string;
  source: string;
  session_id: string;
  workspace: string | null;
  task: string;
  system_prompt: string | null;
  model: string | null;
  started_at: string | null;
  ended_at: string | null;
  outcome: string;
  outcome_json: string;
  usage_json: string | null;
  redactions_json: string | null;
  redaction_count: number;
  source_path: string | null;
  parent_session_id: string | null;
  step_count: number;
  imported_at: string;
}

interface StepRow {
  trajectory_id: string;
  idx: number;
  text: string | null;
  thought: string | null;
  tool_calls_json: string;
  observations_json: string;
  user_messages_json: string | null;
  started_at: string | null;
  ended_at: string | null;
  model: string | null;
  usage_json: string | null;
}

function summaryFromRow(row: TrajectoryRow): TrajectorySummary {
  return {
    id: row.id,
    source: row.source as TrajectorySource,
    sessionId: row.session_id,
    workspace: opt(row.workspace),
    task: row.task,
    model: opt(row.model),
    startedAt: opt(row.started_at),
    endedAt: opt(row.ended_at),
    outcome: row.outcome as OutcomeLabel,
    stepCount: row.step_count,
    redactionCount: row.redaction_count,
  };
}

function stepFromRow(row: StepRow): Step {
  return {
    index: row.idx,
    text: opt(row.text),
    thought: opt(row.thought),
    toolCalls: fromJson<ToolCall[]>(row.tool_calls_json, []),
    observations: fromJson<Observation[]>(row.observations_json, []),
    userMessages: fromJson<string[] | undefined>(row.user_messages_json, undefined),
    startedAt: opt(row.started_at),
    endedAt: opt(row.ended_at),
    model: opt(row.model),
    usage: fromJson<TokenUsage | undefined>(row.usage_json, undefined),
  };
}

/** FTS5 treats punctuation as syntax; quoting each word makes any user text a valid query. */
export function ftsQuery(text: string): string {
  const words = text.match(/[\p{L}\p{N}_]+/gu) ?? [];
  return words.map((w) => `"${w}"`).join(' ');
}

/**
 * A trajectory as the rows that store it, JSON columns already serialized: built where the
 * trajectory is (capture's parsing thread), written where the connection is.
 */
export interface TrajectoryRows {
  readonly trajectory: Omit<TrajectoryRow, 'imported_at'>;
  readonly steps: readonly Omit<StepRow, 'trajectory_id'>[];
}

export function toRows(trajectory: Trajectory): TrajectoryRows {
  const redactions = trajectory.redactions ?? {};
  let redactionCount = 0;
  for (const n of Object.values(redactions)) redactionCount += n;
  return {
    trajectory: {
      id: trajectory.id,
      source: trajectory.source,
      session_id: trajectory.sessionId,
      workspace: trajectory.workspace ?? null,
      task: trajectory.task,
      system_prompt: trajectory.systemPrompt ?? null,
      model: trajectory.model ?? null,
      started_at: trajectory.startedAt ?? null,
      ended_at: trajectory.endedAt ?? null,
      outcome: trajectory.outcome.label,
      outcome_json: toJson(trajectory.outcome),
      usage_json: trajectory.usage === undefined ? null : toJson(trajectory.usage),
      redactions_json: toJson(redactions),
      redaction_count: redactionCount,
      source_path: trajectory.sourcePath ?? null,
      parent_session_id: trajectory.parentSessionId ?? null,
      step_count: trajectory.steps.length,
    },
    steps: trajectory.steps.map((step) => ({
      idx: step.index,
      text: step.text ?? null,
      thought: step.thought ?? null,
      tool_calls_json: toJson(step.toolCalls),
      observations_json: toJson(step.observations),
      user_messages_json: step.userMessages === undefined ? null : toJson(step.userMessages),
      started_at: step.startedAt ?? null,
      ended_at: step.endedAt ?? null,
      model: step.model ?? null,
      usage_json: step.usage === undefined ? null : toJson(step.usage),
    })),
  };
}

/** The trajectory that toRows serialized (the inverse of toRows). */
export function fromRows(rows: TrajectoryRows): Trajectory {
  const row = rows.trajectory;
  return trajectoryFromRow({ ...row, imported_at: '' }, rows.steps.map((step) => ({ ...step, trajectory_id: row.id })));
}

/** A stored trajectory row and its step rows, as the domain value. */
function trajectoryFromRow(row: TrajectoryRow, steps: readonly StepRow[]): Trajectory {
  const { outcome: _label, stepCount: _steps, redactionCount: _redactions, ...summary } = summaryFromRow(row);
  return {
    ...summary,
    systemPrompt: opt(row.system_prompt),
    outcome: fromJson<Outcome>(row.outcome_json, { label: row.outcome as OutcomeLabel, evidence: [] }),
    usage: fromJson<TokenUsage | undefined>(row.usage_json, undefined),
    redactions: fromJson<Record<string, number>>(row.redactions_json, {}),
    sourcePath: opt(row.source_path),
    parentSessionId: opt(row.parent_session_id),
    steps: steps.map(stepFromRow),
  };
}

/**
 * One file a trajectory was read from. `part` is what that file alone holds, kept once a second file
 * joins the session; a trajectory read from one file keeps no copy (its stored row is its part).
 */
export interface TrajectoryFile {
  readonly path: string;
  readonly part?: Trajectory;
}

interface FileRow {
  path: string;
  part_json: string | null;
}

/** An outcome the user set survives every rewrite of the trajectory from its sources. */
function hasUserVerdict(outcomeJson: string): boolean {
  return outcomeJson.includes('"user-verdict"') && fromJson<Outcome | undefined>(outcomeJson, undefined)?.evidence.some((e) => e.kind === 'user-verdict') === true;
}

/** Below this many steps in one write the per-row trigger is cheaper than dropping and recreating it. */
const BULK_FTS_STEPS = 256;

/** Must stay the same text as the trigger migration 4 creates (a store test compares them). */
export const STEPS_FTS_INSERT_TRIGGER = `CREATE TRIGGER steps_fts_ai AFTER INSERT ON steps BEGIN
        INSERT INTO steps_fts(rowid, fts_body) VALUES (new.rowid, new.fts_body);
      END`;

export class TrajectoryRepository {
  private readonly db: Database;
  private readonly insertTrajectory;
  private readonly deleteSteps;
  private readonly insertStep;
  private readonly getRow;
  private readonly getSteps;
  private readonly countStmt;
  private readonly searchStmt;
  private readonly setOutcomeStmt;
  private readonly deleteStmt;
  private readonly filesStmt;
  private readonly fileStmt;
  private readonly addFileStmt;
  private readonly deleteFilesStmt;

  constructor(db: Database) {
    this.db = db;
    this.insertTrajectory = db.prepare<[TrajectoryRow]>(`
      INSERT INTO trajectories (id, source, session_id, workspace, task, system_prompt, model, started_at, ended_at,
        outcome, outcome_json, usage_json, redactions_json, redaction_count, source_path, parent_session_id, step_count, imported_at)
      VALUES (@id, @source, @session_id, @workspace, @task, @system_prompt, @model, @started_at, @ended_at,
        @outcome, @outcome_json, @usage_json, @redactions_json, @redaction_count, @source_path, @parent_session_id, @step_count, @imported_at)
      ON CONFLICT(id) DO UPDATE SET source = excluded.source, session_id = excluded.session_id, workspace = excluded.workspace,
        task = excluded.task, system_prompt = excluded.system_prompt, model = excluded.model, started_at = excluded.started_at,
        ended_at = excluded.ended_at, outcome = excluded.outcome, outcome_json = excluded.outcome_json, usage_json = excluded.usage_json,
        redactions_json = excluded.redactions_json, redaction_count = excluded.redaction_count, source_path = excluded.source_path,
        parent_session_id = excluded.parent_session_id, step_count = excluded.step_count`);
    this.deleteSteps = db.prepare<[string]>('DELETE FROM steps WHERE trajectory_id = ?');
    this.insertStep = db.prepare<[StepRow]>(`
      INSERT INTO steps (trajectory_id, idx, text, thought, tool_calls_json, observations_json, user_messages_json, started_at, ended_at, model, usage_json)
      VALUES (@trajectory_id, @idx, @text, @thought, @tool_calls_json, @observations_json, @user_messages_json, @started_at, @ended_at, @model, @usage_json)`);
    this.getRow = db.prepare<[string], TrajectoryRow>('SELECT * FROM trajectories WHERE id = ?');
    this.getSteps = db.prepare<[string], StepRow>('SELECT * FROM steps WHERE trajectory_id = ? ORDER BY idx');
    this.countStmt = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM trajectories');
    this.searchStmt = db.prepare<[string, number], { trajectory_id: string; idx: number; snippet: string }>(
      `SELECT s.trajectory_id, s.idx, snippet(steps_fts, 0, '«', '»', '…', 12) AS snippet
       FROM steps_fts JOIN steps s ON s.rowid = steps_fts.rowid
       WHERE steps_fts MATCH ? ORDER BY rank LIMIT ?`,
    );
    this.setOutcomeStmt = db.prepare<[string, string, string]>('UPDATE trajectories SET outcome = ?, outcome_json = ? WHERE id = ?');
    this.deleteStmt = db.prepare<[string]>('DELETE FROM trajectories WHERE id = ?');
    this.filesStmt = db.prepare<[string], FileRow>('SELECT path, part_json FROM trajectory_files WHERE trajectory_id = ? ORDER BY path');
    this.fileStmt = db.prepare<[string, string], FileRow>('SELECT path, part_json FROM trajectory_files WHERE trajectory_id = ? AND path = ?');
    this.addFileStmt = db.prepare<[string, string, string | null]>(
      'INSERT INTO trajectory_files (trajectory_id, path, part_json) VALUES (?, ?, ?) ON CONFLICT(trajectory_id, path) DO UPDATE SET part_json = excluded.part_json',
    );
    this.deleteFilesStmt = db.prepare<[string]>('DELETE FROM trajectory_files WHERE trajectory_id = ?');
  }

  /** Inserts or replaces a trajectory and all its steps, atomically. */
  upsert(trajectory: Trajectory): void {
    const rows = toRows(trajectory);
    this.db.transaction(() => {
      this.write(rows);
    }).immediate();
  }

  /** Inserts or replaces many trajectories in one transaction (see upsertRows). */
  upsertMany(trajectories: readonly Trajectory[]): void {
    this.upsertRows(trajectories.map(toRows));
  }

  /**
   * Inserts or replaces many trajectories, given as rows, in one transaction (the last of two with
   * the same id wins). With many steps the full-text index is filled once at the end, from the new
   * rows, instead of by the per-row trigger: FTS5 indexes a batch of rows about three times faster
   * than row by row. The trigger is dropped and recreated inside the same transaction, so no other
   * connection ever sees the schema without it, and a failure rolls both back.
   */
  upsertRows(items: readonly TrajectoryRows[]): void {
    const latest = new Map<string, TrajectoryRows>();
    for (const rows of items) latest.set(rows.trajectory.id, rows);
    let steps = 0;
    for (const rows of latest.values()) steps += rows.steps.length;
    this.db.transaction(() => {
      if (steps < BULK_FTS_STEPS) {
        for (const rows of latest.values()) this.write(rows);
        return;
      }
      this.db.exec('DROP TRIGGER steps_fts_ai');
      // New rows get rowids above every row present when they were inserted, and rows written in
      // this transaction are never deleted in it (ids are unique here): rowid >= first new rowid
      // is exactly the set of rows the trigger would have indexed.
      let first = Number.POSITIVE_INFINITY;
      for (const rows of latest.values()) first = Math.min(first, this.write(rows));
      if (Number.isFinite(first)) this.db.prepare('INSERT INTO steps_fts(rowid, fts_body) SELECT rowid, fts_body FROM steps WHERE rowid >= ?').run(first);
      this.db.exec(STEPS_FTS_INSERT_TRIGGER);
    }).immediate();
  }

  /** Writes one trajectory's rows (inside a transaction) and returns the lowest rowid given to its steps. */
  private write(rows: TrajectoryRows): number {
    const id = rows.trajectory.id;
    const existing = this.getRow.get(id);
    const kept = existing !== undefined && hasUserVerdict(existing.outcome_json) ? { outcome: existing.outcome, outcome_json: existing.outcome_json } : {};
    this.insertTrajectory.run({ ...rows.trajectory, ...kept, imported_at: existing?.imported_at ?? nowIso() });
    this.deleteSteps.run(id);
    let first = Number.POSITIVE_INFINITY;
    for (const step of rows.steps) {
      const { lastInsertRowid } = this.insertStep.run({ ...step, trajectory_id: id });
      first = Math.min(first, Number(lastInsertRowid));
    }
    return first;
  }

  /** The files a trajectory was read from, by path. */
  files(id: string): TrajectoryFile[] {
    return this.filesStmt.all(id).map((row) => {
      const part = fromJson<Trajectory | undefined>(row.part_json, undefined);
      return part === undefined ? { path: row.path } : { path: row.path, part };
    });
  }

  /**
   * What the file at `path` alone holds of a trajectory: its kept part, the stored trajectory when
   * that file is its only source, undefined when the file has not contributed to it. A row stored
   * before files were recorded counts as coming from any file.
   */
  fromFile(id: string, path: string): Trajectory | undefined {
    const row = this.fileStmt.get(id, path);
    if (row?.part_json !== undefined && row.part_json !== null) return fromJson<Trajectory | undefined>(row.part_json, undefined);
    if (row === undefined && this.filesStmt.all(id).length > 0) return undefined;
    return this.get(id);
  }

  /** Records the files of a trajectory (inside the transaction that wrote it), replacing what was recorded. */
  setFiles(id: string, files: readonly TrajectoryFile[]): void {
    this.deleteFilesStmt.run(id);
    for (const file of files) this.addFileStmt.run(id, file.path, file.part === undefined ? null : toJson(file.part));
  }

  /** Records one more file of a trajectory that keeps no parts (its only file, on first write). */
  addFile(id: string, path: string): void {
    this.addFileStmt.run(id, path, null);
  }

  get(id: string): Trajectory | undefined {
    const row = this.getRow.get(id);
    return row === undefined ? undefined : trajectoryFromRow(row, this.getSteps.all(id));
  }

  /** One trajectory's summary row, without loading its steps. */
  summary(id: string): TrajectorySummary | undefined {
    const row = this.getRow.get(id);
    return row === undefined ? undefined : summaryFromRow(row);
  }

  list(filter: TrajectoryFilter = {}): TrajectorySummary[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.source !== undefined) {
      where.push('source = ?');
      params.push(filter.source);
    }
    if (filter.outcome !== undefined) {
      where.push('outcome = ?');
      params.push(filter.outcome);
    }
    if (filter.workspace !== undefined) {
      where.push('workspace = ?');
      params.push(filter.workspace);
    }
    const sql = `SELECT * FROM trajectories ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY coalesce(started_at, imported_at) DESC, id LIMIT ? OFFSET ?`;
    params.push(filter.limit ?? -1, filter.offset ?? 0);
    return this.db.prepare<(string | number)[], TrajectoryRow>(sql).all(...params).map(summaryFromRow);
  }

  count(): number {
    return this.countStmt.get()?.n ?? 0;
  }

  /** Full-text search over step text, tool calls and observations. */
  search(query: string, limit = 50): SearchHit[] {
    const q = ftsQuery(query);
    if (q === '') return [];
    return this.searchStmt.all(q, limit).map((r) => ({ trajectoryId: r.trajectory_id, stepIndex: r.idx, snippet: r.snippet }));
  }

  /** The user's verdict overrides the inferred one; the evidence says so, and rewrites from the sources keep it. */
  setOutcome(id: string, outcome: Outcome): void {
    const result = this.setOutcomeStmt.run(outcome.label, toJson(outcome), id);
    if (result.changes === 0) throw new Error(`No trajectory with id ${id}.`);
  }

  delete(id: string): void {
    this.deleteStmt.run(id);
  }
}
