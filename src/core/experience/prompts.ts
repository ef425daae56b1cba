/**
 * The prompts of the extraction pipeline, in the principle-level variant (the product default, after
 * the paper) and the instance-level one (kept selectable so users can reproduce the comparison).
 */
import type { Granularity } from '../principle.js';
import type { ChatMessage } from '../llm/languageModel.js';
import { MAX_SENTENCE_WORDS } from './specificity.js';

export { MAX_SENTENCE_WORDS };

/** A group's answer proposes at most this many experiences, so that the JSON stays within the answer's room. */
export const MAX_CANDIDATES = 5;

const SYSTEM = 'You study what coding agents did and distil lessons that help the next agent. Answer exactly in the format asked for.';

const STYLE: Record<Granularity, string> = {
  principle: `Each experience is ONE sentence of at most ${String(MAX_SENTENCE_WORDS)} words, phrased "When [situation], [strategy]." It must be general: no file paths, no code identifiers, no tool or command names, no quoted literals, no URLs, no numbers from one run. It must help on other tasks in other repositories.`,
  instance: `Each experience is ONE sentence of at most ${String(MAX_SENTENCE_WORDS)} words, phrased "When [situation], [strategy]." It may name the concrete files, commands, identifiers and values of the episode, so the agent can repeat exactly what worked.`,
};

/**
 * Labelled examples. Small models copy the shape of what they are shown, so the good ones are the
 * shape we want and the bad ones are the instance-level texts models actually wrote on real runs.
 * The good ones teach lessons that bench/experience's reference set does not hold, so a model that
 * copies an example earns no agreement there.
 */
export const GOOD_EXAMPLES: readonly string[] = [
  'When a build fails after a dependency upgrade, read the first reported error before changing any code.',
  'When a search returns too many matches, narrow it to the relevant folder before opening files.',
  'When the request is ambiguous, ask one clarifying question before making large changes.',
];

/** Whether a proposed text is one of the prompt's own examples: a model that copies one learned nothing from the runs. */
export function copiesExample(text: string): boolean {
  const norm = (t: string): string => t.toLowerCase().replace(/[^a-z0-9]+/gu, ' ').trim();
  const mine = norm(text);
  return GOOD_EXAMPLES.some((e) => norm(e) === mine);
}

const EXAMPLES: Record<Granularity, string> = {
  principle: [
    'Good (general, holds in any repository):',
    ...GOOD_EXAMPLES.map((e) => `- ${e}`),
    'Bad (instance-level, tied to one run):',
    '- When pytest fails in tests/test_api.py, run "pip install -e ." first. (a path, a command, a literal)',
    '- When the regex pattern was incorrectly used, the agent replaced it with a more appropriate one. (tells what happened once, not what to do)',
    "- When faced with an input like 'What's 1+1?', answer 2. (one task's input)",
  ].join('\n'),
  instance: [
    'Example: When pytest fails in tests/test_api.py with an import error, run "pip install -e ." before editing code.',
  ].join('\n'),
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
  const aim =
    granularity === 'principle'
      ? 'Look for what generalizes: a situation that recurs across runs and tasks, and the strategy that worked in it. Ignore what belongs to one run only (its files, names, values).'
      : 'Keep the concrete details that made the difference.';
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `These runs attempted similar tasks (e.g. "${task}"). Contrast the successful runs with the failed ones: which decisions made the difference, which mistakes repeated, what a better agent would do. ${aim} ${STYLE[granularity]}\n${EXAMPLES[granularity]}\nEnd with a list of at most ${String(MAX_CANDIDATES)} candidate experiences.\n\n${runs}`,
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
      content: `Update the experience pool with what this critique teaches. Related existing experiences:\n${pool}\n\nCritique:\n${critique}\n\nPropose at most ${String(MAX_CANDIDATES)} operations: ADD a new experience, UPDATE an existing one (give its id and the new full sentence), DELETE one that is wrong or harmful (give its id), or NONE when nothing should change. Only use ids from the list above. Prefer UPDATE of a related experience over an ADD that says almost the same. ${STYLE[granularity]}\n${EXAMPLES[granularity]}${full}\nReply with JSON: {"operations":[{"op":"ADD","text":"...","rationale":"..."},{"op":"UPDATE","id":"P3","text":"...","rationale":"..."},{"op":"DELETE","id":"P4","rationale":"..."},{"op":"NONE","rationale":"..."}]}`,
    },
  ];
}

/** Asks for one rewrite of a text that failed the principle check, naming each problem. */
export function rewritePrompt(text: string, problems: string): ChatMessage[] {
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Rewrite this experience so that it is a general principle. Its problems: ${problems}. Keep the lesson, drop the details of the one run, and name the situation in general words. ${STYLE.principle}\n${EXAMPLES.principle}\nExperience: ${text}\nReply with JSON: {"text":"..."}`,
    },
  ];
}
