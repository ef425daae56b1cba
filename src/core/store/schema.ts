import type { Database } from 'better-sqlite3';

/**
 * Migrations in order; the database's `PRAGMA user_version` is the number already applied.
 * Never edit a released migration: add a new one, so every older file can still be brought forward.
 */
export const MIGRATIONS: readonly ((db: Database) => void)[] = [
  // 1: capture — sources and trajectories with their steps.
  (db) => {
    db.exec(`
      CREATE TABLE sources (
        path        TEXT PRIMARY KEY,
        format      TEXT NOT NULL,
        offset      INTEGER NOT NULL DEFAULT 0,
        size        INTEGER NOT NULL DEFAULT 0,
        mtime_ms    REAL NOT NULL DEFAULT 0,
        head_hash   TEXT NOT NULL DEFAULT '',
        state       TEXT,
        last_error  TEXT,
        updated_at  TEXT NOT NULL
      );
      CREATE TABLE trajectories (
        id                TEXT PRIMARY KEY,
        source            TEXT NOT NULL,
        session_id        TEXT NOT NULL,
        workspace         TEXT,
        task              TEXT NOT NULL,
        system_prompt     TEXT,
        model             TEXT,
        started_at        TEXT,
        ended_at          TEXT,
        outcome           TEXT NOT NULL CHECK (outcome IN ('success','failure','unknown')),
        outcome_json      TEXT NOT NULL,
        usage_json        TEXT,
        redactions_json   TEXT,
        redaction_count   INTEGER NOT NULL DEFAULT 0,
        source_path       TEXT,
        parent_session_id TEXT,
        step_count        INTEGER NOT NULL DEFAULT 0,
        imported_at       TEXT NOT NULL
      );
      CREATE INDEX trajectories_by_source ON trajectories(source, workspace, started_at);
      CREATE TABLE steps (
        trajectory_id     TEXT NOT NULL REFERENCES trajectories(id) ON DELETE CASCADE,
        idx               INTEGER NOT NULL,
        text              TEXT,
        thought           TEXT,
        tool_calls_json   TEXT NOT NULL,
        observations_json TEXT NOT NULL,
        user_messages_json TEXT,
        started_at        TEXT,
        ended_at          TEXT,
        model             TEXT,
        usage_json        TEXT,
        UNIQUE (trajectory_id, idx)
      );
    `);
  },
  // 2: experience — principles, their history, pool operations and snapshots.
  (db) => {
    db.exec(`
      CREATE TABLE principles (
        id                TEXT PRIMARY KEY,
        text              TEXT NOT NULL,
        when_text         TEXT NOT NULL DEFAULT '',
        scope             TEXT NOT NULL DEFAULT 'global',
        granularity       TEXT NOT NULL CHECK (granularity IN ('principle','instance')),
        status            TEXT NOT NULL CHECK (status IN ('proposed','accepted','rejected','retired')),
        origin            TEXT NOT NULL,
        evidence_json     TEXT NOT NULL DEFAULT '[]',
        helpful           INTEGER NOT NULL DEFAULT 0,
        harmful           INTEGER NOT NULL DEFAULT 0,
        created_iteration INTEGER NOT NULL DEFAULT 0,
        updated_iteration INTEGER NOT NULL DEFAULT 0,
        model             TEXT,
        created_at        TEXT NOT NULL,
        updated_at        TEXT NOT NULL
      );
      CREATE INDEX principles_by_status ON principles(status, scope);
      CREATE TABLE principle_history (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        principle_id TEXT NOT NULL,
        text         TEXT NOT NULL,
        when_text    TEXT NOT NULL,
        scope        TEXT NOT NULL,
        status       TEXT NOT NULL,
        op_id        INTEGER,
        changed_at   TEXT NOT NULL
      );
      CREATE INDEX principle_history_by_id ON principle_history(principle_id, seq);
      CREATE TABLE pool_ops (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id      TEXT,
        kind          TEXT NOT NULL CHECK (kind IN ('ADD','UPDATE','DELETE','MERGE')),
        principle_id  TEXT NOT NULL,
        merged_ids_json TEXT,
        before_text   TEXT,
        after_text    TEXT,
        rationale     TEXT NOT NULL DEFAULT '',
        evidence_json TEXT NOT NULL DEFAULT '[]',
        status        TEXT NOT NULL CHECK (status IN ('proposed','applied','rejected')),
        iteration     INTEGER NOT NULL DEFAULT 0,
        proposed_at   TEXT NOT NULL,
        decided_at    TEXT
      );
      CREATE INDEX pool_ops_by_status ON pool_ops(status, id);
      CREATE TABLE pool_snapshots (
        iteration       INTEGER PRIMARY KEY,
        created_at      TEXT NOT NULL,
        principles_json TEXT NOT NULL
      );
    `);
  },
  // 3: distillation — iterations and the runs (worker jobs) inside them.
  (db) => {
    db.exec(`
      CREATE TABLE iterations (
        number       INTEGER PRIMARY KEY,
        status       TEXT NOT NULL CHECK (status IN ('pending','running','done','failed','cancelled','collapsed','rolled-back')),
        config_json  TEXT NOT NULL,
        adapter_path TEXT,
        metrics_json TEXT,
        verdict_json TEXT,
        started_at   TEXT,
        ended_at     TEXT
      );
      CREATE TABLE runs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        iteration   INTEGER REFERENCES iterations(number) ON DELETE CASCADE,
        kind        TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled')),
        config_json TEXT NOT NULL DEFAULT '{}',
        log_path    TEXT,
        error       TEXT,
        started_at  TEXT NOT NULL,
        ended_at    TEXT
      );
      CREATE INDEX runs_by_iteration ON runs(iteration, id);
    `);
  },
  // 4: full-text search over step text and principle text.
  (db) => {
    db.exec(`
      -- Rowid-keyed so that keeping the index in step with its table is an index lookup, not a scan.
      -- The indexed text is a virtual column of steps: the index keeps no second copy of it.
      ALTER TABLE steps ADD COLUMN fts_body TEXT GENERATED ALWAYS AS (${stepBody()}) VIRTUAL;
      CREATE VIRTUAL TABLE steps_fts USING fts5(fts_body, content = 'steps', content_rowid = 'rowid', tokenize = 'unicode61');
      CREATE VIRTUAL TABLE principles_fts USING fts5(body, tokenize = 'unicode61');
      CREATE TRIGGER principles_fts_ai AFTER INSERT ON principles BEGIN
        INSERT INTO principles_fts(rowid, body) VALUES (new.rowid, new.text || ' ' || new.when_text);
      END;
      CREATE TRIGGER principles_fts_au AFTER UPDATE OF text, when_text ON principles BEGIN
        DELETE FROM principles_fts WHERE rowid = old.rowid;
        INSERT INTO principles_fts(rowid, body) VALUES (new.rowid, new.text || ' ' || new.when_text);
      END;
      CREATE TRIGGER principles_fts_ad AFTER DELETE ON principles BEGIN
        DELETE FROM principles_fts WHERE rowid = old.rowid;
      END;
      INSERT INTO principles_fts(rowid, body) SELECT rowid, text || ' ' || when_text FROM principles;
      CREATE TRIGGER steps_fts_ai AFTER INSERT ON steps BEGIN
        INSERT INTO steps_fts(rowid, fts_body) VALUES (new.rowid, new.fts_body);
      END;
      CREATE TRIGGER steps_fts_ad AFTER DELETE ON steps BEGIN
        INSERT INTO steps_fts(steps_fts, rowid, fts_body) VALUES ('delete', old.rowid, old.fts_body);
      END;
      INSERT INTO steps_fts(steps_fts) VALUES ('rebuild');
    `);
  },
  // 5: per-principle internalization scores, one row per iteration and principle.
  (db) => {
    db.exec(`
      CREATE TABLE principle_scores (
        iteration INTEGER NOT NULL,
        principle_id TEXT NOT NULL,
        method TEXT NOT NULL,
        base REAL,
        teacher REAL,
        student REAL,
        score REAL,
        internalized INTEGER NOT NULL DEFAULT 0,
        detail_json TEXT NOT NULL DEFAULT '{}',
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (iteration, principle_id)
      );
      CREATE INDEX principle_scores_by_principle ON principle_scores (principle_id, iteration);
    `);
  },
  // 6: the files each trajectory was read from. A session can span files (a resumed or continued
  // session, a copy of a project folder); each file's part is kept once a second file joins, so the
  // stored trajectory is always rebuilt from every part and re-reading one file never drops another's
  // steps. A single-file trajectory keeps no copy (part_json NULL): its row is its only part.
  (db) => {
    db.exec(`
      CREATE TABLE trajectory_files (
        trajectory_id TEXT NOT NULL REFERENCES trajectories(id) ON DELETE CASCADE,
        path          TEXT NOT NULL,
        part_json     TEXT,
        PRIMARY KEY (trajectory_id, path)
      ) WITHOUT ROWID;
      -- Rows stored before knew their file only as source_path (a line of a rollout file as path#L<n>).
      INSERT OR IGNORE INTO trajectory_files (trajectory_id, path)
        SELECT id, CASE WHEN instr(source_path, '#L') > 0 THEN substr(source_path, 1, instr(source_path, '#L') - 1) ELSE source_path END
        FROM trajectories WHERE source_path IS NOT NULL;
    `);
  },
  // 7: embeddings cache — one vector per (embedder identity, sha256 of the text). A changed text is a
  // new key, so only it is embedded again; another model or variant has another embedder id.
  (db) => {
    db.exec(`
      CREATE TABLE embeddings (
        embedder_id TEXT NOT NULL,
        text_hash   TEXT NOT NULL,
        dim         INTEGER NOT NULL,
        vector      BLOB NOT NULL,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (embedder_id, text_hash)
      ) WITHOUT ROWID;
    `);
  },
  // 8: serving — every principles_for_state call (MCP server, language-model tool) with the state it
  // was asked about (redacted, truncated) and what it returned; the trajectory it was later found in
  // and the verdict that trajectory's outcome credited (NULL until then, so re-import credits once);
  // and every helpful/harmful report, so a count can always be traced to the reports behind it.
  (db) => {
    db.exec(`
      CREATE TABLE serve_calls (
        id            TEXT PRIMARY KEY,
        at            TEXT NOT NULL,
        client        TEXT NOT NULL DEFAULT '',
        target_model  TEXT,
        workspace     TEXT,
        state_hash    TEXT NOT NULL,
        state_text    TEXT NOT NULL,
        truncated     INTEGER NOT NULL DEFAULT 0,
        embedder_id   TEXT NOT NULL,
        results_json  TEXT NOT NULL DEFAULT '[]',
        trajectory_id TEXT,
        step_index    INTEGER,
        credited      TEXT CHECK (credited IN ('helpful','harmful'))
      );
      CREATE INDEX serve_calls_by_hash ON serve_calls(state_hash);
      CREATE INDEX serve_calls_by_trajectory ON serve_calls(trajectory_id);
      CREATE TABLE principle_feedback (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,
        principle_id TEXT NOT NULL,
        verdict      TEXT NOT NULL CHECK (verdict IN ('helpful','harmful')),
        note         TEXT,
        call_id      TEXT,
        origin       TEXT NOT NULL CHECK (origin IN ('agent','outcome')),
        at           TEXT NOT NULL
      );
      CREATE INDEX principle_feedback_by_principle ON principle_feedback(principle_id, seq);
    `);
  },
];

/**
 * What full-text search sees of a step: its words, its calls and the start of what came back.
 * Whole tool outputs (file dumps, build logs) made indexing the dominant cost of an import, and
 * a search for what happened is answered by the first lines of an output.
 */
function stepBody(): string {
  return `coalesce(text, '') || ' ' || coalesce(thought, '') || ' ' || substr(tool_calls_json, 1, ${String(FTS_CALL_CHARS)}) || ' ' || substr(observations_json, 1, ${String(FTS_OBSERVATION_CHARS)})`;
}

const FTS_CALL_CHARS = 1000;
const FTS_OBSERVATION_CHARS = 1000;

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to `target` (default: the latest), each migration in its own transaction. */
export function migrate(db: Database, target: number = SCHEMA_VERSION): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < target; version++) {
    const step = MIGRATIONS[version];
    if (step === undefined) break;
    db.transaction(() => {
      step(db);
      db.pragma(`user_version = ${String(version + 1)}`);
    }).immediate();
  }
  return db.pragma('user_version', { simple: true }) as number;
}
