import type { Database } from 'better-sqlite3';
import { fromJson, nowIso, opt, toJson } from './json.js';

export type IterationStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled' | 'collapsed' | 'rolled-back';
export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/**
 * One round of internalization. Configuration, metrics and verdict are owned by the distill room;
 * the store keeps them as JSON objects so that adding a metric needs no migration.
 */
export interface IterationRecord {
  readonly number: number;
  readonly status: IterationStatus;
  readonly config: Readonly<Record<string, unknown>>;
  readonly adapterPath?: string;
  readonly metrics?: Readonly<Record<string, unknown>>;
  readonly verdict?: Readonly<Record<string, unknown>>;
  readonly startedAt?: string;
  readonly endedAt?: string;
}

export interface RunRecord {
  readonly id: number;
  readonly iteration?: number;
  readonly kind: string;
  readonly status: RunStatus;
  readonly config: Readonly<Record<string, unknown>>;
  readonly logPath?: string;
  readonly error?: string;
  readonly startedAt: string;
  readonly endedAt?: string;
}

interface IterationRow {
  number: number;
  status: string;
  config_json: string;
  adapter_path: string | null;
  metrics_json: string | null;
  verdict_json: string | null;
  started_at: string | null;
  ended_at: string | null;
}

interface RunRow {
  id: number;
  iteration: number | null;
  kind: string;
  status: string;
  config_json: string;
  log_path: string | null;
  error: string | null;
  started_at: string;
  ended_at: string | null;
}

function iterationFromRow(row: IterationRow): IterationRecord {
  return {
    number: row.number,
    status: row.status as IterationStatus,
    config: fromJson<Record<string, unknown>>(row.config_json, {}),
    adapterPath: opt(row.adapter_path),
    metrics: fromJson<Record<string, unknown> | undefined>(row.metrics_json, undefined),
    verdict: fromJson<Record<string, unknown> | undefined>(row.verdict_json, undefined),
    startedAt: opt(row.started_at),
    endedAt: opt(row.ended_at),
  };
}

function runFromRow(row: RunRow): RunRecord {
  return {
    id: row.id,
    iteration: opt(row.iteration),
    kind: row.kind,
    status: row.status as RunStatus,
    config: fromJson<Record<string, unknown>>(row.config_json, {}),
    logPath: opt(row.log_path),
    error: opt(row.error),
    startedAt: row.started_at,
    endedAt: opt(row.ended_at),
  };
}

export class IterationRepository {
  constructor(private readonly db: Database) {}

  save(iteration: IterationRecord): void {
    this.db
      .prepare(
        `INSERT INTO iterations (number, status, config_json, adapter_path, metrics_json, verdict_json, started_at, ended_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(number) DO UPDATE SET status = excluded.status, config_json = excluded.config_json, adapter_path = excluded.adapter_path,
           metrics_json = excluded.metrics_json, verdict_json = excluded.verdict_json, started_at = excluded.started_at, ended_at = excluded.ended_at`,
      )
      .run(
        iteration.number,
        iteration.status,
        toJson(iteration.config),
        iteration.adapterPath ?? null,
        iteration.metrics === undefined ? null : toJson(iteration.metrics),
        iteration.verdict === undefined ? null : toJson(iteration.verdict),
        iteration.startedAt ?? null,
        iteration.endedAt ?? null,
      );
  }

  get(number: number): IterationRecord | undefined {
    const row = this.db.prepare<[number], IterationRow>('SELECT * FROM iterations WHERE number = ?').get(number);
    return row === undefined ? undefined : iterationFromRow(row);
  }

  list(): IterationRecord[] {
    return this.db.prepare<[], IterationRow>('SELECT * FROM iterations ORDER BY number').all().map(iterationFromRow);
  }

  latest(): IterationRecord | undefined {
    const row = this.db.prepare<[], IterationRow>('SELECT * FROM iterations ORDER BY number DESC LIMIT 1').get();
    return row === undefined ? undefined : iterationFromRow(row);
  }
}

export class RunRepository {
  constructor(private readonly db: Database) {}

  start(kind: string, options: { iteration?: number; config?: Record<string, unknown>; logPath?: string } = {}): number {
    const result = this.db
      .prepare(`INSERT INTO runs (iteration, kind, status, config_json, log_path, started_at) VALUES (?, ?, 'running', ?, ?, ?)`)
      .run(options.iteration ?? null, kind, toJson(options.config ?? {}), options.logPath ?? null, nowIso());
    return Number(result.lastInsertRowid);
  }

  finish(id: number, status: Exclude<RunStatus, 'queued' | 'running'>, error?: string): void {
    this.db.prepare('UPDATE runs SET status = ?, error = ?, ended_at = ? WHERE id = ?').run(status, error ?? null, nowIso(), id);
  }

  get(id: number): RunRecord | undefined {
    const row = this.db.prepare<[number], RunRow>('SELECT * FROM runs WHERE id = ?').get(id);
    return row === undefined ? undefined : runFromRow(row);
  }

  list(iteration?: number): RunRecord[] {
    const rows =
      iteration === undefined
        ? this.db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY id').all()
        : this.db.prepare<[number], RunRow>('SELECT * FROM runs WHERE iteration = ? ORDER BY id').all(iteration);
    return rows.map(runFromRow);
  }
}

/**
 * How much of the teacher–student gap an iteration's student closed for one principle, without the
 * principle in context: by a checker where the principle has one, else by divergence.
 */
export interface PrincipleScoreRecord {
  readonly iteration: number;
  readonly principleId: string;
  readonly method: 'checker' | 'divergence';
  /** Success rates (checker) of the base model without, the teacher with, the student without the principle. */
  readonly base?: number;
  readonly teacher?: number;
  readonly student?: number;
  /** Share of the gap closed (1 − KL after / KL before for divergence). */
  readonly score?: number;
  readonly internalized: boolean;
  readonly detail: Readonly<Record<string, unknown>>;
  readonly recordedAt: string;
}

interface ScoreRow {
  iteration: number;
  principle_id: string;
  method: string;
  base: number | null;
  teacher: number | null;
  student: number | null;
  score: number | null;
  internalized: number;
  detail_json: string;
  recorded_at: string;
}

function scoreFromRow(r: ScoreRow): PrincipleScoreRecord {
  return {
    iteration: r.iteration,
    principleId: r.principle_id,
    method: r.method === 'divergence' ? 'divergence' : 'checker',
    base: opt(r.base),
    teacher: opt(r.teacher),
    student: opt(r.student),
    score: opt(r.score),
    internalized: r.internalized === 1,
    detail: fromJson<Record<string, unknown>>(r.detail_json, {}),
    recordedAt: r.recorded_at,
  };
}

export class PrincipleScoreRepository {
  constructor(private readonly db: Database) {}

  /** Records an iteration's scores (a re-run of the same iteration replaces them). */
  save(iteration: number, scores: readonly Omit<PrincipleScoreRecord, 'iteration' | 'recordedAt'>[]): void {
    const insert = this.db.prepare(
      `INSERT OR REPLACE INTO principle_scores (iteration, principle_id, method, base, teacher, student, score, internalized, detail_json, recorded_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const at = nowIso();
    this.db.transaction(() => {
      for (const s of scores) {
        insert.run(iteration, s.principleId, s.method, s.base ?? null, s.teacher ?? null, s.student ?? null, s.score ?? null, s.internalized ? 1 : 0, toJson(s.detail), at);
      }
    }).immediate();
  }

  forIteration(iteration: number): PrincipleScoreRecord[] {
    return this.db.prepare<[number], ScoreRow>('SELECT * FROM principle_scores WHERE iteration = ? ORDER BY principle_id').all(iteration).map(scoreFromRow);
  }

  /** Each principle's score from the latest iteration that scored it. */
  latest(): Map<string, PrincipleScoreRecord> {
    const rows = this.db
      .prepare<[], ScoreRow>('SELECT s.* FROM principle_scores s JOIN (SELECT principle_id, max(iteration) AS it FROM principle_scores GROUP BY principle_id) l ON l.principle_id = s.principle_id AND l.it = s.iteration')
      .all();
    return new Map(rows.map((r) => [r.principle_id, scoreFromRow(r)]));
  }
}
