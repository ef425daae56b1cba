// One build, two targets (STYLE.md §7): the extension host and CLI bundles (Node, CommonJS) and the
// webview apps (browser, ESM). `--watch` rebuilds on change; `--production` minifies and drops sourcemaps.
const esbuild = require('esbuild');
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** Native and editor-provided modules stay outside the bundle: they are loaded at run time. */
const external = ['vscode', 'better-sqlite3', 'onnxruntime-node'];

const node = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external,
  // ESM builds first: a UMD build (jsonc-parser's) requires its own files at run time, which a bundle does not have.
  mainFields: ['module', 'main'],
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
};

const targets = [
  { ...node, entryPoints: { extension: 'src/extension/extension.ts', captureWorker: 'src/extension/capture/worker.ts', embeddingWorker: 'src/core/embedding/onnxWorker.ts' }, outdir: 'dist' },
];
if (existsSync('src/cli/main.ts')) {
  targets.push({ ...node, entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } });
}
const webviewRoot = 'webview';
if (existsSync(webviewRoot)) {
  const apps = readdirSync(webviewRoot, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(webviewRoot, d.name, 'main.ts')));
  if (apps.length > 0) {
    targets.push({
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      sourcemap: !production,
      minify: production,
      logLevel: 'info',
      entryPoints: Object.fromEntries(apps.map((d) => [d.name, join(webviewRoot, d.name, 'main.ts')])),
      outdir: 'dist/webview',
    });
  }
}

/** Codicons are a font plus CSS; webviews load them from dist/webview/codicons (never from a CDN). */
function copyCodicons() {
  const { cpSync, mkdirSync } = require('node:fs');
  const from = join('node_modules', '@vscode', 'codicons', 'dist');
  const to = join('dist', 'webview', 'codicons');
  mkdirSync(to, { recursive: true });
  for (const file of ['codicon.css', 'codicon.ttf']) cpSync(join(from, file), join(to, file));
}

async function main() {
  // A production build starts clean, so no stale bundle or source map of a dev build is packaged.
  if (production) require('node:fs').rmSync('dist', { recursive: true, force: true });
  copyCodicons();
  if (watch) {
    const contexts = await Promise.all(targets.map((t) => esbuild.context(t)));
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  await Promise.all(targets.map((t) => esbuild.build(t)));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
