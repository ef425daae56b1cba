// `npm start`: builds and packages the extension, installs it into a real VS Code (code-server),
// fills a demo store with the bundled sample trajectories, and serves it on 127.0.0.1.
// Ctrl+C, or SIGINT or SIGTERM sent to this process (an IDE's stop button, a process manager; `npm start`
// runs it with exec so npm's forwarded signal lands here), stops the running step or the editor and every
// process below it.
// INTERNALIZE_START_REUSE=1 skips the setup steps and reuses dist/internalize.vsix when it exists (for a
// test of the start-up itself); INTERNALIZE_DEMO_DIR puts the demo's editor folders elsewhere.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { OFFLINE_ENV, OFFLINE_SETTINGS } from './offline-editor.mjs';
import { stopTree } from './process-tree.mjs';

const root = join(import.meta.dirname, '..');
const demo = process.env.INTERNALIZE_DEMO_DIR ?? join(root, '.tools', 'demo');
const reuse = process.env.INTERNALIZE_START_REUSE === '1';
const fail = (step) => {
  console.error(`npm start: ${step} failed; see the output above.`);
  process.exit(1);
};

// The one child running now (a setup step, then code-server), stopped with its whole tree on a signal.
let current;
let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  if (current === undefined) process.exit(0);
  console.error(`\nnpm start: ${signal} received; stopping ${current.what} and every process it started…`);
  const { processes, killed } = await stopTree(current.child.pid);
  console.error(`npm start: stopped ${processes} processes${killed > 0 ? ` (${killed} did not end on SIGTERM and were killed)` : ''}.`);
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

/** Runs one step to its end; resolves to its stdout when `options.stdio` pipes it. */
const run = (step, command, args, options = {}) =>
  new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit', ...options });
    current = { child, what: step };
    let out = '';
    child.stdout?.on('data', (chunk) => (out += chunk));
    child.on('error', () => fail(step));
    child.on('exit', (code) => {
      if (stopping) return;
      current = undefined;
      if (code !== 0) fail(step);
      resolve(out);
    });
  });

const packaged = join(root, 'dist', 'internalize.vsix');
if (reuse) console.log('npm start: INTERNALIZE_START_REUSE=1, so the setup steps are skipped.');
if (!reuse) await run('installing Debian packages (scripts/setup-system.sh)', 'bash', ['scripts/setup-system.sh']);
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  // onnxruntime-node would download CUDA libraries from NuGet at install time: npm 11 skips its script by
  // package.json#allowScripts, and this variable (which the package reads) does the same for npm 10.
  await run('npm ci', 'npm', ['ci', '--no-audit', '--no-fund'], { env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
}
if (!reuse) await run("setting up the trainer's Python environment (scripts/setup-python.sh)", 'bash', ['scripts/setup-python.sh']);
if (!reuse) await run("exporting the built-in embedder to ONNX (scripts/setup-embedder.sh)", 'bash', ['scripts/setup-embedder.sh']);
const editor = await run('installing code-server (scripts/install-editor.sh)', 'bash', ['scripts/install-editor.sh'], { stdio: ['ignore', 'pipe', 'inherit'] });
const codeServer = editor.trim().split('\n').at(-1);
if (!(reuse && existsSync(packaged))) await run('building and packaging the extension (npm run package)', 'npm', ['run', '--silent', 'package']);

// A demo of its own: user data, extensions, home (so live capture reads the demo's folders) and store.
const userData = join(demo, 'user-data');
const extensions = join(demo, 'extensions');
const home = join(demo, 'home');
// The sample project lives outside this clone's git tree (VS Code would otherwise point at the clone's
// repository) as a git repository of its own; it is copied once, so what the user exports into it stays.
const workspace = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'internalize', 'demo', 'tally');
// A store of its own for the sample runs (earlier demos filled internalize.db with the test fixtures).
const store = join(demo, 'sample-runs.db');
for (const dir of [join(userData, 'User'), extensions, home]) mkdirSync(dir, { recursive: true });
if (!existsSync(workspace)) {
  cpSync(join(root, 'samples', 'demo-workspace'), workspace, { recursive: true });
  const git = (...args) => spawnSync('git', ['-c', 'user.name=Internalize demo', '-c', 'user.email=demo@localhost', ...args], { cwd: workspace, stdio: 'ignore' });
  if (git('init', '-q', '-b', 'main').status === 0) {
    git('add', '-A');
    git('commit', '-q', '-m', 'tally: the sample project of the Internalize demo');
  }
}
writeFileSync(
  join(userData, 'User', 'settings.json'),
  JSON.stringify(
    {
      ...OFFLINE_SETTINGS,
      'internalize.store.path': store,
      'internalize.trainer.pythonPath': join(root, '.venv', 'bin', 'python'),
      // The Qwen2.5-Coder summarizer's server; scripts/setup-llama-server.sh builds it (npm test does too).
      'internalize.llm.llamaServerPython': join(root, '.cache', 'llama-venv', 'bin', 'python'),
    },
    null,
    2,
  ),
);
// The sample runs (samples/agent-runs: Claude Code, Codex CLI, Gemini CLI, Cline) about the sample project.
console.log(`Importing the sample agent runs into ${store}`);
spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'import', join(root, 'samples', 'agent-runs'), '--db', store], { cwd: root, stdio: ['ignore', 'inherit', 'ignore'] });

const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
// An empty extension gallery: the demo installs nothing from a marketplace, so the editor makes no
// lookups that would fail offline (ENOTFOUND open-vsx.org) and shows no marketplace to browse.
const editorEnv = { ...process.env, ...OFFLINE_ENV };
await run('installing the packaged extension into code-server', codeServer, [...common, '--install-extension', packaged, '--force'], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: editorEnv,
});

function free(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
let port = Number(process.env.PORT ?? 8080);
while (!(await free(port))) port++;

writeFileSync(join(demo, 'config.yaml'), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
const server = spawn(
  codeServer,
  [...common, '--config', join(demo, 'config.yaml'), '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', workspace],
  { cwd: root, env: { ...editorEnv, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), INTERNALIZE_TOY_CACHE: join(root, '.cache', 'toy'), INTERNALIZE_MODELS_DIR: join(root, '.cache', 'models') }, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
);
current = { child: server, what: 'code-server' };
// The browser asks for vsda (Microsoft's closed-source signing module, which only Microsoft's builds carry;
// the workbench works without it) on every load, and code-server logs each miss: those lines are dropped.
createInterface({ input: server.stderr }).on('line', (line) => {
  if (!/File not found: .*[/\\]vsda[/\\]/u.test(line)) console.error(line);
});
const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
console.log(
  `\nInternalize is running in code-server. Open:\n\n  ${url}\n\n` +
    `The editor opens tally, a small sample project (copied to ${workspace}), and the Internalize container holds ten\n` +
    'sample runs of four agents on it. The walkthrough (palette: "Welcome: Open Walkthrough…" → "Get started with Internalize") tells the story:\n' +
    'open a run, summarize the runs into principles, accept one, export it to AGENTS.md, preview its injection, start a round.\n\n' +
    `Press Ctrl+C (or send SIGINT or SIGTERM to process ${process.pid}) to stop the editor and everything it started.`,
);

server.on('exit', (code) => {
  if (!stopping) {
    console.error(`npm start: code-server exited (code ${code}).`);
    process.exit(code ?? 1);
  }
});
