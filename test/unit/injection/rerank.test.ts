import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRerankAnswer, rerank, rerankPrompt } from '../../../src/core/injection/rerank.js';
import type { LanguageModel } from '../../../src/core/llm/languageModel.js';

const CANDIDATES = Array.from({ length: 10 }, (_, i) => ({ id: `P${String(i + 1)}`, text: `When situation ${String(i + 1)} happens, do thing ${String(i + 1)}.` }));

test('answers the re-rank accepts: an object, a bare list, a fenced block', () => {
  assert.deepEqual(parseRerankAnswer('{"ids": ["P3", "P1", "P2"]}', CANDIDATES), { ok: true, ids: ['P3', 'P1', 'P2'] });
  assert.deepEqual(parseRerankAnswer('["P4", "P5", "P6", "P7"]', CANDIDATES), { ok: true, ids: ['P4', 'P5', 'P6', 'P7'] });
  assert.deepEqual(parseRerankAnswer('Here you go:\n```json\n{"ids": [" P9", "P8", "P7"]}\n```', CANDIDATES), { ok: true, ids: ['P9', 'P8', 'P7'] });
  // Fewer than three candidates: as many as there are is enough.
  assert.deepEqual(parseRerankAnswer('{"ids": ["P1", "P2"]}', CANDIDATES.slice(0, 2)), { ok: true, ids: ['P1', 'P2'] });
});

test('answers it refuses, each with the reason', () => {
  const reason = (text: string): string => {
    const r = parseRerankAnswer(text, CANDIDATES);
    if (r.ok) assert.fail(`accepted ${text}`);
    return r.reason;
  };
  assert.match(reason('{"ids": ["P1","P2","P3","P4","P5","P6","P7","P8","P9"]}'), /chose 9 ids; at most 8/u);
  assert.match(reason('{"ids": ["P1", "P2", "P11"]}'), /not candidates: P11/u);
  assert.match(reason('P1, P2 and P3 apply.'), /not JSON \("P1, P2 and P3 apply\."\)/u);
  assert.match(reason('{"ids": [1, 2, 3]}'), /not a list of ids/u);
  assert.match(reason('{"ids": []}'), /chose 0 distinct ids; at least 3/u);
});

test('the prompt names every candidate and the bounds; a failing model is a fallback reason', async () => {
  const [system, user] = rerankPrompt('Task: fix the build', CANDIDATES.slice(0, 4));
  assert.equal(system?.role, 'system');
  assert.ok(CANDIDATES.slice(0, 4).every((c) => user?.content.includes(`${c.id}: ${c.text}`)));
  assert.match(user?.content ?? '', /between 3 and 4 ids/u);
  const failing: LanguageModel = {
    model: 'm',
    endpoint: 'e',
    estimateTokens: () => 1,
    chat: () => Promise.reject(new Error('HTTP 500')),
  };
  assert.deepEqual(await rerank(failing, 'state', CANDIDATES), { ok: false, reason: 'm failed: HTTP 500' });
  assert.deepEqual(await rerank(failing, 'state', []), { ok: false, reason: 'no candidates above the score floor to re-rank' });
});
