/**
 * `internalize mcp install|uninstall --agent …`: the MCP server entry written into (or taken out of)
 * a coding agent's own configuration file. The exact change is printed as a unified diff; with
 * --dry-run nothing is written.
 */
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { AGENTS, applyChange, ConfigFileError, configLocations, isAgentId, locationForPath, planInstall, planUninstall, serverCommand, unifiedDiff, type AgentId, type ConfigLocation } from '../../core/serving/install.js';
import { parseArgs, UsageError } from '../args.js';
import { databasePath, type CliIo } from '../context.js';

export const MCP_INSTALL_USAGE = `internalize mcp install|uninstall --agent ${AGENTS.join('|')} [--config PATH] [--db PATH] [--dry-run]`;

/**
 * The bundled CLI the agent will run: this file is inside dist/cli.js when bundled; run from the
 * sources (tests, `tsx`), the bundle lies in the repository's dist/.
 */
function cliBundlePath(): string {
  return basename(__filename) === 'cli.js' ? __filename : resolve(__dirname, '..', '..', '..', 'dist', 'cli.js');
}

/** Where install records live; the editor's commands use the same folder, so either can undo the other. */
function recordsDir(io: CliIo): string {
  return join(io.env.HOME ?? homedir(), '.internalize', 'mcp-installs');
}

function location(agent: AgentId, config: string | undefined, io: CliIo): ConfigLocation {
  if (config !== undefined) return locationForPath(agent, resolve(io.cwd, config));
  const home = io.env.HOME ?? homedir();
  const [first] = configLocations(agent, { home, cwd: io.cwd, platform: process.platform, env: io.env });
  if (first === undefined) throw new UsageError(`No configuration file is known for ${agent}; name one with --config PATH.`);
  return first;
}

/** Runs `mcp install` or `mcp uninstall` (argv starts with the verb); returns the exit status. */
export async function runMcpInstall(argv: readonly string[], io: CliIo): Promise<number> {
  const [verb, ...rest] = argv;
  const args = parseArgs(rest, { values: ['agent', 'config', 'db'], flags: ['dry-run'] });
  if (args.positionals.length > 0) throw new UsageError(`mcp ${verb ?? ''} takes no arguments; got ${args.positionals.join(' ')}.`);
  const agent = args.options.get('agent');
  if (agent === undefined) throw new UsageError(`--agent is required: one of ${AGENTS.join(', ')}.`);
  if (!isAgentId(agent)) throw new UsageError(`--agent must be one of ${AGENTS.join(', ')}; got "${agent}".`);
  if (verb === 'uninstall' && args.options.has('db')) throw new UsageError('--db is for install (the store the server reads); uninstall takes the entry out whatever it points at.');
  const where = location(agent, args.options.get('config'), io);
  const dryRun = args.flags.has('dry-run');
  try {
    const change =
      verb === 'install'
        ? await planInstall(where, serverCommand(cliBundlePath(), databasePath(args.options.get('db'), io)))
        : await planUninstall(where, { recordsDir: recordsDir(io) });
    io.out(`${change.summary}\n`);
    if (change.status === 'unchanged') return 0;
    io.out(unifiedDiff(change));
    if (dryRun) {
      io.out('Dry run: nothing was written.\n');
      return 0;
    }
    applyChange(change, { recordsDir: recordsDir(io) });
    io.out(
      verb === 'install'
        ? `Written. Restart ${agent} (or reload its MCP servers) to use it. The server reads ${databasePath(args.options.get('db'), io)}; to serve the editor's store instead, install again with --db set to the editor's internalize.store.path.\n`
        : 'Written.\n',
    );
    return 0;
  } catch (error) {
    if (error instanceof ConfigFileError) {
      io.err(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
