import { z } from 'zod';

/**
 * Messages between the extension host and the Run Dashboard webview: a running round (charts,
 * phase, progress, log tail, its result) and the capability curve across iterations. The host sends
 * deltas while a round runs (new chart points, new log lines) and the whole state when the webview
 * (re)loads. Both ends parse what they receive with these schemas.
 */

/** Log lines the dashboard keeps: enough to see why a run failed, never the whole log. */
export const LOG_TAIL_LINES = 200;
/** Chart points one message may carry; a longer run is thinned by the host before it is sent whole. */
export const MAX_POINTS = 5000;

/** zod 4 numbers are finite already: NaN and Infinity fail to parse. */
const finite = z.number();

/** One training step on the charts: seconds since the run started, and what the worker measured then. */
export const chartPointSchema = z.object({
  step: z.number().int().nonnegative(),
  t: finite.nonnegative(),
  loss: finite.optional(),
  kl: finite.optional(),
  tokensPerS: finite.nonnegative().optional(),
});
export type ChartPoint = z.infer<typeof chartPointSchema>;

export const runStatusSchema = z.enum(['starting', 'running', 'done', 'collapsed', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof runStatusSchema>;

/** A metric of the result, in words: what it is, its value, and what it means (the tooltip). */
export const explainedMetricSchema = z.object({
  key: z.string().max(80),
  label: z.string().max(120),
  value: z.string().max(80),
  explanation: z.string().max(600),
  /** How the value compares with the base model, in words ("better", "worse"), where the metric has a base. */
  judgement: z.enum(['better', 'worse', 'same']).optional(),
});
export type ExplainedMetric = z.infer<typeof explainedMetricSchema>;

export const runProgressSchema = z.object({
  phase: z.string().max(120),
  principle: z.string().max(64).optional(),
  step: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  /** 0–100 over the whole round (phases share the bar). */
  percent: finite.min(0).max(100),
  etaS: finite.nonnegative().optional(),
});
export type RunProgress = z.infer<typeof runProgressSchema>;

export const runResultSchema = z.object({
  status: z.enum(['done', 'collapsed', 'failed', 'cancelled']),
  summary: z.string().max(2000),
  /** Why it failed or was stopped, and the collapse guard's reasons. */
  reasons: z.array(z.string().max(2000)).max(20),
  metrics: z.array(explainedMetricSchema).max(60),
  /** The checkpoint a stopped or failed run kept: Resume Round continues from it. */
  checkpoint: z.string().max(1000).optional(),
});
export type RunResult = z.infer<typeof runResultSchema>;

export const runViewSchema = z.object({
  iteration: z.number().int().positive(),
  title: z.string().max(200),
  startedAt: z.string().max(40),
  status: runStatusSchema,
  progress: runProgressSchema.optional(),
  points: z.array(chartPointSchema).max(MAX_POINTS),
  log: z.array(z.string().max(2000)).max(LOG_TAIL_LINES),
  result: runResultSchema.optional(),
});
export type RunView = z.infer<typeof runViewSchema>;

/** One line of the capability curve: a principle's score per iteration, or retention (×base NLL). */
export const curveSeriesSchema = z.object({
  id: z.string().max(64),
  label: z.string().max(200),
  kind: z.enum(['principle', 'retention', 'accuracy']),
  /** One value per iteration of `iterations`, null where that iteration did not measure it. */
  values: z.array(finite.nullable()),
});
export type CurveSeries = z.infer<typeof curveSeriesSchema>;

export const capabilityCurveSchema = z.object({
  iterations: z.array(z.number().int().nonnegative()),
  /** Each iteration's status (a rolled-back or collapsed one is marked on the axis). */
  statuses: z.array(z.string().max(20)),
  series: z.array(curveSeriesSchema).max(200),
  /** The collapse guard's retention limit (×base probe NLL): above it the loop stops. */
  retentionLimit: finite.positive(),
  /** The score above which a principle counts as internalized. */
  internalizedAt: finite.optional(),
});
export type CapabilityCurve = z.infer<typeof capabilityCurveSchema>;

export const dashboardTabSchema = z.enum(['run', 'curve']);
export type DashboardTab = z.infer<typeof dashboardTabSchema>;

export const dashboardHostMessage = z.discriminatedUnion('type', [
  /** The whole state: on (re)load, and when a new round starts. */
  z.object({ type: z.literal('state'), run: runViewSchema.optional(), curve: capabilityCurveSchema.optional(), tab: dashboardTabSchema }),
  /** What changed since the last message of a running round. */
  z.object({
    type: z.literal('delta'),
    iteration: z.number().int().positive(),
    status: runStatusSchema,
    progress: runProgressSchema.optional(),
    points: z.array(chartPointSchema).max(MAX_POINTS),
    log: z.array(z.string().max(2000)).max(LOG_TAIL_LINES),
  }),
  z.object({ type: z.literal('result'), iteration: z.number().int().positive(), result: runResultSchema }),
  z.object({ type: z.literal('curve'), curve: capabilityCurveSchema }),
  z.object({ type: z.literal('tab'), tab: dashboardTabSchema }),
  z.object({ type: z.literal('error'), message: z.string().max(2000) }),
]);
export type DashboardHostMessage = z.infer<typeof dashboardHostMessage>;

export const dashboardWebviewMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('cancel') }),
  z.object({ type: z.literal('resume'), iteration: z.number().int().positive() }),
  z.object({ type: z.literal('showLog') }),
  z.object({ type: z.literal('tab'), tab: dashboardTabSchema }),
  z.object({ type: z.literal('startRound') }),
]);
export type DashboardWebviewMessage = z.infer<typeof dashboardWebviewMessage>;
