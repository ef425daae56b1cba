/**
 * The decision state of DESIGN.md §4 as text: the task, then the most recent steps (what the agent
 * said, what it called, what came back), within a token budget. This text is what gets embedded and
 * what a re-rank model reads, so it must stay bounded whatever the trajectory holds: a 5 MB
 * observation is cut from the middle (its start and its end carry the command and the verdict)
 * before anything counts or embeds it.
 */
import { estimateTokens } from '../llm/languageModel.js';
import type { Step, Trajectory } from '../trajectory.js';

export type TokenCounter = (text: string) => number;

export interface StateText {
  /** The assistant step this state precedes (one past the last step: the next decision). */
  readonly stepIndex: number;
  readonly text: string;
  readonly tokens: number;
  /** How many earlier steps made it into the budget (the most recent ones). */
  readonly stepsIncluded: number;
  /** Whether anything was cut: a piece shortened from the middle, or older steps left out. */
  readonly truncated: boolean;
}

/**
 * A counter never sees more than this many characters per budgeted token: real tokenizers average
 * 3–5 characters a token on code and prose, so the pre-cut keeps everything that could fit.
 */
const CHARS_PER_TOKEN_CAP = 8;
/** A step squeezed below this is noise; older steps are dropped instead. */
const MIN_STEP_TOKENS = 16;

/** Keeps the start and the end of `text` within `maxChars`, saying how much was left out. */
export function truncateMiddle(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const omitted = (n: number): string => ` …[${String(n)} characters omitted]… `;
  const room = Math.max(0, maxChars - omitted(text.length).length);
  let head = Math.ceil(room / 2);
  let tail = room - head;
  // Never split a surrogate pair: a lone half would become U+FFFD in the tokenizer and the UI.
  if (head > 0 && isHighSurrogate(text.charCodeAt(head - 1))) head--;
  if (tail > 0 && isLowSurrogate(text.charCodeAt(text.length - tail))) tail--;
  return `${text.slice(0, head)}${omitted(text.length - head - tail)}${text.slice(text.length - tail)}`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** `text` shortened from the middle until `count` says it fits `maxTokens`. */
export function fitTokens(text: string, maxTokens: number, count: TokenCounter): { text: string; tokens: number; cut: boolean } {
  const budget = Math.max(0, Math.floor(maxTokens));
  let out = truncateMiddle(text, budget * CHARS_PER_TOKEN_CAP);
  let tokens = count(out);
  // Each pass scales by the observed characters-per-token, with a margin for the marker.
  for (let pass = 0; tokens > budget && pass < 8; pass++) {
    const chars = Math.floor((out.length * budget) / Math.max(tokens, 1) * 0.9);
    out = chars <= 0 ? '' : truncateMiddle(text, chars);
    tokens = count(out);
  }
  if (tokens > budget) {
    out = '';
    tokens = 0;
  }
  return { text: out, tokens, cut: out.length !== text.length };
}

/** The position in `trajectory.steps` of the step with index `stepIndex`, or one past the end. */
export function stepPosition(trajectory: Trajectory, stepIndex: number): number {
  const at = trajectory.steps.findIndex((s) => s.index === stepIndex);
  if (at >= 0) return at;
  const last = trajectory.steps.at(-1);
  if ((last === undefined && stepIndex === 0) || (last !== undefined && stepIndex === last.index + 1)) return trajectory.steps.length;
  throw new RangeError(
    `Trajectory ${trajectory.id} has no step ${String(stepIndex)} (its steps are ${trajectory.steps.length === 0 ? 'none' : `${String(trajectory.steps[0]?.index)}…${String(last?.index)}`}; one past the last is the next decision).`,
  );
}

function stringifyArguments(args: Readonly<Record<string, unknown>>, maxChars: number): string {
  const raw = args.raw;
  if (Object.keys(args).length === 1 && typeof raw === 'string') return truncateMiddle(raw, maxChars);
  let json: string;
  try {
    json = JSON.stringify(args);
  } catch {
    json = '[arguments not serializable]';
  }
  return truncateMiddle(json, maxChars);
}

/** One step as the state shows it; every piece pre-cut to `maxChars` so nothing large is copied twice. */
export function stepLines(step: Step, maxChars: number): string {
  const lines: string[] = [];
  const said = step.text ?? step.thought;
  if (said !== undefined && said.trim() !== '') lines.push(`Assistant: ${truncateMiddle(said.trim(), maxChars)}`);
  for (const call of step.toolCalls) lines.push(`Call ${call.name} ${stringifyArguments(call.arguments, maxChars)}`);
  for (const obs of step.observations) {
    const flags = [obs.isError ? 'error' : '', obs.exitCode === undefined ? '' : `exit ${String(obs.exitCode)}`].filter((f) => f !== '');
    lines.push(`Result${flags.length > 0 ? ` (${flags.join(', ')})` : ''}: ${truncateMiddle(obs.content, maxChars)}`);
  }
  for (const message of step.userMessages ?? []) lines.push(`User: ${truncateMiddle(message, maxChars)}`);
  return lines.join('\n');
}

/**
 * The decision state before step `stepIndex`, within `budgetTokens`: the task takes at most a
 * third, the most recent step at most half of what is left (so one huge observation cannot push
 * out every earlier step), and older steps fill the rest, newest first, shown oldest first.
 */
export function decisionState(trajectory: Trajectory, stepIndex: number, budgetTokens: number, countTokens: TokenCounter = estimateTokens): StateText {
  const position = stepPosition(trajectory, stepIndex);
  const budget = Math.max(MIN_STEP_TOKENS * 2, Math.floor(budgetTokens));
  const task = fitTokens(`Task: ${trajectory.task.trim()}`, Math.floor(budget / 3), countTokens);
  let remaining = budget - task.tokens;
  let truncated = task.cut;
  const recent: string[] = [];
  for (let i = position - 1; i >= 0 && remaining >= MIN_STEP_TOKENS; i--) {
    const step = trajectory.steps[i];
    if (step === undefined) break;
    const share = recent.length === 0 ? Math.max(Math.floor(remaining / 2), MIN_STEP_TOKENS) : remaining;
    const fitted = fitTokens(stepLines(step, share * CHARS_PER_TOKEN_CAP), share, countTokens);
    if (fitted.text === '' || (fitted.cut && fitted.tokens < MIN_STEP_TOKENS)) {
      truncated = true;
      break;
    }
    recent.push(`[step ${String(step.index)}]\n${fitted.text}`);
    truncated ||= fitted.cut;
    remaining -= fitted.tokens + 3;
  }
  if (recent.length < position) truncated = true;
  const text = [task.text, ...recent.reverse()].join('\n');
  return { stepIndex, text, tokens: countTokens(text), stepsIncluded: recent.length, truncated };
}
