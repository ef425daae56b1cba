/**
 * The normalized shape of one coding-agent run. Every capture adapter produces these;
 * everything downstream (store, experience, injection, distill) reads only these.
 */

export const TRAJECTORY_SOURCES = [
  'claude-code',
  'codex',
  'copilot-chat',
  'cline',
  'roo',
  'gemini-cli',
  'openhands',
  'swe-agent',
  'atif',
  'openai-messages',
  'aider',
] as const;

export type TrajectorySource = (typeof TRAJECTORY_SOURCES)[number];

export type OutcomeLabel = 'success' | 'failure' | 'unknown';

/** Where an outcome came from, so that a user can see why a run counts as a success. */
export type OutcomeEvidenceKind = 'reward' | 'exit-status' | 'test-result' | 'user-verdict' | 'error' | 'heuristic';

export interface OutcomeEvidence {
  readonly kind: OutcomeEvidenceKind;
  /** Human-readable detail, e.g. "reward 1.0" or "pytest: 3 failed". */
  readonly detail: string;
  /** Step index the evidence was read from, when it came from a step. */
  readonly stepIndex?: number;
}

export interface Outcome {
  readonly label: OutcomeLabel;
  readonly evidence: readonly OutcomeEvidence[];
  readonly reward?: number;
}

export interface TokenUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens?: number;
  readonly cacheWriteTokens?: number;
}

export interface ToolCall {
  /** The agent's own call id; synthesized (`<step>-<n>`) when the log has none. */
  readonly id: string;
  readonly name: string;
  /** Parsed JSON arguments; a string that was not JSON is kept as `{ raw: string }`. */
  readonly arguments: Readonly<Record<string, unknown>>;
}

export interface Observation {
  /** The call this observation answers; undefined for observations not tied to a call (e.g. user feedback). */
  readonly callId?: string;
  readonly content: string;
  readonly isError: boolean;
  readonly exitCode?: number;
}

/** One assistant step: what the agent thought, what it called, and what came back. */
export interface Step {
  readonly index: number;
  /** Free text the assistant said before or instead of calling tools. */
  readonly text?: string;
  readonly thought?: string;
  readonly toolCalls: readonly ToolCall[];
  readonly observations: readonly Observation[];
  /** User messages that arrived after this step (follow-up instructions, interruptions). */
  readonly userMessages?: readonly string[];
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly model?: string;
  readonly usage?: TokenUsage;
}

export interface Trajectory {
  /** Stable hash of source + session id; re-import produces the same id. */
  readonly id: string;
  readonly source: TrajectorySource;
  readonly sessionId: string;
  readonly workspace?: string;
  /** The first user request. */
  readonly task: string;
  readonly systemPrompt?: string;
  readonly model?: string;
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly outcome: Outcome;
  readonly usage?: TokenUsage;
  readonly steps: readonly Step[];
  /** Secrets replaced before storage, by rule id. */
  readonly redactions?: Readonly<Record<string, number>>;
  /** Source file and, for multi-file sessions, the parent session (sub-agents, sidechains). */
  readonly sourcePath?: string;
  readonly parentSessionId?: string;
}

/** A decision state: everything the agent had seen before taking step `stepIndex`. */
export interface DecisionState {
  readonly trajectoryId: string;
  readonly stepIndex: number;
  readonly task: string;
  readonly history: readonly Step[];
}

/** The id every adapter must use, so that the same session re-imported lands on the same row. */
export function trajectoryId(source: TrajectorySource, sessionId: string): string {
  // FNV-1a 64-bit over UTF-8: stable, dependency-free, and short enough for a primary key.
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  for (const byte of new TextEncoder().encode(`${source}\u0000${sessionId}`)) {
    hash ^= BigInt(byte);
    hash = (hash * prime) & 0xffffffffffffffffn;
  }
  return `${source}:${hash.toString(16).padStart(16, '0')}`;
}

export function isTrajectorySource(value: string): value is TrajectorySource {
  return (TRAJECTORY_SOURCES as readonly string[]).includes(value);
}

export function decisionStates(trajectory: Trajectory): DecisionState[] {
  return trajectory.steps.map((step, i) => ({
    trajectoryId: trajectory.id,
    stepIndex: step.index,
    task: trajectory.task,
    history: trajectory.steps.slice(0, i),
  }));
}

export const UNKNOWN_OUTCOME: Outcome = { label: 'unknown', evidence: [] };
