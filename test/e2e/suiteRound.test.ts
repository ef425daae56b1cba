import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Editor, ROOT } from './harness.js';

/**
 * The demo's main job in a real editor: a principle-suite round on SmolLM2-135M-Instruct on CPU,
 * from the palette to the before/after table and the scores in the Principles view. It takes
 * minutes, so it runs only when asked: INTERNALIZE_E2E_SUITE=1 node scripts/run-tests.mjs e2e suiteRound
 */
const enabled = process.env.INTERNALIZE_E2E_SUITE === '1';

describe('A principle-suite round in a real editor', { skip: enabled ? false : 'set INTERNALIZE_E2E_SUITE=1 to run the minutes-long suite round', timeout: 1_800_000 }, () => {
  let editor: Editor;

  before(async () => {
    editor = await Editor.start({
      settings: { 'internalize.trainer.pythonPath': join(ROOT, '.venv', 'bin', 'python'), 'internalize.capture.enabled': false, 'internalize.distill.suitePrinciples': (process.env.INTERNALIZE_E2E_SUITE_PRINCIPLES ?? 'P2').split(',') },
      env: { INTERNALIZE_MODELS_DIR: join(ROOT, '.cache', 'models') },
    });
  });

  after(async () => {
    await editor.screenshot('suite-round');
    await editor.close();
  });

  test('the round runs with progress, scores land in the Principles view, and the table opens', async () => {
    await editor.page.locator('.activitybar [aria-label^="Internalize"]').first().click();
    await editor.runCommand('Internalize: Start Distillation Round');
    const suite = editor.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Principle suite' }).first();
    await suite.waitFor({ timeout: 10_000 });
    await suite.click();
    let line: string | undefined;
    const started = Date.now();
    while (line === undefined && Date.now() - started < 1_700_000) {
      const log = editor.extensionLog();
      line = /Iteration 1 (done|collapsed)[^\n]*|Internalize: iteration 1 failed[^\n]*/u.exec(log)?.[0];
      if (line === undefined) await new Promise((r) => setTimeout(r, 2000));
    }
    console.log(`suite round: ${line ?? 'no result'} after ${String(Math.round((Date.now() - started) / 1000))} s`);
    console.log(editor.extensionLog().split('\n').filter((l) => /Iteration 1/u.test(l)).join('\n'));
    assert.match(line ?? '', /Iteration 1 (done|collapsed): \d+ of \d+ trained principles internalized/u);
    const frame = editor.page.locator('.monaco-editor', { hasText: 'Principle suite on' }).first();
    await frame.waitFor({ timeout: 20_000 });
    await editor.page.locator('.pane', { has: editor.page.locator('.pane-header', { hasText: 'Principles' }) }).locator('.monaco-list-row', { hasText: /imported · (internalized|score)/u }).first().waitFor({ timeout: 20_000 });
  });
});
