/**
 * recall@5 of the selector on the labelled retrieval set (test/fixtures/injection/retrieval.json)
 * with each embedder, written to bench/results/retrieval.md: the hashed lexical embedder and the
 * ONNX MiniLM export (from INTERNALIZE_MODELS_DIR, default .cache/models), in the same run.
 *
 *   npx tsx bench/select/retrieval.ts
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lexicalTextEmbedder } from '../../src/core/embedding/lexical.js';
import { createEmbedder } from '../../src/core/embedding/resolve.js';
import { loadRetrievalSet, loadTrajectories, scoreRetrieval, type RetrievalScore } from './retrievalSet.js';

const ROOT = join(__dirname, '..', '..');

async function main(): Promise<void> {
  const set = loadRetrievalSet();
  const trajectories = await loadTrajectories(set);
  const scores: RetrievalScore[] = [await scoreRetrieval(set, trajectories, lexicalTextEmbedder())];
  const onnx = await createEmbedder({ cacheDir: process.env.INTERNALIZE_MODELS_DIR ?? join(ROOT, '.cache', 'models'), env: process.env });
  try {
    if (onnx.kind === 'onnx') scores.push(await scoreRetrieval(set, trajectories, onnx));
    else console.log(`ONNX embedder unavailable: ${onnx.reason}`);
  } finally {
    await onnx.dispose();
  }
  const relevant = new Map(set.states.map((s) => [s.id, s]));
  const lines = [
    '# Selector retrieval on labelled decision states',
    '',
    `${String(set.states.length)} decision states of ${String(trajectories.size)} real fixture trajectories, a pool of ${String(set.pool.length)} principles, labels by a reader (procedure: test/fixtures/injection/README.md). The planner itself ranks (k 5, no score floor, λ = 1: relevance only), state budget ${String(set.stateTokenBudget)} tokens. Produced by \`npx tsx bench/select/retrieval.ts\`.`,
    '',
    '| Embedder | recall@5 | MRR@5 |',
    '| --- | ---: | ---: |',
    ...scores.map((s) => `| \`${s.embedder}\` | ${s.recallAt5.toFixed(3)} | ${s.mrrAt5.toFixed(3)} |`),
    '',
    'Per state (top 5 in rank order; relevant ids in bold):',
    '',
    `| State | Relevant | ${scores.map((s) => `\`${s.embedder.split(':').slice(0, 2).join(':')}\``).join(' | ')} |`,
    `| --- | --- | ${scores.map(() => '---').join(' | ')} |`,
    ...set.states.map((s) => {
      const rel = relevant.get(s.id)?.relevant ?? [];
      const cells = scores.map((sc) => (sc.perState.find((p) => p.id === s.id)?.top5 ?? []).map((id) => (rel.includes(id) ? `**${id}**` : id)).join(' '));
      return `| ${s.id} ${s.note} | ${rel.join(' ')} | ${cells.join(' | ')} |`;
    }),
    '',
  ];
  writeFileSync(join(ROOT, 'bench', 'results', 'retrieval.md'), lines.join('\n'));
  for (const s of scores) console.log(`${s.embedder}: recall@5 ${s.recallAt5.toFixed(3)}, MRR@5 ${s.mrrAt5.toFixed(3)} over ${String(s.states)} states`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
