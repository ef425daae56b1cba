import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Editor, ROOT, steps } from './harness.js';

/**
 * The packaged extension in a real VS Code: the container and its views, palette commands, live
 * capture of real agent logs into the Trajectories view, and the trajectory timeline webview.
 */
describe('Internalize in a real editor', { timeout: 240_000 }, () => {
  let editor: Editor;
  const { step, failed } = steps(() => editor);

  before(async () => {
    // A real Claude Code session (test/fixtures/claude-code) where Claude Code keeps it by default.
    editor = await Editor.start({
      workspaceFiles: { 'README.md': '# e2e workspace\n' },
      settings: { 'internalize.trainer.pythonPath': join(ROOT, '.venv', 'bin', 'python') },
      env: { INTERNALIZE_TOY_CACHE: join(ROOT, '.cache', 'toy') },
      homeFiles: { '.claude/projects/-work-demo/session.jsonl': readFileSync(join(ROOT, 'test', 'fixtures', 'claude-code', 'representative_messages.jsonl'), 'utf8') },
    });
  });

  after(async () => {
    if (failed()) {
      const shot = await editor.screenshot('e2e-failure');
      console.log(`screenshot: ${shot}`);
      console.log(editor.serverOutput().slice(-4000));
    }
    await editor.close();
  });


  step('the Internalize container shows its three views', async () => {
    const container = editor.page.locator('.activitybar [aria-label^="Internalize"]').first();
    await container.waitFor({ timeout: 30_000 });
    await container.click();
    for (const view of ['Trajectories', 'Principles', 'Iterations']) {
      await editor.page.locator('.pane-header', { hasText: view }).first().waitFor({ timeout: 20_000 });
    }
    await editor.page.locator('.welcome-view-content', { hasText: 'No agent runs captured yet' }).first().waitFor({ timeout: 20_000 });
  });

  step('activation is logged with its duration', async () => {
    let line: string | undefined;
    for (let i = 0; i < 40 && line === undefined; i++) {
      line = /Internalize activated in ([\d.]+) ms/u.exec(editor.extensionLog())?.[0];
      if (line === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(line !== undefined, 'the activation line is in the Internalize log');
    console.log(`activation: ${line}`);
  });

  step('About answers from the palette with the version and the store', async () => {
    await editor.runCommand('Internalize: About');
    const text = await editor.notification(/^Internalize \d+\.\d+\.\d+/u);
    assert.match(text, /0 trajectories/u);
  });

  step('Preview Injection with nothing captured says what to do first', async () => {
    await editor.runCommand('Internalize: Preview Injection');
    const text = await editor.notification(/no captured trajectories yet/u);
    assert.match(text, /Capture Now/u);
  });

  step('Capture Now reads a real Claude Code log into the Trajectories view', async () => {
    await editor.runCommand('Internalize: Capture Now');
    // The result toast can be replaced before it is read; the log keeps the same sentence.
    let line: string | undefined;
    for (let i = 0; i < 120 && line === undefined; i++) {
      line = /Internalize captured: (\d+) trajectories from (\d+) files/u.exec(editor.extensionLog())?.[0];
      if (line === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(line, 'Internalize captured: 1 trajectories from 1 files');
    const source = editor.page.locator('.monaco-list-row', { hasText: 'claude-code' }).first();
    await source.waitFor({ timeout: 20_000 });
    assert.match((await source.textContent()) ?? '', /1 run/u);
  });

  step('a session an agent writes while the editor runs appears without any command', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const folder = join(editor.root, 'home', '.claude', 'projects', '-work-live');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'live.jsonl'), readFileSync(join(ROOT, 'test', 'fixtures', 'claude-code', 'sidechain_integrated.jsonl'), 'utf8'));
    let line: string | undefined;
    for (let i = 0; i < 120 && line === undefined; i++) {
      line = /Live capture \(claude-code\): [1-9]\d* trajectories/u.exec(editor.extensionLog())?.[0];
      if (line === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(line !== undefined, 'the watcher captured the new session');
    await editor.page.locator('.monaco-list-row', { hasText: /claude-code\s*([2-9]|\d{2,}) runs/u }).first().waitFor({ timeout: 20_000 });
  });

  step('opening a trajectory shows its step-by-step timeline', async () => {
    // Expand the workspace group under the agent, then open the run from its row.
    await editor.page.locator('.monaco-list-row[aria-level="2"]').first().click();
    const run = editor.page.locator('.monaco-list-row[aria-level="3"]').first();
    await run.waitFor({ timeout: 10_000 });
    await run.click();
    const frame = await editor.frameWith('ol.timeline > li');
    const stepCount = await frame.locator('ol.timeline > li').count();
    assert.ok(stepCount > 0, 'the timeline lists steps');
    const header = await frame.locator('header h1').textContent();
    assert.ok(header !== null && header.length > 0);
    await editor.screenshot('trajectory-timeline');
  });

  step('a distillation round on the toy world runs with progress and lands in the Iterations view', async () => {
    await editor.pickFromCommand('Internalize: Start Distillation Round', 'Toy world');
    let line: string | undefined;
    for (let i = 0; i < 480 && line === undefined; i++) {
      const log = editor.extensionLog();
      line = /Iteration 1 (done|collapsed|failed)[^\n]*/u.exec(log)?.[0];
      if (line === undefined) line = /Internalize: iteration 1 failed[^\n]*/u.exec(log)?.[0];
      if (line === undefined) await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`round: ${line ?? 'no result'}`);
    assert.match(line ?? '', /Iteration 1 done: accuracy without principles 0\.\d\d → (0\.[5-9]\d|1\.00)/u);
    await editor.page.locator('.monaco-list-row', { hasText: /Iteration 1\s*done/u }).first().waitFor({ timeout: 20_000 });
    await editor.screenshot('iteration-done');
  });
});
