import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LEXICAL_DIM, LEXICAL_ID, lexicalTerms, lexicalTextEmbedder, lexicalVector } from '../../../src/core/embedding/lexical.js';
import { cosine, row } from './model.js';

test('the dense lexical embedder: stable id, unit vectors, same text → same vector', async () => {
  const embedder = lexicalTextEmbedder();
  assert.equal(embedder.id, 'lexical:hash-1024:v1');
  assert.equal(embedder.id, LEXICAL_ID);
  assert.equal(embedder.dim, LEXICAL_DIM);
  const texts = ['When a test fails, read its log before editing code.', 'When a test fails, read its log before editing code.', 'Pin dependencies before upgrading the build.'];
  const vectors = await embedder.embed(texts);
  assert.equal(vectors.length, 3 * LEXICAL_DIM);
  assert.ok(Math.abs(Math.hypot(...row(vectors, 0, LEXICAL_DIM)) - 1) < 1e-6);
  assert.deepEqual(row(vectors, 0, LEXICAL_DIM), row(vectors, 1, LEXICAL_DIM));
  await embedder.dispose();
});

test('texts that share terms are closer than texts that do not; repeated terms count sublinearly', () => {
  const a = lexicalVector('read the failing test log before editing');
  const b = lexicalVector('when tests fail read the log first');
  const c = lexicalVector('pin the dependency version in the lock file');
  assert.ok(cosine(a, b) > cosine(a, c));
  assert.ok(cosine(a, b) > 0.2);
  // "log log log log" weighs 1 + ln 4 ≈ 2.39, not 4, against "test".
  const repeated = lexicalVector('log log log log test');
  const ratio = Math.max(...Array.from(repeated, Math.abs)) / Math.min(...Array.from(repeated).filter((x) => x !== 0).map(Math.abs));
  assert.ok(Math.abs(ratio - (1 + Math.log(4))) < 1e-5, String(ratio));
});

test('scripts without spaces give character bigrams; other scripts give words; stop words and punctuation go', () => {
  assert.deepEqual(lexicalTerms('测试失败'), ['测试', '试失', '失败']);
  assert.deepEqual(lexicalTerms('عندما يفشل الاختبار'), ['عندما', 'يفشل', 'الاختبار']);
  assert.deepEqual(lexicalTerms('When the Build fails!'), ['build', 'fails']);
  assert.ok(cosine(lexicalVector('测试失败时先读日志'), lexicalVector('测试失败')) > 0.3);
});

test('a text without terms gives the zero vector, and a 5 MB text costs only its window', async () => {
  const embedder = lexicalTextEmbedder('lexical: test');
  const vectors = await embedder.embed(['', '!!! ...', 'a'.repeat(5 * 1024 * 1024)]);
  assert.ok(row(vectors, 0, LEXICAL_DIM).every((x) => x === 0));
  assert.ok(row(vectors, 1, LEXICAL_DIM).every((x) => x === 0));
  assert.ok(Math.abs(Math.hypot(...row(vectors, 2, LEXICAL_DIM)) - 1) < 1e-6);
  assert.equal(embedder.description, 'lexical: test');
});
