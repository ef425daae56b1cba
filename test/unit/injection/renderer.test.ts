import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_INJECTION_OPTIONS } from '../../../src/core/injection/options.js';
import { planTrajectory } from '../../../src/core/injection/planner.js';
import { renderViews } from '../../../src/core/injection/renderer.js';
import type { InjectionOptions, RenderedViews } from '../../../src/core/injection/types.js';
import { codingRun, hashedEmbedder, POOL, step, trajectory } from './helpers.js';

async function plan(over: Partial<InjectionOptions>, run = codingRun()) {
  return planTrajectory({ trajectory: run, pool: POOL, internalizedIds: new Set(), embedder: hashedEmbedder(), options: { ...DEFAULT_INJECTION_OPTIONS, scoreFloor: 0, ...over } });
}

/** The injected text of a view, and the teacher with it cut out. */
function injected(views: RenderedViews): { blocks: string[]; stripped: string[] } {
  const blocks: string[] = [];
  const stripped = views.teacher.map((m, i) => {
    let out = m.content;
    const ranges = views.injectedRanges[i] ?? [];
    for (const [s, e] of ranges) blocks.push(m.content.slice(s, e));
    for (const [s, e] of [...ranges].reverse()) out = out.slice(0, s).replace(/\n\n$/u, '') + out.slice(e);
    return out;
  });
  return { blocks, stripped };
}

test('ephemeral: only the current step\'s block, on the latest observation', async () => {
  const p = await plan({});
  const views = renderViews(codingRun(), p, 3);
  assert.equal(views.student.length, 1 + 3 * 2, 'task, then assistant + result per earlier step');
  assert.equal(views.teacher.length, views.student.length);
  const { blocks, stripped } = injected(views);
  assert.deepEqual(blocks, [p.steps[3]?.block]);
  assert.equal(views.injectedRanges.at(-1)?.length, 1, 'the block sits on the last message');
  assert.deepEqual(stripped, views.student.map((m) => m.content), 'teacher = student + blocks');
  assert.ok(views.student.every((m) => !m.content.includes('<experience>')));
});

test('cumulative: every earlier block stays where it was injected', async () => {
  const p = await plan({ persistence: 'cumulative' });
  const views = renderViews(codingRun(), p, 3);
  const { blocks, stripped } = injected(views);
  assert.deepEqual(blocks, p.steps.slice(0, 4).map((s) => s.block).filter((b) => b !== ''));
  assert.deepEqual(stripped, views.student.map((m) => m.content));
  assert.equal(views.injectedRanges[0]?.length, 1, 'step 0\'s block is on the task message');
});

test('global: the block is in the system prompt, the turns are untouched', async () => {
  const p = await plan({ mode: 'global' });
  const views = renderViews(codingRun(), p, 2);
  assert.equal(views.teacher[0]?.role, 'system');
  assert.equal(views.teacher[0].content, p.globalBlock);
  assert.equal(views.teacher.length, views.student.length + 1);
  assert.deepEqual(views.teacher.slice(1), views.student);
  const withSystem = codingRun();
  const run = { ...withSystem, systemPrompt: 'You are a coding agent.' };
  const p2 = await plan({ mode: 'global' }, run);
  const v2 = renderViews(run, p2, 1);
  assert.equal(v2.teacher.length, v2.student.length);
  assert.ok(v2.teacher[0]?.content.startsWith('You are a coding agent.\n\n<experience>'));
});

test('a step with no result gets a block-only message in the teacher view', async () => {
  const run = trajectory([step(0, undefined, undefined, { text: 'Let me think about the failing test.' }), step(1, { name: 'Bash', args: { command: 'pytest' } }, '1 failed'), step(2, undefined, undefined, { text: 'done' })]);
  const p = await plan({ persistence: 'cumulative' }, run);
  const views = renderViews(run, p, 2);
  const { blocks, stripped } = injected(views);
  assert.deepEqual(blocks, p.steps.map((s) => s.block).filter((b) => b !== ''));
  const blockOnly = views.teacher.findIndex((m, i) => m.role === 'user' && views.injectedRanges[i]?.[0]?.[0] === 0 && m.content === p.steps[1]?.block);
  assert.equal(blockOnly, 2, 'right after step 0\'s assistant message');
  assert.deepEqual(stripped.filter((m) => m !== ''), views.student.map((m) => m.content));
});

test('a plan for another trajectory is refused', async () => {
  const p = await plan({});
  assert.throws(() => renderViews({ ...codingRun(), id: 'codex:ffff' }, p, 0), /plan is for trajectory/u);
});
