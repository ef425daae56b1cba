/**
 * One full import of a folder into a fresh store, as its own process so its peak RSS is its own.
 * Prints one JSON line: seconds spent importing (after start-up), counts, and peak RSS.
 * `--single-thread` runs parsing, redaction and storage on one thread (the pre-parallel path).
 */
import { rmSync } from 'node:fs';
import { createRedactor, importPaths, importPathsInParallel } from '../../src/core/capture/index.js';
import { openStore } from '../../src/core/store/index.js';

async function main(): Promise<void> {
  const [folder, db] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  if (folder === undefined || db === undefined) throw new Error('usage: importOnce <folder> <db> [--single-thread]');
  for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  const store = openStore(db);
  const started = performance.now();
  const report = process.argv.includes('--single-thread')
    ? await importPaths(store, await createRedactor(), [folder])
    : await importPathsInParallel(store, [folder]);
  const seconds = (performance.now() - started) / 1000;
  const count = store.trajectories.count();
  store.close();
  const redactions = Object.values(report.redactions).reduce((a, b) => a + b, 0);
  process.stdout.write(
    `${JSON.stringify({ seconds, files: report.files, trajectories: count, redactions, issues: report.issues.length, errors: report.errors.length, maxRssMb: process.resourceUsage().maxRSS / 1024, timings: report.timings })}\n`,
  );
}

void main();
