import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createEmbedder } from '../../core/embedding/resolve.js';
import { createServer } from '../../mcp/server.js';
import { parseArgs, UsageError } from '../args.js';
import { databasePath, type Command } from '../context.js';
import { MCP_INSTALL_USAGE, runMcpInstall } from './mcpInstall.js';

const USAGE = `internalize mcp [--db PATH]\n       ${MCP_INSTALL_USAGE}`;

/**
 * `internalize mcp`: the MCP server on stdin/stdout, for an agent's MCP configuration. It runs until
 * the agent closes stdin. Diagnostics go to stderr, which agents show in their MCP logs.
 */
export const mcpCommand: Command = {
  name: 'mcp',
  usage: USAGE,
  summary:
    'Serve the accepted principles to a running agent over MCP (stdio): tools principles_for_state and report_principle_outcome, the pool as resources. Put `internalize mcp --db PATH` in the agent\'s MCP configuration.',
  async run(argv, io) {
    // `mcp install|uninstall` write the server into an agent's configuration (src/cli/commands/mcpInstall.ts).
    if (argv[0] === 'install' || argv[0] === 'uninstall') return runMcpInstall(argv, io);
    const args = parseArgs(argv, { values: ['db'], flags: [] });
    if (args.positionals.length > 0) throw new UsageError(`mcp takes no arguments; got ${args.positionals.join(' ')}.`);
    const dbPath = databasePath(args.options.get('db'), io);
    const log = (line: string): void => {
      io.err(`internalize mcp: ${line}\n`);
    };
    const server = createServer({ dbPath, resolveEmbedder: () => createEmbedder({ env: io.env }), log });
    const transport = new StdioServerTransport();
    const closed = new Promise<void>((resolve) => {
      // The agent ends the session by closing our stdin; the transport does not notice on its own.
      process.stdin.once('end', resolve);
      process.stdin.once('close', resolve);
      transport.onclose = resolve;
    });
    await server.connect(transport);
    log(`serving ${dbPath} on stdio`);
    await closed;
    await server.close();
    return 0;
  },
};
