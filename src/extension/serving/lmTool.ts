/**
 * The principles as VS Code language-model tools, so Copilot agent mode (and any extension's agent)
 * gets them with no setup: the same contract as the MCP server's tools, answered by the same
 * serving core (servePrinciples / recordOutcome) over the extension's own store.
 */
import * as vscode from 'vscode';
import type { TextEmbedder } from '../../core/embedding/embedder.js';
import { recordOutcome, renderServeResult, servePrinciples, ServingError, type ServeResult } from '../../core/serving/index.js';
import { StoreError } from '../../core/store/index.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { describeError } from '../errors.js';
import { parseOutcomeInput, parsePrinciplesInput, ToolInputError, type PrinciplesRequest } from './toolInput.js';
import { LM_TOOL_CLIENT } from './usage.js';

export const LM_TOOL_PRINCIPLES = 'internalize_principles_for_state';
export const LM_TOOL_OUTCOME = 'internalize_report_principle_outcome';

function textResult(text: string): vscode.LanguageModelToolResult {
  return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(text)]);
}

/** The serving call, in one place: what both the tool and its e2e command go through. */
export async function servePrinciplesForTool(ctx: InternalizeContext, embedder: () => Promise<TextEmbedder>, request: PrinciplesRequest, signal?: AbortSignal): Promise<ServeResult> {
  const store = ctx.getStore();
  const configured = config.servingTargetModel();
  const targetModel = request.model ?? (configured === '' ? undefined : configured);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const workspace = request.workspace ?? folder;
  return servePrinciples({
    store,
    embedder: await embedder(),
    state: request.state,
    ...(request.k === undefined ? {} : { k: request.k }),
    ...(targetModel === undefined ? {} : { targetModel }),
    ...(workspace === undefined ? {} : { workspace }),
    client: LM_TOOL_CLIENT,
    ...(signal === undefined ? {} : { signal }),
  });
}

function abortSignal(token: vscode.CancellationToken): AbortSignal {
  const controller = new AbortController();
  if (token.isCancellationRequested) controller.abort();
  else
    token.onCancellationRequested(() => {
      controller.abort();
    });
  return controller.signal;
}

/**
 * A failure the model can act on is its answer (bad input, no store yet, an unknown id); anything
 * else is a bug, logged with its stack. Tools report failures by throwing: VS Code hands the message
 * to the model.
 */
function failure(ctx: InternalizeContext, tool: string, error: unknown): never {
  if (error instanceof ToolInputError || error instanceof ServingError || error instanceof StoreError) throw new Error(error.message);
  ctx.log.error(`${tool} failed: ${describeError(error)}`);
  if (error instanceof Error && error.stack !== undefined) ctx.log.debug(error.stack);
  throw new Error(`Internalize could not answer: ${describeError(error)}`);
}

/** Registers both tools; `embedder` is the window's (resolved on first use). */
export function registerLanguageModelTools(ctx: InternalizeContext, embedder: () => Promise<TextEmbedder>): void {
  ctx.push(
    vscode.lm.registerTool<unknown>(LM_TOOL_PRINCIPLES, {
      prepareInvocation: () => ({ invocationMessage: 'Finding the principles that fit this state' }),
      async invoke(options, token) {
        try {
          const request = parsePrinciplesInput(options.input);
          const result = await servePrinciplesForTool(ctx, embedder, request, abortSignal(token));
          ctx.log.info(`${LM_TOOL_PRINCIPLES}: ${String(result.principles.length)} of ${String(result.poolSize)} principles served (call ${result.callId})${result.internalized.length > 0 ? `, ${String(result.internalized.length)} left out as internalized` : ''}`);
          if (result.principles.length > 0) ctx.notify('principles');
          return textResult(renderServeResult(result, LM_TOOL_OUTCOME));
        } catch (error) {
          return failure(ctx, LM_TOOL_PRINCIPLES, error);
        }
      },
    }),
    vscode.lm.registerTool<unknown>(LM_TOOL_OUTCOME, {
      prepareInvocation: (options) => {
        const input = options.input as { id?: unknown; verdict?: unknown } | undefined;
        return { invocationMessage: `Recording that ${typeof input?.id === 'string' ? input.id : 'a principle'} was ${typeof input?.verdict === 'string' ? input.verdict : 'used'}` };
      },
      invoke(options) {
        try {
          const outcome = parseOutcomeInput(options.input);
          const recorded = recordOutcome(ctx.getStore(), outcome);
          ctx.notify('principles');
          return textResult(`Recorded: ${recorded.principleId} ${outcome.verdict} (now helpful ${String(recorded.helpful)}, harmful ${String(recorded.harmful)}).`);
        } catch (error) {
          return failure(ctx, LM_TOOL_OUTCOME, error);
        }
      },
    }),
  );
}

/** The test command's id; the e2e suite binds a key to it (it has no palette entry). */
export const E2E_TOOL_COMMAND = 'internalize.e2e.invokePrinciplesTool';

/**
 * For the end-to-end suite only (INTERNALIZE_E2E=1 when the editor starts): a command that calls the
 * principles tool through `vscode.lm.invokeTool`, the way Copilot does, and shows the answer in a
 * notification the test reads. Without the variable it does not exist; it is never in package.json,
 * so users never see it.
 */
export function registerToolTestCommand(ctx: InternalizeContext): void {
  if (process.env.INTERNALIZE_E2E !== '1') return;
  ctx.log.info(`INTERNALIZE_E2E=1: the test command ${E2E_TOOL_COMMAND} is registered`);
  ctx.push(
    vscode.commands.registerCommand(E2E_TOOL_COMMAND, async () => {
      const text = await vscode.window.showInputBox({ prompt: 'Describe the situation (sent as the tool input "text")', ignoreFocusOut: true });
      if (text === undefined) return;
      try {
        const result = await vscode.lm.invokeTool(LM_TOOL_PRINCIPLES, { input: { text, k: 3 }, toolInvocationToken: undefined });
        const answer = result.content.map((part) => (part instanceof vscode.LanguageModelTextPart ? part.value : '')).join('');
        void vscode.window.showInformationMessage(`Principles tool: ${answer.replace(/\s*\n\s*/gu, ' ⏎ ')}`);
      } catch (error) {
        void vscode.window.showErrorMessage(`Principles tool failed: ${describeError(error)}`);
      }
    }),
  );
}
