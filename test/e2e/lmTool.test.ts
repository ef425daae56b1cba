import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Principle } from '../../src/core/principle.js';
import { openStore } from '../../src/core/store/index.js';
import { ServeCallRepository } from '../../src/core/store/serveCalls.js';
import { Editor, ROOT, steps } from './harness.js';

/**
 * Principles for Copilot and every agent, in a real editor: the language-model tool answers through
 * `vscode.lm.invokeTool` (the call Copilot agent mode makes) with the principle that fits first and
 * the call logged; the Principles view then says where that principle was served; "Install
 * Principle Server for an Agent…" writes Cursor's real mcp.json after showing the change, the
 * command it wrote starts a server that answers over stdio, and "Uninstall…" gives the file back
 * byte for byte.
 */
const MODELS = join(ROOT, '.cache', 'models');
const CURSOR_FIXTURE = join(ROOT, 'test', 'fixtures', 'mcp-config', 'cursor-mcp.json');

function principle(id: string, text: string): Principle {
  return { id, text, when: '', scope: 'global', granularity: 'principle', status: 'accepted', origin: 'manual', evidence: [], helpful: 0, harmful: 0, createdIteration: 0, updatedIteration: 0 };
}

const POOL = [
  principle('P1', 'When a test fails after an edit, read the full failing assertion and error output before changing code again.'),
  principle('P2', 'When about to force-push or reset a branch, check with the user and keep a backup branch first.'),
  principle('P3', 'When searching a large repository for a symbol, use a search command before opening files one by one.'),
  principle('P4', 'When a dependency install fails, read the resolver error and pin the conflicting package version.'),
];

describe('Language-model tool and agent install in a real editor', { timeout: 240_000 }, () => {
  let editor: Editor;
  let db = '';
  let cursorConfig = '';
  const { step, failed } = steps(() => editor);

  before(async () => {
    editor = await Editor.start({
      prepare: ({ home }) => {
        db = join(home, 'internalize.db');
        const store = openStore(db);
        for (const p of POOL) store.principles.save(p);
        store.close();
        // Cursor's real file shape (tabs, no final newline), in the editor's own home.
        cursorConfig = join(home, '.cursor', 'mcp.json');
        mkdirSync(join(home, '.cursor'), { recursive: true });
        copyFileSync(CURSOR_FIXTURE, cursorConfig);
        // The test command has no palette entry (it exists only under INTERNALIZE_E2E=1): a key runs it.
        const user = join(home, '..', 'user-data', 'User');
        mkdirSync(user, { recursive: true });
        writeFileSync(join(user, 'keybindings.json'), JSON.stringify([{ key: 'ctrl+alt+shift+f9', command: 'internalize.e2e.invokePrinciplesTool' }]));
      },
      settings: ({ home }) => ({ 'internalize.store.path': join(home, 'internalize.db'), 'internalize.capture.enabled': false }),
      env: { INTERNALIZE_E2E: '1', ...(existsSync(join(MODELS, 'minilm')) ? { INTERNALIZE_MODELS_DIR: MODELS } : {}) },
    });
  });

  after(async () => {
    if (failed()) {
      const shot = await editor.screenshot('lm-tool-failure');
      console.log(`screenshot: ${shot}`);
      console.log(editor.extensionLog().slice(-4000));
    }
    await editor.close();
  });

  step('vscode.lm.invokeTool answers with the principle that fits first, and the call is logged', async () => {
    // The extension activates after startup; its log says when the test command exists.
    for (let waited = 0; !/the test command internalize\.e2e\.invokePrinciplesTool is registered/u.test(editor.extensionLog()); waited += 250) {
      assert.ok(waited < 30_000, 'the extension activated with INTERNALIZE_E2E=1 within 30 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    await editor.page.locator('.monaco-workbench').click({ position: { x: 700, y: 400 } });
    await editor.page.keyboard.press('Control+Alt+Shift+F9');
    const input = editor.page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill('A test failed right after my edit: the assertion error output says the totals differ. What should I do before editing again?');
    await editor.page.keyboard.press('Enter');
    const text = await editor.notification(/Principles tool: /u, 60_000);
    assert.match(text, /Principles for this state \(callId [^)]+\):/u);
    assert.match(text, /1\. \[P1\] When a test fails after an edit/u);
    assert.match(text, /report with internalize_report_principle_outcome/u);
    const store = openStore(db, { readonly: true });
    try {
      const calls = new ServeCallRepository(store.db).recent(10);
      const [only, ...others] = calls;
      assert.ok(only !== undefined && others.length === 0, 'one logged call');
      assert.equal(only.client, 'vscode-lm-tool');
      assert.equal(only.results[0]?.id, 'P1');
    } finally {
      store.close();
    }
  });

  step('the Principles view says where P1 was served', async () => {
    await editor.page.locator('.activitybar [aria-label^="Internalize"]').first().click();
    const rows = editor.page.locator('.pane', { has: editor.page.locator('.pane-header', { hasText: 'Principles' }) }).locator('.monaco-list-row');
    await rows.filter({ hasText: /P1 · manual · served: LM tool 1/u }).first().waitFor({ timeout: 20_000 });
  });

  step('installing for Cursor shows the change, then adds only our server to its mcp.json', async () => {
    const original = readFileSync(cursorConfig, 'utf8');
    await editor.runCommand('Internalize: Install Principle Server for an Agent…');
    const cursor = editor.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Cursor' }).first();
    await cursor.waitFor({ timeout: 10_000 });
    await cursor.click();
    const dialog = editor.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 15_000 });
    const shown = (await dialog.textContent()) ?? '';
    assert.match(shown, /Add the "internalize" server to .*mcp\.json \(Cursor\)/u);
    assert.match(shown, /\+\s*"internalize": \{/u);
    assert.equal(readFileSync(cursorConfig, 'utf8'), original, 'nothing is written before the user confirms');
    await dialog.locator('.monaco-button', { hasText: /^Install$/u }).first().click();
    await editor.notification(/Installed the Internalize principle server for Cursor/u, 15_000);
    const written = readFileSync(cursorConfig, 'utf8');
    // Our member goes right after the user's last server; everything around it is the user's bytes.
    const cut = original.lastIndexOf('    }') + '    }'.length;
    assert.ok(written.startsWith(original.slice(0, cut)) && written.endsWith(original.slice(cut)), 'the user entries are kept byte for byte');
    assert.match(written, /"internalize": \{\n\t\t\t"command": "node",\n\t\t\t"args": \[\n\t\t\t\t"[^"]+\/dist\/cli\.js",\n\t\t\t\t"mcp",\n\t\t\t\t"--db",\n\t\t\t\t"[^"]+internalize\.db"/u);
    // The written command is a working server: started as Cursor would start it, it serves the editor's store.
    const entry = (JSON.parse(written) as { mcpServers: Record<string, { command: string; args: string[] }> }).mcpServers.internalize;
    assert.ok(entry !== undefined);
    const client = new Client({ name: 'cursor-stand-in', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: entry.command === 'node' ? process.execPath : entry.command, args: entry.args, stderr: 'pipe' }));
    try {
      const answer = await client.callTool({ name: 'principles_for_state', arguments: { text: 'A test failed after my edit and the assertion output shows the totals differ.', k: 2 } });
      assert.notEqual(answer.isError, true, JSON.stringify(answer.content));
      assert.equal((answer.structuredContent as { principles: { id: string }[] }).principles[0]?.id, 'P1');
    } finally {
      await client.close();
    }
    await editor.runCommand('Internalize: Uninstall Principle Server from an Agent…');
    await editor.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Cursor' }).first().click();
    await dialog.waitFor({ timeout: 15_000 });
    assert.match((await dialog.textContent()) ?? '', /Restore .* exactly as it was before the install/u);
    await dialog.locator('.monaco-button', { hasText: /^Uninstall$/u }).first().click();
    await editor.notification(/Removed the Internalize principle server from Cursor/u, 15_000);
    assert.equal(readFileSync(cursorConfig, 'utf8'), original);
  });
});
