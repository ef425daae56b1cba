import { existsSync } from 'node:fs';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createEmbedder } from '../../core/embedding/resolve.js';
import { DEFAULT_DELETE_POLICY, learnFromUse } from '../../core/serving/index.js';
import { openStore } from '../../core/store/index.js';
import { createServer } from '../../mcp/server.js';
import { parseArgs, UsageError } from '../args.js';
import { databasePath, type CliIo, type Command } from '../context.js';
import { MCP_INSTALL_USAGE, runMcpInstall } from './mcpInstall.js';

const LEARN_USAGE = `internalize mcp learn [--db PATH] [--min-harmful N] [--margin N] [--json]`;
const USAGE = `internalize mcp [--db PATH]\n       ${LEARN_USAGE}\n       ${MCP_INSTALL_USAGE}`;

function wholeOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} takes a whole number of at least 1, not "${value}".`);
  return n;
}

/**
 * `internalize mcp learn`: links the logged calls to captured runs and credits their outcomes (as
 * every capture does), then proposes DELETE for principles that keep hurting, and says what it did.
 */
function runLearn(argv: readonly string[], io: CliIo): number {
  const args = parseArgs(argv, { values: ['db', 'min-harmful', 'margin'], flags: ['json'] });
  if (args.positionals.length > 0) throw new UsageError(`mcp learn takes no arguments; got ${args.positionals.join(' ')}.`);
  const policy = {
    minHarmful: wholeOption(args.options.get('min-harmful'), 'min-harmful', DEFAULT_DELETE_POLICY.minHarmful),
    margin: wholeOption(args.options.get('margin'), 'margin', DEFAULT_DELETE_POLICY.margin),
  };
  const dbPath = databasePath(args.options.get('db'), io);
  if (!existsSync(dbPath)) {
    io.err(`No Internalize store at ${dbPath}: nothing has been served or captured there yet. Pass --db with the store the MCP server uses.\n`);
    return 1;
  }
  const store = openStore(dbPath);
  try {
    const report = learnFromUse(store, { deletePolicy: policy });
    if (args.flags.has('json')) {
      io.out(`${JSON.stringify(report)}\n`);
      return 0;
    }
    io.out(`${String(report.linked)} logged call${report.linked === 1 ? '' : 's'} linked to captured runs, ${String(report.credited)} helpful/harmful count${report.credited === 1 ? '' : 's'} moved, ${String(report.unmatched)} captured call${report.unmatched === 1 ? '' : 's'} matched no logged call.\n`);
    if (report.proposedDeletes.length === 0) {
      io.out(`No principle is past the DELETE threshold (harmful at least ${String(policy.minHarmful)} and ${String(policy.margin)} more than helpful) without a pending proposal.\n`);
    } else {
      for (const p of report.proposedDeletes) io.out(`Proposed DELETE of ${p.principleId} (op ${String(p.opId)}): harmful ${String(p.harmful)}, helpful ${String(p.helpful)}.\n`);
      io.out('Review them in the Principles view, or with `internalize pool --apply OPID` / `--reject OPID`.\n');
    }
    return 0;
  } finally {
    store.close();
  }
}

/**
 * `internalize mcp`: the MCP server on stdin/stdout, for an agent's MCP configuration. It runs until
 * the agent closes stdin. Diagnostics go to stderr, which agents show in their MCP logs.
 */
export const mcpCommand: Command = {
  name: 'mcp',
  usage: USAGE,
  summary:
    'Serve the accepted principles to a running agent over MCP (stdio): tools principles_for_state and report_principle_outcome, the pool as resources. Put `internalize mcp --db PATH` in the agent\'s MCP configuration. `mcp learn` credits captured runs\' outcomes to what was served and proposes DELETE for principles that keep hurting.',
  async run(argv, io) {
    // `mcp install|uninstall` write the server into an agent's configuration (src/cli/commands/mcpInstall.ts).
    if (argv[0] === 'install' || argv[0] === 'uninstall') return runMcpInstall(argv, io);
    if (argv[0] === 'learn') return runLearn(argv.slice(1), io);
    const args = parseArgs(argv, { values: ['db'], flags: [] });
    if (args.positionals.length > 0) throw new UsageError(`mcp takes no arguments; got ${args.positionals.join(' ')}.`);
    const dbPath = databasePath(args.options.get('db'), io);
    const log = (line: string): void => {
      io.err(`internalize mcp: ${line}\n`);
    };
    // A warm call embeds one short step, where int8 costs about 0.6x of fp32's CPU; its state vectors
    // keep cosine >= 0.995 to fp32's and the labelled set's recall@5 is 0.767 against 0.759
    // (bench/serve/RESULTS.md). INTERNALIZE_EMBEDDING_VARIANT=fp32 keeps fp32.
    const variant = io.env.INTERNALIZE_EMBEDDING_VARIANT === 'fp32' ? 'fp32' : 'int8';
    // This process only serves, so the model runs in its thread: no hand-off to a worker and back per call.
    const server = createServer({ dbPath, resolveEmbedder: () => createEmbedder({ env: io.env, variant, thread: 'inline' }), log });
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
