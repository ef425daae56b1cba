import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../../src/core/store/index.js';
import { proposeOps } from '../../src/core/experience/curation.js';
import { Editor } from './harness.js';

/**
 * A pool of 10,000 accepted principles and 300 proposed changes: the Principles view pages its
 * rows, so opening it, showing more and filtering stay quick. Times are printed, not asserted
 * (this machine is shared; a timing threshold would only measure the neighbours).
 */
describe('A 10,000-principle pool in a real editor', { timeout: 240_000 }, () => {
  let editor: Editor;

  before(async () => {
    editor = await Editor.start({
      prepare: ({ home }) => {
        const store = openStore(join(home, 'internalize.db'));
        const areas = ['build', 'test', 'lint', 'deploy', 'review', 'migration', 'dependency', 'release', 'refactor', 'docs'];
        store.transaction(() => {
          for (let i = 1; i <= 10_000; i++) {
            const area = areas[i % areas.length] ?? 'build';
            store.principles.save({
              id: `P${String(i)}`,
              text: `When a ${area} step fails for reason ${String(i)}, read its first error before changing anything.`,
              when: `a ${area} step fails`,
              scope: 'global',
              granularity: 'principle',
              status: 'accepted',
              origin: 'imported',
              evidence: [],
              helpful: 0,
              harmful: 0,
              createdIteration: 0,
              updatedIteration: 0,
            });
          }
        });
        proposeOps(
          store,
          Array.from({ length: 300 }, (_, i) => ({ kind: 'ADD' as const, text: `When proposal ${String(i)} applies, check it twice.`, rationale: 'seeded', evidence: [] })),
          { origin: 'mined' },
        );
        store.close();
      },
      settings: ({ home }) => ({ 'internalize.store.path': join(home, 'internalize.db'), 'internalize.capture.enabled': false }),
    });
  });

  after(async () => {
    await editor.close();
  });

  const rows = () => editor.page.locator('.pane', { has: editor.page.locator('.pane-header', { hasText: 'Principles' }) }).locator('.monaco-list-row');

  test('the view opens, pages and filters the pool', async () => {
    let t = performance.now();
    await editor.page.locator('.activitybar [aria-label^="Internalize"]').first().click();
    await rows().filter({ hasText: 'Proposed changes' }).first().waitFor({ timeout: 30_000 });
    await rows().filter({ hasText: 'When proposal 0 applies' }).first().waitFor({ timeout: 30_000 });
    const open = performance.now() - t;

    // Collapse the proposals so the accepted rows come into view (the list renders only what is visible), then page through them.
    await rows().filter({ hasText: 'Proposed changes' }).first().click();
    await rows().filter({ hasText: /^Accepted\s*10000/u }).first().waitFor({ timeout: 30_000 });
    await rows().filter({ hasText: /P1 · imported/u }).first().waitFor({ timeout: 30_000 });
    const focusList = async (): Promise<void> => {
      // Home selects a principle row (a click on a group row would fold it), End goes to the group's last row.
      await rows().filter({ hasText: /· imported/u }).first().click();
      await editor.page.keyboard.press('End');
    };
    await focusList();
    const more = rows().filter({ hasText: /^Show 500 more/u }).first();
    await more.waitFor({ timeout: 30_000 });
    assert.match((await more.textContent()) ?? '', /500 of 10000 shown/u);
    t = performance.now();
    await more.click();
    // The focus stays on the list (now on the first new row); End reaches the new last row.
    await rows().filter({ hasText: /P501 · imported/u }).first().waitFor({ timeout: 30_000 });
    await editor.page.keyboard.press('End');
    await rows().filter({ hasText: /1000 of 10000 shown/u }).first().waitFor({ timeout: 30_000 });
    const page = performance.now() - t;

    t = performance.now();
    await editor.runCommand('Internalize: Find Principles…');
    const input = editor.page.locator('.quick-input-widget input');
    await input.fill('reason 4242');
    await editor.page.keyboard.press('Enter');
    await rows().filter({ hasText: /P4242 · imported/u }).first().waitFor({ timeout: 30_000 });
    const find = performance.now() - t;
    console.log(`10,000-principle pool: view open ${open.toFixed(0)} ms, next page ${page.toFixed(0)} ms, find ${find.toFixed(0)} ms (including Playwright's own round trips)`);
    await editor.screenshot('large-pool');
  });
});
