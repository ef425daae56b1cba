/**
 * The MCP server (stdio): a running agent asks for the principles that fit its decision state,
 * reports whether one helped, and reads the accepted pool as resources. Everything it answers comes
 * from the serving core (src/core/serving), the same one the VS Code language-model tool uses.
 *
 * The store is the extension's database, shared while the extension writes it: it is opened in WAL
 * mode (reads never wait for the writer and never see half a write) with a busy timeout, and the
 * server's own writes (the call log, feedback) are short IMMEDIATE transactions. A store that does
 * not exist yet is not created: every answer says how to get one, and the next call looks again.
 */
import { existsSync } from 'node:fs';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult, ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { TextEmbedder } from '../core/embedding/embedder.js';
import type { Principle } from '../core/principle.js';
import { learnFromUse, MAX_K, recordOutcome, redactServed, renderServeResult, SegmentCache, servePrinciples, ServingError, warmPool, type ServeState } from '../core/serving/index.js';
import { explainNativeModuleError } from '../core/serving/install.js';
import { openStore, StoreError, type Store } from '../core/store/index.js';

export const SERVER_NAME = 'internalize';
export const TOOL_PRINCIPLES = 'principles_for_state';
export const TOOL_OUTCOME = 'report_principle_outcome';
export const POOL_URI = 'internalize://principles';

/** The warm-up's state: a task and one step, each longer than the segment cap, as a session's first call sends. */
const WARM_UP_STATE: ServeState = {
  task: 'Warm up the principle server: fix the failing date parser test in the utilities package, then run the whole test suite and make sure the build and the linter still pass before committing the change.',
  steps: [{ tool: 'Bash', action: 'npm test -- --filter parser', observation: 'FAIL src/date/parse.test.ts\n  expected "2026-01-31" received "2026-01-30" at parseDate (src/date/parse.ts:41:7)\n  1 failed, 212 passed, 213 total; the timezone offset is applied twice when the input already carries one.', isError: true }],
};

const PRINCIPLES_DESCRIPTION = [
  'Get the few principles (short, general lessons learned from earlier agent runs in this workspace and others) that fit your current decision state.',
  'Call it at decision points: before editing again after a command or test failed; before running a destructive or hard-to-undo command (deleting files, force-pushing, resetting, migrating data); when you are stuck or about to repeat an action that did not work; and before declaring the task done.',
  'Send the task and your last few steps (what you did and what came back; long outputs are fine, they are cut from the middle), or a short free-text description of the situation.',
  'Returns up to k principles with ids, scores and why each fits. Apply those that fit and ignore the rest; afterwards, report with report_principle_outcome whether one helped or hurt.',
].join(' ');

const OUTCOME_DESCRIPTION =
  'Report whether a principle returned by principles_for_state helped or hurt, by its id (e.g. "P12"), with an optional one-line note and the callId of the answer it came from. Reports steer which principles are served first and which are proposed for deletion.';

const stepSchema = z.object({
  action: z.string().optional().describe('What you did: the command, the edit, the tool input, or what you said.'),
  observation: z.string().optional().describe('What came back: the output, the error, the test result.'),
  tool: z.string().optional().describe('The tool you called (Bash, Edit, …), if any.'),
  isError: z.boolean().optional().describe('Whether the observation was an error or a failure.'),
});

const principlesInput = {
  task: z.string().optional().describe('The task you are working on, as the user asked it.'),
  steps: z.array(stepSchema).optional().describe('Your recent steps, oldest first; the last few matter most.'),
  text: z.string().optional().describe('Or: a free-text description of the situation you are in.'),
  k: z.number().int().min(1).max(MAX_K).optional().describe(`How many principles to return (1–${String(MAX_K)}, default 5).`),
  model: z.string().optional().describe('Your model, if you know it: principles it has already internalized are left out.'),
  workspace: z.string().optional().describe('The workspace folder you work in, for workspace-specific principles.'),
};

const servedSchema = z.object({
  id: z.string(),
  text: z.string(),
  when: z.string(),
  score: z.number(),
  why: z.string(),
  helpful: z.number(),
  harmful: z.number(),
});

const principlesOutput = {
  principles: z.array(servedSchema),
  callId: z.string(),
  embedder: z.string(),
  truncated: z.boolean(),
  poolSize: z.number(),
  internalized: z.array(z.string()),
  message: z.string().optional(),
};

const outcomeInput = {
  id: z.string().min(1).describe('The principle id, as principles_for_state returned it (e.g. "P12").'),
  verdict: z.enum(['helpful', 'harmful']).describe('Whether following it helped or hurt.'),
  note: z.string().max(2000).optional().describe('One line on what happened.'),
  callId: z.string().optional().describe('The callId of the principles_for_state answer it came from.'),
};

export interface ServerOptions {
  /** The database file (the extension's store). */
  readonly dbPath: string;
  /** Resolved once, at the first call that needs it (loading the ONNX model takes a moment). */
  readonly resolveEmbedder: () => Promise<TextEmbedder>;
  /** Diagnostics; stdout belongs to the protocol, so the CLI sends these to stderr. */
  readonly log?: (line: string) => void;
  readonly version?: string;
}

export interface InternalizeMcpServer {
  readonly server: McpServer;
  connect(transport: Transport): Promise<void>;
  close(): Promise<void>;
}

function missingStoreMessage(path: string): string {
  return `No Internalize store at ${path} yet, so there are no principles to serve. Install the Internalize extension in VS Code and let it capture agent runs, or run \`internalize import <logs> --db ${path}\`; then accept principles in the Principles view. Started with another --db than the extension's? Point --db at the extension's internalize.store.path.`;
}

function text(t: string, isError = false): CallToolResult {
  return { content: [{ type: 'text', text: t }], ...(isError ? { isError: true } : {}) };
}

function principleMarkdown(p: Principle): string {
  return [`# ${p.id}`, '', p.text, '', `- when: ${p.when === '' ? '(any)' : p.when}`, `- scope: ${p.scope}`, `- helpful: ${String(p.helpful)}, harmful: ${String(p.harmful)}`].join('\n');
}

/** Builds the server; `connect` it to a transport (stdio for the CLI, in-memory in tests). */
export function createServer(options: ServerOptions): InternalizeMcpServer {
  const log = options.log ?? ((): void => undefined);
  const server = new McpServer({ name: SERVER_NAME, version: options.version ?? '0.1.0' }, { capabilities: { resources: {}, tools: {} } });
  let store: Store | undefined;
  let embedder: Promise<TextEmbedder> | undefined;

  const openIfThere = (): Store | undefined => {
    if (store !== undefined) return store;
    if (!existsSync(options.dbPath)) return undefined;
    store = openStore(options.dbPath, { busyTimeoutMs: 5000 });
    // Calls this server logged may already sit in captured runs; credit them now, once.
    try {
      const learned = learnFromUse(store);
      if (learned.linked > 0) log(`linked ${String(learned.linked)} logged calls to captured runs, ${String(learned.credited)} principle counts updated`);
    } catch (error) {
      log(`learning from captured runs failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    return store;
  };
  const getEmbedder = (): Promise<TextEmbedder> => {
    embedder ??= options.resolveEmbedder().then((e) => {
      log(`embedder: ${e.id} — ${e.description}`);
      return e;
    });
    return embedder;
  };
  /** Store and serving errors are answers the agent can act on; anything else is a bug and goes to the log too. */
  const failure = (error: unknown): CallToolResult => {
    if (error instanceof ServingError || error instanceof StoreError) return text(error.message, true);
    const runtime = explainNativeModuleError(error);
    if (runtime !== undefined) {
      log(runtime);
      return text(`Internalize cannot open its store here: ${runtime}`, true);
    }
    log(`unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return text(`Internalize could not answer: ${error instanceof Error ? error.message : String(error)}`, true);
  };

  server.registerTool(
    TOOL_PRINCIPLES,
    { title: 'Principles for the current state', description: PRINCIPLES_DESCRIPTION, inputSchema: principlesInput, outputSchema: principlesOutput, annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false } },
    async (args) => {
      try {
        const s = openIfThere();
        const empty = { principles: [], callId: '', embedder: '', truncated: false, poolSize: 0, internalized: [] };
        if (s === undefined) {
          const message = missingStoreMessage(options.dbPath);
          return { ...text(message), structuredContent: { ...empty, message } };
        }
        const client = server.server.getClientVersion()?.name ?? '';
        const result = await servePrinciples({
          store: s,
          embedder: await getEmbedder(),
          state: { ...(args.task === undefined ? {} : { task: args.task }), ...(args.steps === undefined ? {} : { steps: args.steps }), ...(args.text === undefined ? {} : { text: args.text }) },
          ...(args.k === undefined ? {} : { k: args.k }),
          ...(args.model === undefined ? {} : { targetModel: args.model }),
          ...(args.workspace === undefined ? {} : { workspace: args.workspace }),
          client,
        });
        return { ...text(renderServeResult(result, TOOL_OUTCOME)), structuredContent: { ...result, principles: result.principles.map((p) => ({ ...p })), internalized: [...result.internalized] } };
      } catch (error) {
        return failure(error);
      }
    },
  );

  server.registerTool(
    TOOL_OUTCOME,
    { title: 'Report whether a principle helped', description: OUTCOME_DESCRIPTION, inputSchema: outcomeInput, annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false } },
    (args) => {
      try {
        const s = openIfThere();
        if (s === undefined) return text(missingStoreMessage(options.dbPath), true);
        const recorded = recordOutcome(s, { principleId: args.id, verdict: args.verdict, ...(args.note === undefined ? {} : { note: args.note }), ...(args.callId === undefined ? {} : { callId: args.callId }) });
        return text(`Recorded: ${recorded.principleId} ${args.verdict} (now helpful ${String(recorded.helpful)}, harmful ${String(recorded.harmful)}).`);
      } catch (error) {
        return failure(error);
      }
    },
  );

  /** The accepted pool as resources show it: texts through the same secret check as served principles. */
  const accepted = async (): Promise<Principle[]> => {
    const pool = openIfThere()?.principles.list({ status: 'accepted' }) ?? [];
    const texts = await redactServed(pool.flatMap((p) => [p.text, p.when]));
    return pool.map((p, i) => ({ ...p, text: texts[2 * i] ?? '', when: texts[2 * i + 1] ?? '' }));
  };

  server.registerResource(
    'principle-pool',
    POOL_URI,
    { title: 'Accepted principles', description: 'The accepted principle pool, as JSON (id, text, when, scope, helpful, harmful).', mimeType: 'application/json' },
    async (uri): Promise<ReadResourceResult> => {
      const s = openIfThere();
      const body = s === undefined ? { principles: [], message: missingStoreMessage(options.dbPath) } : { principles: (await accepted()).map(({ id, text: t, when, scope, helpful, harmful }) => ({ id, text: t, when, scope, helpful, harmful })) };
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(body, null, 2) }] };
    },
  );

  server.registerResource(
    'principle',
    new ResourceTemplate(`${POOL_URI}/{id}`, {
      list: async () => ({ resources: (await accepted()).map((p) => ({ uri: `${POOL_URI}/${p.id}`, name: p.id, title: p.text.slice(0, 80), mimeType: 'text/markdown' })) }),
    }),
    { title: 'One principle', description: 'An accepted principle with its situation, scope and track record.', mimeType: 'text/markdown' },
    async (uri, variables): Promise<ReadResourceResult> => {
      const id = String(variables.id);
      const p = openIfThere()?.principles.get(id);
      if (p?.status !== 'accepted') throw new ServingError(`No accepted principle "${id}"; read ${POOL_URI} for the list.`);
      const [text, when] = await redactServed([p.text, p.when]);
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: principleMarkdown({ ...p, text: text ?? '', when: when ?? '' }) }] };
    },
  );

  return {
    server,
    async connect(transport) {
      await server.connect(transport);
      // The model, the pool's vectors and the secret detectors load while the agent is still starting,
      // so its first call costs what every later one does.
      void (async () => {
        const s = openIfThere();
        const e = await getEmbedder();
        await redactServed(['warm-up']);
        if (s === undefined) return;
        await warmPool(s, e);
        // The whole call once, logging nothing, on a state the size of a session's first call (a task and a step at
        // the segment cap): code compiled, the runtime's buffers sized. Measured without it, the first call after
        // warm-up paid 33 ms more than the next (selection 15.6 ms, redaction 8.8, the logged write 5.2).
        renderServeResult(await servePrinciples({ store: s, embedder: e, state: WARM_UP_STATE, log: false, segmentCache: new SegmentCache(4) }), TOOL_OUTCOME);
      })().catch((error: unknown) => {
        log(`warm-up failed (the first call will try again): ${explainNativeModuleError(error) ?? (error instanceof Error ? error.message : String(error))}`);
      });
    },
    async close() {
      await server.close();
      if (embedder !== undefined) await (await embedder).dispose();
      store?.close();
    },
  };
}
