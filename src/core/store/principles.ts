import type { Database } from 'better-sqlite3';
import type { EvidenceRef, Granularity, Principle, PrincipleOrigin, PrincipleScope, PrincipleStatus, PoolOp, PoolOpKind, PoolSnapshot } from '../principle.js';
import { fromJson, nowIso, opt, toJson } from './json.js';

interface PrincipleRow {
  id: string;
  text: string;
  when_text: string;
  scope: string;
  granularity: string;
  status: string;
  origin: string;
  evidence_json: string;
  helpful: number;
  harmful: number;
  created_iteration: number;
  updated_iteration: number;
  model: string | null;
  created_at: string;
  updated_at: string;
}

function principleFromRow(row: PrincipleRow): Principle {
  return {
    id: row.id,
    text: row.text,
    when: row.when_text,
    scope: row.scope as PrincipleScope,
    granularity: row.granularity as Granularity,
    status: row.status as PrincipleStatus,
    origin: row.origin as PrincipleOrigin,
    evidence: fromJson<EvidenceRef[]>(row.evidence_json, []),
    helpful: row.helpful,
    harmful: row.harmful,
    createdIteration: row.created_iteration,
    updatedIteration: row.updated_iteration,
    model: opt(row.model),
  };
}

export interface PrincipleHistoryEntry {
  readonly seq: number;
  readonly principleId: string;
  readonly text: string;
  readonly when: string;
  readonly scope: string;
  readonly status: PrincipleStatus;
  readonly opId?: number;
  readonly changedAt: string;
}

export class PrincipleRepository {
  private readonly db: Database;
  private readonly upsertStmt;
  private readonly historyStmt;
  private readonly getStmt;

  constructor(db: Database) {
    this.db = db;
    this.upsertStmt = db.prepare<[PrincipleRow]>(`
      INSERT INTO principles (id, text, when_text, scope, granularity, status, origin, evidence_json, helpful, harmful,
        created_iteration, updated_iteration, model, created_at, updated_at)
      VALUES (@id, @text, @when_text, @scope, @granularity, @status, @origin, @evidence_json, @helpful, @harmful,
        @created_iteration, @updated_iteration, @model, @created_at, @updated_at)
      ON CONFLICT(id) DO UPDATE SET text = excluded.text, when_text = excluded.when_text, scope = excluded.scope,
        granularity = excluded.granularity, status = excluded.status, origin = excluded.origin, evidence_json = excluded.evidence_json,
        helpful = excluded.helpful, harmful = excluded.harmful, updated_iteration = excluded.updated_iteration,
        model = excluded.model, updated_at = excluded.updated_at`);
    this.historyStmt = db.prepare<[string, string, string, string, string, number | null, string]>(
      'INSERT INTO principle_history (principle_id, text, when_text, scope, status, op_id, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.getStmt = db.prepare<[string], PrincipleRow>('SELECT * FROM principles WHERE id = ?');
  }

  /** Writes a principle and appends the new state to its history; `opId` links the change to its operation. */
  save(principle: Principle, opId?: number): void {
    const now = nowIso();
    const existing = this.getStmt.get(principle.id);
    this.db.transaction(() => {
      this.upsertStmt.run({
        id: principle.id,
        text: principle.text,
        when_text: principle.when,
        scope: principle.scope,
        granularity: principle.granularity,
        status: principle.status,
        origin: principle.origin,
        evidence_json: toJson(principle.evidence),
        helpful: principle.helpful,
        harmful: principle.harmful,
        created_iteration: principle.createdIteration,
        updated_iteration: principle.updatedIteration,
        model: principle.model ?? null,
        created_at: existing?.created_at ?? now,
        updated_at: now,
      });
      this.historyStmt.run(principle.id, principle.text, principle.when, principle.scope, principle.status, opId ?? null, now);
    }).immediate();
  }

  get(id: string): Principle | undefined {
    const row = this.getStmt.get(id);
    return row === undefined ? undefined : principleFromRow(row);
  }

  list(filter: { status?: PrincipleStatus; limit?: number; offset?: number } = {}): Principle[] {
    const rows =
      filter.status === undefined
        ? this.db.prepare<[number, number], PrincipleRow>('SELECT * FROM principles ORDER BY CAST(substr(id, 2) AS INTEGER), id LIMIT ? OFFSET ?').all(filter.limit ?? -1, filter.offset ?? 0)
        : this.db
            .prepare<[string, number, number], PrincipleRow>('SELECT * FROM principles WHERE status = ? ORDER BY CAST(substr(id, 2) AS INTEGER), id LIMIT ? OFFSET ?')
            .all(filter.status, filter.limit ?? -1, filter.offset ?? 0);
    return rows.map(principleFromRow);
  }

  ids(): string[] {
    return this.db.prepare<[], { id: string }>('SELECT id FROM principles').all().map((r) => r.id);
  }

  count(status?: PrincipleStatus): number {
    const row =
      status === undefined
        ? this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM principles').get()
        : this.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM principles WHERE status = ?').get(status);
    return row?.n ?? 0;
  }

  history(id: string): PrincipleHistoryEntry[] {
    return this.db
      .prepare<[string], { seq: number; principle_id: string; text: string; when_text: string; scope: string; status: string; op_id: number | null; changed_at: string }>(
        'SELECT * FROM principle_history WHERE principle_id = ? ORDER BY seq',
      )
      .all(id)
      .map((r) => ({
        seq: r.seq,
        principleId: r.principle_id,
        text: r.text,
        when: r.when_text,
        scope: r.scope,
        status: r.status as PrincipleStatus,
        opId: opt(r.op_id),
        changedAt: r.changed_at,
      }));
  }

  search(query: string, limit = 50): Principle[] {
    const words = query.match(/[\p{L}\p{N}_]+/gu) ?? [];
    if (words.length === 0) return [];
    return this.db
      .prepare<[string, number], PrincipleRow>(
        `SELECT p.* FROM principles_fts f JOIN principles p ON p.rowid = f.rowid WHERE principles_fts MATCH ? ORDER BY rank LIMIT ?`,
      )
      .all(words.map((w) => `"${w}"`).join(' '), limit)
      .map(principleFromRow);
  }
}

export type PoolOpStatus = 'proposed' | 'applied' | 'rejected';

export interface StoredPoolOp extends PoolOp {
  readonly id: number;
  readonly batchId?: string;
  readonly status: PoolOpStatus;
  readonly iteration: number;
  readonly proposedAt: string;
  readonly decidedAt?: string;
}

interface PoolOpRow {
  id: number;
  batch_id: string | null;
  kind: string;
  principle_id: string;
  merged_ids_json: string | null;
  before_text: string | null;
  after_text: string | null;
  rationale: string;
  evidence_json: string;
  status: string;
  iteration: number;
  proposed_at: string;
  decided_at: string | null;
}

function opFromRow(row: PoolOpRow): StoredPoolOp {
  return {
    id: row.id,
    batchId: opt(row.batch_id),
    kind: row.kind as PoolOpKind,
    principleId: row.principle_id,
    mergedIds: fromJson<string[] | undefined>(row.merged_ids_json, undefined),
    before: opt(row.before_text),
    after: opt(row.after_text),
    rationale: row.rationale,
    evidence: fromJson<EvidenceRef[]>(row.evidence_json, []),
    status: row.status as PoolOpStatus,
    iteration: row.iteration,
    proposedAt: row.proposed_at,
    decidedAt: opt(row.decided_at),
  };
}

export class PoolOpRepository {
  constructor(private readonly db: Database) {}

  /** Records a proposed operation; nothing in the pool changes until it is applied. */
  propose(op: PoolOp, options: { batchId?: string; iteration?: number } = {}): number {
    const result = this.db
      .prepare(
        `INSERT INTO pool_ops (batch_id, kind, principle_id, merged_ids_json, before_text, after_text, rationale, evidence_json, status, iteration, proposed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'proposed', ?, ?)`,
      )
      .run(
        options.batchId ?? null,
        op.kind,
        op.principleId,
        op.mergedIds === undefined ? null : toJson(op.mergedIds),
        op.before ?? null,
        op.after ?? null,
        op.rationale,
        toJson(op.evidence),
        options.iteration ?? 0,
        nowIso(),
      );
    return Number(result.lastInsertRowid);
  }

  get(id: number): StoredPoolOp | undefined {
    const row = this.db.prepare<[number], PoolOpRow>('SELECT * FROM pool_ops WHERE id = ?').get(id);
    return row === undefined ? undefined : opFromRow(row);
  }

  count(status?: PoolOpStatus): number {
    const row =
      status === undefined
        ? this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM pool_ops').get()
        : this.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM pool_ops WHERE status = ?').get(status);
    return row?.n ?? 0;
  }

  list(filter: { status?: PoolOpStatus; iteration?: number; limit?: number } = {}): StoredPoolOp[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.iteration !== undefined) {
      where.push('iteration = ?');
      params.push(filter.iteration);
    }
    return this.db
      .prepare<(string | number)[], PoolOpRow>(`SELECT * FROM pool_ops ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`)
      .all(...params, filter.limit ?? -1)
      .map(opFromRow);
  }

  decide(id: number, status: Exclude<PoolOpStatus, 'proposed'>, edited?: { after?: string }): void {
    const result = this.db
      .prepare(`UPDATE pool_ops SET status = ?, decided_at = ?, after_text = coalesce(?, after_text) WHERE id = ? AND status = 'proposed'`)
      .run(status, nowIso(), edited?.after ?? null, id);
    if (result.changes === 0) throw new Error(`Pool operation ${String(id)} is not pending (it was already decided or does not exist).`);
  }
}

export class SnapshotRepository {
  constructor(private readonly db: Database) {}

  /** Freezes the accepted pool for an iteration; a frozen snapshot never changes. */
  freeze(iteration: number, principles: readonly Principle[]): PoolSnapshot {
    const snapshot: PoolSnapshot = { iteration, createdAt: nowIso(), principles: principles.filter((p) => p.status === 'accepted') };
    const result = this.db
      .prepare('INSERT OR IGNORE INTO pool_snapshots (iteration, created_at, principles_json) VALUES (?, ?, ?)')
      .run(iteration, snapshot.createdAt, toJson(snapshot.principles));
    if (result.changes === 0) throw new Error(`Iteration ${String(iteration)} already has a frozen pool snapshot.`);
    return snapshot;
  }

  get(iteration: number): PoolSnapshot | undefined {
    const row = this.db
      .prepare<[number], { iteration: number; created_at: string; principles_json: string }>('SELECT * FROM pool_snapshots WHERE iteration = ?')
      .get(iteration);
    return row === undefined ? undefined : { iteration: row.iteration, createdAt: row.created_at, principles: fromJson<Principle[]>(row.principles_json, []) };
  }

  iterations(): number[] {
    return this.db.prepare<[], { iteration: number }>('SELECT iteration FROM pool_snapshots ORDER BY iteration').all().map((r) => r.iteration);
  }
}
