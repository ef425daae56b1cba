// `npm start`: builds and packages the extension, installs it into a real VS Code (code-server),
// fills a demo store with the bundled sample trajectories, and serves it on 127.0.0.1.
// Ctrl+C stops the editor and everything it started.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const demo = join(root, '.tools', 'demo');
const fail = (step) => {
  console.error(`npm start: ${step} failed; see the output above.`);
  process.exit(1);
};
const run = (step, command, args, options = {}) => {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) fail(step);
  return result;
};

run('installing Debian packages (scripts/setup-system.sh)', 'bash', ['scripts/setup-system.sh']);
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) run('npm ci', 'npm', ['ci', '--no-audit', '--no-fund']);
run("setting up the trainer's Python environment (scripts/setup-python.sh)", 'bash', ['scripts/setup-python.sh']);
run("exporting the built-in embedder to ONNX (scripts/setup-embedder.sh)", 'bash', ['scripts/setup-embedder.sh']);
const editor = spawnSync('bash', ['scripts/install-editor.sh'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
if (editor.status !== 0) fail('installing code-server (scripts/install-editor.sh)');
const codeServer = editor.stdout.trim().split('\n').at(-1);
run('building and packaging the extension (npm run package)', 'npm', ['run', '--silent', 'package']);

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
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'internalize.store.path': store,
      'internalize.trainer.pythonPath': join(root, '.venv', 'bin', 'python'),
    },
    null,
    2,
  ),
);
// The sample runs (samples/agent-runs: Claude Code, Codex CLI, Gemini CLI, Cline) about the sample project.
console.log(`Importing the sample agent runs into ${store}`);
spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'import', join(root, 'samples', 'agent-runs'), '--db', store], { cwd: root, stdio: ['ignore', 'inherit', 'ignore'] });

const common = ['--user-data-dir', userData, '--extensions-dir', extensions];
run('installing the packaged extension into code-server', codeServer, [...common, '--install-extension', join(root, 'dist', 'internalize.vsix'), '--force'], {
  stdio: ['ignore', 'ignore', 'inherit'],
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
  { cwd: root, env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), INTERNALIZE_TOY_CACHE: join(root, '.cache', 'toy'), INTERNALIZE_MODELS_DIR: join(root, '.cache', 'models') }, stdio: ['ignore', 'ignore', 'inherit'], detached: true },
);
const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
console.log(
  `\nInternalize is running in code-server. Open:\n\n  ${url}\n\n` +
    `The editor opens tally, a small sample project (copied to ${workspace}), and the Internalize container holds ten\n` +
    'sample runs of four agents on it. The walkthrough (Help → Welcome → "Get started with Internalize") tells the story:\n' +
    'open a run, summarize the runs into principles, accept one, export it to AGENTS.md, preview its injection, start a round.\n\nPress Ctrl+C to stop.',
);

let stopping = false;
const stop = (code) => {
  if (stopping) return;
  stopping = true;
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  setTimeout(() => process.exit(code), 300).unref();
};
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
server.on('exit', (code) => {
  if (!stopping) {
    console.error(`npm start: code-server exited (code ${code}).`);
    process.exit(code ?? 1);
  }
});
