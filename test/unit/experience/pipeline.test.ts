/**
 * The extraction pipeline's principle loop with a scripted LanguageModel (a test double of the port:
 * it answers each stage as a model would, and records what it was asked).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../../src/core/store/index.js';
import { extractExperience, OPERATIONS_MAX_TOKENS, REWRITE_MAX_TOKENS } from '../../../src/core/experience/pipeline.js';
import { suggestGeneralRewrite } from '../../../src/core/experience/rewrite.js';
import { checkPrinciple } from '../../../src/core/experience/specificity.js';
import type { ChatRequest, LanguageModel } from '../../../src/core/llm/languageModel.js';
import { estimateTokens } from '../../../src/core/llm/languageModel.js';
import type { Trajectory } from '../../../src/core/trajectory.js';

const GOOD = 'When tests fail, read the failing test and its message before editing any code.';
const WITH_PATH = 'When pytest fails in tests/test_api.py, run the install step first.';
const WITH_TOOL = 'When an edit fails, retry it with replace_in_file.';
const LONG = `When a command fails because a program is missing, ${'check carefully whether it is installed and on the path, '.repeat(3)}then run it again.`;
const REWRITTEN_PATH = 'When tests fail right after cloning a project, install the project before investigating.';

interface Script {
  readonly operations: string;
  /** Answers to rewrite requests, by a piece of the text to rewrite. */
  readonly rewrites: Readonly<Record<string, string>>;
}

function scripted(script: Script): { model: LanguageModel; requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  const model: LanguageModel = {
    model: 'scripted',
    endpoint: 'test',
    estimateTokens,
    chat(request) {
      requests.push(request);
      const last = request.messages[request.messages.length - 1]?.content ?? '';
      if (last.startsWith('Summarize this agent trajectory')) return Promise.resolve({ text: 'The agent ran the tests, read the failure, fixed the code.' });
      if (last.startsWith('These runs attempted similar tasks')) return Promise.resolve({ text: 'Reading the failing test first made the difference.' });
      if (last.startsWith('Update the experience pool')) return Promise.resolve({ text: script.operations });
      const experience = last.startsWith('Rewrite this experience') ? (/\nExperience: (.*)\n/u.exec(last)?.[1] ?? '') : '';
      const key = Object.keys(script.rewrites).find((k) => experience.includes(k));
      if (key !== undefined) return Promise.resolve({ text: script.rewrites[key] ?? '' });
      // A repair request after an unusable rewrite: the model stays unusable.
      return Promise.resolve({ text: 'Sure! Here is a better one.' });
    },
  };
  return { model, requests };
}

const run = (id: string, ok: boolean): Trajectory => ({
  id,
  source: 'codex',
  sessionId: id,
  task: 'Fix the failing test in the parser',
  outcome: { label: ok ? 'success' : 'failure', evidence: [] },
  steps: [{ index: 0, toolCalls: [{ id: 'a', name: 'shell', arguments: { command: 'npm test' } }], observations: [{ callId: 'a', content: '1 failing', isError: true, exitCode: 1 }] }],
});

const noRedaction = (text: string) => ({ text, count: 0 });

test('proposals that fail the principle check go back for one rewrite; what still fails is dropped with the reason', async () => {
  const { model, requests } = scripted({
    operations: JSON.stringify({
      operations: [
        { op: 'ADD', text: GOOD, rationale: 'both runs' },
        { op: 'ADD', text: WITH_PATH, rationale: 'run 1' },
        { op: 'ADD', text: WITH_TOOL, rationale: 'run 2' },
        { op: 'ADD', text: LONG, rationale: 'run 2' },
      ],
    }),
    rewrites: {
      'tests/test_api.py': JSON.stringify({ text: REWRITTEN_PATH }),
      replace_in_file: JSON.stringify({ text: 'When an edit fails, retry it with the MultiEdit tool.' }),
      'check carefully': 'not JSON at all',
    },
  });
  const store = openStore(':memory:');
  const result = await extractExperience({ store, model, trajectories: [run('a', true), run('b', false)], redact: noRedaction });

  const texts = result.opIds.map((id) => store.poolOps.get(id)?.after);
  assert.deepEqual(texts, [GOOD, REWRITTEN_PATH]);
  for (const t of [GOOD, REWRITTEN_PATH]) assert.deepEqual(checkPrinciple(t), []);
  assert.deepEqual(result.flagged, []);
  assert.deepEqual(result.check, { texts: 4, passed: 1, rewritten: 1 });
  assert.deepEqual(
    result.dropped.map((d) => d.reason),
    [
      `still fails the principle check after one rewrite (instance details: tool "MultiEdit"); first text: "${WITH_TOOL}"`,
      'fails the principle check (43 words, more than 32) and the model gave no usable rewrite',
    ],
  );

  // The answers get room: the operations call and each rewrite ask for their own token budget.
  const ops = requests.find((r) => r.messages.at(-1)?.content.startsWith('Update the experience pool'));
  assert.equal(ops?.maxTokens, OPERATIONS_MAX_TOKENS);
  const rewrites = requests.filter((r) => r.messages.at(-1)?.content.startsWith('Rewrite this experience'));
  assert.equal(rewrites.length, 3);
  for (const r of rewrites) assert.equal(r.maxTokens, REWRITE_MAX_TOKENS);
  // Each rewrite request names the problems of its text.
  assert.match(rewrites[0]?.messages.at(-1)?.content ?? '', /Its problems: instance details: path "tests\/test_api\.py"\./u);
  assert.match(rewrites[2]?.messages.at(-1)?.content ?? '', /Its problems: 43 words, more than 32\./u);
  // The critique asks for what generalizes and shows labelled good and bad examples.
  const critique = requests.find((r) => r.messages.at(-1)?.content.startsWith('These runs attempted similar tasks'))?.messages.at(-1)?.content;
  assert.ok(critique !== undefined);
  assert.match(critique, /what generalizes/u);
  assert.match(critique, /Good \(general, holds in any repository\):/u);
  assert.match(critique, /Bad \(instance-level, tied to one run\):/u);
  store.close();
});

test('with rewriting off, instance details are proposed as they came and flagged', async () => {
  const { model, requests } = scripted({ operations: JSON.stringify({ operations: [{ op: 'ADD', text: WITH_PATH }] }), rewrites: {} });
  const store = openStore(':memory:');
  const result = await extractExperience({ store, model, trajectories: [run('a', true)], redact: noRedaction, rewriteSpecific: false });
  assert.equal(result.opIds.length, 1);
  assert.deepEqual(result.flagged.map((f) => f.spans.map((s) => s.text)), [['tests/test_api.py']]);
  assert.equal(requests.filter((r) => r.messages.at(-1)?.content.startsWith('Rewrite')).length, 0);
  store.close();
});

test('the rewrite offered from the sidebar says what its answer still lacks', async () => {
  const { model } = scripted({ operations: '', rewrites: { 'tests/test_api.py': JSON.stringify({ text: 'When tests fail, run them again' }) } });
  assert.equal(await suggestGeneralRewrite(model, GOOD), undefined);
  const s = await suggestGeneralRewrite(model, WITH_PATH);
  assert.equal(s?.text, 'When tests fail, run them again');
  assert.deepEqual(s.remaining, []);
  assert.deepEqual(s.problems.map((p) => p.kind), ['form']);
});

test('a proposal that repeats one of the prompt\'s own examples is dropped, not proposed', async () => {
  const copied = 'When a search returns too many matches, narrow it to the relevant folder before opening files.';
  const { model } = scripted({
    operations: JSON.stringify({ operations: [{ op: 'ADD', text: GOOD, rationale: 'both runs' }, { op: 'ADD', text: copied.toUpperCase(), rationale: 'runs' }] }),
    rewrites: {},
  });
  const store = openStore(':memory:');
  const result = await extractExperience({ store, model, trajectories: [run('a', true), run('b', false)], redact: noRedaction });
  assert.deepEqual(result.opIds.map((id) => store.poolOps.get(id)?.after), [GOOD]);
  assert.deepEqual(result.dropped.map((d) => d.reason), ['copies an example from the prompt, not a lesson of these runs']);
});
