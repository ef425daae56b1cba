import { test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { embedCached, withStoreCache } from '../../../src/core/embedding/cache.js';
import type { TextEmbedder } from '../../../src/core/embedding/embedder.js';
import { lexicalTextEmbedder } from '../../../src/core/embedding/lexical.js';
import { EmbeddingRepository, textHash } from '../../../src/core/store/embeddings.js';
import { openStore } from '../../../src/core/store/index.js';

/** The real lexical embedder, recording which texts reach it. */
function recording(id?: string): TextEmbedder & { calls: string[][] } {
  const inner = lexicalTextEmbedder();
  const calls: string[][] = [];
  return {
    id: id ?? inner.id,
    dim: inner.dim,
    description: inner.description,
    calls,
    embed(texts, signal) {
      calls.push([...texts]);
      return inner.embed(texts, signal);
    },
    dispose: () => inner.dispose(),
  };
}

const principles = ['When a test fails, read its log before editing code.', 'Pin a dependency before upgrading the build.', 'Run the linter before committing.'];

test('the cache embeds only misses; a changed principle text is embedded again and nothing else', async () => {
  const store = openStore(':memory:');
  const embedder = recording();
  const first = await embedCached(store, embedder, principles);
  assert.deepEqual(first.stats, { hits: 0, embedded: 3 });
  assert.deepEqual(Array.from(first), Array.from(await lexicalTextEmbedder().embed(principles)));

  const again = await embedCached(store, embedder, principles);
  assert.deepEqual(again.stats, { hits: 3, embedded: 0 });
  assert.equal(embedder.calls.length, 1);
  assert.deepEqual(Array.from(again), Array.from(first));

  const edited = [principles[0] ?? '', 'Pin every dependency before upgrading the build.', principles[2] ?? ''];
  const third = await embedCached(store, embedder, edited);
  assert.deepEqual(third.stats, { hits: 2, embedded: 1 });
  assert.deepEqual(embedder.calls.at(-1), ['Pin every dependency before upgrading the build.']);
  assert.deepEqual(Array.from(third), Array.from(await lexicalTextEmbedder().embed(edited)));
  assert.equal(new EmbeddingRepository(store.db).count(), 4);
  store.close();
});

test('another embedder id never reads these vectors; duplicates are embedded once; misses go in batches', async () => {
  const store = openStore(':memory:');
  await embedCached(store, recording(), principles);
  const other = recording('onnx:other:int8:00000000');
  const result = await embedCached(store, other, [...principles, principles[0] ?? '']);
  assert.deepEqual(result.stats, { hits: 0, embedded: 3 });
  assert.deepEqual(other.calls, [principles]);

  const many = Array.from({ length: 600 }, (_, i) => `decision state ${String(i)}: the agent reads file ${String(i % 7)}`);
  const batched = recording();
  const out = await embedCached(store, batched, many);
  assert.deepEqual(batched.calls.map((c) => c.length), [256, 256, 88]);
  assert.equal(out.length, 600 * batched.dim);
  const repo = new EmbeddingRepository(store.db);
  assert.equal(repo.get(batched.id, batched.dim, [textHash(many[599] ?? '')]).size, 1);
  assert.equal(repo.pruneOthers(batched.id), 3);
  store.close();
});

test('vectors survive a reopen of the database file', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'internalize-cache-')), 'store.db');
  const first = openStore(path);
  const stored = await embedCached(first, recording(), principles);
  first.close();
  const second = openStore(path);
  const embedder = recording();
  const loaded = await embedCached(second, embedder, principles);
  assert.deepEqual(loaded.stats, { hits: 3, embedded: 0 });
  assert.deepEqual(Array.from(loaded), Array.from(stored));
  second.close();
});

test('withStoreCache puts the cache in front of any TextEmbedder, keeping its identity', async () => {
  const store = openStore(':memory:');
  const inner = recording();
  const cached = withStoreCache(store, inner);
  assert.equal(cached.id, inner.id);
  assert.equal(cached.description, inner.description);
  const first = await cached.embed(principles);
  const second = await cached.embed([principles[1] ?? '', 'A new principle about retries.']);
  assert.deepEqual(inner.calls, [principles, ['A new principle about retries.']]);
  assert.deepEqual(Array.from(second.subarray(0, inner.dim)), Array.from(first.subarray(inner.dim, 2 * inner.dim)));
  await cached.dispose();
  store.close();
});

test('withStoreCache passes a token-capped call straight through: the store keys vectors by text alone', async () => {
  const store = openStore(':memory:');
  const inner = recording();
  const seen: (number | undefined)[] = [];
  const capped: TextEmbedder = {
    ...inner,
    embed(texts, signal, options) {
      seen.push(options?.maxTokens);
      return inner.embed(texts, signal, options);
    },
  };
  const cached = withStoreCache(store, capped);
  await cached.embed(principles, undefined, { maxTokens: 16 });
  await cached.embed(principles, undefined, { maxTokens: 16 });
  assert.deepEqual(seen, [16, 16], 'each capped call reaches the embedder with its cap');
  assert.equal(new EmbeddingRepository(store.db).get(inner.id, inner.dim, principles.map(textHash)).size, 0, 'nothing capped was stored under the texts');
  await cached.embed(principles);
  assert.equal(new EmbeddingRepository(store.db).get(inner.id, inner.dim, principles.map(textHash)).size, principles.length);
  store.close();
});
