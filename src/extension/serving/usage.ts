/**
 * Where each principle is served and where it is internalized, for the Principles view: read from
 * the serve call log and the iterations' scores. vscode-free, so the unit tests read it directly.
 */
import { estimateTokens } from '../../core/llm/languageModel.js';
import type { Principle } from '../../core/principle.js';
import type { Store } from '../../core/store/index.js';
import { internalizedIds, iterationModel } from '../../core/store/injection.js';
import { ServeCallRepository, type ServeCallRecord } from '../../core/store/serveCalls.js';

/** The client name the language-model tool logs its calls under (MCP calls log the MCP client's name). */
export const LM_TOOL_CLIENT = 'vscode-lm-tool';

/** The serve log is read this far back: enough for the view, bounded for a store that serves all day. */
export const SERVE_LOG_WINDOW = 10_000;

export interface ServedCounts {
  /** Calls through the MCP server, by client name (`claude-code`, `codex` …; `unknown` when the client gave none). */
  readonly mcp: ReadonlyMap<string, number>;
  /** Calls through the VS Code language-model tool. */
  readonly lmTool: number;
  /** The latest call that returned it. */
  readonly lastAt: string;
}

/** How often each principle was returned, by front end, in `calls`. */
export function servedCounts(calls: readonly ServeCallRecord[]): Map<string, ServedCounts> {
  const out = new Map<string, { mcp: Map<string, number>; lmTool: number; lastAt: string }>();
  for (const call of calls) {
    for (const { id } of call.results) {
      let entry = out.get(id);
      if (entry === undefined) {
        entry = { mcp: new Map(), lmTool: 0, lastAt: call.at };
        out.set(id, entry);
      }
      if (call.client === LM_TOOL_CLIENT) entry.lmTool++;
      else {
        const client = call.client === '' ? 'unknown' : call.client;
        entry.mcp.set(client, (entry.mcp.get(client) ?? 0) + 1);
      }
      if (call.at > entry.lastAt) entry.lastAt = call.at;
    }
  }
  return out;
}

/** The most recent calls of the serve log (newest first), bounded by SERVE_LOG_WINDOW. */
export function recentServeCalls(store: Store): ServeCallRecord[] {
  return new ServeCallRepository(store.db).recent(SERVE_LOG_WINDOW);
}

/**
 * Principle id → the models that have internalized it: for every model an iteration trained, the
 * same rule serving applies (its latest scoring iteration decides), so what the view says is
 * internalized is exactly what serving leaves out for that model.
 */
export function internalizedModels(store: Store): Map<string, string[]> {
  const models = new Set<string>();
  for (const it of store.iterations.list()) {
    const model = iterationModel(it.config);
    if (model !== undefined) models.add(model);
  }
  const out = new Map<string, string[]>();
  for (const model of [...models].sort()) {
    for (const id of internalizedIds(store, model)) out.set(id, [...(out.get(id) ?? []), model]);
  }
  return out;
}

/** The context a principle costs at each step where the selector picks it: its line in the step-wise block. */
export function tokensPerStep(principle: Pick<Principle, 'text'>): number {
  return estimateTokens(`- ${principle.text}\n`);
}

/** "MCP 9 (claude-code 7, codex 2) · LM tool 3", or undefined when it was never served. */
export function describeServed(counts: ServedCounts | undefined): string | undefined {
  if (counts === undefined) return undefined;
  const parts: string[] = [];
  const mcpTotal = [...counts.mcp.values()].reduce((a, b) => a + b, 0);
  if (mcpTotal > 0) parts.push(`MCP ${String(mcpTotal)} (${[...counts.mcp].sort((a, b) => b[1] - a[1]).map(([client, n]) => `${client} ${String(n)}`).join(', ')})`);
  if (counts.lmTool > 0) parts.push(`LM tool ${String(counts.lmTool)}`);
  return parts.length === 0 ? undefined : parts.join(' · ');
}
