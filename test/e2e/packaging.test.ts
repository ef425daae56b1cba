import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { VSIX } from './harness.js';

/** The .vsix carries what the extension needs at run time, and nothing else. */
test('the packaged extension holds the bundles, media, the architecture page and the native SQLite and onnxruntime modules only', () => {
  assert.ok(existsSync(VSIX), `${VSIX} exists (npm run package)`);
  const listing = execFileSync('python3', ['-c', 'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))', VSIX], { encoding: 'utf8' });
  const files = listing
    .split('\n')
    .filter((f) => f.startsWith('extension/'))
    .map((f) => f.slice('extension/'.length));
  for (const required of [
    'package.json',
    'readme.md',
    'LICENSE.txt',
    'dist/extension.js',
    'dist/captureWorker.js',
    'dist/embeddingWorker.js',
    'dist/webview/trajectory.js',
    'dist/webview/injection.js',
    'dist/webview/dashboard.js',
    'dist/webview/dashboard.css',
    'docs/ARCHITECTURE.md',
    'dist/webview/codicons/codicon.css',
    'dist/webview/codicons/codicon.ttf',
    'media/internalize.svg',
    'media/webview.css',
    'node_modules/better-sqlite3/lib/index.js',
    'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
    'node_modules/bindings/bindings.js',
    'node_modules/file-uri-to-path/index.js',
    'node_modules/onnxruntime-node/dist/index.js',
    'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
    'node_modules/onnxruntime-common/dist/cjs/index.js',
  ]) {
    assert.ok(files.includes(required), `${required} is packaged`);
  }
  const allowed =
    /^(package\.json|readme\.md|LICENSE\.txt|CHANGELOG\.md|docs\/ARCHITECTURE\.md|dist\/(extension|captureWorker|embeddingWorker|cli)\.js|dist\/webview\/.+|media\/.+|node_modules\/(better-sqlite3\/(package\.json|lib\/.+|build\/Release\/better_sqlite3\.node)|bindings\/(package\.json|bindings\.js)|file-uri-to-path\/(package\.json|index\.js)|onnxruntime-node\/(package\.json|dist\/[^/]+\.js|bin\/napi-v6\/linux\/x64\/[^/]+)|onnxruntime-common\/(package\.json|dist\/cjs\/.+\.js|dist\/cjs\/package\.json)))$/u;
  const unexpected = files.filter((f) => !allowed.test(f));
  assert.deepEqual(unexpected, [], 'nothing else is packaged (sources, tests, maps, dev dependencies, the trainer)');
  assert.equal(files.some((f) => f.endsWith('.map')), false, 'no source maps in the production package');
});
