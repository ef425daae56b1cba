import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { proposeOps } from '../../src/core/experience/curation.js';
import { openStore } from '../../src/core/store/index.js';
import { Editor, ROOT, steps, watchDashboard } from './harness.js';

/**
 * Watching and comparing rounds in a real editor: a toy-world round opens the Run Dashboard, which
 * reaches 100% with drawn charts; the iteration lands in the Iterations view; Compare with Previous
 * shows the pool diff and the metric deltas against the iteration before; the capability curve draws
 * both iterations; Roll Back to iteration 1 restores its pool through recorded operations.
 */
// On an idle machine the toy round takes under a minute and the whole file about two; the limits leave room
// for a machine busy with training runs, where the same round took over five minutes, and once (three
// benchmarks and two other editors on two cores) twelve minutes without finishing its evaluation.
describe('Run Dashboard and the Iterations view actions in a real editor', { timeout: 1_260_000 }, () => {
  let editor: Editor;
  let storePath = '';
  const { step, failed } = steps(() => editor);

  before(async () => {
    editor = await Editor.start({
      settings: ({ home }) => {
        storePath = join(home, 'internalize.db');
        return { 'internalize.trainer.pythonPath': join(ROOT, '.venv', 'bin', 'python'), 'internalize.capture.enabled': false, 'internalize.store.path': storePath };
      },
      env: { INTERNALIZE_TOY_CACHE: join(ROOT, '.cache', 'toy') },
      // An earlier iteration: its pool held one principle, a second was accepted after it.
      prepare: ({ home }) => {
        const store = openStore(join(home, 'internalize.db'));
        try {
          proposeOps(store, [{ kind: 'ADD', text: 'When a test fails, read its whole log before changing code.', rationale: 'e2e seed', evidence: [] }], { origin: 'manual', autoAccept: true });
          store.snapshots.freeze(1, store.principles.list({ status: 'accepted' }));
          store.iterations.save({ number: 1, status: 'done', config: { world: 'toy', regime: 'off-policy' }, metrics: { accuracy_without_principles: 0.5, base_accuracy_without_principles: 0.25, probe_nll: 2.0, base_probe_nll: 1.98 }, startedAt: '2026-01-01T10:00:00.000Z', endedAt: '2026-01-01T10:01:00.000Z' });
          store.scores.save(1, [{ principleId: 'P1', method: 'checker', base: 0.2, teacher: 0.8, student: 0.6, score: 0.67, internalized: true, detail: {} }]);
          proposeOps(store, [{ kind: 'ADD', text: 'When a command runs long, give it a timeout and say so.', rationale: 'e2e seed', evidence: [] }], { origin: 'manual', autoAccept: true });
        } finally {
          store.close();
        }
      },
    });
  });

  after(async () => {
    if (failed()) {
      console.log(`screenshot: ${await editor.screenshot('dashboard-failure')}`);
      console.log(editor.serverOutput().slice(-3000));
    }
    await editor.close();
  });

  step('a toy-world round opens the Run Dashboard, which reaches 100% with drawn charts and the result in words', async () => {
    await editor.page.locator('.activitybar [aria-label^="Internalize"]').first().click();
    await editor.iterationRow(1).waitFor({ timeout: 30_000 });
    await editor.pickFromCommand('Internalize: Start Distillation Round', 'Toy world');
    const frame = await editor.frameWith('[data-chart="loss"]', 60_000);
    assert.match((await frame.locator('header h1').textContent()) ?? '', /Iteration 2 · toy world/u);
    const seen = await watchDashboard(frame, 2, 1_080_000);
    // After training the bar shows the toy world's evaluation, short of 100%; 100% comes with the result.
    assert.ok(seen.some((x) => x.line.includes('Evaluating held-out prompts') && x.percent < 100), `the evaluation shows before the end:\n${JSON.stringify(seen)}`);
    assert.ok(seen.every((x) => x.percent < 100 || x.line.startsWith('Finished')), `nothing but the result reaches 100%:\n${JSON.stringify(seen)}`);
    await frame.locator('.result h2', { hasText: /Iteration finished|collapsed/u }).waitFor({ timeout: 10_000 });
    await frame.locator('[data-percent="100"]').waitFor({ timeout: 10_000 });
    const loss = frame.locator('[data-chart="loss"]');
    const points = Number(await loss.getAttribute('data-points'));
    assert.ok(points > 0, `the loss chart has ${String(points)} points`);
    assert.ok((await loss.locator('canvas').count()) > 0, 'uPlot drew the loss chart on a canvas');
    assert.ok(Number(await frame.locator('[data-chart="tokensPerS"]').getAttribute('data-points')) > 0, 'the speed chart has points');
    assert.ok((await frame.locator('pre.log').textContent())?.includes('checkpoint saved'), 'the log tail shows the worker\'s checkpoints');
    const metrics = frame.locator('table.metrics tbody tr');
    assert.ok((await metrics.count()) > 0, 'the result lists its metrics');
    assert.match((await metrics.first().getAttribute('title')) ?? '', /\w+/u, 'each metric explains itself in a tooltip');
    await editor.screenshot('run-dashboard');
  });

  step('the iteration lands in the Iterations view, short, with its details in the tooltip', async () => {
    const row = editor.iterationRow(2);
    await row.waitFor({ timeout: 20_000 });
    assert.match((await row.textContent()) ?? '', /Iteration 2\s*(done|collapsed) · toy · acc \d\.\d\d/u);
  });

  step('Compare with Previous shows the pool diff and the metric deltas', async () => {
    const row = editor.iterationRow(2);
    await row.hover();
    await row.locator('.action-label[aria-label="Compare with Previous"]').click();
    const frame = await editor.frameWith('table.metric-deltas');
    assert.match((await frame.locator('header h1').textContent()) ?? '', /iteration 1 → iteration 2/u);
    assert.equal(await frame.locator('li.entry.add').count(), 1, 'the principle accepted after iteration 1 shows as added');
    const deltas = frame.locator('table.metric-deltas tbody tr', { hasText: 'Accuracy without principles (student)' });
    await deltas.waitFor({ timeout: 10_000 });
    assert.match((await deltas.textContent()) ?? '', /50%/u, 'iteration 1\'s accuracy is the before value');
    await editor.screenshot('compare-with-previous');
  });

  step('the capability curve draws both iterations with the guard limit', async () => {
    await editor.runCommand('Internalize: Show Capability Curve');
    const frame = await editor.frameWith('[data-chart="curve"] canvas');
    assert.equal(await frame.locator('[data-chart="curve"]').getAttribute('data-points'), '2');
    const table = (await frame.locator('#panel-curve table.metrics').textContent()) ?? '';
    assert.match(table, /P1 score/u);
    assert.match(table, /Retention NLL/u);
    assert.ok((await frame.locator('.u-legend', { hasText: 'Guard limit ×1.05' }).count()) > 0, 'the guard limit is drawn');
    await editor.screenshot('capability-curve');
  });

  step('Roll Back to iteration 1 asks, then restores its pool and sets iteration 2 aside', async () => {
    assert.match(await editor.rollBackTo(1), /1 retired/u);
    await editor.notification(/rolled back to iteration 1; 1 pool change applied/u);
    await editor.pane('Iterations').locator('.monaco-list-row', { hasText: /Iteration 2\s*rolled back/u }).first().waitFor({ timeout: 15_000 });
    const store = openStore(storePath, { readonly: true });
    try {
      assert.deepEqual(store.principles.list({ status: 'accepted' }).map((p) => p.id), ['P1']);
      assert.equal(store.principles.get('P2')?.status, 'retired');
      assert.equal(store.runs.list(1).filter((r) => r.kind === 'rollback').length, 1, 'the rollback is recorded');
    } finally {
      store.close();
    }
  });
});
