/**
 * A client's decision state as the injection planner sees one: the same text (task, then the most
 * recent steps within the token budget, long pieces cut from the middle), so a state served to a
 * running agent and the same state in a captured trajectory rank the pool alike. Any size is
 * accepted: what does not fit is cut and the result says so.
 */
import { createHash } from 'node:crypto';
import { estimateTokens } from '../llm/languageModel.js';
import { decisionState, fitTokens, truncateMiddle } from '../injection/state.js';
import { trajectoryFacts, type TrajectoryFacts } from '../injection/scope.js';
import type { Step, Trajectory } from '../trajectory.js';
import { ServingError, type ServeState } from './types.js';

/** Older steps than this are never read: the budget holds a handful, and scope facts need no more. */
const MAX_STEPS = 256;
/** A piece of a step is pre-cut to this before anything else looks at it (the budget keeps far less). */
const MAX_PIECE_CHARS = 64 * 1024;

export interface BuiltState {
  readonly text: string;
  readonly truncated: boolean;
  /** sha256 of the state as the client sent it (canonical JSON), for linking a captured call back to its log row. */
  readonly hash: string;
  readonly facts: TrajectoryFacts;
  /** The state as a trajectory (task, kept steps), for embedding it segment by segment. */
  readonly trajectory: Trajectory;
}

/** JSON with object keys sorted, so the same arguments hash alike whatever order a client wrote them in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  // undefined (and a function or symbol, which parsed JSON never holds) has no JSON text of its own.
  return value === undefined ? 'null' : JSON.stringify(value);
}

/** The hash a call's state is logged under: its task, steps and text, nothing else of the request. */
export function stateHash(state: ServeState): string {
  const picked = { task: state.task, steps: state.steps, text: state.text };
  return createHash('sha256').update(canonicalJson(picked), 'utf8').digest('hex');
}

/** The state as a trajectory, so decisionState and the scope facts read it as they read a captured run. */
function asTrajectory(state: ServeState, hash: string, workspace: string | undefined): { trajectory: Trajectory; dropped: boolean } {
  const all = state.steps ?? [];
  const kept = all.slice(Math.max(0, all.length - MAX_STEPS));
  const steps: Step[] = kept.map((s, index) => {
    const action = s.action === undefined ? undefined : truncateMiddle(s.action, MAX_PIECE_CHARS);
    const tool = s.tool?.trim();
    return {
      index,
      // With a tool named, the action is that tool's input; without, it is what the agent did or said.
      ...(tool !== undefined && tool !== '' ? {} : { text: action }),
      toolCalls: tool !== undefined && tool !== '' ? [{ id: `call-${String(index)}`, name: tool, arguments: { raw: action ?? '' } }] : [],
      observations: s.observation === undefined ? [] : [{ content: truncateMiddle(s.observation, MAX_PIECE_CHARS), isError: s.isError ?? false }],
    };
  });
  const task = [state.task?.trim() ?? '', state.text === undefined || state.text.trim() === '' ? '' : state.task === undefined ? state.text.trim() : `Situation: ${state.text.trim()}`]
    .filter((t) => t !== '')
    .join('\n');
  const trajectory: Trajectory = {
    id: `serve:${hash.slice(0, 16)}`,
    source: 'openai-messages',
    sessionId: hash,
    task: truncateMiddle(task, MAX_PIECE_CHARS),
    outcome: { label: 'unknown', evidence: [] },
    steps,
    ...(workspace === undefined ? {} : { workspace }),
  };
  return { trajectory, dropped: kept.length < all.length };
}

/** Builds the decision state of a serve request within `budgetTokens`. */
export function buildState(state: ServeState, budgetTokens: number, workspace?: string): BuiltState {
  const hasText = (s: string | undefined): boolean => s !== undefined && s.trim() !== '';
  const steps = state.steps ?? [];
  if (!hasText(state.task) && !hasText(state.text) && !steps.some((s) => hasText(s.action) || hasText(s.observation))) {
    throw new ServingError('The decision state is empty: give the task and the recent steps (action, observation), or a text that describes the situation.');
  }
  const hash = stateHash(state);
  const { trajectory, dropped } = asTrajectory(state, hash, workspace);
  const facts = trajectoryFacts(trajectory, workspace);
  if (trajectory.steps.length === 0) {
    // A free-text situation is the whole state: it gets the whole budget, not the task's third.
    const fitted = fitTokens(trajectory.task, budgetTokens, estimateTokens);
    return { text: fitted.text, truncated: fitted.cut, hash, facts, trajectory };
  }
  const built = decisionState(trajectory, trajectory.steps.length, budgetTokens);
  return { text: built.text, truncated: built.truncated || dropped, hash, facts, trajectory };
}
