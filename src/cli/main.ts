/**
 * The `internalize` command line over the same core as the extension. Each subcommand is a
 * `Command` in `commands/`; adding one means adding it to COMMANDS.
 */
import { CaptureError, isParseWorker } from '../core/capture/index.js';
import { CurationError } from '../core/experience/curation.js';
import { StoreError } from '../core/store/index.js';
import { PoolRefError } from '../core/experience/compare.js';
import { PackError } from '../core/experience/export.js';
import { UsageError } from './args.js';
import { importCommand } from './commands/import.js';
import { exportCommand } from './commands/export.js';
import { listCommand } from './commands/list.js';
import { mineCommand } from './commands/mine.js';
import { poolCommand } from './commands/pool.js';
import type { CliIo, Command } from './context.js';

export const COMMANDS: readonly Command[] = [importCommand, listCommand, mineCommand, poolCommand, exportCommand];

function help(io: CliIo): void {
  io.out('Usage: internalize <command> [options]\n\nCommands:\n');
  for (const command of COMMANDS) io.out(`  ${command.usage}\n      ${command.summary}\n`);
}

/** Runs one command line; returns the exit status instead of exiting, so tests can call it. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    help(io);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`Unknown command "${name}". Run \`internalize help\` for the list.\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\nUsage: ${command.usage}\n`);
      return 2;
    }
    if (error instanceof StoreError || error instanceof CaptureError || error instanceof CurationError || error instanceof PoolRefError || error instanceof PackError) {
      io.err(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function isMain(): boolean {
  const entry = process.argv[1] ?? '';
  return /(?:^|[\\/])(cli\.js|main\.ts|internalize)$/u.test(entry);
}

// The import's parsing thread loads this same bundle; it must not run the command line again.
if (isMain() && !isParseWorker()) {
  runCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`internalize: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
