/**
 * A real VS Code (code-server) with the packaged extension installed, driven by Playwright through
 * Debian's chromium. Everything runs on 127.0.0.1 in throwaway folders, and stops in `close()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';

export const ROOT = join(__dirname, '..', '..');
export const VSIX = join(ROOT, 'dist', 'internalize.vsix');
const CODE_SERVER = join(ROOT, '.tools', 'code-server', 'node_modules', '.bin', 'code-server');
const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test-results');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited with code ${String(child.exitCode)} before it served ${url}`);
    try {
      const response = await fetch(url);
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer at ${url} within ${String(timeoutMs)} ms`);
}

/** Imports the sample runs of four agents (samples/agent-runs) into a store with the CLI, as `npm start` does; they must import cleanly. */
export function importSampleRuns(db: string): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'import', join(ROOT, 'samples', 'agent-runs'), '--db', db], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`importing the sample runs failed: ${r.stderr}`);
  if (/warning|skipped/iu.test(r.stdout + r.stderr)) throw new Error(`the sample runs should import cleanly:\n${r.stdout}${r.stderr}`);
}

export interface EditorOptions {
  /** Files to put in the workspace before the editor opens. */
  readonly workspaceFiles?: Readonly<Record<string, string>>;
  /** Files to put in the editor's home folder (where agents keep their logs). */
  readonly homeFiles?: Readonly<Record<string, string>>;
  /** Extra user settings; a function gets the throwaway folders so settings can point into them. */
  readonly settings?: Readonly<Record<string, unknown>> | ((folders: { workspace: string; home: string }) => Record<string, unknown>);
  /** Runs before the editor starts, with its throwaway folders (e.g. to build a database there). */
  readonly prepare?: (folders: { workspace: string; home: string }) => void;
  /** Extra environment for the editor (and so the extension host). */
  readonly env?: Readonly<Record<string, string>>;
}

export class Editor {
  private constructor(
    readonly root: string,
    readonly workspace: string,
    readonly userData: string,
    readonly port: number,
    private readonly server: ChildProcess,
    private readonly browser: Browser,
    readonly page: Page,
    private readonly serverLog: string[],
  ) {}

  /** Installs the packaged extension into a fresh editor and opens the workbench in a headless browser. */
  static async start(options: EditorOptions = {}): Promise<Editor> {
    if (!existsSync(VSIX)) throw new Error(`No packaged extension at ${VSIX}: run \`npm run package\` first.`);
    if (!existsSync(CODE_SERVER)) throw new Error(`No code-server at ${CODE_SERVER}: run \`bash scripts/install-editor.sh\` first.`);
    if (!existsSync(CHROMIUM)) throw new Error(`No chromium at ${CHROMIUM}: run \`bash scripts/setup-system.sh\` first.`);
    const root = mkdtempSync(join(tmpdir(), 'internalize-e2e-'));
    const userData = join(root, 'user-data');
    const extensions = join(root, 'extensions');
    const workspace = join(root, 'workspace');
    // A home of its own, so default agent-log locations point into the test, never at this machine's.
    const home = join(root, 'home');
    mkdirSync(home, { recursive: true });
    for (const [name, content] of Object.entries(options.homeFiles ?? {})) {
      mkdirSync(join(home, name, '..'), { recursive: true });
      writeFileSync(join(home, name), content);
    }
    mkdirSync(join(userData, 'User'), { recursive: true });
    mkdirSync(workspace, { recursive: true });
    for (const [name, content] of Object.entries(options.workspaceFiles ?? { 'README.md': '# demo\n' })) {
      mkdirSync(join(workspace, name, '..'), { recursive: true });
      writeFileSync(join(workspace, name), content);
    }
    options.prepare?.({ workspace, home });
    // The editor starts as `npm start` starts it: no lookup that fails offline (ENOTFOUND open-vsx.org), no update,
    // recommendation or experiment checks. The settings live in a plain .mjs that start.mjs runs without a build.
    const { OFFLINE_ENV, OFFLINE_SETTINGS } = await import('../../scripts/offline-editor.mjs');
    writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({ ...OFFLINE_SETTINGS, ...(typeof options.settings === 'function' ? options.settings({ workspace, home }) : options.settings) }));
    const port = await freePort();
    const configFile = join(root, 'config.yaml');
    writeFileSync(configFile, `bind-addr: 127.0.0.1:${String(port)}\nauth: none\ncert: false\n`);
    const common = ['--config', configFile, '--user-data-dir', userData, '--extensions-dir', extensions];
    const install = spawnSync(CODE_SERVER, [...common, '--install-extension', VSIX], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...OFFLINE_ENV } });
    if (install.status !== 0) throw new Error(`Installing ${VSIX} into code-server failed: ${install.stderr || install.stdout}`);
    const serverLog: string[] = [];
    const server = spawn(
      CODE_SERVER,
      [...common, '--bind-addr', `127.0.0.1:${String(port)}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', workspace],
      { env: { ...process.env, ...OFFLINE_ENV, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    server.stdout.on('data', (d: Buffer) => serverLog.push(d.toString()));
    server.stderr.on('data', (d: Buffer) => serverLog.push(d.toString()));
    let browser: Browser | undefined;
    try {
      await waitForHttp(`http://127.0.0.1:${String(port)}/healthz`, 60_000, server);
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      // The workbench's first load takes well over Playwright's default 30 s on a machine busy with training runs.
      await page.goto(`http://127.0.0.1:${String(port)}/?folder=${encodeURIComponent(workspace)}`, { timeout: 120_000 });
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      return new Editor(root, workspace, userData, port, server, browser, page, serverLog);
    } catch (error) {
      await browser?.close();
      killTree(server);
      rmSync(root, { recursive: true, force: true });
      throw error;
    }
  }

  /** Runs a palette command by its title ("Internalize: About"). */
  async runCommand(title: string): Promise<void> {
    await this.page.locator('.monaco-workbench').click({ position: { x: 700, y: 400 } });
    await this.page.keyboard.press('Control+Shift+P');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(`>${title}`);
    await this.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 10_000 });
    await this.page.keyboard.press('Enter');
  }

  /**
   * Runs a palette command that opens a quick pick and clicks the row holding `row`. A webview or editor
   * that takes the focus while it loads closes a quick pick that opened meanwhile (seen on loaded CI
   * machines), so the command is run again, up to three times.
   */
  async pickFromCommand(title: string, row: string): Promise<void> {
    const item = this.page.locator('.quick-input-list .monaco-list-row', { hasText: row }).first();
    for (let attempt = 1; ; attempt++) {
      await this.runCommand(title);
      try {
        await item.waitFor({ timeout: 10_000 });
        break;
      } catch (error) {
        if (attempt === 3) throw error;
        await this.page.keyboard.press('Escape');
      }
    }
    await item.click();
  }

  /** A view of the Internalize container by its title ('Trajectories', 'Principles', 'Iterations'). */
  pane(title: string): Locator {
    return this.page.locator('.pane', { has: this.page.locator('.pane-header', { hasText: title }) });
  }

  /** Iteration n's row in the Iterations view (not n0, n1…). */
  iterationRow(n: number): Locator {
    return this.pane('Iterations').locator('.monaco-list-row', { hasText: new RegExp(`Iteration ${String(n)}(?!\\d)`, 'u') }).first();
  }

  /** Summarize Trajectories into Principles with the offline miner; resolves with its notification ("Internalize mined N recurring patterns…"). */
  async summarizeWithMiner(): Promise<string> {
    await this.pickFromCommand('Internalize: Summarize Trajectories into Principles', 'Mine recurring patterns offline');
    return this.notification(/Internalize mined \d+ recurring patterns/u, 30_000);
  }

  /**
   * Roll Back to This Iteration on iteration n: its row's context menu offers the action, which then runs
   * from the palette (a click on a freshly opened web menu is sometimes swallowed: the menu stays open
   * with the item highlighted). Resolves with the confirmation's text after confirming it.
   */
  async rollBackTo(n: number): Promise<string> {
    await this.iterationRow(n).click({ button: 'right' });
    await this.page.locator('.monaco-menu .action-item', { hasText: 'Roll Back to This Iteration' }).first().waitFor({ timeout: 10_000 });
    await this.page.keyboard.press('Escape');
    await this.pickFromCommand('Internalize: Roll Back to This Iteration', `Iteration ${String(n)}`);
    const dialog = this.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 15_000 });
    const text = (await dialog.textContent()) ?? '';
    // "Apply Changes" when the pool goes back through operations, "Roll Back" when it already matches.
    await dialog.locator('.monaco-button', { hasText: /^(Apply Changes|Roll Back)$/u }).first().click();
    return text;
  }

  /** The text of the first notification toast that matches. */
  async notification(matching: RegExp, timeoutMs = 15_000): Promise<string> {
    const toast = this.page.locator('.notifications-toasts .notification-list-item-message', { hasText: matching }).first();
    await toast.waitFor({ timeout: timeoutMs });
    return (await toast.textContent()) ?? '';
  }

  /** Every notification currently shown (for failure reports). */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-list-item-message').allTextContents();
  }

  /** Finds a frame (webviews are nested iframes) holding an element that matches `selector`. */
  async frameWith(selector: string, timeoutMs = 20_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (const frame of this.page.frames()) {
        try {
          if ((await frame.locator(selector).count()) > 0) return frame;
        } catch {
          // frame detached while we looked
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`No frame contains ${selector} after ${String(timeoutMs)} ms`);
  }

  /** The extension's log channel as written to disk by the editor. */
  extensionLog(): string {
    const files: string[] = [];
    const walk = (dir: string): void => {
      if (!existsSync(dir)) return;
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/Internalize\.log$/u.test(name)) files.push(path);
      }
    };
    walk(join(this.userData, 'logs'));
    return files.map((f) => readFileSync(f, 'utf8')).join('\n');
  }

  async screenshot(name: string): Promise<string> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const path = join(ARTIFACTS, `${name.replace(/[^\w.-]+/gu, '_')}.png`);
    await this.page.screenshot({ path, fullPage: true });
    return path;
  }

  serverOutput(): string {
    return this.serverLog.join('');
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    killTree(this.server);
    rmSync(this.root, { recursive: true, force: true });
  }
}

function killTree(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    child.kill('SIGTERM');
  }
}

/** What the Run Dashboard showed at one moment: its heading, the bar's percent and the phase line under it. */
export interface DashboardSample {
  readonly heading: string;
  readonly percent: number;
  readonly line: string;
}

/**
 * Reads the Run Dashboard (in `frame`) every quarter second until iteration `n` shows its result, and
 * returns what it showed on the way: a test can then say what a user saw (the phases, when 100% came).
 */
export async function watchDashboard(frame: Frame, n: number, timeoutMs: number): Promise<DashboardSample[]> {
  const samples: DashboardSample[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sample = await frame.evaluate(() => ({
      heading: document.querySelector('header h1')?.textContent ?? '',
      percent: Number(document.querySelector('[data-percent]')?.getAttribute('data-percent') ?? 'NaN'),
      // The phase and its step, without the percent that leads the line ("Finished step 9 of 9", not "100%Finished…").
      line: Array.from(document.querySelector('.progress-line')?.children ?? [])
        .filter((part) => !part.hasAttribute('data-percent'))
        .map((part) => part.textContent)
        .join(' '),
      result: document.querySelector('.result h2') !== null,
    }));
    const last = samples.at(-1);
    if (last?.heading !== sample.heading || last.percent !== sample.percent || last.line !== sample.line) samples.push({ heading: sample.heading, percent: sample.percent, line: sample.line });
    if (sample.result && new RegExp(`^Iteration ${String(n)} `, 'u').test(sample.heading)) return samples;
    if (Date.now() > deadline) throw new Error(`Iteration ${String(n)} showed no result on the Run Dashboard within ${String(timeoutMs)} ms; it showed:\n${samples.map((x) => `${x.heading} | ${String(x.percent)}% | ${x.line}`).join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Tests that share one editor, as steps: a failing step leaves a screenshot, the notifications and
 * the extension's log in the output, and `failed()` tells the suite's `after` to keep more.
 */
export function steps(editor: () => Editor): { step: (name: string, fn: () => Promise<void>) => void; failed: () => boolean } {
  let failed = false;
  const step = (name: string, fn: () => Promise<void>): void => {
    test(name, async () => {
      try {
        await fn();
      } catch (error) {
        failed = true;
        await editor().screenshot(name).catch(() => undefined);
        console.log(`notifications: ${JSON.stringify(await editor().notifications().catch(() => []))}`);
        console.log(`extension log:\n${editor().extensionLog().slice(-3000)}`);
        throw error;
      }
    });
  };
  return { step, failed: () => failed };
}
