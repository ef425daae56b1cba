import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Editor, ROOT, steps } from './harness.js';

/**
 * Curation in a real editor: the offline miner proposes principles from real agent logs, the user
 * accepts one from the Principles view, exports the pool into AGENTS.md (a managed block next to
 * the user's own text) and sees the change in the Compare Pools webview.
 */
describe('Principles in a real editor', { timeout: 240_000 }, () => {
  let editor: Editor;
  const { step, failed } = steps(() => editor);
  const userText = '# Project rules\n\nRun `npm test` before committing.\n';

  before(async () => {
    editor = await Editor.start({
      workspaceFiles: { 'AGENTS.md': userText },
      // The real fixtures, imported by the CLI on the same core into the store the editor will use.
      prepare: ({ home }) => {
        const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'import', join(ROOT, 'test', 'fixtures'), '--db', join(home, 'internalize.db')], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`import failed: ${r.stderr}`);
      },
      settings: ({ home }) => ({ 'internalize.store.path': join(home, 'internalize.db'), 'internalize.capture.enabled': false, 'internalize.experience.minSupport': 1 }),
    });
  });

  after(async () => {
    if (failed()) {
      const shot = await editor.screenshot('principles-failure');
      console.log(`screenshot: ${shot}`);
    }
    await editor.close();
  });


  const rows = () => editor.page.locator('.pane', { has: editor.page.locator('.pane-header', { hasText: 'Principles' }) }).locator('.monaco-list-row');

  step('the offline miner proposes principles that appear under Proposed changes', async () => {
    await editor.page.locator('.activitybar [aria-label^="Internalize"]').first().click();
    await editor.page.locator('.pane-header', { hasText: 'Principles' }).first().waitFor({ timeout: 20_000 });
    await editor.runCommand('Internalize: Summarize Trajectories into Principles');
    const mine = editor.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Mine recurring patterns offline' }).first();
    await mine.waitFor({ timeout: 10_000 });
    await mine.click();
    const text = await editor.notification(/Internalize mined \d+ recurring patterns/u, 30_000);
    assert.match(text, /[1-9]\d* new proposals to review/u);
    await rows().filter({ hasText: 'Proposed changes' }).first().waitFor({ timeout: 20_000 });
    await rows().filter({ hasText: /ADD P1/u }).first().waitFor({ timeout: 20_000 });
  });

  step('accepting a proposal from its row moves it to the Accepted group', async () => {
    const row = rows().filter({ hasText: /ADD P1/u }).first();
    const label = ((await row.locator('.label-name').first().textContent()) ?? '').trim();
    assert.ok(label.startsWith('When '), `a principle-shaped proposal, got "${label}"`);
    await row.hover();
    await row.locator('.action-label[aria-label="Accept Proposed Change"]').click();
    await rows().filter({ hasText: /^Accepted/u }).first().waitFor({ timeout: 20_000 });
    const accepted = rows().filter({ hasText: /P1 · mined/u }).first();
    await accepted.waitFor({ timeout: 20_000 });
    assert.equal(((await accepted.locator('.label-name').first().textContent()) ?? '').trim(), label);
    assert.match(editor.extensionLog(), /Accepted ADD P1 \(op \d+\)/u);
  });

  step('export writes the accepted pool into AGENTS.md in a managed block and keeps the user text', async () => {
    await editor.runCommand('Internalize: Export Principles…');
    await editor.page.locator('.quick-input-list .monaco-list-row', { hasText: 'AGENTS.md' }).first().waitFor({ timeout: 10_000 });
    await editor.page.keyboard.press('Enter');
    await editor.notification(/Internalize exported 1 principle to AGENTS\.md/u, 20_000);
    const file = join(editor.workspace, 'AGENTS.md');
    assert.ok(existsSync(file));
    const written = readFileSync(file, 'utf8');
    assert.ok(written.startsWith(userText), 'the user text before the block is kept byte for byte');
    assert.match(written, /<!-- internalize:begin hash=[0-9a-f]{16} -->\n## Learned principles \(Internalize\)\n\n- When [^\n]+ \(P1\)\n<!-- internalize:end -->\n$/u);
  });

  step('rejecting the other proposals from the palette moves them to the Rejected group', async () => {
    await editor.runCommand('Internalize: Reject Proposed Change');
    // However many patterns the miner found in the fixtures, every proposal but the accepted P1 is rejected.
    const items = editor.page.locator('.quick-input-list .monaco-list-row', { hasText: /ADD P\d+/u });
    await items.first().waitFor({ timeout: 10_000 });
    const count = await items.count();
    for (let i = 0; i < count; i++) await items.nth(i).click(); // in a multi-select pick, a click toggles the row's check box
    await editor.page.keyboard.press('Enter');
    await rows().filter({ hasText: new RegExp(`^Rejected\\s*${String(count)}`, 'u') }).first().waitFor({ timeout: 20_000 });
    assert.match(editor.extensionLog(), /Rejected ADD P2 \(op \d+\)/u);
    assert.equal(await rows().filter({ hasText: 'Proposed changes' }).count(), 0, 'nothing is left to review');
  });

  step('an export over a block edited by hand asks first and leaves the file alone when declined', async () => {
    const file = join(editor.workspace, 'AGENTS.md');
    const edited = readFileSync(file, 'utf8').replace('(P1)', '(P1) — edited by a teammate');
    writeFileSync(file, edited);
    await editor.runCommand('Internalize: Export Principles…');
    await editor.page.locator('.quick-input-list .monaco-list-row', { hasText: 'AGENTS.md' }).first().waitFor({ timeout: 10_000 });
    await editor.page.keyboard.press('Enter');
    const dialog = editor.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 15_000 });
    assert.match((await dialog.textContent()) ?? '', /edited by hand/u);
    await dialog.locator('.monaco-button', { hasText: 'Cancel' }).first().click();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(readFileSync(file, 'utf8'), edited, 'the hand edit is kept');
  });

  step('Compare Pools shows the accepted principle as added, with its evidence', async () => {
    await editor.runCommand('Internalize: Compare Pools…');
    const frame = await editor.frameWith('li.entry');
    assert.equal(await frame.locator('header h1').textContent(), 'Principle pool: empty pool → current pool');
    const entry = frame.locator('li.entry.add[data-id="P1"]');
    await entry.waitFor({ timeout: 10_000 });
    assert.match((await frame.locator('.summary').textContent()) ?? '', /0 → 1 principles · 1 added/u);
    assert.ok((await entry.locator('ul.evidence button').count()) >= 1, 'the evidence links to the trajectory');
    await editor.screenshot('compare-pools');
  });
});
