/**
 * Re-scan of a store for secrets that slipped through: trajectories captured before a detector
 * existed keep what it would have caught. Every stored string (task, system prompt, step text,
 * thought, tool-call arguments, observations, user messages) goes through the redactor again;
 * what changed is written back in IMMEDIATE transactions, batch by batch, with the trajectory's
 * redaction counts and the full-text index kept in step.
 *
 * The redactor is asynchronous, so a batch is read, redacted, then written; a row that another
 * writer (the capture worker) changed in between is left for the next re-scan and reported, never
 * overwritten with stale content.
 */
import type { Database } from 'better-sqlite3';
import type { Redactor } from '../redaction/index.js';
import type { Observation, Step, ToolCall, Trajectory, TrajectorySource } from '../trajectory.js';
import { fromJson, toJson } from './json.js';
import type { Store } from './index.js';

export interface RescanOptions {
  /** Trajectories per read-redact-write round. */
  readonly batchSize?: number;
  /** Called after each batch with trajectories done and the total, for progress bars. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Stops between batches; what was written stays written. */
  readonly signal?: AbortSignal;
}

export interface RescanReport {
  readonly trajectories: number;
  readonly steps: number;
  /** Trajectories and steps written back because something was redacted. */
  readonly changedTrajectories: number;
  readonly changedSteps: number;
  /** Redactions added by this re-scan, by rule. */
  readonly redactions: Record<string, number>;
  /** Trajectories another writer changed while they were being scanned: run the re-scan again for them. */
  readonly skipped: readonly string[];
  readonly cancelled: boolean;
}

interface TrajectoryRow {
  id: string;
  source: string;
  session_id: string;
  task: string;
  system_prompt: string | null;
  redactions_json: string | null;
}

interface StepRow {
  rowid: number;
  trajectory_id: string;
  idx: number;
  text: string | null;
  thought: string | null;
  tool_calls_json: string;
  observations_json: string;
  user_messages_json: string | null;
}

type StepColumns = Pick<StepRow, 'text' | 'thought' | 'tool_calls_json' | 'observations_json' | 'user_messages_json'>;

function stepFromRow(row: StepRow): Step {
  const step: { -readonly [K in keyof Step]: Step[K] } = {
    index: row.idx,
    toolCalls: fromJson<ToolCall[]>(row.tool_calls_json, []),
    observations: fromJson<Observation[]>(row.observations_json, []),
  };
  if (row.text !== null) step.text = row.text;
  if (row.thought !== null) step.thought = row.thought;
  const userMessages = fromJson<string[] | undefined>(row.user_messages_json, undefined);
  if (userMessages !== undefined) step.userMessages = userMessages;
  return step;
}

function columnsOf(step: Step, before: StepRow): StepColumns {
  return {
    text: step.text ?? null,
    thought: step.thought ?? null,
    tool_calls_json: toJson(step.toolCalls),
    observations_json: toJson(step.observations),
    user_messages_json: step.userMessages === undefined ? before.user_messages_json : toJson(step.userMessages),
  };
}

function sameColumns(a: StepColumns, b: StepColumns): boolean {
  return a.text === b.text && a.thought === b.thought && a.tool_calls_json === b.tool_calls_json && a.observations_json === b.observations_json && a.user_messages_json === b.user_messages_json;
}

/** Whether the schema keeps steps_fts in step on UPDATE by itself (migration 4 has insert and delete triggers only). */
function hasUpdateTrigger(db: Database): boolean {
  const rows = db.prepare<[], { sql: string | null }>("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'steps'").all();
  return rows.some((r) => /\bUPDATE\b[^;]*?\bON\s+steps\b/iu.test(r.sql ?? ''));
}

/** Re-redacts every stored trajectory with `redactor`; see the module comment. */
export async function rescanSecrets(store: Store, redactor: Redactor, options: RescanOptions = {}): Promise<RescanReport> {
  const db = store.db;
  const batchSize = Math.max(1, options.batchSize ?? 200);
  const total = (db.prepare<[], { n: number }>('SELECT count(*) AS n FROM trajectories').get()?.n ?? 0);
  const page = db.prepare<[string, number], TrajectoryRow>('SELECT id, source, session_id, task, system_prompt, redactions_json FROM trajectories WHERE id > ? ORDER BY id LIMIT ?');
  const stepsOf = db.prepare<[string], StepRow>('SELECT rowid, trajectory_id, idx, text, thought, tool_calls_json, observations_json, user_messages_json FROM steps WHERE trajectory_id = ? ORDER BY idx');
  const currentTrajectory = db.prepare<[string], TrajectoryRow>('SELECT id, source, session_id, task, system_prompt, redactions_json FROM trajectories WHERE id = ?');
  const currentStep = db.prepare<[number], StepColumns & { fts_body: string | null }>('SELECT text, thought, tool_calls_json, observations_json, user_messages_json, fts_body FROM steps WHERE rowid = ?');
  const updateStep = db.prepare<[string | null, string | null, string, string, string | null, number]>(
    'UPDATE steps SET text = ?, thought = ?, tool_calls_json = ?, observations_json = ?, user_messages_json = ? WHERE rowid = ?',
  );
  const ftsDelete = db.prepare<[number, string | null]>("INSERT INTO steps_fts(steps_fts, rowid, fts_body) VALUES ('delete', ?, ?)");
  const ftsInsert = db.prepare<[number]>('INSERT INTO steps_fts(rowid, fts_body) SELECT rowid, fts_body FROM steps WHERE rowid = ?');
  const updateTrajectory = db.prepare<[string, string | null, string, number, string]>(
    'UPDATE trajectories SET task = ?, system_prompt = ?, redactions_json = ?, redaction_count = ? WHERE id = ?',
  );
  const manualFts = !hasUpdateTrigger(db);

  const redactions: Record<string, number> = {};
  const skipped: string[] = [];
  let trajectories = 0;
  let steps = 0;
  let changedTrajectories = 0;
  let changedSteps = 0;
  let after = '';
  for (;;) {
    if (options.signal?.aborted) return { trajectories, steps, changedTrajectories, changedSteps, redactions, skipped, cancelled: true };
    const rows = page.all(after, batchSize);
    if (rows.length === 0) break;
    after = rows[rows.length - 1]?.id ?? after;
    const stepRows = new Map(rows.map((r) => [r.id, stepsOf.all(r.id)]));
    const items = rows.map((row) => {
      const trajectory: Trajectory = {
        id: row.id,
        source: row.source as TrajectorySource,
        sessionId: row.session_id,
        task: row.task,
        ...(row.system_prompt !== null ? { systemPrompt: row.system_prompt } : {}),
        outcome: { label: 'unknown', evidence: [] },
        redactions: fromJson<Record<string, number>>(row.redactions_json, {}),
        steps: (stepRows.get(row.id) ?? []).map(stepFromRow),
      };
      return { trajectory, redactFrom: 0 };
    });
    const redacted = await redactor.redact(items);
    trajectories += rows.length;
    for (const list of stepRows.values()) steps += list.length;

    db.transaction(() => {
      rows.forEach((row, i) => {
        const before = items[i]?.trajectory;
        const result = redacted[i];
        if (!before || !result) return;
        const originals = stepRows.get(row.id) ?? [];
        const changes: { row: StepRow; columns: StepColumns }[] = [];
        // The redactor hands back the same step object when nothing in it was secret.
        result.steps.forEach((step, k) => {
          const original = originals[k];
          if (original && step !== before.steps[k]) changes.push({ row: original, columns: columnsOf(step, original) });
        });
        if (changes.length === 0 && result.task === before.task && result.systemPrompt === before.systemPrompt) return;
        const now = currentTrajectory.get(row.id);
        // Written only if nothing changed since it was read; otherwise the newer content wins and waits for the next re-scan.
        const unchanged =
          now !== undefined &&
          now.task === row.task &&
          now.system_prompt === row.system_prompt &&
          now.redactions_json === row.redactions_json &&
          changes.every((c) => {
            const current = currentStep.get(c.row.rowid);
            return current !== undefined && sameColumns(current, c.row);
          });
        if (!unchanged) {
          skipped.push(row.id);
          return;
        }
        for (const c of changes) {
          if (manualFts) ftsDelete.run(c.row.rowid, currentStep.get(c.row.rowid)?.fts_body ?? null);
          updateStep.run(c.columns.text, c.columns.thought, c.columns.tool_calls_json, c.columns.observations_json, c.columns.user_messages_json, c.row.rowid);
          if (manualFts) ftsInsert.run(c.row.rowid);
        }
        const counts = result.redactions ?? {};
        const previous = before.redactions ?? {};
        for (const [rule, n] of Object.entries(counts)) {
          const added = n - (previous[rule] ?? 0);
          if (added > 0) redactions[rule] = (redactions[rule] ?? 0) + added;
        }
        const count = Object.values(counts).reduce((a, b) => a + b, 0);
        updateTrajectory.run(result.task, result.systemPrompt ?? null, toJson(counts), count, row.id);
        changedTrajectories++;
        changedSteps += changes.length;
      });
    }).immediate();
    options.onProgress?.(trajectories, total);
  }
  return { trajectories, steps, changedTrajectories, changedSteps, redactions, skipped, cancelled: false };
}
