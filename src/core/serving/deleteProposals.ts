/**
 * Principles that keep hurting become DELETE proposals. The helpful / harmful counts that serving
 * collects (an agent's reports, and the outcomes of captured runs that were served a principle) are
 * evidence, not a verdict: a principle past the threshold is proposed for deletion through the same
 * curation path as every other pool change, with a rationale that cites its counts, the failed runs
 * and the logged calls, and the user accepts or rejects it in the Principles view. Nothing is
 * deleted here.
 *
 * One pending proposal per principle at most. After the user rejects one, a new one is made only
 * when the harmful count has grown past the count that proposal cited: the same evidence is not put
 * to them twice.
 */
import { proposeOps } from '../experience/curation.js';
import type { EvidenceRef } from '../principle.js';
import type { Store } from '../store/index.js';

export interface DeletePolicy {
  /** Harmful reports a principle needs before it is proposed for deletion. */
  readonly minHarmful: number;
  /** How many more harmful than helpful reports it needs as well. */
  readonly margin: number;
}

/** `internalize.serving.deleteProposals.minHarmful` / `.margin` default to these. */
export const DEFAULT_DELETE_POLICY: DeletePolicy = { minHarmful: 3, margin: 2 };

export interface DeleteProposal {
  readonly principleId: string;
  readonly opId: number;
  readonly helpful: number;
  readonly harmful: number;
}

/** Runs and calls listed in a rationale; the evidence list keeps more, the sentence stays readable. */
const CITED = 5;
/** The harmful count a proposal's rationale opens with (written by evidenceFor below). */
const CITED_COUNT = /^Reported harmful (\d+) times/u;
const MAX_EVIDENCE = 20;

function checkPolicy(policy: DeletePolicy): void {
  if (!Number.isInteger(policy.minHarmful) || policy.minHarmful < 1) throw new RangeError(`minHarmful must be a whole number of at least 1, not ${String(policy.minHarmful)}.`);
  if (!Number.isInteger(policy.margin) || policy.margin < 1) throw new RangeError(`margin must be a whole number of at least 1, not ${String(policy.margin)}.`);
}

function listed(items: readonly string[]): string {
  return items.length <= CITED ? items.join(', ') : `${items.slice(0, CITED).join(', ')} and ${String(items.length - CITED)} more`;
}

interface HarmfulRun {
  readonly callId: string;
  readonly trajectoryId: string;
  readonly stepIndex: number | null;
}

/** The rationale and evidence of one proposal, from the log: failed runs that were served it, and the agent's own reports. */
function evidenceFor(store: Store, id: string, helpful: number, harmful: number, policy: DeletePolicy): { rationale: string; evidence: EvidenceRef[] } {
  const runs = store.db
    .prepare<[string], HarmfulRun>(
      `SELECT c.id AS callId, c.trajectory_id AS trajectoryId, c.step_index AS stepIndex
         FROM serve_calls c, json_each(c.results_json) r
        WHERE c.credited = 'harmful' AND json_extract(r.value, '$.id') = ?
        ORDER BY c.at DESC, c.id`,
    )
    .all(id);
  const reports = store.db
    .prepare<[string], { callId: string | null; note: string | null }>(
      "SELECT call_id AS callId, note FROM principle_feedback WHERE principle_id = ? AND origin = 'agent' AND verdict = 'harmful' ORDER BY seq DESC",
    )
    .all(id);
  const parts = [`Reported harmful ${String(harmful)} times against helpful ${String(helpful)} (the threshold: harmful at least ${String(policy.minHarmful)} and ${String(policy.margin)} more than helpful).`];
  const trajectories = [...new Set(runs.map((r) => r.trajectoryId))];
  if (runs.length > 0) {
    parts.push(`Served in ${String(runs.length)} call${runs.length === 1 ? '' : 's'} of ${String(trajectories.length)} failed run${trajectories.length === 1 ? '' : 's'}: ${listed(trajectories)}; serve calls ${listed(runs.map((r) => r.callId))}.`);
  }
  if (reports.length > 0) {
    const notes = reports.map((r) => r.note?.trim() ?? '').filter((n) => n !== '').map((n) => `"${n.length > 120 ? `${n.slice(0, 117)}...` : n}"`);
    const calls = reports.map((r) => r.callId).filter((c): c is string => c !== null);
    parts.push(
      `Reported harmful by the agent ${String(reports.length)} time${reports.length === 1 ? '' : 's'}${calls.length > 0 ? ` (serve calls ${listed(calls)})` : ''}${notes.length > 0 ? `: ${listed(notes)}` : ''}.`,
    );
  }
  parts.push('Accept to retire it from the pool, or reject to keep serving it.');
  const seen = new Set<string>();
  const evidence: EvidenceRef[] = [];
  for (const r of runs) {
    const key = `${r.trajectoryId}#${String(r.stepIndex)}`;
    if (seen.has(key) || evidence.length >= MAX_EVIDENCE) continue;
    seen.add(key);
    evidence.push(r.stepIndex === null ? { trajectoryId: r.trajectoryId } : { trajectoryId: r.trajectoryId, stepIndex: r.stepIndex });
  }
  return { rationale: parts.join(' '), evidence };
}

/**
 * Proposes DELETE for every accepted principle past `policy` that has no pending DELETE (and no
 * rejected one without newer harmful reports). One IMMEDIATE transaction: two processes running this
 * at once (the capture worker and an MCP server) cannot both propose for the same principle.
 */
export function proposeHarmfulDeletes(store: Store, policy: DeletePolicy = DEFAULT_DELETE_POLICY): DeleteProposal[] {
  checkPolicy(policy);
  const past = store.db.prepare<[number, number], { id: string; helpful: number; harmful: number }>(
    "SELECT id, helpful, harmful FROM principles WHERE status = 'accepted' AND harmful >= ? AND harmful - helpful >= ? ORDER BY CAST(substr(id, 2) AS INTEGER), id",
  );
  // Usually nothing is past the threshold: that is found by a read, without waiting for the write lock.
  if (past.get(policy.minHarmful, policy.margin) === undefined) return [];
  return store.transaction(() => {
    const candidates = past.all(policy.minHarmful, policy.margin);
    const pending = store.db.prepare<[string], { n: number }>("SELECT count(*) AS n FROM pool_ops WHERE kind = 'DELETE' AND status = 'proposed' AND principle_id = ?");
    const lastRejected = store.db.prepare<[string], { rationale: string }>(
      "SELECT rationale FROM pool_ops WHERE kind = 'DELETE' AND status = 'rejected' AND principle_id = ? ORDER BY id DESC LIMIT 1",
    );
    const batchId = `serving-feedback-${new Date().toISOString()}`;
    const out: DeleteProposal[] = [];
    for (const c of candidates) {
      if ((pending.get(c.id)?.n ?? 0) > 0) continue;
      // The rejected proposal cited the harmful count it was made at; only a higher count is new harm.
      const rejected = lastRejected.get(c.id);
      const cited = rejected === undefined ? undefined : Number(CITED_COUNT.exec(rejected.rationale)?.[1] ?? Number.NaN);
      if (cited !== undefined && (Number.isNaN(cited) || c.harmful <= cited)) continue;
      const { rationale, evidence } = evidenceFor(store, c.id, c.helpful, c.harmful, policy);
      const [opId] = proposeOps(store, [{ kind: 'DELETE', principleId: c.id, rationale, evidence }], { origin: 'mined', batchId });
      if (opId !== undefined) out.push({ principleId: c.id, opId, helpful: c.helpful, harmful: c.harmful });
    }
    return out;
  });
}
