import type { ChatRequest, LanguageModel } from '../../../src/core/llm/languageModel.js';

/** A model that answers from a script, in order (the last answer repeats), and keeps every request it was sent. */
export function scriptedModel(answers: readonly (string | Error)[], model = 'scripted'): LanguageModel & { readonly requests: ChatRequest[] } {
  const requests: ChatRequest[] = [];
  let i = 0;
  return {
    model,
    endpoint: 'test',
    requests,
    estimateTokens: (t) => Math.ceil(t.length / 4),
    chat(request) {
      requests.push(request);
      const answer = answers[Math.min(i++, answers.length - 1)] ?? '';
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve({ text: answer });
    },
  };
}
