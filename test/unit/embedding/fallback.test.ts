/**
 * Bad model folders: each gives the lexical embedder with a description naming the file and the fault,
 * never an exception. The missing-folder case needs nothing; the others break a copy of the real export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEXICAL_DIM, LEXICAL_ID } from '../../../src/core/embedding/lexical.js';
import { createEmbedder, type ResolvedEmbedder } from '../../../src/core/embedding/resolve.js';
import { MODEL_DIR, modelFolderWithout, skipWithoutModel } from './model.js';

async function lexicalBecause(embedder: ResolvedEmbedder, pattern: RegExp): Promise<void> {
  try {
    assert.equal(embedder.kind, 'lexical', embedder.description);
    assert.equal(embedder.id, LEXICAL_ID);
    assert.match(embedder.description, /^lexical: /u);
    assert.match(embedder.description, pattern);
    // The fallback serves: every text gets a vector.
    assert.equal((await embedder.embed(['When a test fails, read the log.'])).length, LEXICAL_DIM);
  } finally {
    await embedder.dispose();
  }
}

test('no export in the models cache: lexical, with the path and the command that exports it', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'internalize-models-'));
  const embedder = await createEmbedder({ cacheDir: cache, threads: 1 });
  await lexicalBecause(embedder, new RegExp(`the ONNX model is missing at ${join(cache, 'minilm')}.*python -m internalize_trainer\\.embedder_export --out`, 'u'));
  assert.equal(embedder.kind === 'lexical' ? embedder.failure : '', 'missing');
});

test('a configured folder without its ONNX file: lexical, naming the file and the setting', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-embed-empty-'));
  await lexicalBecause(await createEmbedder({ modelDir: dir, cacheDir: dir, threads: 1 }), new RegExp(`missing at ${join(dir, 'onnx', 'model.onnx')} \\(internalize\\.embedding\\.modelPath\\)`, 'u'));
});

test('a truncated ONNX file: lexical, "not a readable ONNX model"', { skip: skipWithoutModel }, async () => {
  const dir = modelFolderWithout();
  mkdirSync(join(dir, 'onnx'));
  writeFileSync(join(dir, 'onnx', 'model.onnx'), readFileSync(join(MODEL_DIR, 'onnx', 'model.onnx')).subarray(0, 200_000));
  await lexicalBecause(await createEmbedder({ modelDir: dir, variant: 'fp32', threads: 1 }), new RegExp(`${join(dir, 'onnx', 'model.onnx')} is not a readable ONNX model`, 'u'));
});

test('a model file changed after the export: lexical, checksum named', { skip: skipWithoutModel }, async () => {
  const dir = modelFolderWithout();
  mkdirSync(join(dir, 'onnx'));
  copyFileSync(join(__dirname, 'fixtures', 'wrong-dim-16.onnx'), join(dir, 'onnx', 'model.onnx'));
  copyFileSync(join(MODEL_DIR, 'manifest.json'), join(dir, 'manifest.json'));
  await lexicalBecause(await createEmbedder({ modelDir: dir, variant: 'fp32', threads: 1 }), /does not match its checksum in manifest\.json/u);
});

test('another model’s output width: lexical, "wrong dimension: … 16≠384"', { skip: skipWithoutModel }, async () => {
  const dir = modelFolderWithout();
  copyFileSync(join(__dirname, 'fixtures', 'wrong-dim-16.onnx'), join(dir, 'model.onnx'));
  const embedder = await createEmbedder({ modelDir: dir, variant: 'fp32', threads: 1 });
  await lexicalBecause(embedder, /wrong dimension: .*model\.onnx gives 16-dimensional vectors, config\.json hidden_size is 384 \(16≠384\)/u);
  assert.equal(embedder.kind === 'lexical' ? embedder.failure : '', 'dimension');
});

test('a tokenizer of another vocabulary: lexical, "the tokenizer does not match the model"', { skip: skipWithoutModel }, async () => {
  const dir = modelFolderWithout('tokenizer.json');
  mkdirSync(join(dir, 'onnx'));
  symlinkSync(join(MODEL_DIR, 'onnx', 'model.onnx'), join(dir, 'onnx', 'model.onnx'));
  const tokenizer = JSON.parse(readFileSync(join(MODEL_DIR, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  tokenizer.model.vocab = Object.fromEntries(Object.entries(tokenizer.model.vocab).filter(([, id]) => id < 1000));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  const embedder = await createEmbedder({ modelDir: dir, variant: 'fp32', threads: 1 });
  await lexicalBecause(embedder, /the tokenizer does not match the model: tokenizer\.json has 1000 tokens, config\.json vocab_size is 30522/u);
  assert.equal(embedder.kind === 'lexical' ? embedder.failure : '', 'tokenizer');
});

test('tokenizer.json that is not JSON, and config.json without hidden_size: the file and field are named', { skip: skipWithoutModel }, async () => {
  const broken = modelFolderWithout('tokenizer.json');
  mkdirSync(join(broken, 'onnx'));
  symlinkSync(join(MODEL_DIR, 'onnx', 'model.onnx'), join(broken, 'onnx', 'model.onnx'));
  writeFileSync(join(broken, 'tokenizer.json'), '{"model": ');
  await lexicalBecause(await createEmbedder({ modelDir: broken, variant: 'fp32', threads: 1 }), /tokenizer\.json at .* is not valid JSON/u);
  const noHidden = modelFolderWithout('config.json');
  mkdirSync(join(noHidden, 'onnx'));
  symlinkSync(join(MODEL_DIR, 'onnx', 'model.onnx'), join(noHidden, 'onnx', 'model.onnx'));
  writeFileSync(join(noHidden, 'config.json'), JSON.stringify({ vocab_size: 30522 }));
  await lexicalBecause(await createEmbedder({ modelDir: noHidden, variant: 'fp32', threads: 1 }), /config\.json: field hidden_size/u);
});

test('an int8 file that failed the export’s cosine check is passed over for fp32, and the description says why', { skip: skipWithoutModel }, async () => {
  const dir = modelFolderWithout();
  mkdirSync(join(dir, 'onnx'));
  for (const f of ['model.onnx', 'model_quantized.onnx']) symlinkSync(join(MODEL_DIR, 'onnx', f), join(dir, 'onnx', f));
  const manifest = JSON.parse(readFileSync(join(MODEL_DIR, 'manifest.json'), 'utf8')) as { variants: { int8: { passes: boolean; min_cosine_vs_fp32: number } } };
  manifest.variants.int8 = { ...manifest.variants.int8, passes: false, min_cosine_vs_fp32: 0.95 };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const embedder = await createEmbedder({ modelDir: dir, variant: 'int8', threads: 1 });
  try {
    assert.equal(embedder.kind, 'onnx');
    assert.match(embedder.id, /:fp32:/u);
    assert.match(embedder.description, /fp32 \(the int8 file keeps only cosine 0\.9500 to fp32 \(below 0\.99\)\)/u);
  } finally {
    await embedder.dispose();
  }
});
