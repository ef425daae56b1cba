import * as vscode from 'vscode';
import { isTrajectorySource, type TrajectorySource } from '../core/trajectory.js';

/**
 * Every setting Internalize reads, typed once. No other file calls getConfiguration() with a string:
 * a renamed setting then breaks the build here, not a user's workflow somewhere else.
 */
export type Granularity = 'principle' | 'instance';
export type InjectionMode = 'stepwise' | 'global';
export type InjectionPersistence = 'ephemeral' | 'cumulative';
export type InjectionSelector = 'embedding' | 'rerank';
export type Regime = 'off-policy' | 'on-policy' | 'sft';
export type LlmProvider = 'auto' | 'vscode-lm' | 'openai-compatible' | 'local';
export type EmbeddingVariant = 'int8' | 'fp32';

export interface CaptureSourceSetting {
  readonly enabled: boolean;
  readonly paths: readonly string[];
}

function section(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('internalize');
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

function positiveInt(value: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? Math.min(value, max) : fallback;
}

export const config = {
  /** Where the database lives; empty means the extension's global storage. */
  storePath(): string {
    const value = section().get<unknown>('store.path');
    return typeof value === 'string' ? value.trim() : '';
  },
  captureEnabled(): boolean {
    return section().get<boolean>('capture.enabled', true);
  },
  /** Per-source overrides; a source that is absent keeps its defaults. Malformed entries are ignored, not fatal. */
  captureSources(): ReadonlyMap<TrajectorySource, CaptureSourceSetting> {
    const raw = section().get<unknown>('capture.sources');
    const out = new Map<TrajectorySource, CaptureSourceSetting>();
    if (typeof raw !== 'object' || raw === null) return out;
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
      if (!isTrajectorySource(name) || typeof value !== 'object' || value === null) continue;
      const v = value as { enabled?: unknown; paths?: unknown };
      out.set(name, {
        enabled: v.enabled !== false,
        paths: Array.isArray(v.paths) ? v.paths.filter((p): p is string => typeof p === 'string') : [],
      });
    }
    return out;
  },
  captureDebounceMs(): number {
    return positiveInt(section().get<unknown>('capture.debounceMs'), 750, 60_000);
  },
  granularity(): Granularity {
    return oneOf(section().get<unknown>('experience.granularity'), ['principle', 'instance'], 'principle');
  },
  autoAccept(): boolean {
    return section().get<boolean>('experience.autoAccept', false);
  },
  injectionMode(): InjectionMode {
    return oneOf(section().get<unknown>('injection.mode'), ['stepwise', 'global'], 'stepwise');
  },
  injectionPersistence(): InjectionPersistence {
    return oneOf(section().get<unknown>('injection.persistence'), ['ephemeral', 'cumulative'], 'ephemeral');
  },
  injectionTopK(): number {
    return positiveInt(section().get<unknown>('injection.topK'), 5, 8);
  },
  /** `rerank` asks the configured language model to re-rank the embedding candidates. */
  injectionSelector(): InjectionSelector {
    return oneOf(section().get<unknown>('injection.selector'), ['embedding', 'rerank'], 'embedding');
  },
  /** Cosine below which a principle is never injected; undefined: the planner's default. The planner's option parser checks the range. */
  injectionScoreFloor(): number | undefined {
    const value = section().get<unknown>('injection.scoreFloor');
    return typeof value === 'number' ? value : undefined;
  },
  /** The block's template (`{principles}` becomes the numbered list); undefined when empty: the planner's default. The parser refuses one without the placeholder. */
  injectionBlockTemplate(): string | undefined {
    const value = section().get<unknown>('injection.blockTemplate');
    return typeof value === 'string' && value.trim() !== '' ? value : undefined;
  },
  regime(): Regime {
    return oneOf(section().get<unknown>('distill.regime'), ['off-policy', 'on-policy', 'sft'], 'off-policy');
  },
  iterations(): number {
    return positiveInt(section().get<unknown>('distill.iterations'), 3, 20);
  },
  /** Which principles of the built-in suite a suite round runs (empty: all of them). */
  suitePrinciples(): string[] {
    const value = section().get<unknown>('distill.suitePrinciples', ['P2', 'P6']);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string' && /^P\d+$/u.test(v)) : ['P2', 'P6'];
  },
  /** The interpreter that runs the training worker: the setting, else `python3` on PATH. */
  pythonPath(): string {
    const value = section().get<unknown>('trainer.pythonPath');
    return typeof value === 'string' ? value.trim() : '';
  },
  baseModel(): string {
    const value = section().get<unknown>('trainer.baseModel');
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : 'smollm2-135m-instruct';
  },
  /** CPU training: give freed memory back to the system at once (less resident memory, more time). */
  leanMemory(): boolean {
    return section().get<unknown>('trainer.leanMemory') === true;
  },
  /** A local sentence-transformers ONNX export; empty means the built-in MiniLM export in the models cache. */
  embeddingModelPath(): string {
    const value = section().get<unknown>('embedding.modelPath');
    return typeof value === 'string' ? value.trim() : '';
  },
  embeddingVariant(): EmbeddingVariant {
    return oneOf(section().get<unknown>('embedding.variant'), ['int8', 'fp32'], 'fp32');
  },
  /** onnxruntime's intra-op threads; undefined (setting 0 or unset) lets the embedder choose from the cores. */
  embeddingThreads(): number | undefined {
    const value = section().get<unknown>('embedding.threads');
    return typeof value === 'number' && Number.isInteger(value) && value > 0 ? Math.min(value, 64) : undefined;
  },
  /** The model of the agent calling the language-model tool; principles internalized into it are not served. Empty: unknown. */
  servingTargetModel(): string {
    const value = section().get<unknown>('serving.targetModel');
    return typeof value === 'string' ? value.trim() : '';
  },
  /** When a served principle that keeps hurting is proposed for deletion (src/core/serving/deleteProposals.ts). */
  deleteProposalPolicy(): { readonly minHarmful: number; readonly margin: number } {
    return {
      minHarmful: positiveInt(section().get<unknown>('serving.deleteProposals.minHarmful'), 3, 1_000_000),
      margin: positiveInt(section().get<unknown>('serving.deleteProposals.margin'), 2, 1_000_000),
    };
  },
  llmProvider(): LlmProvider {
    return oneOf(section().get<unknown>('llm.provider'), ['auto', 'vscode-lm', 'openai-compatible', 'local'], 'auto');
  },
  /** The OpenAI-compatible endpoint (Ollama, vLLM, LM Studio, llama.cpp server); empty when none is set. */
  /** Which local model Summarize and Rewrite offer first: the training worker's base model, or Qwen2.5-Coder-1.5B through llama.cpp. */
  llmLocalModel(): 'trainer' | 'qwen2.5-coder-1.5b' {
    return oneOf(section().get<unknown>('llm.localModel'), ['trainer', 'qwen2.5-coder-1.5b'], 'trainer');
  },
  /** The interpreter with llama-cpp-python's server that runs the local Qwen summarizer; empty: not set up. */
  llamaServerPython(): string {
    const value = section().get<unknown>('llm.llamaServerPython');
    return typeof value === 'string' ? value.trim() : '';
  },
  llmBaseUrl(): string {
    const value = section().get<unknown>('llm.baseUrl');
    return typeof value === 'string' ? value.trim().replace(/\/+$/u, '') : '';
  },
  llmModel(): string {
    const value = section().get<unknown>('llm.model');
    return typeof value === 'string' ? value.trim() : '';
  },
  llmTimeoutMs(): number {
    return positiveInt(section().get<unknown>('llm.timeoutSeconds'), 120, 3600) * 1000;
  },
  /** How many distinct trajectories a mined pattern needs before it is proposed. */
  minSupport(): number {
    return positiveInt(section().get<unknown>('experience.minSupport'), 2, 1000);
  },
  /** The pool cap of the paper: additions beyond it are dropped with a reason. */
  maxPoolSize(): number {
    return positiveInt(section().get<unknown>('experience.maxPoolSize'), 50, 10_000);
  },
  /** Calls `listener` when any Internalize setting changes. */
  onDidChange(listener: (event: vscode.ConfigurationChangeEvent) => void): vscode.Disposable {
    return vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('internalize')) listener(event);
    });
  },
};
