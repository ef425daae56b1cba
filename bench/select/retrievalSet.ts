/**
 * The labelled retrieval set (test/fixtures/injection/retrieval.json): loads the real fixture
 * trajectories through the capture core, plans every labelled state with the planner itself
 * (relevance only: k 5, no floor, λ = 1), and scores recall@5 against the reader's labels.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { importPaths } from '../../src/core/capture/index.js';
import type { TextEmbedder } from '../../src/core/embedding/embedder.js';
import { DEFAULT_INJECTION_OPTIONS } from '../../src/core/injection/options.js';
import { planTrajectory } from '../../src/core/injection/planner.js';
import type { Principle } from '../../src/core/principle.js';
import { createRedactor } from '../../src/core/redaction/index.js';
import { openStore } from '../../src/core/store/index.js';
import type { Trajectory } from '../../src/core/trajectory.js';

export const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
export const RETRIEVAL_SET = join(FIXTURES, 'injection', 'retrieval.json');

const setSchema = z.object({
  stateTokenBudget: z.number().int().positive(),
  pool: z.array(z.object({ id: z.string().regex(/^P\d+$/u), text: z.string().min(10) })).min(1),
  states: z.array(z.object({ id: z.string(), fixture: z.string(), trajectory: z.string(), step: z.number().int().nonnegative(), relevant: z.array(z.string()).min(1), note: z.string() })).min(1),
});
export type RetrievalSet = z.infer<typeof setSchema>;

export function loadRetrievalSet(path = RETRIEVAL_SET): RetrievalSet {
  const parsed = setSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const ids = new Set(parsed.data.pool.map((p) => p.id));
  for (const s of parsed.data.states) for (const r of s.relevant) if (!ids.has(r)) throw new Error(`${path}: state ${s.id} names ${r}, which is not in the pool`);
  return parsed.data;
}

/** The labelled trajectories, imported from their fixture files as `internalize import` would. */
export async function loadTrajectories(set: RetrievalSet): Promise<Map<string, Trajectory>> {
  const store = openStore(':memory:');
  try {
    const files = [...new Set(set.states.map((s) => join(FIXTURES, s.fixture)))];
    await importPaths(store, await createRedactor(), files);
    const out = new Map<string, Trajectory>();
    for (const s of set.states) {
      const t = out.get(s.trajectory) ?? store.trajectories.get(s.trajectory);
      if (t === undefined) throw new Error(`retrieval set: ${s.fixture} did not yield trajectory ${s.trajectory} (state ${s.id})`);
      if (!t.steps.some((st) => st.index === s.step)) throw new Error(`retrieval set: ${s.trajectory} has no step ${String(s.step)} (state ${s.id})`);
      out.set(s.trajectory, t);
    }
    return out;
  } finally {
    store.close();
  }
}

export interface RetrievalScore {
  readonly embedder: string;
  readonly description: string;
  readonly states: number;
  readonly recallAt5: number;
  /** Mean reciprocal rank of the first relevant principle within the top 5 (0 when none). */
  readonly mrrAt5: number;
  readonly perState: readonly { readonly id: string; readonly top5: readonly string[]; readonly recall: number }[];
}

export async function scoreRetrieval(set: RetrievalSet, trajectories: ReadonlyMap<string, Trajectory>, embedder: TextEmbedder): Promise<RetrievalScore> {
  const pool: Principle[] = set.pool.map((p) => ({
    id: p.id, text: p.text, when: '', scope: 'global', granularity: 'principle', status: 'accepted', origin: 'manual', evidence: [], helpful: 0, harmful: 0, createdIteration: 0, updatedIteration: 0,
  }));
  const options = { ...DEFAULT_INJECTION_OPTIONS, k: 5, scoreFloor: -1, mmrLambda: 1, stateTokenBudget: set.stateTokenBudget };
  const perState: { id: string; top5: string[]; recall: number }[] = [];
  let rr = 0;
  for (const [id, trajectory] of trajectories) {
    const plan = await planTrajectory({ trajectory, pool, internalizedIds: new Set(), embedder, options });
    for (const s of set.states.filter((x) => x.trajectory === id)) {
      const top5 = plan.steps.find((p) => p.stepIndex === s.step)?.selected.map((p) => p.id) ?? [];
      const hits = s.relevant.filter((r) => top5.includes(r)).length;
      perState.push({ id: s.id, top5, recall: hits / s.relevant.length });
      const first = top5.findIndex((p) => s.relevant.includes(p));
      rr += first < 0 ? 0 : 1 / (first + 1);
    }
  }
  perState.sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
  const recallAt5 = perState.reduce((n, s) => n + s.recall, 0) / perState.length;
  return { embedder: embedder.id, description: embedder.description, states: perState.length, recallAt5, mrrAt5: rr / perState.length, perState };
}
