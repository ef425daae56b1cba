import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decisionState, fitTokens, truncateMiddle } from '../../../src/core/injection/state.js';
import { estimateTokens } from '../../../src/core/llm/languageModel.js';
import { codingRun, step, trajectory } from './helpers.js';

test('truncateMiddle keeps the start and the end and says how much went', () => {
  const text = `HEAD${'x'.repeat(10_000)}TAIL`;
  const out = truncateMiddle(text, 200);
  assert.ok(out.length <= 200, `length ${String(out.length)}`);
  assert.ok(out.startsWith('HEAD'));
  assert.ok(out.endsWith('TAIL'));
  assert.match(out, /characters omitted/u);
  assert.equal(truncateMiddle('short', 200), 'short');
});

test('truncateMiddle never splits a surrogate pair', () => {
  const text = '😀'.repeat(500);
  for (const max of [60, 61, 62, 63, 99]) {
    const out = truncateMiddle(text, max);
    assert.doesNotMatch(out, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u, `max ${String(max)}`);
  }
});

test('fitTokens fits a counter that is not four characters a token', () => {
  const perChar = (t: string): number => Array.from(t).length;
  const out = fitTokens('日本語のテキスト'.repeat(500), 100, perChar);
  assert.ok(out.tokens <= 100 && out.tokens > 50, `tokens ${String(out.tokens)}`);
  assert.equal(out.cut, true);
});

test('the decision state is the task and the steps before it, oldest first', () => {
  const run = codingRun();
  const s0 = decisionState(run, 0, 512);
  assert.equal(s0.stepsIncluded, 0);
  assert.match(s0.text, /^Task: Fix the failing test/u);
  const s2 = decisionState(run, 2, 512);
  assert.equal(s2.stepsIncluded, 2);
  assert.ok(s2.text.indexOf('[step 0]') < s2.text.indexOf('[step 1]'));
  assert.match(s2.text, /FAILED tests\/test_orders\.py/u);
  assert.doesNotMatch(s2.text, /has been updated/u, 'step 2 itself is not part of its own state');
  assert.equal(s2.truncated, false);
  // One past the last step: the next decision, after everything.
  assert.equal(decisionState(run, 4, 512).stepsIncluded, 4);
});

test('an unknown step index is refused with the steps there are', () => {
  assert.throws(() => decisionState(codingRun(), 9, 512), /has no step 9 \(its steps are 0…3/u);
});

test('a 5 MB observation is cut from the middle and older steps still fit', () => {
  const huge = `START-OF-LOG\n${'lorem ipsum dolor '.repeat(300_000)}\nEND-OF-LOG: 3 failed`;
  assert.ok(huge.length > 5_000_000);
  const run = trajectory([step(0, { name: 'Bash', args: { command: 'make test' } }, 'make: ok'), step(1, { name: 'Bash', args: { command: 'pytest' } }, huge), step(2, { name: 'Read', args: { path: 'a.py' } }, 'x')]);
  const s = decisionState(run, 2, 512);
  assert.ok(s.tokens <= 512, `tokens ${String(s.tokens)}`);
  assert.ok(s.text.length < 4096, `chars ${String(s.text.length)}`);
  assert.match(s.text, /START-OF-LOG/u);
  assert.match(s.text, /END-OF-LOG: 3 failed/u);
  assert.match(s.text, /make test/u, 'the earlier step keeps its place');
  assert.equal(s.truncated, true);
  assert.equal(s.tokens, estimateTokens(s.text));
});

test('a long task takes at most a third of the budget', () => {
  const run = trajectory([step(0, { name: 'Bash', args: { command: 'ls' } }, 'a.txt')], { task: 'please '.repeat(5000) });
  const s = decisionState(run, 1, 300);
  assert.ok(s.tokens <= 300);
  assert.match(s.text, /a\.txt/u);
});
