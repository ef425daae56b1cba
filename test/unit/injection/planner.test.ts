import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_INJECTION_OPTIONS, parseInjectionOptions } from '../../../src/core/injection/options.js';
import { planTrajectories, planTrajectory } from '../../../src/core/injection/planner.js';
import { renderViews } from '../../../src/core/injection/renderer.js';
import type { InjectionOptions } from '../../../src/core/injection/types.js';
import { codingRun, hashedEmbedder, POOL, principle, step, trajectory } from './helpers.js';
import { scriptedModel } from '../llm/scriptedModel.js';

const NONE = new Set<string>();

function opts(over: Partial<InjectionOptions> = {}): InjectionOptions {
  return { ...DEFAULT_INJECTION_OPTIONS, scoreFloor: 0, ...over };
}

const keepText = (text: string): { text: string; count: number } => ({ text, count: 0 });

test('an empty pool gives a plan with a state per step and nothing selected', async () => {
  const plan = await planTrajectory({ trajectory: codingRun(), pool: [], internalizedIds: NONE, embedder: hashedEmbedder(), options: opts() });
  assert.equal(plan.steps.length, 4);
  for (const s of plan.steps) {
    assert.deepEqual(s.selected, []);
    assert.equal(s.block, '');
    assert.equal(s.blockTokens, 0);
    assert.ok(s.stateTokens > 0);
  }
  assert.equal(plan.tokenCounter, 'estimate');
  assert.equal(plan.embedder.id, 'test:hashed-256');
});

test('step-wise selection follows the state, within scope', async () => {
  const plan = await planTrajectory({ trajectory: codingRun(), pool: POOL, internalizedIds: NONE, embedder: hashedEmbedder(), options: opts({ k: 3 }) });
  const first = plan.steps[0];
  assert.ok(first !== undefined);
  assert.ok(first.selected.length > 0 && first.selected.length <= 3);
  const chosen = new Set(plan.steps.flatMap((s) => s.selected.map((p) => p.id)));
  assert.ok(chosen.has('P1'), 'the failing-test principle is chosen somewhere');
  // Rust and another workspace's lint habit are out of scope here; Python is in (src/orders.py).
  assert.ok(!chosen.has('P8') && !chosen.has('P7'));
  const scoped = plan.steps.flatMap((s) => s.excluded).filter((e) => e.cause === 'scope').map((e) => e.id);
  for (const id of scoped) assert.ok(['P7', 'P8'].includes(id), id);
  for (const s of plan.steps) {
    for (const p of s.selected) assert.ok(p.reason.cosine >= 0 && p.reason.cosine <= 1.0001);
    if (s.selected.length > 0) {
      assert.match(s.block, /^<experience>/u);
      assert.ok(s.block.includes(`[${s.selected[0]?.id ?? ''}]`));
      assert.ok(s.blockTokens > 0);
    }
  }
});

test('principles internalized for the target model are left out unless shown', async () => {
  const internalized = new Set(['P1', 'P2']);
  const base = { trajectory: codingRun(), pool: POOL, internalizedIds: internalized, embedder: hashedEmbedder() };
  const hidden = await planTrajectory({ ...base, options: opts({ targetModel: 'smollm2-135m-instruct' }) });
  const ids = (p: typeof hidden): Set<string> => new Set(p.steps.flatMap((s) => s.selected.map((x) => x.id)));
  assert.ok(!ids(hidden).has('P1') && !ids(hidden).has('P2'));
  assert.ok(hidden.steps.some((s) => s.excluded.some((e) => e.id === 'P1' && e.cause === 'internalized')));
  const shown = await planTrajectory({ ...base, options: opts({ targetModel: 'smollm2-135m-instruct', includeInternalized: true }) });
  assert.ok(ids(shown).has('P1'));
  const noTarget = await planTrajectory({ ...base, options: opts() });
  assert.ok(ids(noTarget).has('P1'), 'without a target model nothing counts as internalized');
});

test('the same input gives the same plan', async () => {
  const input = { trajectory: codingRun(), pool: POOL, internalizedIds: NONE, embedder: hashedEmbedder(), options: opts() };
  assert.deepEqual(await planTrajectory(input), await planTrajectory({ ...input, embedder: hashedEmbedder() }));
});

test('a 5 MB observation never reaches the embedder whole', async () => {
  const huge = `FIRST LINE\n${'Traceback (most recent call last): '.repeat(150_000)}\nLAST LINE`;
  assert.ok(huge.length > 5_000_000);
  const run = trajectory([step(0, { name: 'Bash', args: { command: 'pytest' } }, huge), step(1, { name: 'Read', args: { path: 'app.py' } }, 'ok'), step(2, undefined, undefined, { text: 'done' })]);
  const embedder = hashedEmbedder();
  const plan = await planTrajectory({ trajectory: run, pool: POOL, internalizedIds: NONE, embedder, options: opts() });
  const longest = Math.max(...embedder.seen.map((t) => t.length));
  assert.ok(longest <= DEFAULT_INJECTION_OPTIONS.stateTokenBudget * 8, `longest embedded text ${String(longest)} chars`);
  for (const s of plan.steps) assert.ok(s.stateTokens <= DEFAULT_INJECTION_OPTIONS.stateTokenBudget);
  assert.match(plan.steps[1]?.state ?? '', /FIRST LINE[\s\S]*LAST LINE/u);
});

test('a pool of 10,000 plans every step with k principles at most', async () => {
  const pool = Array.from({ length: 10_000 }, (_, i) => principle(`P${String(i + 1)}`, `When topic ${String(i % 97)} comes up with tool ${String(i % 13)}, check case ${String(i)} before acting.`));
  const plan = await planTrajectory({ trajectory: codingRun(), pool, internalizedIds: NONE, embedder: hashedEmbedder(), options: opts({ k: 8 }) });
  assert.equal(plan.steps.length, 4);
  for (const s of plan.steps) assert.ok(s.selected.length <= 8);
});

test('principles in several languages and scripts are planned and rendered intact', async () => {
  const pool = [
    principle('P1', '当测试失败时，先阅读失败的测试输出再修改代码。'),
    principle('P2', 'テストが失敗したら、コードを編集する前にログを読む。'),
    principle('P3', 'Когда тесты падают, сначала прочитайте вывод теста.'),
    principle('P4', 'عندما تفشل الاختبارات، اقرأ سجل الاختبار قبل تعديل الشيفرة.'),
    principle('P5', 'Wenn Tests fehlschlagen, zuerst die Ausgabe lesen — nicht raten. 🙂'),
  ];
  const run = trajectory([step(0, { name: 'Bash', args: { command: 'pytest' } }, 'Когда тесты падают 1 failed'), step(1, undefined, undefined, { text: '好' })], { task: '修复失败的测试 — テスト' });
  const plan = await planTrajectory({ trajectory: run, pool, internalizedIds: NONE, embedder: hashedEmbedder(), options: opts({ scoreFloor: -1 }) });
  const block = plan.steps[1]?.block ?? '';
  for (const p of plan.steps[1]?.selected ?? []) assert.ok(block.includes(p.text), `${p.id} verbatim in the block`);
  assert.equal(plan.steps[1]?.selected[0]?.id, 'P3', 'the Russian observation matches the Russian principle first');
  const views = renderViews(run, plan, 1);
  const last = views.teacher.at(-1)?.content ?? '';
  const top = plan.steps[1].selected[0];
  assert.ok(last.includes(top.text));
});

test('global mode puts the pool once in the system prompt, and no step gets a block', async () => {
  const plan = await planTrajectory({ trajectory: codingRun(), pool: POOL, internalizedIds: NONE, embedder: hashedEmbedder(), options: opts({ mode: 'global' }) });
  assert.ok(plan.steps.every((s) => s.block === '' && s.selected.length === 0));
  const inBlock = (plan.globalSelected ?? []).map((p) => p.id);
  assert.deepEqual(inBlock, ['P1', 'P2', 'P3', 'P4', 'P5', 'P6'], 'every principle in scope, in pool order');
  assert.ok((plan.globalBlock ?? '').includes(POOL[0]?.text ?? '∅'));
  assert.deepEqual((plan.globalExcluded ?? []).map((e) => e.cause), (plan.globalExcluded ?? []).map(() => 'scope'));
});

test('the re-rank model chooses and orders the block', async () => {
  const model = scriptedModel(['{"ids": ["P2", "P1", "P3"]}']);
  const plan = await planTrajectory({ trajectory: codingRun(), pool: POOL, internalizedIds: NONE, embedder: hashedEmbedder(), options: opts({ selector: 'rerank', k: 5 }), rerank: model, redact: keepText });
  const s0 = plan.steps[0]!;
  assert.deepEqual(s0.selected.map((p) => p.id), ['P2', 'P1', 'P3']);
  assert.deepEqual(s0.selected.map((p) => p.reason.rerankPosition), [0, 1, 2]);
  assert.equal(s0.rerankFallback, undefined);
  assert.equal(model.requests.length, 4);
  assert.equal(model.requests[0]?.jsonSchema?.name, 'principle_selection');
});

test('bad re-rank answers fall back to embedding order with the reason', async () => {
  const cases: [string | Error, RegExp][] = [
    ['I think P1 and P2 are the most relevant here.', /not JSON/u],
    ['{"ids": ["P1", "P99", "G7"]}', /not candidates: P99, G7/u],
    ['{"ids": ["P1"]}', /at least 3/u],
    ['{"ids": ["P1", "P1", "P1"]}', /chose 1 distinct/u],
    ['{"choice": "P1"}', /not a list of ids/u],
    [new Error('connection refused'), /scripted failed: connection refused/u],
  ];
  const embeddingPlan = await planTrajectory({ trajectory: codingRun(), pool: POOL, internalizedIds: NONE, embedder: hashedEmbedder(), options: opts() });
  for (const [answer, reason] of cases) {
    const plan = await planTrajectory({ trajectory: codingRun(), pool: POOL, internalizedIds: NONE, embedder: hashedEmbedder(), options: opts({ selector: 'rerank' }), rerank: scriptedModel([answer]), redact: keepText });
    for (const [i, s] of plan.steps.entries()) {
      assert.match(s.rerankFallback ?? '', reason);
      assert.deepEqual(s.selected, embeddingPlan.steps[i]?.selected, 'embedding order kept');
    }
  }
});

test('text sent to the re-rank model is re-checked for secrets', async () => {
  const secret = 'AKIAIOSFODNN7EXAMPLQ';
  const run = trajectory([step(0, { name: 'Bash', args: { command: `aws configure set aws_access_key_id ${secret}` } }, 'pytest: 2 failed'), step(1, undefined, undefined, { text: 'next' })]);
  const model = scriptedModel(['{"ids": ["P1", "P2", "P3"]}']);
  await planTrajectory({ trajectory: run, pool: POOL, internalizedIds: NONE, embedder: hashedEmbedder(), options: opts({ selector: 'rerank' }), rerank: model });
  const sent = model.requests.flatMap((r) => r.messages.map((m) => m.content)).join('\n');
  assert.ok(model.requests.length > 0);
  assert.ok(!sent.includes(secret), 'the key never leaves');
});

test('parseInjectionOptions fills defaults and names the bad field', () => {
  assert.deepEqual(parseInjectionOptions(undefined), DEFAULT_INJECTION_OPTIONS);
  assert.equal(parseInjectionOptions({ k: 3, mode: 'global' }).k, 3);
  assert.throws(() => parseInjectionOptions({ k: 12 }), /Invalid injection options: k: .*8/u);
  assert.throws(() => parseInjectionOptions({ persistance: 'cumulative' }), /persistance/u);
  assert.throws(() => parseInjectionOptions({ blockTemplate: 'no placeholder' }, 'internalize.injection settings'), /internalize\.injection settings: blockTemplate: must contain \{principles\}/u);
});

test('planning many trajectories at once gives each the plan it gets alone', async () => {
  const rust = trajectory([step(0, { name: 'Bash', args: { command: 'cargo build' } }, 'error[E0502]: cannot borrow `v` as mutable in src/main.rs'), step(1, { name: 'Read', args: { path: 'src/main.rs' } }, 'fn main() {}')], { id: 'codex:00000000000000bb', task: 'Fix the Rust build' });
  const runs = [codingRun(), rust, trajectory([], { id: 'codex:00000000000000cc' })];
  const options = opts({ k: 3 });
  const many = await planTrajectories({ trajectories: runs, pool: POOL, internalizedIds: NONE, embedder: hashedEmbedder(), options });
  assert.equal(many.length, 3);
  for (const [i, run] of runs.entries()) {
    assert.deepEqual(many[i], await planTrajectory({ trajectory: run, pool: POOL, internalizedIds: NONE, embedder: hashedEmbedder(), options }));
  }
  assert.ok(many[1]!.steps.some((s) => s.selected.some((p) => p.id === 'P8')), 'the Rust principle is in scope for the Rust run only');
  assert.ok(!many[0]!.steps.some((s) => s.selected.some((p) => p.id === 'P8')));
});

test('embedCache is used instead of the embedder when given', async () => {
  const embedder = hashedEmbedder();
  const cached: string[] = [];
  const plan = await planTrajectory({
    trajectory: codingRun(), pool: POOL, internalizedIds: NONE, embedder, options: opts(),
    embedCache: (texts) => {
      cached.push(...texts);
      return hashedEmbedder().embed(texts);
    },
  });
  assert.equal(embedder.seen.length, 0);
  assert.equal(cached.length, POOL.length + 4);
  assert.ok(plan.steps.some((s) => s.selected.length > 0));
});
