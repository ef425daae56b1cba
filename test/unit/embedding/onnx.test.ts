/**
 * The ONNX embedder on the real all-MiniLM-L6-v2 export: against the embeddings PyTorch gave for the
 * same texts (written by the export script), int8 against fp32, batching, padding, scripts, long texts,
 * and the worker thread's lifetime. Skipped with one line where the export is missing (see model.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { createOnnxEmbedder, type OnnxEmbedder } from '../../../src/core/embedding/onnx.js';
import { loadOnnxModel, type OnnxModel } from '../../../src/core/embedding/onnxModel.js';
import { createEmbedder, defaultThreads } from '../../../src/core/embedding/resolve.js';
import { cosine, MODEL_DIR, MODELS, reference, row, skipWithoutModel } from './model.js';

const DIM = 384;

describe('ONNX embedder (all-MiniLM-L6-v2)', { skip: skipWithoutModel, timeout: 300_000 }, () => {
  let fp32: OnnxEmbedder;
  let int8: OnnxEmbedder;
  before(async () => {
    fp32 = await createOnnxEmbedder({ dir: MODEL_DIR, variant: 'fp32', threads: 1 });
    int8 = await createOnnxEmbedder({ dir: MODEL_DIR, variant: 'int8', threads: 1 });
  });
  after(async () => {
    await fp32.dispose();
    await int8.dispose();
  });

  test('fp32 reproduces PyTorch sentence embeddings (cosine ≥ 0.999 on every reference text)', async () => {
    const ref = reference();
    const vectors = await fp32.embed(ref.texts);
    assert.equal(fp32.dim, DIM);
    assert.match(fp32.id, /^onnx:all-MiniLM-L6-v2:fp32:[0-9a-f]{8}$/u);
    const worst = Math.min(...ref.embeddings.map((e, i) => cosine(row(vectors, i, DIM), e)));
    assert.ok(worst >= 0.999, `worst cosine to PyTorch ${String(worst)}`);
  });

  test('the tokenizer gives the ids Hugging Face tokenizers gave, truncation included', async () => {
    const ref = reference();
    const model: OnnxModel = await loadOnnxModel({ dir: MODEL_DIR, variant: 'fp32', threads: 1 });
    try {
      ref.texts.forEach((text, i) => {
        assert.deepEqual(model.tokenize(text), ref.input_ids[i], `text ${String(i)}: ${text.slice(0, 40)}`);
      });
      assert.ok(ref.input_ids.some((ids) => ids.length === model.info.maxLength), 'a reference text reaches the window');
      const longest = ref.texts.reduce((a, b) => (a.length >= b.length ? a : b));
      assert.ok(model.tokenCount(longest) > model.info.maxLength && model.tokenize(longest).length === model.info.maxLength);
    } finally {
      await model.dispose();
    }
  });

  test('int8 keeps cosine ≥ 0.99 to fp32 on benchmark-shaped texts (sentences of 10+ words)', async () => {
    const texts = reference().texts.filter((t) => t.split(/\s+/u).length >= 10);
    assert.ok(texts.length >= 30);
    assert.match(int8.id, /^onnx:all-MiniLM-L6-v2:int8:/u);
    const [a, b] = await Promise.all([int8.embed(texts), fp32.embed(texts)]);
    const worst = Math.min(...texts.map((_, i) => cosine(row(a, i, DIM), row(b, i, DIM))));
    assert.ok(worst >= 0.99, `worst int8/fp32 cosine ${String(worst)}`);
  });

  test('a batch gives what one-by-one gives, in the caller’s order, whatever the length buckets', async () => {
    const texts = ['short', 'a much longer sentence about reading the failing test log before touching any code at all', 'mid length text here', 'x', 'When a build fails, read the first error.'];
    const together = await fp32.embed(texts);
    for (const [i, text] of texts.entries()) {
      const alone = await fp32.embed([text]);
      const diff = Math.max(...Array.from(alone, (x, d) => Math.abs(x - (together[i * DIM + d] ?? 0))));
      assert.ok(diff < 1e-5, `text ${String(i)} differs by ${String(diff)}`);
    }
  });

  test('mean pooling ignores padding: a short row padded to a long one keeps its vector', async () => {
    const model = await loadOnnxModel({ dir: MODEL_DIR, variant: 'fp32', threads: 1 });
    try {
      const short = model.tokenize('read the log');
      const long = model.tokenize('read the log before editing, then run the failing test again and compare the output with the expected one');
      const alone = await model.run([short]);
      const padded = await model.run([long, short]);
      assert.ok(long.length > short.length + 10);
      assert.ok(cosine(alone, padded.subarray(DIM)) > 0.99999);
      // What an unmasked mean would give is measurably different, so the check above has teeth.
      const unmaskedRow = [...short, ...new Array<number>(long.length - short.length).fill(0)];
      const unmasked = await model.run([unmaskedRow]);
      assert.ok(cosine(alone, unmasked) < 0.999);
    } finally {
      await model.dispose();
    }
  });

  test('several scripts and emoji embed to finite unit vectors, distinct from each other', async () => {
    const texts = ['测试失败时，先阅读日志。', 'عندما يفشل الاختبار، اقرأ السجل.', '🚀 deploy ✅', 'テストが失敗したらログを読む', 'Когда тест падает, читай лог.'];
    const vectors = await fp32.embed(texts);
    for (let i = 0; i < texts.length; i++) {
      const v = row(vectors, i, DIM);
      assert.ok(v.every(Number.isFinite));
      assert.ok(Math.abs(cosine(v, v) - 1) < 1e-6 && Math.abs(Math.hypot(...v) - 1) < 1e-5);
      for (let j = 0; j < i; j++) assert.ok(cosine(v, row(vectors, j, DIM)) < 0.999, `${texts[i] ?? ''} vs ${texts[j] ?? ''}`);
    }
  });

  test('a 5 MB text is cut before tokenizing and embeds like its beginning', async () => {
    const line = 'npm test output: FAIL src/parser.test.ts expected 3 received 2 at parse (src/parser.ts:41:7)\n';
    const huge = line.repeat(Math.ceil((5 * 1024 * 1024) / line.length));
    const [a, b] = [await fp32.embed([huge]), await fp32.embed([line.repeat(60)])];
    assert.ok(cosine(a, b) > 0.99999);
  });

  test('an aborted signal rejects; a disposed embedder refuses further work', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(fp32.embed(['anything'], controller.signal), { name: 'AbortError' });
    const spare = await createOnnxEmbedder({ dir: MODEL_DIR, variant: 'fp32', threads: 1 });
    await spare.dispose();
    await assert.rejects(spare.embed(['anything']), /disposed/u);
  });

  test('createEmbedder picks the built-in export under the models cache and says so', async () => {
    const embedder = await createEmbedder({ cacheDir: MODELS, variant: 'int8', threads: 1 });
    try {
      assert.equal(embedder.kind, 'onnx');
      assert.match(embedder.description, /^onnx: all-MiniLM-L6-v2 \((int8|fp32 \(.*\)), 384 dimensions, 1 thread\) from /u);
      assert.equal((await embedder.embed(['a', 'b'])).length, 2 * DIM);
    } finally {
      await embedder.dispose();
    }
  });

  test('an inline embedder (the serving process) takes every core by default, a worker half of them, at most 4 each', async () => {
    const cores = availableParallelism();
    assert.equal(defaultThreads('inline'), Math.min(4, cores));
    assert.equal(defaultThreads('worker'), Math.min(4, Math.max(1, Math.floor(cores / 2))));
    assert.equal(defaultThreads(), defaultThreads('worker'));
    const inline = await createEmbedder({ cacheDir: MODELS, variant: 'int8', thread: 'inline', env: {} });
    try {
      const n = defaultThreads('inline');
      assert.match(inline.description, new RegExp(`, ${String(n)} threads?\\) from `, 'u'));
    } finally {
      await inline.dispose();
    }
    // The environment's count wins over the default.
    const told = await createEmbedder({ cacheDir: MODELS, variant: 'int8', thread: 'inline', env: { INTERNALIZE_EMBEDDING_THREADS: '1' } });
    try {
      assert.match(told.description, /, 1 thread\) from /u);
    } finally {
      await told.dispose();
    }
  });
});
