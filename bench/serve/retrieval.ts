/**
 * Does embedding a served state segment by segment (src/core/serving/stateVector.ts) find the
 * principles that fit as well as embedding the whole state? recall@5 and MRR@5 on the labelled
 * retrieval set (test/fixtures/injection/retrieval.json: 58 decision states of 25 real runs, 31
 * principles), each state sent as an agent sends it to principles_for_state (bench/serve/sessions.ts),
 * ranked the way bench/select/retrieval.ts ranks (k 5, no floor, relevance only), for each embedder
 * variant: the whole state, the default segment policy, and a small grid around it. The planner's
 * own reading on the same set is computed in the same run as the reference.
 *
 *   npx tsx bench/serve/retrieval.ts [--variants fp32,int8] [--grid] [--caps none,48,64,80,96] [--task-caps 16,32,48,64]
 *
 * `--caps` scores the default policy with each segment cut to that many of the model's own tokens
 * (SegmentPolicy.modelTokens; `none`: only the character caps); `--task-caps` with the task segment
 * alone cut to that many (SegmentPolicy.taskModelTokens; `none`: the segments' cap).
 */
import { join } from 'node:path';
import type { TextEmbedder } from '../../src/core/embedding/embedder.js';
import { createEmbedder } from '../../src/core/embedding/resolve.js';
import { jsKernel } from '../../src/core/injection/gemm.js';
import { principleEmbeddingText } from '../../src/core/injection/planner.js';
import { selectBatch } from '../../src/core/injection/select.js';
import type { Principle } from '../../src/core/principle.js';
import { buildState } from '../../src/core/serving/index.js';
import { DEFAULT_SEGMENT_POLICY, SegmentCache, stateVector, type SegmentPolicy } from '../../src/core/serving/stateVector.js';
import { loadRetrievalSet, loadTrajectories, scoreRetrieval, type RetrievalSet } from '../select/retrievalSet.js';
import { serveStateAt } from './sessions.js';

const ROOT = join(__dirname, '..', '..');

interface Reading {
  readonly recall: number;
  readonly mrr: number;
  readonly vectors: Float32Array[];
}

function pool(set: RetrievalSet): Principle[] {
  return set.pool.map((p) => ({ id: p.id, text: p.text, when: '', scope: 'global', granularity: 'principle', status: 'accepted', origin: 'manual', evidence: [], helpful: 0, harmful: 0, createdIteration: 0, updatedIteration: 0 }));
}

async function score(set: RetrievalSet, trajectories: Awaited<ReturnType<typeof loadTrajectories>>, embedder: TextEmbedder, principleVectors: Float32Array, mode: 'whole' | SegmentPolicy, cache: SegmentCache): Promise<Reading> {
  const principles = pool(set);
  let recall = 0;
  let rr = 0;
  const vectors: Float32Array[] = [];
  for (const s of set.states) {
    const t = trajectories.get(s.trajectory);
    if (t === undefined) throw new Error(`no trajectory ${s.trajectory}`);
    const position = t.steps.findIndex((st) => st.index === s.step);
    const built = buildState(serveStateAt(t, position), set.stateTokenBudget);
    const { vector } = await stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, cache, ...(mode === 'whole' ? { mode: 'whole' } : { mode: 'segments', policy: mode }) });
    vectors.push(vector);
    const [row] = await selectBatch({ states: vector, rows: 1, principles: principleVectors, n: principles.length, dim: embedder.dim, config: { k: 5, scoreFloor: -1, mmrLambda: 1 }, kernel: jsKernel() });
    const top5 = (row?.picks ?? []).map((p) => principles[p.index]?.id ?? '');
    recall += s.relevant.filter((r) => top5.includes(r)).length / s.relevant.length;
    const first = top5.findIndex((p) => s.relevant.includes(p));
    rr += first < 0 ? 0 : 1 / (first + 1);
  }
  return { recall: recall / set.states.length, mrr: rr / set.states.length, vectors };
}

function describePolicy(p: SegmentPolicy): string {
  const cap = p.modelTokens === undefined ? ', no model-token cap' : `, ≤ ${String(p.modelTokens)} model tokens`;
  const taskCap = p.taskModelTokens === undefined ? '' : ` (task ≤ ${String(p.taskModelTokens)})`;
  return `segments: step ${String(p.stepTokens)} tok, task ${String(p.taskTokens)} tok, last ${String(p.steps)} steps, task weight ${String(p.taskWeight)}, decay ${String(p.decay)}${cap}${taskCap}`;
}

async function main(): Promise<void> {
  const variants = (process.argv.includes('--variants') ? (process.argv[process.argv.indexOf('--variants') + 1] ?? '') : 'fp32,int8').split(',') as ('fp32' | 'int8')[];
  const grid = process.argv.includes('--grid');
  const caps = process.argv.includes('--caps') ? (process.argv[process.argv.indexOf('--caps') + 1] ?? '').split(',').map((c) => (c === 'none' ? undefined : Number(c))) : [];
  if (caps.some((c) => c !== undefined && (!Number.isInteger(c) || c < 3))) throw new Error('--caps takes `none` or whole numbers of at least 3, comma-separated');
  const taskCaps = process.argv.includes('--task-caps') ? (process.argv[process.argv.indexOf('--task-caps') + 1] ?? '').split(',').map((c) => (c === 'none' ? undefined : Number(c))) : [];
  if (taskCaps.some((c) => c !== undefined && (!Number.isInteger(c) || c < 3))) throw new Error('--task-caps takes `none` or whole numbers of at least 3, comma-separated');
  const set = loadRetrievalSet();
  const trajectories = await loadTrajectories(set);
  const byVariant = new Map<string, Float32Array[]>();
  for (const variant of variants) {
    const embedder = await createEmbedder({ cacheDir: process.env.INTERNALIZE_MODELS_DIR ?? join(ROOT, '.cache', 'models'), variant, env: process.env });
    try {
      if (embedder.kind !== 'onnx') throw new Error(`ONNX embedder unavailable: ${embedder.reason}`);
      console.log(`\n${embedder.description}`);
      const planner = await scoreRetrieval(set, trajectories, embedder);
      console.log(`  planner (reference, bench/select/retrieval.ts)          recall@5 ${planner.recallAt5.toFixed(3)}  MRR@5 ${planner.mrrAt5.toFixed(3)}`);
      const principleVectors = await embedder.embed(pool(set).map(principleEmbeddingText));
      // Segment texts depend on the caps alone, so one cache serves every policy of the grid.
      const cache = new SegmentCache(100_000);
      const whole = await score(set, trajectories, embedder, principleVectors, 'whole', cache);
      console.log(`  serving, whole state embedded                           recall@5 ${whole.recall.toFixed(3)}  MRR@5 ${whole.mrr.toFixed(3)}`);
      const seg = await score(set, trajectories, embedder, principleVectors, DEFAULT_SEGMENT_POLICY, cache);
      console.log(`  serving, default ${describePolicy(DEFAULT_SEGMENT_POLICY).padEnd(38)} recall@5 ${seg.recall.toFixed(3)}  MRR@5 ${seg.mrr.toFixed(3)}`);
      byVariant.set(variant, seg.vectors);
      for (const modelTokens of caps) {
        const { modelTokens: _default, ...rest } = DEFAULT_SEGMENT_POLICY;
        const policy: SegmentPolicy = modelTokens === undefined ? rest : { ...rest, modelTokens };
        const r = await score(set, trajectories, embedder, principleVectors, policy, cache);
        console.log(`  serving, ${describePolicy(policy).padEnd(46)} recall@5 ${r.recall.toFixed(3)}  MRR@5 ${r.mrr.toFixed(3)}`);
      }
      for (const taskModelTokens of taskCaps) {
        const { taskModelTokens: _default, ...rest } = DEFAULT_SEGMENT_POLICY;
        const policy: SegmentPolicy = taskModelTokens === undefined ? rest : { ...rest, taskModelTokens };
        const r = await score(set, trajectories, embedder, principleVectors, policy, cache);
        console.log(`  serving, ${describePolicy(policy).padEnd(46)} recall@5 ${r.recall.toFixed(3)}  MRR@5 ${r.mrr.toFixed(3)}`);
      }
      if (grid) {
        for (const stepTokens of [32, 64, 96, 128]) {
          for (const steps of [3, 6]) {
            for (const taskWeight of [0.5, 1, 2]) {
              for (const decay of [0.4, 0.6, 0.8, 1]) {
                const policy = { taskTokens: DEFAULT_SEGMENT_POLICY.taskTokens, stepTokens, steps, taskWeight, decay };
                const r = await score(set, trajectories, embedder, principleVectors, policy, cache);
                console.log(`  grid ${describePolicy(policy).padEnd(90)} recall@5 ${r.recall.toFixed(3)}  MRR@5 ${r.mrr.toFixed(3)}`);
              }
            }
          }
        }
      }
    } finally {
      await embedder.dispose();
    }
  }
  const fp32 = byVariant.get('fp32');
  const int8 = byVariant.get('int8');
  if (fp32 !== undefined && int8 !== undefined) {
    const cosines = fp32.map((a, i) => {
      const b = int8[i] ?? new Float32Array(a.length);
      let dot = 0;
      for (let d = 0; d < a.length; d++) dot += (a[d] ?? 0) * (b[d] ?? 0);
      return dot;
    }).sort((x, y) => x - y);
    console.log(`\nint8 against fp32, the default segmented state vectors of the ${String(cosines.length)} states: worst cosine ${(cosines[0] ?? 0).toFixed(4)}, median ${(cosines[Math.floor(cosines.length / 2)] ?? 0).toFixed(4)}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
