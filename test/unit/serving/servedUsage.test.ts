import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { openStore } from '../../../src/core/store/index.js';
import { ServeCallRepository, type ServeCallRecord } from '../../../src/core/store/serveCalls.js';
import { describeServed, internalizedModels, LM_TOOL_CLIENT, recentServeCalls, servedCounts, tokensPerStep } from '../../../src/extension/serving/usage.js';
import { principle } from '../injection/helpers.js';

function call(id: string, client: string, at: string, ids: readonly string[]): Omit<ServeCallRecord, 'trajectoryId' | 'stepIndex' | 'credited'> {
  return { id, at, client, stateHash: id, stateText: 'state', truncated: false, embedderId: 'lexical', results: ids.map((p, i) => ({ id: p, score: 0.9 - i / 10 })) };
}

describe('where each principle is served (the Principles view)', () => {
  it('counts the serve log by front end: MCP by client, the language-model tool apart', () => {
    const store = openStore(':memory:');
    try {
      const calls = new ServeCallRepository(store.db);
      calls.insert(call('c1', 'claude-code', '2026-12-01T10:00:00.000Z', ['P1', 'P2']));
      calls.insert(call('c2', 'claude-code', '2026-12-01T10:05:00.000Z', ['P1']));
      calls.insert(call('c3', 'codex', '2026-12-01T11:00:00.000Z', ['P1']));
      calls.insert(call('c4', LM_TOOL_CLIENT, '2026-12-01T12:00:00.000Z', ['P2', 'P1']));
      calls.insert(call('c5', '', '2026-12-01T09:00:00.000Z', ['P3']));
      const served = servedCounts(recentServeCalls(store));
      assert.deepEqual([...(served.get('P1')?.mcp ?? [])], [['codex', 1], ['claude-code', 2]]);
      assert.equal(served.get('P1')?.lmTool, 1);
      assert.equal(served.get('P1')?.lastAt, '2026-12-01T12:00:00.000Z');
      assert.equal(describeServed(served.get('P1')), 'MCP 3 (claude-code 2, codex 1) · LM tool 1');
      assert.equal(describeServed(served.get('P2')), 'MCP 1 (claude-code 1) · LM tool 1');
      assert.equal(describeServed(served.get('P3')), 'MCP 1 (unknown 1)');
      assert.equal(describeServed(served.get('P4')), undefined);
    } finally {
      store.close();
    }
  });

  it('names the models that internalized a principle, by the rule serving applies (latest scoring iteration per model)', () => {
    const store = openStore(':memory:');
    try {
      for (const id of ['P1', 'P2', 'P3']) store.principles.save(principle(id, `When ${id} applies, act on it.`));
      store.iterations.save({ number: 1, status: 'done', config: { model: 'qwen2.5-coder-0.5b' } });
      store.iterations.save({ number: 2, status: 'done', config: { baseModel: 'smollm2-135m-instruct' } });
      store.iterations.save({ number: 3, status: 'done', config: { model: 'qwen2.5-coder-0.5b' } });
      store.iterations.save({ number: 4, status: 'done', config: {} });
      store.scores.save(1, [
        { principleId: 'P1', method: 'divergence', score: 0.9, internalized: true, detail: {} },
        { principleId: 'P2', method: 'divergence', score: 0.8, internalized: true, detail: {} },
      ]);
      store.scores.save(2, [{ principleId: 'P1', method: 'checker', score: 0.7, internalized: true, detail: {} }]);
      // Iteration 3 re-scored P2 for the same model and it no longer passed: forgotten, served again.
      store.scores.save(3, [{ principleId: 'P2', method: 'divergence', score: 0.2, internalized: false, detail: {} }]);
      // An iteration without a model says nothing about any model.
      store.scores.save(4, [{ principleId: 'P3', method: 'divergence', score: 0.95, internalized: true, detail: {} }]);
      const models = internalizedModels(store);
      assert.deepEqual(models.get('P1'), ['qwen2.5-coder-0.5b', 'smollm2-135m-instruct']);
      assert.equal(models.get('P2'), undefined);
      assert.equal(models.get('P3'), undefined);
    } finally {
      store.close();
    }
  });

  it('prices a principle at its line in the step-wise block', () => {
    const short = tokensPerStep({ text: 'When a test fails, read the error first.' });
    const long = tokensPerStep({ text: 'When a test fails after an edit, read the whole error message and the failing assertion before changing any code again.' });
    assert.ok(short > 0 && long > short);
  });
});
