import { z } from 'zod';

/**
 * Messages between the extension host and the Injection Preview webview. The host plans a whole
 * trajectory but sends only what is in view: timeline rows by range and one step's detail on
 * demand, so a 5,000-step trajectory never crosses the boundary at once. Both ends parse what they
 * receive with these schemas.
 */

/** The largest step count a row request may ask for at once (a screenful is a few dozen). */
export const MAX_ROWS_PER_REQUEST = 200;
/** The most steps a divergence request may name (the visible ones). */
export const MAX_DIVERGENCE_STEPS = 64;

const principleId = z.string().min(1).max(64);
const position = z.number().int().nonnegative();

/** Step-wise with each turn's block only, step-wise with earlier blocks kept, or the pool once in the system prompt. */
export const previewModeSchema = z.enum(['stepwise-ephemeral', 'stepwise-cumulative', 'global']);
export type PreviewMode = z.infer<typeof previewModeSchema>;

/** The toggles the webview may change; everything else comes from settings. */
export const previewOptionsSchema = z.object({
  mode: previewModeSchema,
  k: z.number().int().min(1).max(8),
  selector: z.enum(['embedding', 'rerank']),
  includeInternalized: z.boolean(),
});
export type PreviewOptions = z.infer<typeof previewOptionsSchema>;

/** One timeline row: enough to scan a long run, nothing that needs the step's full text. */
export const stepRowSchema = z.object({
  /** Position in the plan's step list (the virtual list's index). */
  position,
  /** The trajectory step this decision state precedes. */
  stepIndex: z.number().int().nonnegative(),
  /** What the agent did at that step, on one line (tool names and the first words of its text). */
  action: z.string().max(400),
  selected: z.array(principleId),
  blockTokens: z.number().int().nonnegative(),
  excluded: z.number().int().nonnegative(),
  /** The re-rank fell back to embedding order at this step. */
  fallback: z.boolean(),
  /** Not planned yet (a long run is planned from its start: the first rows paint before the rest is done). */
  pending: z.boolean(),
});
export type StepRow = z.infer<typeof stepRowSchema>;

export const selectedPrincipleSchema = z.object({
  id: principleId,
  text: z.string(),
  cosine: z.number(),
  mmr: z.number(),
  scope: z.string(),
  rerankPosition: z.number().int().nonnegative().optional(),
});
export type SelectedPrincipleView = z.infer<typeof selectedPrincipleSchema>;

const range = z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]);

/** One chat message as shown: clipped around the end (where the block sits) when it is long. */
export const shownMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
  /** [start, end) character ranges of injected text within `content` (teacher view only). */
  injected: z.array(range),
  /** Characters left out of the middle of a long message (0 when shown whole). */
  omitted: z.number().int().nonnegative(),
  /** This message's index in the full conversation. */
  index: z.number().int().nonnegative(),
});
export type ShownMessage = z.infer<typeof shownMessageSchema>;

export const stepDetailSchema = z.object({
  position,
  stepIndex: z.number().int().nonnegative(),
  state: z.string(),
  stateTokens: z.number().int().nonnegative(),
  selected: z.array(selectedPrincipleSchema),
  excluded: z.array(z.object({ id: principleId, cause: z.enum(['internalized', 'scope', 'below-floor']), cosine: z.number() })),
  block: z.string(),
  blockTokens: z.number().int().nonnegative(),
  rerankFallback: z.string().optional(),
  /** The last messages before the assistant turn (the whole conversation up to a late step would be megabytes). */
  student: z.array(shownMessageSchema),
  teacher: z.array(shownMessageSchema),
  /** Messages before the shown window, left out. */
  earlierMessages: z.number().int().nonnegative(),
});
export type StepDetail = z.infer<typeof stepDetailSchema>;

export const divergenceScoreSchema = z.object({
  position,
  /** Mean forward KL(teacher ‖ student) per token of the recorded next action. */
  klPerToken: z.number().nonnegative(),
  tokens: z.number().int().nonnegative(),
});
export type DivergenceScore = z.infer<typeof divergenceScoreSchema>;

export const injectionHostMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('plan'),
    trajectory: z.object({ id: z.string(), task: z.string(), source: z.string(), steps: z.number().int().nonnegative() }),
    options: previewOptionsSchema,
    /** Which embedder ranked the pool, and why it is the active one. */
    embedder: z.object({ id: z.string(), description: z.string() }),
    tokenCounter: z.enum(['model', 'estimate']),
    /** Decision states (one per assistant step): the virtual list's length. */
    rowCount: z.number().int().nonnegative(),
    /** How many of them are planned; fewer than rowCount while the rest is still being planned. */
    planned: z.number().int().nonnegative(),
    poolSize: z.number().int().nonnegative(),
    /** Why the LLM re-rank cannot be chosen; absent when it can. */
    rerankUnavailable: z.string().optional(),
    globalBlock: z.object({ text: z.string(), tokens: z.number().int().nonnegative() }).optional(),
    planMs: z.number().nonnegative(),
  }),
  z.object({ type: z.literal('rows'), start: position, rows: z.array(stepRowSchema).max(MAX_ROWS_PER_REQUEST) }),
  z.object({ type: z.literal('detail'), detail: stepDetailSchema }),
  z.object({ type: z.literal('divergence'), model: z.string(), scores: z.array(divergenceScoreSchema) }),
  /** The divergence column cannot be filled: why, and what would make it possible. */
  z.object({ type: z.literal('divergenceUnavailable'), reason: z.string(), action: z.enum(['startWorker', 'trust']).optional() }),
  z.object({ type: z.literal('busy'), message: z.string() }),
  /** No accepted principle to inject: say so and offer the ways to get some. */
  z.object({ type: z.literal('emptyPool'), trajectory: z.object({ id: z.string(), task: z.string() }) }),
  z.object({ type: z.literal('error'), kind: z.enum(['deleted', 'failed']), message: z.string() }),
]);
export type InjectionHostMessage = z.infer<typeof injectionHostMessage>;

export const injectionWebviewMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('rows'), start: position, count: z.number().int().min(1).max(MAX_ROWS_PER_REQUEST) }),
  z.object({ type: z.literal('selectStep'), position }),
  z.object({ type: z.literal('setOptions'), options: previewOptionsSchema }),
  z.object({ type: z.literal('revealPrinciple'), id: principleId }),
  z.object({ type: z.literal('divergence'), positions: z.array(position).min(1).max(MAX_DIVERGENCE_STEPS) }),
  z.object({ type: z.literal('startWorker') }),
  /** The empty state's and the deleted state's buttons. */
  z.object({ type: z.literal('run'), action: z.enum(['summarize', 'addPrinciple', 'close', 'trust']) }),
]);
export type InjectionWebviewMessage = z.infer<typeof injectionWebviewMessage>;
