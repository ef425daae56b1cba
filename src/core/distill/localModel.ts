/**
 * The LanguageModel port over the training worker's own model (`generate`): the built-in
 * SmolLM2-135M-Instruct by default, so principle extraction runs with no account and no network.
 * Its quality is that of the model it runs; every principle it writes records that model's name.
 * The worker cannot constrain output to a JSON schema, so structured stages rely on the caller's
 * schema-in-prompt and one repair attempt, and fail clearly when a small model cannot comply.
 */
import type { ChatRequest, ChatResponse, LanguageModel } from '../llm/languageModel.js';
import { LanguageModelError, estimateTokens } from '../llm/languageModel.js';
import type { WorkerClient } from './worker.js';
import { WorkerError } from './worker.js';

export interface LocalModelOptions {
  /** A model folder, a .gguf file or the built-in 'smollm2-135m-instruct'. */
  readonly model: string;
  readonly modelsDir?: string;
  /** Started on first use and kept: the worker keeps the model loaded between calls. */
  readonly worker: () => WorkerClient;
  readonly maxNewTokens?: number;
  /** Told about every worker failure, so the owner can replace a worker that has exited. */
  readonly onWorkerError?: (error: unknown) => void;
}

export function localWorkerModel(options: LocalModelOptions): LanguageModel {
  const endpoint = 'local worker';
  return {
    model: options.model,
    endpoint,
    estimateTokens,
    async chat(request: ChatRequest): Promise<ChatResponse> {
      const aborted = (): boolean => request.signal?.aborted === true;
      if (aborted()) throw new LanguageModelError(`The request to ${options.model} was cancelled.`, 'aborted', endpoint, options.model);
      const worker = options.worker();
      const cancel = (): void => {
        void worker.cancel().catch(() => undefined);
      };
      request.signal?.addEventListener('abort', cancel, { once: true });
      try {
        const result = await worker.generate({
          model: options.model,
          models_dir: options.modelsDir,
          conversations: [request.messages.map((m) => ({ role: m.role, content: m.content }))],
          max_new_tokens: request.maxTokens ?? options.maxNewTokens ?? 512,
          temperature: request.temperature ?? 0,
        });
        const text = result.generations[0]?.text ?? '';
        request.onText?.(text);
        return { text, usage: { promptTokens: 0, completionTokens: result.generations[0]?.tokens ?? 0 } };
      } catch (error) {
        options.onWorkerError?.(error);
        if (aborted()) throw new LanguageModelError(`The request to ${options.model} was cancelled.`, 'aborted', endpoint, options.model);
        const message = error instanceof WorkerError || error instanceof Error ? error.message : String(error);
        throw new LanguageModelError(`The local model ${options.model} failed: ${message}`, 'server', endpoint, options.model);
      } finally {
        request.signal?.removeEventListener('abort', cancel);
      }
    },
  };
}
