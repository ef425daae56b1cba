import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatasetError, type DistillRecord } from '../../../src/core/distill/dataset.js';
import { summarizeIteration } from '../../../src/core/distill/ledger.js';
import { followingPrompt, judgeScores, llmJudge, sampleJudgePrompt, studentFirst, type LlmJudge } from '../../../src/core/distill/judge.js';
import { DEFAULT_ROUND_CONFIG, parseRoundConfig, RoundConfigError, runRound } from '../../../src/core/distill/round.js';
import { describeRejections, teacherSampleRecords, workerSampleConfig } from '../../../src/core/distill/targets.js';
import type { SampleTargetsResult, TeacherSample } from '../../../src/core/distill/worker.js';
import { lexicalTextEmbedder } from '../../../src/core/embedding/lexical.js';
import { textRedactor } from '../../../src/core/experience/textRedaction.js';
import { createRedactor } from '../../../src/core/redaction/index.js';
import { openStore } from '../../../src/core/store/index.js';
import { scriptedModel } from '../llm/scriptedModel.js';

/** The scripted judge's answers, under the model name the assertions read. */
const judgeModel = (answers: readonly (string | Error)[]): ReturnType<typeof scriptedModel> => scriptedModel(answers, 'scripted-judge');

const keepText = (text: string): { text: string; count: number } => ({ text, count: 0 });

function record(action: string, principles: readonly string[] = ['P1'], observation = 'FAILED tests/test_report.py::test_empty_month - KeyError'): DistillRecord {
  return {
    messages: [
      { role: 'system', content: 'You are a coding agent.' },
      { role: 'user', content: 'Fix the crash on an empty month.' },
      { role: 'assistant', content: 'bash: pytest -q' },
      { role: 'user', content: observation },
      { role: 'assistant', content: action },
    ],
    blocks: { '3': 'P1: When tests fail, read the failing test first.' },
    targets: [4],
    meta: { trajectoryId: 't1', sessionId: 's1', stepIndex: 1, principles, split: 'train', truncated: false, target: { source: 'recorded' } },
  };
}

function sample(text: string, kept: boolean, reason = kept ? 'kept' : 'block-did-not-matter'): TeacherSample {
  return { text, tokens: 12, teacher_nll: 0.8, student_nll: kept ? 1.1 : 0.81, margin: kept ? 0.3 : 0.01, kept, reason };
}

function sampled(records: readonly (readonly TeacherSample[])[], rejected: Record<string, number> = {}): SampleTargetsResult {
  const all = records.flat();
  return { filter: 'divergence', config: {}, records: records.map((r) => [...r]), stats: { states: records.length, sampled: all.length, kept: all.filter((s) => s.kept).length, rejected, states_with_kept: records.filter((r) => r.some((s) => s.kept)).length } };
}

test('the round configuration: recorded targets by default; teacher samples are validated, merged with their defaults and refused with on-policy', () => {
  assert.equal(DEFAULT_ROUND_CONFIG.targets, 'recorded');
  const config = parseRoundConfig({ targets: 'teacher-samples', samples: { k: 6 } });
  assert.equal(config.targets, 'teacher-samples');
  assert.deepEqual(config.samples, { ...DEFAULT_ROUND_CONFIG.samples, k: 6 });
  assert.deepEqual(workerSampleConfig({ ...config.samples, filter: 'judge' }, 3), { k: 6, temperature: 0.8, max_new_tokens: 96, seed: 3, filter: 'none', min_margin: 0.02, max_teacher_nll: 2.5 });
  assert.throws(() => parseRoundConfig({ targets: 'samples' }), (e: unknown) => e instanceof RoundConfigError && /targets: Invalid option/u.test(e.message));
  assert.throws(() => parseRoundConfig({ targets: 'teacher-samples', samples: { k: 0, filter: 'llm' } }), (e: unknown) => e instanceof RoundConfigError && /samples\.k: .*samples\.filter: /u.test(e.message));
  assert.throws(() => parseRoundConfig({ targets: 'teacher-samples', samples: { temperatur: 1 } }), /samples: Unrecognized key/u);
  assert.throws(() => parseRoundConfig({ targets: 'teacher-samples', regime: 'on-policy' }), /on-policy regime samples its own actions/u);
  assert.throws(() => parseRoundConfig({ judgeStates: -1 }), /judgeStates/u);
});

test('the judge filter without a judge model is refused before the round starts, naming what to configure', async () => {
  const store = openStore(':memory:');
  try {
    await assert.rejects(
      runRound({ store, runsDir: '/nonexistent', python: 'python3', embedder: lexicalTextEmbedder() }, parseRoundConfig({ targets: 'teacher-samples', samples: { filter: 'judge' } })),
      (e: unknown) => e instanceof RoundConfigError && /judge filter need a language model/u.test(e.message) && /divergence filter/u.test(e.message),
    );
    assert.equal(store.iterations.list().length, 0, 'no iteration was started');
  } finally {
    store.close();
  }
});

test('divergence filter: each kept sample becomes a record with its source in meta; a state with none kept leaves training', async () => {
  const train = [record('bash: sed -i ...'), record('bash: pytest -q tests/test_report.py')];
  const result = sampled([[sample('read_file tests/test_report.py', true), sample('bash: ls', false)], [sample('bash: ls', false, 'not-fluent')]], { 'block-did-not-matter': 1, 'not-fluent': 1 });
  const { records, stats } = await teacherSampleRecords(train, result, 'divergence');
  assert.equal(records.length, 1);
  const [only] = records;
  assert.ok(only !== undefined);
  assert.equal(only.messages.at(-1)?.content, 'read_file tests/test_report.py');
  assert.equal(only.messages.at(-1)?.role, 'assistant');
  assert.deepEqual(only.messages.slice(0, 4), train[0]?.messages.slice(0, 4), 'the decision state is the recorded one');
  assert.deepEqual(only.blocks, train[0]?.blocks);
  assert.deepEqual(only.meta.target, { source: 'teacher-sample', sample: 0, filter: 'divergence', teacherNll: 0.8, studentNll: 1.1, margin: 0.3 });
  assert.deepEqual(stats, { source: 'teacher-samples', filter: 'divergence', states: 2, sampled: 3, kept: 1, rejected: { 'block-did-not-matter': 1, 'not-fluent': 1 }, statesWithKept: 1 });
  assert.equal(describeRejections(stats.rejected), '1 no likelier with the principles than without (the block did not matter), 1 not fluent (the teacher itself found them unlikely)');
});

test('zero kept is an error that names the filter and why every sample was rejected', async () => {
  const train = [record('a'), record('b')];
  await assert.rejects(
    teacherSampleRecords(train, sampled([[sample('x', false)], [sample('y', false, 'unfinished')]], { 'block-did-not-matter': 1, unfinished: 1 }), 'divergence'),
    (e: unknown) => e instanceof DatasetError && e.code === 'no-records' && /the divergence filter rejected all 2 samples of 2 training states/u.test(e.message) && /1 not finished within the token limit/u.test(e.message) && /Lower the margin/u.test(e.message),
  );
  await assert.rejects(teacherSampleRecords(train, sampled([[sample('x', true)]]), 'divergence'), /samples for 1 states, but the training set has 2/u);
});

test('judge filter: the judge keeps, rejects and fails samples; verdicts are in meta and counted; all rejected names the judge', async () => {
  const train = [record('bash: sed -i ...')];
  const model = judgeModel([
    '{"follows_principles": true, "sound": true, "reason": "Reads the failing test before editing."}',
    '```json\n{"follows_principles": false, "sound": true, "reason": "Edits without reading the failure."}\n```',
    'no idea',
    'still no idea',
  ]);
  const judge = llmJudge(model, keepText);
  const candidates = sampled([[sample('read_file tests/test_report.py', true, 'kept'), sample('edit src/report.py', true, 'kept'), sample('???', true, 'kept')]]);
  const errors: string[] = [];
  const { records, stats } = await teacherSampleRecords(train, candidates, 'judge', { judge, principles: new Map([['P1', 'When tests fail, read the failing test first.']]), onError: (m) => errors.push(m) });
  assert.equal(records.length, 1);
  assert.deepEqual(records[0]?.meta.target, { source: 'teacher-sample', sample: 0, filter: 'judge', teacherNll: 0.8, studentNll: 1.1, margin: 0.3, judge: { model: 'scripted-judge', verdict: 'kept', reason: 'Reads the failing test before editing.' } });
  assert.deepEqual(stats.rejected, { 'judge-rejected': 1, 'judge-failed': 1 });
  assert.deepEqual(stats.judge, { model: 'scripted-judge', calls: 3, redacted: 0 });
  assert.equal(errors.length, 1);
  assert.match(errors[0] ?? '', /sample 2 of training state 0: scripted-judge did not return valid sample_verdict JSON after one repair attempt/u);
  // The prompt holds the principle's text, the recorded action and the candidate, at temperature 0.
  const first = model.requests[0];
  assert.equal(first?.temperature, 0);
  const prompt = first.messages.map((m) => m.content).join('\n');
  assert.match(prompt, /P1: When tests fail, read the failing test first\./u);
  assert.match(prompt, /What the agent actually did next \(it worked\):\nbash: sed -i/u);
  assert.match(prompt, /A CANDIDATE next action written by another model:\nread_file tests\/test_report\.py/u);

  const rejecting = llmJudge(judgeModel(['{"follows_principles": true, "sound": false, "reason": "Off task."}']), keepText);
  await assert.rejects(teacherSampleRecords(train, candidates, 'judge', { judge: rejecting }), /the judge filter \(scripted-judge\) rejected all 3 samples of 1 training states \(3 rejected by the judge\)/u);
  await assert.rejects(teacherSampleRecords(train, candidates, 'judge'), /judge filter needs a language model/u);
});

test('secrets in the decision state are redacted before the judge sees them', async () => {
  const secret = 'ghp_4f8Kq2Zr9Lm3Xt7Vb1Nc6Hs0Wd5Jy8Pa2Qe4R';
  const train = [record('bash: pytest -q', ['P1'], `export GITHUB_TOKEN=${secret}\nFAILED tests/test_report.py`)];
  const model = judgeModel(['{"follows_principles": true, "sound": true, "reason": "Fine."}']);
  const judge = llmJudge(model, textRedactor(await createRedactor({ secretlint: false })));
  await teacherSampleRecords(train, sampled([[sample(`curl -H "Authorization: token ${secret}" https://api.github.com`, true, 'kept')]]), 'judge', { judge });
  const sent = model.requests.flatMap((r) => r.messages.map((m) => m.content)).join('\n');
  assert.ok(!sent.includes(secret), 'the token never reaches the model');
  assert.match(sent, /GITHUB_TOKEN=/u, 'the rest of the state is still there');
  assert.ok(judge.stats.redacted >= 2, `both occurrences were redacted (${String(judge.stats.redacted)})`);
});

test('the LLM-judge score: the student against the base per principle, order drawn per state, failures and not-applicable apart', async () => {
  const heldout = [record('x', ['P1', 'P2']), record('y', ['P1'])];
  // P1 at state 0, P2 at state 0, P1 at state 1: answers in the order the draw shows them.
  const order = [studentFirst(0, 'P1'), studentFirst(0, 'P2'), studentFirst(1, 'P1')];
  const verdict = (studentFollows: boolean, baseFollows: boolean, first: boolean): string => {
    const s = studentFollows ? 'follows' : 'violates';
    const b = baseFollows ? 'follows' : 'violates';
    return JSON.stringify({ a: first ? s : b, b: first ? b : s, reason: 'graded' });
  };
  const model = judgeModel([verdict(true, false, order[0] ?? true), '{"a": "not-applicable", "b": "not-applicable", "reason": "unrelated"}', verdict(true, true, order[2] ?? true)]);
  const judge: LlmJudge = llmJudge(model, keepText);
  const scores = await judgeScores(
    judge,
    [
      { record: 0, principles: ['P1', 'P2', 'P9'], base: 'edit src/report.py', student: 'read_file tests/test_report.py' },
      { record: 1, principles: ['P1'], base: 'read_file tests/test_report.py', student: 'read_file tests/test_report.py' },
    ],
    heldout,
    new Map([
      ['P1', 'When tests fail, read the failing test first.'],
      ['P2', 'When a command is not found, check how the tool is installed.'],
    ]),
  );
  assert.deepEqual([...scores.keys()], ['P1', 'P2'], 'a principle without text in the snapshot is not judged');
  const p1 = scores.get('P1');
  assert.equal(p1?.method, 'llm-judge');
  assert.equal(p1.score, 1);
  assert.equal(p1.base, 0.5);
  assert.equal(p1.states, 2);
  assert.equal(scores.get('P2')?.score, null, 'not applicable anywhere: no score, not zero');
  assert.match(scores.get('P2')?.reason ?? '', /applied to neither answer/u);
  const prompt = model.requests[0]?.messages.map((m) => m.content).join('\n') ?? '';
  assert.match(prompt, /The principle:\nWhen tests fail, read the failing test first\./u);
  assert.match(prompt, order[0] === true ? /A:\nread_file tests\/test_report\.py\n\nB:\nedit src\/report\.py/u : /A:\nedit src\/report\.py\n\nB:\nread_file tests\/test_report\.py/u);

  const failing = llmJudge(judgeModel([new Error('connection refused')]), keepText);
  const errors: string[] = [];
  const failed = await judgeScores(failing, [{ record: 1, principles: ['P1'], base: 'a', student: 'b' }], heldout, new Map([['P1', 'text']]), undefined, (m) => errors.push(m));
  assert.equal(failed.get('P1')?.score, null);
  assert.equal(failed.get('P1')?.failed, 1);
  assert.match(failed.get('P1')?.reason ?? '', /every judge call failed/u);
  assert.match(errors[0] ?? '', /P1 at held-out state 1: connection refused/u);
});

test('the prompts clip long messages and show the task and the latest observation', () => {
  const long = `${'x'.repeat(3000)}END`;
  const messages = followingPrompt(record('a', ['P1'], long), { id: 'P1', text: 'When tests fail, read the failing test first.' }, 'A-answer', 'B-answer');
  const text = messages.at(-1)?.content ?? '';
  assert.match(text, /TASK:\nFix the crash on an empty month\./u);
  assert.match(text, /characters left out/u);
  assert.match(text, /END/u, 'the end of a long observation is kept');
  assert.ok(text.length < 4000);
  assert.match(sampleJudgePrompt(record('a'), [{ id: 'P1', text: 'When tests fail, read the failing test first.' }], 'a', 'b').at(-1)?.content ?? '', /"follows_principles": true\|false/u);
});

test('an iteration on your data reads with its LLM-judge score and teacher samples when it has them, and without a judge says nothing of one', () => {
  const base = { kind: 'own-data', principles_scored: 3, principles_internalized: 1, mean_score: 0.42, action_nll: { base: 2.1, student: 1.9 }, retention_ratio: 1.01 };
  const plain = summarizeIteration(base);
  assert.doesNotMatch(plain, /judge/u);
  assert.match(summarizeIteration({ ...base, mean_judge_score: 0.5, judge_model: 'qwen', samples_kept: 40, samples_sampled: 64 }), /mean divergence score 0\.42\); mean LLM-judge score 0\.50 by qwen; trained on 40 of 64 teacher samples; held-out action NLL/u);
});
