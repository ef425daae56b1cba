// `npm start`: builds and packages the extension, installs it into a real VS Code (code-server),
// fills a demo store with the bundled sample trajectories, and serves it on 127.0.0.1.
// Ctrl+C stops the editor and everything it started.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
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
const workspace = join(demo, 'workspace');
const store = join(demo, 'internalize.db');
for (const dir of [join(userData, 'User'), extensions, home, workspace]) mkdirSync(dir, { recursive: true });
cpSync(join(root, 'samples', 'demo-workspace'), workspace, { recursive: true });
writeFileSync(
  join(userData, 'User', 'settings.json'),
  JSON.stringify(
    {
      'security.workspace.trust.enabled': false,
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'internalize.store.path': store,
      'internalize.trainer.pythonPath': join(root, '.venv', 'bin', 'python'),
      // The bundled samples are a handful of runs: let a pattern seen once be proposed.
      'internalize.experience.minSupport': 1,
    },
    null,
    2,
  ),
);
const samples = readdirSync(join(root, 'test', 'fixtures'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && !['experience', 'workspace', 'demo-workspace'].includes(d.name))
  .map((d) => join(root, 'test', 'fixtures', d.name));
console.log(`Importing the bundled sample trajectories into ${store}`);
spawnSync(process.execPath, [join(root, 'dist', 'cli.js'), 'import', ...samples, '--db', store], { cwd: root, stdio: ['ignore', 'inherit', 'ignore'] });

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
    'Then, in the Internalize container: the sample runs are in Trajectories; "Summarize Trajectories into Principles" mines them\n' +
    '(or summarizes them with the local SmolLM2-135M-Instruct); "Start Distillation Round" → "Principle suite" internalizes the\n' +
    'built-in coding principles into SmolLM2-135M on CPU and ends with the before/after table per principle.\n\nPress Ctrl+C to stop.',
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
