/**
 * The serving contract: what a running agent sends at a decision state and what it gets back. The
 * MCP server, the VS Code language-model tool and the benchmark all go through servePrinciples, so
 * the same state and pool give the same principles whichever front end asked.
 */
import type { TextEmbedder } from '../embedding/embedder.js';
import type { TextRedactor } from '../experience/pipeline.js';
import type { Store } from '../store/index.js';
import type { Verdict } from '../store/serveCalls.js';
import type { SegmentCache, StateEmbedding } from './stateVector.js';

export type { Verdict } from '../store/serveCalls.js';

/** One step the agent took: what it did (a command, an edit, what it said) and what came back. */
export interface ServeStep {
  readonly action?: string;
  readonly observation?: string;
  /** The tool it called (`Bash`, `Edit` …), for `tool:` scoped principles. */
  readonly tool?: string;
  /** Whether the observation was an error (a failed command, a failing test). */
  readonly isError?: boolean;
}

/** The agent's decision state: the task and the recent steps, or a free-text description of the situation. */
export interface ServeState {
  readonly task?: string;
  readonly steps?: readonly ServeStep[];
  readonly text?: string;
}

export interface ServeInput {
  readonly store: Store;
  readonly embedder: TextEmbedder;
  readonly state: ServeState;
  /** Principles to return, 1–8 (default 5, the injection default). */
  readonly k?: number;
  /** The agent's model: principles internalized for it are left out. */
  readonly targetModel?: string;
  /** The agent's workspace folder, for `workspace` scoped principles. */
  readonly workspace?: string;
  /** Who asked (`claude-code`, `vscode-lm-tool` …), kept in the call log. */
  readonly client?: string;
  /** The secret check applied to the state before it is logged; the capture detectors when absent. */
  readonly redact?: TextRedactor;
  /** Tokens the decision state may take before it is embedded (default: the injection default). */
  readonly stateTokenBudget?: number;
  /**
   * `segments` (default): the task and each recent step embedded apart and cached, so a call within
   * a session embeds only its newest step; `whole`: the built state in one piece, as the planner does.
   */
  readonly stateEmbedding?: StateEmbedding;
  /** Where segment vectors are kept between calls; the process's shared cache when absent. */
  readonly segmentCache?: SegmentCache;
  /** Told how long each part of the call took, in order (the latency benchmark's profile). */
  readonly trace?: (part: ServePart, ms: number) => void;
  /**
   * false: the call is not logged and nothing is written. Only for a serving process's warm-up, which runs
   * the whole path once so that the agent's first call finds it compiled and its buffers sized.
   */
  readonly log?: boolean;
  readonly signal?: AbortSignal;
}

/** The parts of a call, in the order they run. */
export type ServePart = 'state' | 'pool' | 'masks' | 'embed' | 'select' | 'records' | 'redact served' | 'redact state' | 'log';

export interface ServedPrinciple {
  readonly id: string;
  readonly text: string;
  readonly when: string;
  /** Cosine between the decision state and the principle. */
  readonly score: number;
  /** In words: the similarity, the diversity penalty, the scope that let it through, its track record. */
  readonly why: string;
  readonly helpful: number;
  readonly harmful: number;
}

export interface ServeResult {
  readonly principles: readonly ServedPrinciple[];
  /** Which embedder ranked them, and why that one (ONNX, or lexical with the reason). */
  readonly embedder: string;
  /** Whether the state was cut to fit the token budget (long observations from the middle, older steps dropped). */
  readonly truncated: boolean;
  /** The logged call's id: feedback names it, and a captured run that holds it is linked to it. */
  readonly callId: string;
  /** Accepted principles in the pool. */
  readonly poolSize: number;
  /** Left out because the target model has internalized them. */
  readonly internalized: readonly string[];
  /** Said to the agent when nothing could be served and why (empty pool …). */
  readonly message?: string;
}

export interface OutcomeInput {
  readonly principleId: string;
  readonly verdict: Verdict;
  readonly note?: string;
  readonly callId?: string;
}

/** A request that cannot be served as asked; the message says what to change. */
export class ServingError extends Error {
  override readonly name = 'ServingError';
}
