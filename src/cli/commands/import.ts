import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { captureInParallel, defaultLocations, importPathsInParallel, type IngestReport } from '../../core/capture/index.js';
import { learnFromUse } from '../../core/serving/learn.js';
import { openStore } from '../../core/store/index.js';
import { parseArgs, UsageError } from '../args.js';
import { databasePath, type CliIo, type Command } from '../context.js';

const MAX_LISTED = 20;

function summarize(report: IngestReport, seconds: number, io: CliIo): void {
  const redactions = Object.values(report.redactions).reduce((a, b) => a + b, 0);
  io.out(
    `Imported ${String(report.trajectories)} trajectories from ${String(report.files)} files ` +
      `(${String(report.unchanged)} unchanged, ${String(report.reread)} re-read) in ${seconds.toFixed(2)} s; ` +
      `${String(redactions)} secrets redacted.\n`,
  );
  if (redactions > 0) io.out(`  redactions by rule: ${Object.entries(report.redactions).map(([r, n]) => `${r} ${String(n)}`).join(', ')}\n`);
  if (report.issues.length > 0) {
    io.err(`${String(report.issues.length)} lines or fields skipped:\n`);
    for (const issue of report.issues.slice(0, MAX_LISTED)) {
      const where = `${issue.file}${issue.line !== undefined ? `:${String(issue.line)}` : ''}${issue.field !== undefined ? ` (${issue.field})` : ''}`;
      io.err(`  ${where}: ${issue.message}\n`);
    }
    if (report.issues.length > MAX_LISTED) io.err(`  … and ${String(report.issues.length - MAX_LISTED)} more.\n`);
  }
  if (report.empty.length > 0) {
    // Every one is listed: a file that silently gave nothing is what makes a user distrust the store.
    io.err(`${String(report.empty.length)} file${report.empty.length === 1 ? '' : 's'} gave no trajectory:\n`);
    for (const { file, reason } of report.empty) io.err(`  ${file}: ${reason}\n`);
  }
  for (const error of report.errors) io.err(`error: ${error.message}\n`);
  for (const target of report.emptyTargets) {
    if (!report.errors.some((e) => e.file === target)) io.err(`error: nothing was imported from ${target}.\n`);
  }
}

export const importCommand: Command = {
  name: 'import',
  usage: 'internalize import <path…|--auto> [--db PATH] [--json]',
  summary: 'Import trajectories from files or folders, or from every agent\'s default location (--auto); lists every file that gave none, with why.',
  async run(argv, io) {
    const args = parseArgs(argv, { values: ['db'], flags: ['auto', 'json'] });
    const auto = args.flags.has('auto');
    if (!auto && args.positionals.length === 0) throw new UsageError('Give a file or folder to import, or --auto for the default locations.');
    const store = openStore(databasePath(args.options.get('db'), io));
    try {
      const started = performance.now();
      // Parsing and redaction on a second thread while this one writes (for --auto, when there is enough new data).
      const report = auto
        ? await captureInParallel(store, defaultLocations({ platform: process.platform, home: io.env.HOME ?? homedir(), env: io.env, workspaceFolders: [io.cwd] }))
        : await importPathsInParallel(store, args.positionals.map((p) => resolve(io.cwd, p)));
      // Runs that called the MCP tool credit what it served (once per logged call, src/core/serving/learn.ts).
      if (report.trajectories > 0) learnFromUse(store);
      const seconds = (performance.now() - started) / 1000;
      if (args.flags.has('json')) io.out(`${JSON.stringify({ ...report, errors: report.errors.map((e) => ({ file: e.file, code: e.code, message: e.message })), seconds })}\n`);
      else summarize(report, seconds, io);
      // Skipped lines are normal in live logs. The command fails when a file could not be read at all,
      // or when a path the user named gave nothing: a named file without a trajectory, or a folder
      // under which no file holds one (files that gave nothing beside others that did are listed only).
      return report.errors.length > 0 || report.emptyTargets.length > 0 ? 1 : 0;
    } finally {
      store.close();
    }
  },
};
