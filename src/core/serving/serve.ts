/**
 * Serving: the few accepted principles that fit a running agent's decision state, chosen by the
 * injection room's selector (cosine top-k with MMR, the score floor, scope and internalized filters)
 * against the warm pool, the state embedded segment by segment so a call within a session embeds
 * only its newest step (stateVector.ts), with each principle's track record (helpful / harmful reports) breaking
 * near ties. Every call is logged, its state redacted first, so feedback and a later capture of the
 * agent's session can be tied back to what was served.
 */
import { randomUUID } from 'node:crypto';
import type { TextRedactor } from '../experience/pipeline.js';
import { textRedactor } from '../experience/textRedaction.js';
import { arenaKernel } from '../injection/exactDot.js';
import { DEFAULT_INJECTION_OPTIONS } from '../injection/options.js';
import { scopeAllows } from '../injection/scope.js';
import { ALLOWED, BLOCKED_INTERNALIZED, BLOCKED_SCOPE, selectBatch, type Pick } from '../injection/select.js';
import { createRedactor } from '../redaction/index.js';
import { internalizedIds } from '../store/injection.js';
import { nowIso } from '../store/json.js';
import { ServeCallRepository } from '../store/serveCalls.js';
import { ownWrite, warmPool } from './pool.js';
import { buildState } from './state.js';
import { stateVector } from './stateVector.js';
import { ServingError, type ServedPrinciple, type ServeInput, type ServePart, type ServeResult } from './types.js';

/** Principles a call may ask for: the paper's selector returns 3–8. */
export const MAX_K = 8;
/**
 * Cosines closer than this are a tie for ordering: the embedding cannot tell them apart, so the
 * principle with the better track record goes first.
 */
const TIE = 0.01;

let sharedRedactor: Promise<TextRedactor> | undefined;

/** The capture detectors, loaded once per process (secretlint's rules take a moment to load). */
function defaultRedactor(): Promise<TextRedactor> {
  sharedRedactor ??= createRedactor().then(textRedactor);
  return sharedRedactor;
}

/**
 * Principle texts as they leave for an agent, through the same detectors as everything served: a
 * secret typed into a principle by hand, or written before a detector rule existed, is masked.
 */
export async function redactServed(texts: readonly string[], redact?: TextRedactor): Promise<string[]> {
  const check = redact ?? (await defaultRedactor());
  return Promise.all(texts.map(async (t) => (t === '' ? t : (await check(t)).text)));
}

function clampK(k: number | undefined): number {
  if (k === undefined) return DEFAULT_INJECTION_OPTIONS.k;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new ServingError(`k must be a whole number from 1 to ${String(MAX_K)}, not ${String(k)}.`);
  return k;
}

/** Moves a pick ahead of its predecessor while their cosines tie and its net record is better. */
function breakTies<T extends { cosine: number; net: number }>(picks: T[]): T[] {
  const out = [...picks];
  for (let i = 1; i < out.length; i++) {
    for (let j = i; j > 0; j--) {
      const a = out[j - 1];
      const b = out[j];
      if (a === undefined || b === undefined || Math.abs(a.cosine - b.cosine) >= TIE || b.net <= a.net) break;
      out[j - 1] = b;
      out[j] = a;
    }
  }
  return out;
}

function describe(p: Pick, scope: string, helpful: number, harmful: number): string {
  const parts = [`cosine ${p.cosine.toFixed(3)} to the decision state`];
  if (Math.abs(p.mmr - p.cosine * DEFAULT_INJECTION_OPTIONS.mmrLambda) > 1e-6) parts.push(`MMR ${p.mmr.toFixed(3)} after the diversity penalty`);
  parts.push(scope === 'global' ? 'applies everywhere' : `scope ${scope} matches`);
  if (helpful + harmful > 0) parts.push(`reported helpful ${String(helpful)}, harmful ${String(harmful)}`);
  return parts.join('; ');
}

/** Counts read fresh for the picks (feedback does not invalidate the warm pool). */
function trackRecords(input: ServeInput, ids: readonly string[]): Map<string, { helpful: number; harmful: number }> {
  const out = new Map<string, { helpful: number; harmful: number }>();
  if (ids.length === 0) return out;
  const rows = input.store.db
    .prepare(`SELECT id, helpful, harmful FROM principles WHERE id IN (${ids.map(() => '?').join(',')})`)
    .all(...ids) as { id: string; helpful: number; harmful: number }[];
  for (const r of rows) out.set(r.id, { helpful: r.helpful, harmful: r.harmful });
  return out;
}

/** The principles for one decision state; see the module comment. */
export async function servePrinciples(input: ServeInput): Promise<ServeResult> {
  const k = clampK(input.k);
  let mark = performance.now();
  const lap = (part: ServePart): void => {
    if (input.trace === undefined) return;
    const now = performance.now();
    input.trace(part, now - mark);
    mark = now;
  };
  const budget = input.stateTokenBudget ?? DEFAULT_INJECTION_OPTIONS.stateTokenBudget;
  const state = buildState(input.state, budget, input.workspace);
  lap('state');
  const { embedder, store } = input;
  const pool = await warmPool(store, embedder, input.signal);
  lap('pool');
  const internalized = input.targetModel === undefined ? new Set<string>() : internalizedIds(store, input.targetModel);
  const n = pool.principles.length;

  let served: ServedPrinciple[] = [];
  const leftOut: string[] = [];
  if (n > 0) {
    // A global principle is allowed by every state: only the scoped ones and the internalized are looked at.
    const mask = new Uint8Array(n).fill(ALLOWED);
    for (const i of pool.scoped) {
      const p = pool.principles[i];
      if (p !== undefined && !scopeAllows(p, state.facts, pool.evidenceWorkspaces)) mask[i] = BLOCKED_SCOPE;
    }
    for (const id of internalized) {
      const i = pool.positions.get(id);
      if (i !== undefined) mask[i] = BLOCKED_INTERNALIZED;
    }
    lap('masks');
    const embedded = await stateVector({
      embedder, trajectory: state.trajectory, wholeText: state.text, signal: input.signal,
      ...(input.stateEmbedding === undefined ? {} : { mode: input.stateEmbedding }),
      ...(input.segmentCache === undefined ? {} : { cache: input.segmentCache }),
    });
    lap('embed');
    const [row] = await selectBatch({
      states: embedded.vector, rows: 1, principles: pool.vectors, n, dim: embedder.dim,
      maskFor: () => mask,
      config: { k, scoreFloor: DEFAULT_INJECTION_OPTIONS.scoreFloor, mmrLambda: DEFAULT_INJECTION_OPTIONS.mmrLambda },
      // One state against the warm pool: its exact dots in the pool's arena, nothing else to copy or start.
      kernel: arenaKernel(pool.arena),
      arena: pool.arena,
      blockRows: 1,
      signal: input.signal,
    });
    lap('select');
    for (const b of row?.blocked ?? []) if (b.cause === 'internalized') leftOut.push(pool.principles[b.index]?.id ?? '');
    const picks = row?.picks ?? [];
    const records = trackRecords(input, picks.map((p) => pool.principles[p.index]?.id ?? ''));
    lap('records');
    const ranked = breakTies(
      picks.map((pick) => {
        const principle = pool.principles[pick.index];
        if (principle === undefined) throw new RangeError(`selection index ${String(pick.index)} outside the pool`);
        const record = records.get(principle.id) ?? { helpful: principle.helpful, harmful: principle.harmful };
        return { pick, principle, record, cosine: pick.cosine, net: record.helpful - record.harmful };
      }),
    );
    const texts = await redactServed(ranked.flatMap(({ principle }) => [principle.text, principle.when]), input.redact);
    lap('redact served');
    served = ranked.map(({ pick, principle, record }, i) => ({
      id: principle.id,
      text: texts[2 * i] ?? '',
      when: texts[2 * i + 1] ?? '',
      score: pick.cosine,
      why: describe(pick, principle.scope, record.helpful, record.harmful),
      helpful: record.helpful,
      harmful: record.harmful,
    }));
  }

  const redact = input.redact ?? (await defaultRedactor());
  const logged = await redact(state.text);
  lap('redact state');
  const callId = randomUUID();
  const calls = new ServeCallRepository(store.db);
  if (input.log !== false) ownWrite(store.db, () => {
    calls.insert({
      id: callId,
      at: nowIso(),
      client: input.client ?? '',
      ...(input.targetModel === undefined ? {} : { targetModel: input.targetModel }),
      ...(input.workspace === undefined ? {} : { workspace: input.workspace }),
      stateHash: state.hash,
      stateText: logged.text,
      truncated: state.truncated,
      embedderId: embedder.id,
      results: served.map((p) => ({ id: p.id, score: p.score })),
    });
  });
  lap('log');

  const message =
    n === 0
      ? 'The principle pool has no accepted principles yet, so there is nothing to serve. Capture agent runs and accept principles in the Internalize view in VS Code (or `internalize mine --propose` then `internalize pool --apply ID`).'
      : served.length === 0
        ? `None of the ${String(n)} accepted principles fits this state closely enough${leftOut.length > 0 ? ` (${String(leftOut.length)} left out as internalized by ${input.targetModel ?? 'the target model'})` : ''}; carry on.`
        : undefined;
  return {
    principles: served,
    embedder: `${embedder.id} — ${embedder.description}`,
    truncated: state.truncated,
    callId,
    poolSize: n,
    internalized: [...internalized].filter((id) => pool.principles.some((p) => p.id === id)).sort(),
    ...(message === undefined ? {} : { message }),
  };
}
