/**
 * The injection planner's contract: what a selector returns for one decision state, and what the
 * planner returns for a whole trajectory. The preview webview, the CLI's `preview`, the dataset
 * builder of distillation rounds and the MCP server all read these shapes, so the same trajectory
 * and pool give the same answer everywhere.
 */

import type { ChatMessage } from '../llm/languageModel.js';

/** `stepwise`: at each decision state, that state's principles (the paper's). `global`: the pool (or its task top-k) once, in the system prompt. */
export type InjectionMode = 'stepwise' | 'global';
/** `ephemeral`: only the current turn's block is present (the paper's). `cumulative`: earlier blocks stay. */
export type InjectionPersistence = 'ephemeral' | 'cumulative';
/** `embedding`: cosine top-k with MMR. `rerank`: an LLM re-ranks the embedding candidates (3–8 ids as JSON). */
export type SelectorKind = 'embedding' | 'rerank';

export interface InjectionOptions {
  readonly mode: InjectionMode;
  readonly persistence: InjectionPersistence;
  readonly selector: SelectorKind;
  /** Principles per block, 1–8. */
  readonly k: number;
  /** Cosine below which a principle is never selected. */
  readonly scoreFloor: number;
  /** MMR trade-off: 1 = relevance only, 0 = diversity only. */
  readonly mmrLambda: number;
  /** Tokens the decision state may take (task + most recent steps) before it is embedded. */
  readonly stateTokenBudget: number;
  /** The block's template; `{principles}` is replaced by the numbered list. */
  readonly blockTemplate: string;
  /** The model whose internalized principles are left out; undefined: leave none out. */
  readonly targetModel?: string;
  /** Show principles internalized for `targetModel` instead of leaving them out. */
  readonly includeInternalized: boolean;
  /** The workspace and languages of the trajectory, for scope filtering (derived when absent). */
  readonly workspace?: string;
}

/** Why a principle was chosen, in parts the preview can show. */
export interface SelectionReason {
  /** Cosine between the decision state and the principle (`when` + text). */
  readonly cosine: number;
  /** The MMR value at the moment it was picked (relevance minus redundancy). */
  readonly mmr: number;
  /** The scope that let it through (`global`, `workspace`, `language:python`, `tool:Bash`). */
  readonly scope: string;
  /** Its position in the LLM re-rank's answer, when the re-rank ran and kept it. */
  readonly rerankPosition?: number;
}

export interface SelectedPrinciple {
  readonly id: string;
  readonly text: string;
  readonly reason: SelectionReason;
}

/** A principle that would have fit but was left out, and why (shown behind the preview's toggle). */
export interface ExcludedPrinciple {
  readonly id: string;
  readonly cause: 'internalized' | 'scope' | 'below-floor';
  readonly cosine: number;
}

export interface StepPlan {
  /** The assistant step this plan precedes (its decision state is everything before it). */
  readonly stepIndex: number;
  /** The decision state as it was embedded (task + recent steps, truncated to the budget). */
  readonly state: string;
  readonly stateTokens: number;
  readonly selected: readonly SelectedPrinciple[];
  readonly excluded: readonly ExcludedPrinciple[];
  /** The rendered block appended to the latest observation ('' when nothing was selected or mode is global). */
  readonly block: string;
  readonly blockTokens: number;
  /** The re-rank fell back to embedding order (bad output, unknown ids, model error): the reason. */
  readonly rerankFallback?: string;
}

export interface InjectionPlan {
  readonly trajectoryId: string;
  readonly options: InjectionOptions;
  /** Which embedder ranked the pool, and why it is the one active (ONNX, or lexical with the reason). */
  readonly embedder: { readonly id: string; readonly description: string };
  /** The global block (mode `global` only). */
  readonly globalBlock?: string;
  /** What the global block holds, in block order (mode `global` only). */
  readonly globalSelected?: readonly SelectedPrinciple[];
  /** Principles a filter kept out of the global block (mode `global` only). */
  readonly globalExcluded?: readonly ExcludedPrinciple[];
  readonly globalBlockTokens?: number;
  readonly steps: readonly StepPlan[];
  /** How token counts were made: the target model's tokenizer, or an estimate. */
  readonly tokenCounter: 'model' | 'estimate';
}

/** A trajectory as the model sees it: without principles (student) and with them (teacher). */
export interface RenderedViews {
  readonly student: readonly ChatMessage[];
  readonly teacher: readonly ChatMessage[];
  /** Per teacher message, the [start, end) character ranges of injected text, for highlighting. */
  readonly injectedRanges: readonly (readonly (readonly [number, number])[])[];
}
