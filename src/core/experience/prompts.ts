/**
 * The prompts of the extraction pipeline, in the principle-level variant (the product default, after
 * the paper) and the instance-level one (kept selectable so users can reproduce the comparison).
 */
import type { Granularity } from '../principle.js';
import type { ChatMessage } from '../llm/languageModel.js';
import { MAX_SENTENCE_WORDS } from './specificity.js';

export { MAX_SENTENCE_WORDS };

const SYSTEM = 'You study what coding agents did and distil lessons that help the next agent. Answer exactly in the format asked for.';

const STYLE: Record<Granularity, string> = {
  principle: `Each experience is ONE sentence of at most ${String(MAX_SENTENCE_WORDS)} words, phrased "When [condition], [strategy]." It must be general: no file paths, no code identifiers, no quoted literals, no URLs, no numbers from one run. It must help on other tasks in other repositories.`,
  instance: `Each experience is ONE sentence of at most ${String(MAX_SENTENCE_WORDS)} words, phrased "When [condition], [strategy]." It may name the concrete files, commands, identifiers and values of the episode, so the agent can repeat exactly what worked.`,
};

export function summaryPrompt(rendered: string, granularity: Granularity): ChatMessage[] {
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Summarize this agent trajectory step by step: what the agent tried, which steps helped, which errors happened and how (or whether) they were resolved, and why the run ended as it did.${granularity === 'principle' ? ' Describe actions in general terms.' : ''}\n\n${rendered}`,
    },
  ];
}

export function critiquePrompt(task: string, summaries: readonly { readonly outcome: string; readonly summary: string }[], granularity: Granularity): ChatMessage[] {
  const runs = summaries.map((s, i) => `Run ${String(i + 1)} (${s.outcome}):\n${s.summary}`).join('\n\n');
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `These runs attempted similar tasks (e.g. "${task}"). Contrast the successful runs with the failed ones: which decisions made the difference, which mistakes repeated, what a better agent would do. ${STYLE[granularity]} End with a list of candidate experiences.\n\n${runs}`,
    },
  ];
}

export function operationsPrompt(
  critique: string,
  nearest: readonly { readonly id: string; readonly text: string }[],
  granularity: Granularity,
  room: { readonly poolSize: number; readonly cap: number },
): ChatMessage[] {
  const pool = nearest.length === 0 ? '(the pool has no related experiences)' : nearest.map((p) => `[${p.id}] ${p.text}`).join('\n');
  const full = room.poolSize >= room.cap ? ` The pool is full (${String(room.cap)} items): do not ADD; prefer UPDATE of a related item or DELETE of a worse one.` : '';
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Update the experience pool with what this critique teaches. Related existing experiences:\n${pool}\n\nCritique:\n${critique}\n\nPropose operations: ADD a new experience, UPDATE an existing one (give its id and the new full sentence), DELETE one that is wrong or harmful (give its id), or NONE when nothing should change. Only use ids from the list above. ${STYLE[granularity]}${full}\nReply with JSON: {"operations":[{"op":"ADD","text":"...","rationale":"..."},{"op":"UPDATE","id":"P3","text":"...","rationale":"..."},{"op":"DELETE","id":"P4","rationale":"..."},{"op":"NONE","rationale":"..."}]}`,
    },
  ];
}

export function rewritePrompt(text: string, spans: readonly string[]): ChatMessage[] {
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Rewrite this experience so that it is general. Remove the instance details (${spans.map((s) => `"${s}"`).join(', ')}) while keeping the lesson. ${STYLE.principle}\nExperience: ${text}\nReply with JSON: {"text":"..."}`,
    },
  ];
}
