/**
 * Learning from use: when an agent's session is captured, its calls to principles_for_state are
 * found among its steps and tied to the logged calls, and the session's outcome is credited to each
 * principle those calls returned — helpful for a success, harmful for a failure, nothing while the
 * outcome is unknown. Each logged call is credited once: capturing the session again changes
 * nothing, and a session whose outcome changed (the user marked it) moves its credit instead of
 * adding a second one.
 *
 * A captured call is tied to its log row by the callId the answer carried (it is in the tool's
 * result text), else by the hash of the state the agent sent (its call arguments), the nearest
 * unlinked row in time.
 */
import type { Store } from '../store/index.js';
import { DEFAULT_DELETE_POLICY, proposeHarmfulDeletes, type DeletePolicy, type DeleteProposal } from './deleteProposals.js';
import { ServeCallRepository, type ServeCallRecord, type Verdict } from '../store/serveCalls.js';
import type { Step, ToolCall, Trajectory } from '../trajectory.js';
import { stateHash } from './state.js';
import type { ServeState } from './types.js';

/**
 * The tool as each agent names it: Claude Code `mcp__internalize__principles_for_state`, Codex
 * `internalize.principles_for_state` or `mcp__internalize__…`, Gemini CLI and Cline the bare name.
 */
const TOOL_NAME = /(?:^|[_.:/-])principles_for_state$/u;
const CALL_ID = /callId"?\s*[:=]?\s*"?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/iu;

export interface LearnReport {
  /** Logged calls newly tied to a captured step (or re-credited after an outcome change). */
  readonly linked: number;
  /** Helpful / harmful counts moved. */
  readonly credited: number;
  /** Calls in captured runs that matched no log row (served by another store, or the log was reset). */
  readonly unmatched: number;
  /** Principles past the harmful threshold now proposed for deletion (deleteProposals.ts). */
  readonly proposedDeletes: readonly DeleteProposal[];
}

export function isServeToolCall(call: ToolCall): boolean {
  return TOOL_NAME.test(call.name);
}

function verdictOf(trajectory: Trajectory): Verdict | undefined {
  if (trajectory.outcome.label === 'success') return 'helpful';
  if (trajectory.outcome.label === 'failure') return 'harmful';
  return undefined;
}

/** The state a captured call sent, as principles_for_state received it (only the fields it hashes). */
function stateOf(call: ToolCall): ServeState {
  const a = call.arguments;
  return {
    ...(typeof a.task === 'string' ? { task: a.task } : {}),
    ...(Array.isArray(a.steps) ? { steps: a.steps as ServeState['steps'] } : {}),
    ...(typeof a.text === 'string' ? { text: a.text } : {}),
  };
}

function callIdIn(step: Step, call: ToolCall): string | undefined {
  const answers = step.observations.filter((o) => o.callId === call.id);
  for (const o of answers.length > 0 ? answers : step.observations) {
    const m = CALL_ID.exec(o.content);
    if (m?.[1] !== undefined) return m[1].toLowerCase();
  }
  return undefined;
}

function nearest(rows: readonly ServeCallRecord[], at: string | undefined): ServeCallRecord | undefined {
  if (rows.length === 0) return undefined;
  const t = at === undefined ? Number.NaN : Date.parse(at);
  if (Number.isNaN(t)) return rows[0];
  return [...rows].sort((a, b) => Math.abs(Date.parse(a.at) - t) - Math.abs(Date.parse(b.at) - t))[0];
}

/** Trajectories whose steps mention the tool: found through the full-text index, confirmed by tool name later. */
function candidateTrajectories(store: Store): string[] {
  const rows = store.db
    .prepare(`SELECT DISTINCT s.trajectory_id AS id FROM steps_fts JOIN steps s ON s.rowid = steps_fts.rowid WHERE steps_fts MATCH '"principles for state"'`)
    .all() as { id: string }[];
  return rows.map((r) => r.id);
}

/**
 * Whether every tool call in the trajectory is linked and credited as its outcome says, read from
 * the steps' call lists and the log alone: after each capture, runs settled earlier are skipped
 * without loading their steps' observations.
 */
function settled(store: Store, id: string): boolean {
  const row = store.db.prepare<[string], { outcome: string }>('SELECT outcome FROM trajectories WHERE id = ?').get(id);
  if (row === undefined) return true;
  const expected = row.outcome === 'success' ? 'helpful' : row.outcome === 'failure' ? 'harmful' : null;
  let calls = 0;
  for (const step of store.db.prepare<[string], { tool_calls_json: string }>("SELECT tool_calls_json FROM steps WHERE trajectory_id = ? AND tool_calls_json LIKE '%principles_for_state%'").all(id)) {
    try {
      const parsed = JSON.parse(step.tool_calls_json) as { name?: unknown }[];
      calls += parsed.filter((c) => typeof c.name === 'string' && TOOL_NAME.test(c.name)).length;
    } catch {
      return false;
    }
  }
  const linked = store.db
    .prepare<[string | null, string], { n: number; off: number }>('SELECT count(*) AS n, coalesce(sum(credited IS NOT ?), 0) AS off FROM serve_calls WHERE trajectory_id = ?')
    .get(expected, id);
  return linked !== undefined && linked.n === calls && linked.off === 0;
}

/**
 * Links and credits the calls found in `trajectoryIds` (default: every stored trajectory that calls
 * the tool), then proposes DELETE for principles that keep hurting (`deletePolicy`, counts from
 * agents' reports included). Safe to run after every capture; each trajectory is one IMMEDIATE
 * transaction.
 */
export function learnFromUse(store: Store, options: { readonly trajectoryIds?: readonly string[]; readonly deletePolicy?: DeletePolicy } = {}): LearnReport {
  const calls = new ServeCallRepository(store.db);
  let linked = 0;
  let credited = 0;
  let unmatched = 0;
  for (const id of options.trajectoryIds ?? candidateTrajectories(store)) {
    if (settled(store, id)) continue;
    const trajectory = store.trajectories.get(id);
    if (trajectory === undefined) continue;
    const verdict = verdictOf(trajectory);
    store.transaction(() => {
      const taken = new Set<string>();
      for (const step of trajectory.steps) {
        for (const call of step.toolCalls) {
          if (!isServeToolCall(call)) continue;
          const byId = callIdIn(step, call);
          let row = byId === undefined ? undefined : calls.get(byId);
          if (row === undefined) {
            const free = calls.byStateHash(stateHash(stateOf(call))).filter((r) => !taken.has(r.id) && (r.trajectoryId === undefined || r.trajectoryId === trajectory.id));
            row = nearest(free, step.startedAt);
          }
          if (row === undefined || (row.trajectoryId !== undefined && row.trajectoryId !== trajectory.id)) {
            unmatched++;
            continue;
          }
          taken.add(row.id);
          // Re-capturing the same run (its steps may be renumbered) credits nothing new.
          if (row.trajectoryId === trajectory.id && row.credited === verdict) continue;
          // An earlier credit under another outcome is withdrawn before the new one is given.
          const before = row.credited;
          if (before !== undefined) {
            for (const served of row.results) if (calls.addFeedback({ principleId: served.id, verdict: before, origin: 'outcome', callId: row.id }, -1)) credited++;
          }
          if (verdict !== undefined) {
            const note = `${trajectory.outcome.label} run ${trajectory.id}, step ${String(step.index)}`;
            for (const served of row.results) if (calls.addFeedback({ principleId: served.id, verdict, origin: 'outcome', callId: row.id, note })) credited++;
          }
          calls.link(row.id, trajectory.id, step.index, verdict);
          linked++;
        }
      }
    });
  }
  return { linked, credited, unmatched, proposedDeletes: proposeHarmfulDeletes(store, options.deletePolicy ?? DEFAULT_DELETE_POLICY) };
}
