/**
 * `npm start` as an IDE's stop button or a process manager stops it: SIGTERM to the npm process alone
 * (not to its process group, as a terminal's Ctrl+C would) must leave no editor process behind. The
 * setup steps are skipped (INTERNALIZE_START_REUSE=1, the suite has built and packaged already); the
 * editor is the real code-server with a browser connected, so its server, extension host and helpers run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { freePort, ROOT, VSIX } from './harness';

const CHROMIUM = '/usr/bin/chromium';

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return undefined;
  }
}

/** Live (not zombie) processes among `pids`. */
function alive(pids: readonly number[]): number[] {
  return pids.filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  });
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined, log: () => string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${String(ms / 1000)} s; npm start said:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test('SIGTERM to the npm start process stops code-server and every process below it, and says so', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(VSIX), `no packaged extension at ${VSIX}: run \`npm run package\` first`);
  assert.ok(existsSync('/proc/self/stat'), 'this test reads the process table from /proc (Linux)');
  const { descendants } = await import('../../scripts/process-tree.mjs');
  const tmp = mkdtempSync(join(tmpdir(), 'internalize-start-'));
  const port = await freePort();
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, INTERNALIZE_START_REUSE: '1', INTERNALIZE_DEMO_DIR: join(tmp, 'demo'), XDG_CACHE_HOME: join(tmp, 'cache'), PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
  npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => { resolve(code); }));
  let tree: number[] = [];
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const url = await until('npm start printed no URL', 90_000, () => {
      assert.equal(npm.exitCode, null, `npm start exited early:\n${output}`);
      return /http:\/\/127\.0\.0\.1:\d+\/\?folder=\S+/u.exec(output)?.[0];
    }, () => output);
    await until('code-server did not answer', 60_000, async () => {
      tree = descendants(npm.pid ?? -1);
      try {
        return (await fetch(`http://127.0.0.1:${String(port)}/healthz`, { signal: AbortSignal.timeout(1_000) })).ok ? true : undefined;
      } catch {
        return undefined;
      }
    }, () => output);
    const page = await browser.newPage();
    await page.goto(url);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    // The workbench has connected: the extension host runs below the server.
    tree = await until('no extension host below npm start', 60_000, () => {
      const now = descendants(npm.pid ?? -1);
      return now.some((pid) => commandLine(pid)?.includes('extensionHost') === true) ? now : undefined;
    }, () => output);
    const editors = tree.filter((pid) => commandLine(pid)?.includes('code-server') === true);
    assert.ok(editors.length >= 2, `code-server's launcher and server should both run: ${tree.map((p) => `${String(p)} ${commandLine(p) ?? ''}`).join('\n')}`);
    await page.close();

    npm.kill('SIGTERM');
    assert.equal(await exited, 0, output);
    const left = await until('processes were left behind', 15_000, () => (alive(tree).length === 0 ? [] : undefined), () =>
      `${output}\nstill running:\n${alive(tree).map((p) => `${String(p)} ${commandLine(p) ?? ''}`).join('\n')}`);
    assert.deepEqual(left, []);
    assert.match(output, /SIGTERM received; stopping code-server and every process it started/u);
    assert.match(output, /stopped \d+ processes/u);
    await assert.rejects(fetch(`http://127.0.0.1:${String(port)}/healthz`, { signal: AbortSignal.timeout(2_000) }), 'nothing answers on the port any more');
  } finally {
    await browser.close();
    // After a failure: whatever is still running of the tree seen last (npm first, so it cannot start more).
    const rest = alive([npm.pid ?? -1, ...tree, ...descendants(npm.pid ?? -1)]);
    for (const pid of rest) process.kill(pid, 'SIGKILL');
    npm.stdout.destroy();
    npm.stderr.destroy();
    rmSync(tmp, { recursive: true, force: true });
  }
});
