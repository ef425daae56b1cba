/**
 * The `internalize` command line over the same core as the extension. Each subcommand is a
 * `Command` in `commands/`; adding one means adding it to COMMANDS.
 */
import { CaptureError, isParseWorker } from '../core/capture/index.js';
import { CurationError } from '../core/experience/curation.js';
import { StoreError } from '../core/store/index.js';
import { PoolRefError } from '../core/experience/compare.js';
import { PackError } from '../core/experience/export.js';
import { UsageError, wantsHelp } from './args.js';
import { importCommand } from './commands/import.js';
import { iterationsCommand } from './commands/iterations.js';
import { distillCommand } from './commands/distill.js';
import { exportCommand } from './commands/export.js';
import { listCommand } from './commands/list.js';
import { mcpCommand } from './commands/mcp.js';
import { mineCommand } from './commands/mine.js';
import { poolCommand } from './commands/pool.js';
import { previewCommand } from './commands/preview.js';
import { rescanSecretsCommand } from './commands/rescanSecrets.js';
import { resetStoreCommand } from './commands/resetStore.js';
import type { CliIo, Command } from './context.js';

/** Every subcommand, in the order `internalize --help` lists them. */
export const COMMANDS: readonly Command[] = [importCommand, listCommand, mineCommand, poolCommand, previewCommand, distillCommand, iterationsCommand, exportCommand, mcpCommand, resetStoreCommand, rescanSecretsCommand];

function help(io: CliIo): void {
  io.out('Usage: internalize <command> [options]\n\nCommands:\n');
  for (const command of COMMANDS) io.out(`  ${command.usage}\n      ${command.summary}\n`);
  io.out('\nEvery command takes --db PATH (or INTERNALIZE_DB; default ~/.internalize/internalize.db) and --help.\n');
}

function commandHelp(command: Command, io: CliIo): void {
  io.out(`Usage: ${command.usage}\n\n${command.summary}\n\n--db PATH (or INTERNALIZE_DB) names the database; default ~/.internalize/internalize.db.\n`);
}

/**
 * The store's hints name the editor's commands and settings; on the command line the same fix is a
 * command or an option, so the hint is said the command line's way.
 */
function storeMessage(error: StoreError): string {
  const hint =
    error.code === 'not-a-database' || error.code === 'corrupt'
      ? 'Run `internalize reset-store` (with the same --db) to move it aside as a backup and start a fresh one; nothing is deleted.'
      : error.code === 'io'
        ? 'Check that the folder exists, is writable and that the disk has free space, or choose another place with --db PATH or INTERNALIZE_DB.'
        : error.hint;
  return error.hint === '' || !error.message.endsWith(error.hint) ? error.message : `${error.message.slice(0, error.message.length - error.hint.length)}${hint}`;
}

/** Runs one command line; returns the exit status instead of exiting, so tests can call it. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    if (topic) commandHelp(topic, io);
    else help(io);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.err(`Unknown command "${name}". Run \`internalize --help\` for the list.\n`);
    return 2;
  }
  if (wantsHelp(rest)) {
    commandHelp(command, io);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\nUsage: ${command.usage}\nRun \`internalize ${command.name} --help\` for details.\n`);
      return 2;
    }
    if (error instanceof StoreError) {
      io.err(`${storeMessage(error)}\n`);
      return 1;
    }
    if (error instanceof CaptureError || error instanceof CurationError || error instanceof PoolRefError || error instanceof PackError) {
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
