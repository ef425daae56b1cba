/** The principle check's offer: a general rewrite of a principle through the model, when one is available. */
import { z } from 'zod';
import type { LanguageModel } from '../llm/languageModel.js';
import { chatStructured } from '../llm/structured.js';
import { REWRITE_MAX_TOKENS } from './pipeline.js';
import { rewritePrompt } from './prompts.js';
import type { PrincipleProblem, SpecificitySpan } from './specificity.js';
import { checkPrinciple, describeProblems } from './specificity.js';

export interface RewriteSuggestion {
  readonly text: string;
  /** Instance details the rewrite still carries (empty when it is general). */
  readonly remaining: readonly SpecificitySpan[];
  /** Every problem the rewrite still has: form, word limit, instance details (empty when it can be proposed). */
  readonly problems: readonly PrincipleProblem[];
}

/**
 * Returns undefined when the text already passes the principle check (form, word limit, no instance
 * details); the caller shows the suggestion, never applies it silently.
 */
export async function suggestGeneralRewrite(model: LanguageModel, text: string, signal?: AbortSignal): Promise<RewriteSuggestion | undefined> {
  const problems = checkPrinciple(text);
  if (problems.length === 0) return undefined;
  const answer = await chatStructured(model, rewritePrompt(text, describeProblems(problems)), z.object({ text: z.string().min(1) }), { name: 'rewrite', signal, maxTokens: REWRITE_MAX_TOKENS });
  const after = checkPrinciple(answer.text.trim());
  return { text: answer.text.trim(), remaining: after.flatMap((p) => (p.kind === 'specific' ? p.spans : [])), problems: after };
}
