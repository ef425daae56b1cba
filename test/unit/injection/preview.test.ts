import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { DEFAULT_INJECTION_OPTIONS } from '../../../src/core/injection/options.js';
import { renderViews } from '../../../src/core/injection/renderer.js';
import type { InjectionPlan } from '../../../src/core/injection/types.js';
import { openStore, type Store } from '../../../src/core/store/index.js';
import type { Trajectory } from '../../../src/core/trajectory.js';
import { injectionHostMessage } from '../../../src/protocol/injection.js';
import { clipMessage, divergenceRecords, MAX_SHOWN_CHARS, planPreview, stepDetail, stepRows, toPreviewOptions, withPreviewOptions } from '../../../src/extension/webviews/injectionModel.js';
import { hashedEmbedder, POOL } from './helpers.js';

/** A real SWE-agent run (test/fixtures/swe-agent/NOTES.md) imported by the CLI into a fresh store. */
const FIXTURE = join(__dirname, '..', '..', 'fixtures', 'swe-agent', '6e44b9__sweagenttestrepo-1c2844.traj');

async function fixtureStore(t: { after: (fn: () => void) => void }, withPool = true): Promise<{ store: Store; trajectory: Trajectory }> {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-preview-'));
  const db = join(dir, 'i.db');
  const quiet = { out: () => undefined, err: () => undefined, env: { HOME: dir }, cwd: dir };
  assert.equal(await runCli(['import', '--db', db, FIXTURE], quiet), 0);
  const store = openStore(db);
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  if (withPool) {
    store.transaction(() => {
      for (const p of POOL) store.principles.save(p);
    });
  }
  const [summary] = store.trajectories.list({});
  const trajectory = summary === undefined ? undefined : store.trajectories.get(summary.id);
  assert.ok(trajectory !== undefined && trajectory.steps.length >= 4, 'the fixture imports as one multi-step trajectory');
  return { store, trajectory };
}

async function plan(store: Store, trajectory: Trajectory, options = DEFAULT_INJECTION_OPTIONS): Promise<InjectionPlan> {
  const planned = await planPreview({ store, trajectory, embedder: hashedEmbedder(), options });
  if (planned.kind !== 'plan') throw new Error(`expected a plan, got ${planned.kind}`);
  assert.equal(planned.poolSize, POOL.length);
  return planned.plan;
}

test('a 5 MB observation is cut to its head and end; the block at its end stays whole and marked', () => {
  const block = '<experience>\n1. [P1] When tests fail, read the log.\n</experience>';
  const content = `${'x'.repeat(5 * 1024 * 1024)}\n\n${block}`;
  const start = content.length - block.length;
  const clipped = clipMessage(content, [[start, content.length]]);
  assert.ok(clipped.content.length < MAX_SHOWN_CHARS + 100, `clipped to ${String(clipped.content.length)} characters`);
  assert.equal(clipped.omitted, content.length - MAX_SHOWN_CHARS);
  assert.match(clipped.content, /characters left out/u);
  const [range] = clipped.injected;
  assert.ok(range !== undefined);
  assert.equal(clipped.content.slice(range[0], range[1]), block);
  assert.ok(clipped.content.endsWith(block));
});

test('a short message is shown whole; a range across the cut keeps its visible parts', () => {
  assert.deepEqual(clipMessage('hello', [[0, 5]]), { content: 'hello', injected: [[0, 5]], omitted: 0 });
  const content = 'a'.repeat(100);
  const clipped = clipMessage(content, [[10, 90]], 40);
  assert.equal(clipped.omitted, 100 - 40);
  const shown = clipped.injected.map(([a, b]) => clipped.content.slice(a, b)).join('');
  assert.equal(shown, 'a'.repeat(40 - 10));
  assert.ok(clipped.injected.every(([a, b]) => a < b && b <= clipped.content.length));
});

test('toggles map onto the planner options and back', () => {
  for (const mode of ['stepwise-ephemeral', 'stepwise-cumulative', 'global'] as const) {
    const options = withPreviewOptions(DEFAULT_INJECTION_OPTIONS, { mode, k: 3, selector: 'embedding', includeInternalized: true });
    assert.deepEqual(toPreviewOptions(options), { mode, k: 3, selector: 'embedding', includeInternalized: true });
    assert.equal(options.blockTemplate, DEFAULT_INJECTION_OPTIONS.blockTemplate);
  }
});

test('an empty pool is reported as such, not planned', async (t) => {
  const { store, trajectory } = await fixtureStore(t, false);
  assert.deepEqual(await planPreview({ store, trajectory, embedder: hashedEmbedder(), options: DEFAULT_INJECTION_OPTIONS }), { kind: 'emptyPool' });
});

test('rows come by range and a step detail shows the block in the teacher view only', async (t) => {
  const { store, trajectory } = await fixtureStore(t);
  const p = await plan(store, trajectory);
  assert.equal(p.steps.length, trajectory.steps.length);
  const rows = stepRows(trajectory, p, 1, 2);
  assert.deepEqual(rows.map((r) => r.position), [1, 2]);
  assert.equal(stepRows(trajectory, p, p.steps.length, 10).length, 0);
  for (const r of rows) {
    assert.ok(r.action.length > 0 && r.action.length <= 400);
    assert.deepEqual(r.selected, p.steps[r.position]?.selected.map((s) => s.id));
    assert.equal(injectionHostMessage.safeParse({ type: 'rows', start: 1, rows: [r] }).success, true);
  }
  const position = p.steps.findIndex((s) => s.selected.length > 0);
  assert.ok(position >= 0, 'some step gets principles');
  const step = p.steps[position];
  assert.ok(step !== undefined);
  const detail = stepDetail(p, position, renderViews(trajectory, p, step.stepIndex));
  assert.equal(injectionHostMessage.safeParse({ type: 'detail', detail }).success, true);
  assert.deepEqual(detail.selected.map((s) => s.id), step.selected.map((s) => s.id));
  const marked = detail.teacher.filter((m) => m.injected.length > 0);
  assert.equal(marked.length, 1, 'ephemeral: one block');
  const [m] = marked;
  const [range] = m?.injected ?? [];
  assert.ok(m !== undefined && range !== undefined);
  assert.equal(m.content.slice(range[0], range[1]), step.block);
  assert.ok(detail.student.every((s) => !s.content.includes(step.block)), 'the student view holds no principle text');
  assert.throws(() => stepDetail(p, p.steps.length, renderViews(trajectory, p, step.stepIndex)), /no(ne)? .*position/u);
});

test('a run planned from its start first: rows past the head plan come from the trajectory, pending', async (t) => {
  const { store, trajectory } = await fixtureStore(t);
  const head = await plan(store, { ...trajectory, steps: trajectory.steps.slice(0, 2) });
  const rows = stepRows(trajectory, head, 0, 50);
  assert.equal(rows.length, trajectory.steps.length);
  assert.deepEqual(rows.map((r) => r.pending), trajectory.steps.map((_, i) => i >= 2));
  for (const r of rows.filter((x) => x.pending)) {
    assert.deepEqual(r.selected, []);
    assert.equal(r.stepIndex, trajectory.steps[r.position]?.index);
    assert.ok(r.action.length > 0);
  }
});

test('global mode: the block sits in the system prompt of the teacher view, not at the steps', async (t) => {
  const { store, trajectory } = await fixtureStore(t);
  const p = await plan(store, trajectory, withPreviewOptions(DEFAULT_INJECTION_OPTIONS, { mode: 'global', k: 5, selector: 'embedding', includeInternalized: false }));
  assert.ok(p.globalBlock !== undefined && p.globalBlock !== '');
  const last = p.steps[p.steps.length - 1];
  assert.ok(last !== undefined);
  const detail = stepDetail(p, p.steps.length - 1, renderViews(trajectory, p, last.stepIndex));
  const [system] = detail.teacher;
  assert.equal(system?.role, 'system');
  assert.equal(system.index, 0, 'the system prompt is shown even when the window is at the end');
  assert.ok(system.injected.length > 0);
  assert.ok(p.steps.every((s) => s.block === ''));
  assert.deepEqual(detail.selected.map((s) => s.id), p.globalSelected?.map((s) => s.id));
  assert.equal(detail.block, p.globalBlock);
  assert.throws(() => divergenceRecords(trajectory, p, [0], renderViews), /step-wise/u);
});

test('divergence records: the student context, the block on its observation, the recorded action as target', async (t) => {
  const { store, trajectory } = await fixtureStore(t);
  const p = await plan(store, trajectory);
  const positions = p.steps.map((_, i) => i);
  const { records, positions: scored, zero } = divergenceRecords(trajectory, p, positions, renderViews);
  assert.equal(records.length, scored.length);
  assert.equal(new Set([...scored, ...zero]).size, scored.length + zero.length, 'a step is scored or known to be zero, never both');
  assert.ok(records.length > 0);
  records.forEach((record, i) => {
    const position = scored[i] ?? -1;
    const step = p.steps[position];
    const next = p.steps[position + 1];
    assert.ok(step !== undefined && next !== undefined, 'the last step has no recorded successor view and is not scored');
    const [target] = record.targets;
    assert.equal(target, record.messages.length - 1);
    assert.equal(record.messages[record.messages.length - 1]?.role, 'assistant');
    // The target is the assistant turn the next decision state's view holds right after this one's context.
    const context = renderViews(trajectory, p, step.stepIndex).student;
    assert.equal(record.messages[record.messages.length - 1]?.content, renderViews(trajectory, p, next.stepIndex).student[context.length]?.content);
    const entries = Object.entries(record.blocks);
    assert.equal(entries.length, 1);
    const [at, block] = entries[0] ?? [];
    assert.equal(block, step.block);
    assert.equal(record.messages[Number(at)]?.role, 'user');
    assert.ok(record.messages.every((m) => !m.content.includes(step.block)), 'the block travels beside the messages, not in them');
  });
  for (const position of zero) assert.equal(p.steps[position]?.block, '');
});
