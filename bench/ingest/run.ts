/**
 * Ingest benchmark: our full import (parse, normalize, redact, store) of a generated ~200 MB Claude
 * Code projects folder against ccusage reading the same folder, in the same run; then a re-scan of
 * 1,000 unchanged files. Run: `node --import tsx bench/ingest/run.ts [--mb 200] [--skip-ccusage17] [--skip-single]`.
 * ccusage is installed into bench/.work (never into the project) on first use.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createRedactor, importPaths } from '../../src/core/capture/index.js';
import { openStore } from '../../src/core/store/index.js';
import { generateClaudeProjects, generateSmallSessions } from './generate.js';

const ROOT = join(__dirname, '..', '..');
const WORK = join(ROOT, 'bench', '.work');

interface Timed {
  readonly seconds: number;
  readonly maxRssMb: number;
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command under /usr/bin/time for its wall time and peak RSS, children included. */
function timed(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Timed {
  const result = spawnSync('/usr/bin/time', ['-f', '__TIME__ %e %M', command, ...args], { env, encoding: 'utf8', maxBuffer: 256 << 20 });
  const match = /__TIME__ ([\d.]+) (\d+)/u.exec(result.stderr);
  return {
    seconds: Number(match?.[1] ?? Number.NaN),
    maxRssMb: Number(match?.[2] ?? Number.NaN) / 1024,
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr.replace(/__TIME__.*\n?/u, ''),
  };
}

function ensureCcusage(version: string): string | undefined {
  const prefix = join(WORK, `ccusage-${version}`);
  const bin = join(prefix, 'node_modules', 'ccusage', 'dist', 'index.js');
  const shim = join(prefix, 'node_modules', '.bin', 'ccusage');
  if (!existsSync(shim)) {
    mkdirSync(prefix, { recursive: true });
    const install = spawnSync('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', `ccusage@${version}`], { encoding: 'utf8', stdio: 'inherit' });
    if (install.status !== 0) return undefined;
  }
  return existsSync(shim) ? shim : existsSync(bin) ? bin : undefined;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function rescan(): Promise<{ files: number; ms: number }> {
  const dir = join(WORK, 'small');
  generateSmallSessions(dir, 1000);
  const db = join(WORK, 'rescan.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  const store = openStore(db);
  const redactor = await createRedactor();
  await importPaths(store, redactor, [dir]);
  // Best of three: the first pass also warms the file-system cache, as a watcher's repeated scans would.
  let best = Number.POSITIVE_INFINITY;
  let files = 0;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const report = await importPaths(store, redactor, [dir]);
    best = Math.min(best, performance.now() - started);
    files = report.unchanged;
  }
  store.close();
  return { files, ms: best };
}

async function main(): Promise<void> {
  const mb = Number(arg('mb') ?? '200');
  mkdirSync(WORK, { recursive: true });
  const corpus = join(WORK, 'claude');
  const started = performance.now();
  const generated = generateClaudeProjects({ out: corpus, targetBytes: mb * 1024 * 1024 });
  console.log(`corpus: ${String(generated.files)} session files, ${(generated.bytes / 1024 / 1024).toFixed(1)} MB, ${String(generated.lines)} lines (generated in ${((performance.now() - started) / 1000).toFixed(1)} s)`);

  const db = join(WORK, 'bench.db');
  const runOurs = (label: string, extra: string[]): Timed => {
    const ours = timed(process.execPath, ['--import', 'tsx', join(__dirname, 'importOnce.ts'), join(corpus, 'projects'), db, ...extra]);
    if (ours.status !== 0) throw new Error(`our import failed: ${ours.stderr}`);
    const inner = JSON.parse(ours.stdout.trim().split('\n').pop() ?? '{}') as {
      seconds: number;
      trajectories: number;
      redactions: number;
      issues: number;
      errors: number;
      timings: { parseMs: number; redactMs: number; storeMs: number };
    };
    console.log(
      `internalize import (${label}): ${ours.seconds.toFixed(2)} s wall (import itself ${inner.seconds.toFixed(2)} s), peak RSS ${ours.maxRssMb.toFixed(0)} MB; ` +
        `${String(inner.trajectories)} trajectories, ${String(inner.redactions)} redactions, ${String(inner.issues)} issues, ${String(inner.errors)} errors`,
    );
    const { parseMs, redactMs, storeMs } = inner.timings;
    console.log(`  of which: read+parse+normalize ${(parseMs / 1000).toFixed(2)} s, redact ${(redactMs / 1000).toFixed(2)} s, store ${(storeMs / 1000).toFixed(2)} s${extra.length === 0 ? ' (parse and redact on the second thread, store on the first: they overlap)' : ''}`);
    return ours;
  };
  const ours = runOurs('two threads', []);
  if (!process.argv.includes('--skip-single')) runOurs('one thread', ['--single-thread']);
  const inner = JSON.parse(ours.stdout.trim().split('\n').pop() ?? '{}') as { seconds: number };

  const env = { ...process.env, CLAUDE_CONFIG_DIR: corpus, LOG_LEVEL: '0' };
  const peers: [string, string][] = [['20.0.24', 'native']];
  if (!process.argv.includes('--skip-ccusage17')) peers.push(['17', 'JavaScript']);
  for (const [version, kind] of peers) {
    const bin = ensureCcusage(version);
    if (!bin) {
      console.log(`ccusage@${version}: could not be installed; skipped`);
      continue;
    }
    const peer = timed(bin, ['daily', '--json', '--offline'], env);
    if (peer.status !== 0) {
      console.log(`ccusage@${version} failed (${String(peer.status)}): ${peer.stderr.slice(0, 400)}`);
      continue;
    }
    const days = (JSON.parse(peer.stdout) as { daily?: unknown[] }).daily?.length ?? 0;
    console.log(
      `ccusage@${version} (${kind}) daily --json --offline: ${peer.seconds.toFixed(2)} s wall, peak RSS ${peer.maxRssMb.toFixed(0)} MB, ${String(days)} days; ` +
        `ratio ours/ccusage = ${(ours.seconds / peer.seconds).toFixed(2)} (wall), ${(inner.seconds / peer.seconds).toFixed(2)} (import only)`,
    );
  }

  const again = await rescan();
  console.log(`re-scan of ${String(again.files)} unchanged files: ${again.ms.toFixed(1)} ms (goal < 100 ms)`);
}

void main();
