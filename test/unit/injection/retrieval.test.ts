import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { lexicalTextEmbedder } from '../../../src/core/embedding/lexical.js';
import { createEmbedder } from '../../../src/core/embedding/resolve.js';
import { loadRetrievalSet, loadTrajectories, scoreRetrieval } from '../../../bench/select/retrievalSet.js';

/**
 * recall@5 on the labelled retrieval set (test/fixtures/injection/): the lexical embedder always;
 * the ONNX MiniLM one when its export is in the models folder (npm test sets it up), and then it
 * must retrieve better than the lexical one. Figures: bench/select/retrieval.ts.
 */
const MODELS = process.env.INTERNALIZE_MODELS_DIR ?? join(__dirname, '..', '..', '..', '.cache', 'models');

test('recall@5 on the labelled decision states: lexical always, ONNX above it when available', async (t) => {
  const set = loadRetrievalSet();
  assert.ok(set.states.length >= 40 && set.pool.length >= 30);
  const trajectories = await loadTrajectories(set);
  const lexical = await scoreRetrieval(set, trajectories, lexicalTextEmbedder());
  assert.equal(lexical.states, set.states.length, 'every labelled state was planned');
  // A hashed lexical embedder finds part of what a reader judged relevant: it must beat chance
  // (5 of 31 principles ≈ 0.16) by a wide margin, or the planner is not ranking at all.
  assert.ok(lexical.recallAt5 > 0.3, `lexical recall@5 ${lexical.recallAt5.toFixed(3)}`);
  const onnx = await createEmbedder({ cacheDir: MODELS, env: process.env });
  t.after(() => onnx.dispose());
  if (onnx.kind !== 'onnx') {
    t.diagnostic(`ONNX embedder not available (${onnx.reason}); lexical recall@5 ${lexical.recallAt5.toFixed(3)}`);
    return;
  }
  const dense = await scoreRetrieval(set, trajectories, onnx);
  t.diagnostic(`recall@5: ${onnx.id} ${dense.recallAt5.toFixed(3)}, ${lexical.embedder} ${lexical.recallAt5.toFixed(3)}`);
  assert.ok(dense.recallAt5 > lexical.recallAt5, `ONNX ${dense.recallAt5.toFixed(3)} must beat lexical ${lexical.recallAt5.toFixed(3)}`);
});
