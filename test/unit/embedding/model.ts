/**
 * The built-in embedder's export (.cache/models/minilm, written by scripts/setup-embedder.sh) for the
 * tests that run the real model. Where it is missing those tests skip with one line saying what to run;
 * INTERNALIZE_REQUIRE_EMBEDDER=1 (set by `npm test` after its setup step) turns the skip into a failure.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MODELS = join(__dirname, '..', '..', '..', '.cache', 'models');
export const MODEL_DIR = join(MODELS, 'minilm');
const SETUP = 'bash scripts/setup-embedder.sh';

const missing = existsSync(join(MODEL_DIR, 'manifest.json')) ? undefined : `the exported model is missing at ${MODEL_DIR} (run \`${SETUP}\`)`;
if (missing !== undefined && process.env.INTERNALIZE_REQUIRE_EMBEDDER === '1') throw new Error(`INTERNALIZE_REQUIRE_EMBEDDER=1 but ${missing}`);
/** `false` when the model is there, else the skip line for node:test. */
export const skipWithoutModel: string | false = missing === undefined ? false : `embedding model tests skipped: ${missing}`;

export interface Reference {
  readonly texts: string[];
  readonly input_ids: number[][];
  readonly embeddings: number[][];
}

export function reference(): Reference {
  return JSON.parse(readFileSync(join(MODEL_DIR, 'reference.json'), 'utf8')) as Reference;
}

/** A fresh folder holding the model's small files (config, tokenizer), for building broken variants of it. */
export function modelFolderWithout(...skip: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-embed-'));
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'sentence_bert_config.json']) {
    if (!skip.includes(name)) copyFileSync(join(MODEL_DIR, name), join(dir, name));
  }
  return dir;
}

export function cosine(a: Float32Array | readonly number[], b: Float32Array | readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

export function row(vectors: Float32Array, i: number, dim: number): Float32Array {
  return vectors.subarray(i * dim, (i + 1) * dim);
}
