import * as vscode from 'vscode';
import type { ChatRequest, ChatResponse, LanguageModel, LanguageModelErrorKind } from '../../core/llm/languageModel.js';
import { LanguageModelError, estimateTokens } from '../../core/llm/languageModel.js';

/**
 * The LanguageModel port over VS Code's language-model API (`vscode.lm`): whatever chat model the
 * user already has in the editor (Copilot or another provider). VS Code asks the user's permission
 * itself on first use; the chat API has no system role, so system text goes first as a user turn.
 */
export function vscodeLanguageModel(chat: vscode.LanguageModelChat): LanguageModel {
  const endpoint = `vscode.lm: ${chat.vendor}`;
  const name = chat.name === chat.id ? chat.id : `${chat.name} (${chat.id})`;
  const fail = (message: string, kind: LanguageModelErrorKind): LanguageModelError => new LanguageModelError(message, kind, endpoint, name);
  return {
    model: name,
    endpoint,
    estimateTokens,
    async chat(request: ChatRequest): Promise<ChatResponse> {
      const messages = request.messages.map((m) => (m.role === 'assistant' ? vscode.LanguageModelChatMessage.Assistant(m.content) : vscode.LanguageModelChatMessage.User(m.content)));
      const source = new vscode.CancellationTokenSource();
      const abort = (): void => {
        source.cancel();
      };
      request.signal?.addEventListener('abort', abort, { once: true });
      try {
        const response = await chat.sendRequest(messages, { justification: 'Internalize summarizes captured agent runs into principles.' }, source.token);
        let text = '';
        for await (const piece of response.text) {
          text += piece;
          request.onText?.(piece);
        }
        return { text };
      } catch (error) {
        if (request.signal?.aborted === true) throw fail(`The request to ${name} was cancelled.`, 'aborted');
        if (error instanceof vscode.LanguageModelError) {
          if (error.code === vscode.LanguageModelError.NoPermissions.name) throw fail(`${name} may not be used by Internalize: permission was not given. Allow it when VS Code asks, or pick another model.`, 'auth');
          if (error.code === vscode.LanguageModelError.Blocked.name) throw fail(`${name} refused the request (quota or policy): ${error.message}`, 'rate-limited');
          if (error.code === vscode.LanguageModelError.NotFound.name) throw fail(`${name} is no longer available in VS Code: ${error.message}`, 'not-found');
          throw fail(`${name} failed: ${error.message}`, 'server');
        }
        throw fail(`${name} failed: ${error instanceof Error ? error.message : String(error)}`, 'server');
      } finally {
        request.signal?.removeEventListener('abort', abort);
        source.dispose();
      }
    },
  };
}
