import { z } from 'zod';

/**
 * Messages between the extension host and the Compare Pools webview (the principle diff between
 * two pool states). Both ends parse what they receive with these schemas.
 */

export const poolRefSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('snapshot'), iteration: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('current') }),
  z.object({ kind: z.literal('empty') }),
]);
export type PoolRefMessage = z.infer<typeof poolRefSchema>;

const evidence = z.object({ trajectoryId: z.string(), stepIndex: z.number().int().nonnegative().optional(), title: z.string() });
const segment = z.object({ kind: z.enum(['same', 'added', 'removed']), text: z.string() });

export const comparedEntrySchema = z.object({
  kind: z.enum(['ADD', 'UPDATE', 'DELETE', 'MERGE']),
  principleId: z.string(),
  before: z.string().optional(),
  after: z.string().optional(),
  segments: z.array(segment).optional(),
  mergedIds: z.array(z.string()).optional(),
  mergedTexts: z.array(z.string()).optional(),
  scopeBefore: z.string().optional(),
  scopeAfter: z.string().optional(),
  rationale: z.string().optional(),
  evidence: z.array(evidence),
});
export type ComparedEntryView = z.infer<typeof comparedEntrySchema>;

export const poolComparisonSchema = z.object({
  from: z.string(),
  to: z.string(),
  entries: z.array(comparedEntrySchema),
  unchanged: z.number().int().nonnegative(),
  sizeBefore: z.number().int().nonnegative(),
  sizeAfter: z.number().int().nonnegative(),
});
export type PoolComparisonView = z.infer<typeof poolComparisonSchema>;

/** How a metric moved from one iteration to the next (Compare with Previous), in words for the reader. */
export const metricDeltaSchema = z.object({
  label: z.string().max(120),
  before: z.string().max(80),
  after: z.string().max(80),
  change: z.string().max(80),
  judgement: z.enum(['better', 'worse', 'same']).optional(),
  explanation: z.string().max(600),
});
export type MetricDeltaView = z.infer<typeof metricDeltaSchema>;

export const poolsHostMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('show'),
    refs: z.array(z.object({ ref: poolRefSchema, label: z.string() })),
    from: poolRefSchema,
    to: poolRefSchema,
    comparison: poolComparisonSchema,
    /** Two iterations compared (from the Iterations view): what their metrics did, and against what. */
    metrics: z.object({ title: z.string().max(200), deltas: z.array(metricDeltaSchema).max(60), note: z.string().max(600).optional() }).optional(),
  }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type PoolsHostMessage = z.infer<typeof poolsHostMessage>;

export const poolsWebviewMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('compare'), from: poolRefSchema, to: poolRefSchema }),
  z.object({ type: z.literal('openEvidence'), trajectoryId: z.string().max(200), stepIndex: z.number().int().nonnegative().optional() }),
]);
export type PoolsWebviewMessage = z.infer<typeof poolsWebviewMessage>;
