import * as vscode from 'vscode';
import type { LanguageModel } from '../../core/llm/languageModel.js';
import { openAiCompatibleModel } from '../../core/llm/openaiCompatible.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { qwenModelChoice } from './qwen.js';
import { vscodeLanguageModel } from './vscodeLm.js';

/** The SecretStorage key of the OpenAI-compatible endpoint's API key. Never in settings. */
export const API_KEY_SECRET = 'internalize.llm.apiKey';

export interface ModelChoice {
  readonly provider: 'vscode-lm' | 'openai-compatible' | 'local';
  readonly label: string;
  readonly detail: string;
  create(): Promise<LanguageModel>;
}

/**
 * The models the user can summarize with, in the order the `internalize.llm.provider` setting
 * prefers. An empty list means only the offline miner is available. A caller that offers the local
 * worker's model (`local`: Summarize, Rewrite) also gets the Qwen summarizer beside it, in the order
 * `internalize.llm.localModel` prefers.
 */
export async function availableModels(ctx: InternalizeContext, local?: ModelChoice): Promise<ModelChoice[]> {
  const choices: ModelChoice[] = [];
  try {
    for (const chat of await vscode.lm.selectChatModels()) {
      choices.push({
        provider: 'vscode-lm',
        label: chat.name,
        detail: `through VS Code (${chat.vendor}, ${chat.family}); your trajectories go to that provider`,
        create: () => Promise.resolve(vscodeLanguageModel(chat)),
      });
    }
  } catch (error) {
    ctx.log.warn(`VS Code's language-model API is not available: ${error instanceof Error ? error.message : String(error)}`);
  }
  const baseUrl = config.llmBaseUrl();
  const model = config.llmModel();
  if (baseUrl !== '' && model !== '') {
    choices.push({
      provider: 'openai-compatible',
      label: model,
      detail: `at ${baseUrl} (OpenAI-compatible)`,
      create: async () =>
        openAiCompatibleModel({ baseUrl, model, apiKey: (await ctx.extension.secrets.get(API_KEY_SECRET)) ?? undefined, timeoutMs: config.llmTimeoutMs(), maxRetries: 3 }),
    });
  }
  if (local !== undefined) {
    const qwen = qwenModelChoice(ctx);
    const locals = qwen === undefined ? [local] : config.llmLocalModel() === 'qwen2.5-coder-1.5b' ? [qwen, local] : [local, qwen];
    choices.push(...locals);
  }
  const preferred = config.llmProvider();
  if (preferred === 'auto') return choices;
  return [...choices.filter((c) => c.provider === preferred), ...choices.filter((c) => c.provider !== preferred)];
}

export function registerModelCommands(ctx: InternalizeContext): void {
  ctx.push(
    vscode.commands.registerCommand('internalize.setApiKey', async () => {
      const baseUrl = config.llmBaseUrl();
      const key = await vscode.window.showInputBox({
        title: 'API Key for the OpenAI-Compatible Endpoint',
        prompt: `Stored in VS Code's secret storage, sent only to ${baseUrl === '' ? 'the endpoint in internalize.llm.baseUrl' : baseUrl}. Leave empty to remove the stored key.`,
        password: true,
        ignoreFocusOut: true,
      });
      if (key === undefined) return;
      if (key.trim() === '') {
        await ctx.extension.secrets.delete(API_KEY_SECRET);
        void vscode.window.showInformationMessage('Internalize: the API key was removed.');
      } else {
        await ctx.extension.secrets.store(API_KEY_SECRET, key.trim());
        void vscode.window.showInformationMessage('Internalize: the API key is stored in secret storage.');
      }
    }),
  );
}
