/**
 * The per-call token cap (EmbedOptions.maxTokens) and the in-thread embedder that `internalize mcp`
 * serves with, on the real all-MiniLM-L6-v2 export. Skipped with one line where it is missing (model.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createOnnxEmbedder, type OnnxEmbedder } from '../../../src/core/embedding/onnx.js';
import { createInlineOnnxEmbedder } from '../../../src/core/embedding/onnxInline.js';
import { loadOnnxModel, type OnnxModel } from '../../../src/core/embedding/onnxModel.js';
import { createEmbedder } from '../../../src/core/embedding/resolve.js';
import { cosine, MODEL_DIR, MODELS, row, skipWithoutModel } from './model.js';

const DIM = 384;
// Dense tool output: JSON and paths run near one model token per two characters.
const DENSE = `{"command":"npm test -- --grep parser","cwd":"/home/dev/shop"} FAIL src/parser.test.ts ✕ parses nested arrays (12 ms) Expected: [1,[2,3]] Received: [1,2,3] at Object.<anonymous> (src/parser.test.ts:14:5) at processTicksAndRejections (node:internal/process/task_queues:95:5)`;
const SHORT = 'The build passed.';

describe('token cap and the in-thread embedder', { skip: skipWithoutModel, timeout: 300_000 }, () => {
  let model: OnnxModel;
  let worker: OnnxEmbedder;
  let inline: OnnxEmbedder;
  before(async () => {
    model = await loadOnnxModel({ dir: MODEL_DIR, variant: 'int8', threads: 1 });
    worker = await createOnnxEmbedder({ dir: MODEL_DIR, variant: 'int8', threads: 1 });
    inline = await createInlineOnnxEmbedder({ dir: MODEL_DIR, variant: 'int8', threads: 1 });
  });
  after(async () => {
    await model.dispose();
    await worker.dispose();
    await inline.dispose();
  });

  test('a capped text keeps its opening and closing special tokens, its first and its last tokens', () => {
    const whole = model.tokenize(DENSE);
    assert.ok(whole.length > 64, `the dense text has ${String(whole.length)} tokens`);
    const cut = model.tokenize(DENSE, 64);
    assert.equal(cut.length, 64);
    assert.equal(cut[0], whole[0], '[CLS] first');
    assert.equal(cut.at(-1), whole.at(-1), '[SEP] last');
    // 62 inner tokens: the first 31 and the last 31 of the text.
    assert.deepEqual(cut.slice(1, 32), whole.slice(1, 32));
    assert.deepEqual(cut.slice(32, 63), whole.slice(whole.length - 32, whole.length - 1));
    assert.deepEqual(model.tokenize(SHORT, 64), model.tokenize(SHORT), 'a text under the cap is not touched');
    // A cap above the window is the window.
    assert.equal(model.tokenize(DENSE.repeat(20), 10_000).length, model.info.maxLength);
  });

  test('the cap reaches the model through the worker thread and in the calling thread alike', async () => {
    const capped = await model.run([model.tokenize(DENSE, 48)]);
    for (const embedder of [worker, inline]) {
      const [v] = [await embedder.embed([DENSE, SHORT], undefined, { maxTokens: 48 })];
      assert.ok(cosine(row(v, 0, DIM), capped) > 0.99999, 'the capped text embeds as its capped ids');
      const uncapped = await embedder.embed([DENSE]);
      assert.ok(cosine(row(uncapped, 0, DIM), capped) < 0.999, 'without the cap the whole text counts');
      assert.ok(cosine(row(v, 1, DIM), row(await embedder.embed([SHORT]), 0, DIM)) > 0.99999, 'a short text is the same with or without the cap');
    }
  });

  test('the in-thread embedder gives the worker’s vectors under the same id', async () => {
    assert.equal(inline.id, worker.id);
    const texts = [SHORT, DENSE, 'When a test fails, read its output first.', ''];
    const [a, b] = [await inline.embed(texts), await worker.embed(texts)];
    texts.forEach((_, i) => {
      assert.ok(cosine(row(a, i, DIM), row(b, i, DIM)) > 0.99999, `text ${String(i)}`);
    });
    const resolved = await createEmbedder({ cacheDir: MODELS, variant: 'int8', threads: 1, thread: 'inline' });
    try {
      assert.equal(resolved.kind, 'onnx');
      assert.equal(resolved.id, worker.id);
    } finally {
      await resolved.dispose();
    }
  });

  test('a short and a long text in one call each run alone (the short one is not padded to the long one)', async () => {
    // int8 quantizes each pass's activations with one scale, so a row padded into a batch moves a little; run alone it is exact.
    const together = await inline.embed([SHORT, DENSE]);
    for (const [i, text] of [SHORT, DENSE].entries()) assert.ok(cosine(row(together, i, DIM), row(await inline.embed([text]), 0, DIM)) > 0.99999, text);
  });

  test('a disposed in-thread embedder refuses further work', async () => {
    const own = await createInlineOnnxEmbedder({ dir: MODEL_DIR, variant: 'int8', threads: 1 });
    await own.dispose();
    await assert.rejects(own.embed([SHORT]), /disposed/u);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(inline.embed([SHORT], aborted.signal));
  });
});
