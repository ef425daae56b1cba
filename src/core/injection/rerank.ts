/**
 * The paper's selector: a language model reads the decision state and the embedding's top
 * candidates and answers with the 3–8 ids that apply to the next step. Its answer is checked
 * (JSON, known ids, no repeats, 3–8 of them); anything else falls back to the embedding order with
 * the reason kept, so a bad answer costs a step its re-rank, never the plan. There is no repair
 * round: at one call per decision state, a second call per bad answer would double the cost.
 */
import { z } from 'zod';
import type { ChatMessage, LanguageModel } from '../llm/languageModel.js';
import { extractJson } from '../llm/structured.js';

export const RERANK_MIN = 3;
export const RERANK_MAX = 8;

export interface RerankCandidate {
  readonly id: string;
  readonly text: string;
}

export type RerankResult = { readonly ok: true; readonly ids: readonly string[] } | { readonly ok: false; readonly reason: string };

const answerSchema = z.union([z.object({ ids: z.array(z.string()) }), z.array(z.string())]);

/** The JSON schema sent with the request (adapters that enforce structured output use it). */
export const RERANK_JSON_SCHEMA = {
  name: 'principle_selection',
  schema: {
    type: 'object',
    properties: { ids: { type: 'array', items: { type: 'string' }, minItems: RERANK_MIN, maxItems: RERANK_MAX } },
    required: ['ids'],
    additionalProperties: false,
  },
} as const;

export function rerankPrompt(state: string, candidates: readonly RerankCandidate[]): ChatMessage[] {
  const want = Math.min(RERANK_MIN, candidates.length);
  const list = candidates.map((c) => `${c.id}: ${c.text.replace(/\s+/gu, ' ').trim()}`).join('\n');
  return [
    {
      role: 'system',
      content: 'You choose which experience principles help a coding agent with its next step. Answer with JSON only.',
    },
    {
      role: 'user',
      content:
        `The agent's current state (task and most recent steps):\n<state>\n${state}\n</state>\n\n` +
        `Candidate principles:\n${list}\n\n` +
        `Reply with {"ids": [...]}: between ${String(want)} and ${String(Math.min(RERANK_MAX, candidates.length))} ids from the list above ` +
        'whose situation matches this state, the most useful first. Use only ids from the list.',
    },
  ];
}

/** Checks an answer against the candidates: the chosen ids in order, or why they cannot be used. */
export function parseRerankAnswer(text: string, candidates: readonly RerankCandidate[]): RerankResult {
  let json: unknown;
  try {
    json = extractJson(text);
  } catch {
    return { ok: false, reason: `the answer was not JSON ("${snippet(text)}")` };
  }
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `the answer was JSON but not a list of ids (${parsed.error.issues[0]?.message ?? 'wrong shape'})` };
  const raw = (Array.isArray(parsed.data) ? parsed.data : parsed.data.ids).map((id) => id.trim());
  const known = new Set(candidates.map((c) => c.id));
  const unknown = raw.filter((id) => !known.has(id));
  if (unknown.length > 0) return { ok: false, reason: `the answer named ids that are not candidates: ${unknown.slice(0, 5).join(', ')}` };
  const ids = [...new Set(raw)];
  const min = Math.min(RERANK_MIN, candidates.length);
  if (ids.length < min) return { ok: false, reason: `the answer chose ${String(ids.length)} distinct ids; at least ${String(min)} are needed` };
  if (ids.length > RERANK_MAX) return { ok: false, reason: `the answer chose ${String(ids.length)} ids; at most ${String(RERANK_MAX)} are allowed` };
  return { ok: true, ids };
}

function snippet(text: string): string {
  const one = text.replace(/\s+/gu, ' ').trim();
  return one.length > 60 ? `${one.slice(0, 57)}…` : one;
}

/**
 * Asks `model` to choose among `candidates` for `state`. The model should already be the guarded
 * one (redaction re-check on every message), as the planner passes it.
 */
export async function rerank(model: LanguageModel, state: string, candidates: readonly RerankCandidate[], signal?: AbortSignal): Promise<RerankResult> {
  if (candidates.length === 0) return { ok: false, reason: 'no candidates above the score floor to re-rank' };
  let answer: string;
  try {
    const response = await model.chat({ messages: rerankPrompt(state, candidates), jsonSchema: RERANK_JSON_SCHEMA, temperature: 0, maxTokens: 128, signal });
    answer = response.text;
  } catch (error) {
    if (signal?.aborted === true) throw error;
    return { ok: false, reason: `${model.model} failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  return parseRerankAnswer(answer, candidates);
}
