/**
 * What the Run Dashboard shows, kept apart from the webview host so it can be tested in plain Node:
 * a running round's state built from worker events, the result's metrics in words, and the
 * capability curve across iterations from the store's records.
 */
import { METRICS, retentionOf } from '../../core/distill/metrics.js';
import type { IterationRecord, PrincipleScoreRecord } from '../../core/store/index.js';
import {
  LOG_TAIL_LINES,
  MAX_POINTS,
  type CapabilityCurve,
  type ChartPoint,
  type CurveSeries,
  type ExplainedMetric,
  type RunProgress,
  type RunResult,
  type RunStatus,
  type RunView,
} from '../../protocol/dashboard.js';

// The metric table lives in the core, where the command line's Compare reads it too.
export { metricDeltas, retentionOf, type MetricDelta } from '../../core/distill/metrics.js';

/** The events the dashboard reads: the worker's (src/core/distill/worker.ts), and a round service's `kl` where it reports one. */
export type DashboardEvent =
  | { readonly event: 'progress'; readonly phase: string; readonly step: number; readonly total: number; readonly loss?: number; readonly kl?: number; readonly tokens_per_s?: number; readonly eta_s?: number; readonly principle?: string }
  | { readonly event: 'log'; readonly level: string; readonly message: string }
  | { readonly event: 'checkpoint'; readonly path: string }
  /** A round service's phase change (dataset, worker, train, score…), in words. */
  | { readonly event: 'phase'; readonly phase: string; readonly message: string }
  | { readonly event: 'metrics' | 'done' | 'failed' }
  | { readonly event: 'error'; readonly message: string };

const PHASE_LABELS: Readonly<Record<string, string>> = {
  calibrate: 'Calibrating (base vs teacher)',
  sample: 'Sampling teacher responses',
  train: 'Training',
  distill: 'Training',
  evaluate: 'Evaluating held-out prompts',
  retention: 'Measuring retention',
  replay: 'Answering general prompts',
};

export function phaseLabel(phase: string): string {
  return PHASE_LABELS[phase] ?? phase.charAt(0).toUpperCase() + phase.slice(1);
}

export interface RunStart {
  readonly iteration: number;
  readonly title: string;
  /**
   * The phases of this kind of round in order, each a share of the bar. A progress event of a listed
   * phase fills its share by its step count; one of a phase not listed fills the share of the round
   * service's current phase (a `phase` event naming a listed phase) or, when there is none, leaves
   * the bar where it is and only names itself. An empty list: the bar follows each event's own count.
   */
  readonly phases: readonly string[];
  /** Relative share of each phase (same order as `phases`), where one phase takes most of the time; equal shares without it. */
  readonly weights?: readonly number[];
}

/**
 * The bar stops here until the round's result is recorded: the last phase's last step is not the end
 * (the iteration is still being written), and 100% must mean done.
 */
export const RUNNING_PERCENT_LIMIT = 99;

export interface RunDelta {
  readonly iteration: number;
  readonly status: RunStatus;
  readonly progress?: RunProgress;
  readonly points: ChartPoint[];
  readonly log: string[];
}

function finite(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

/** Keeps every n-th point (and the last) so a long run crosses the boundary in at most `max` points. */
export function thinPoints(points: readonly ChartPoint[], max: number = MAX_POINTS): ChartPoint[] {
  if (points.length <= max) return [...points];
  const every = Math.ceil(points.length / max);
  const kept = points.filter((_, i) => i % every === 0);
  const last = points[points.length - 1];
  if (last !== undefined && kept[kept.length - 1] !== last) kept[kept.length - 1] = last;
  return kept;
}

/** One round as the dashboard sees it: built from events, read whole (`view`) or as what changed (`drain`). */
export class RunTracker {
  private status: RunStatus = 'starting';
  private progress: RunProgress | undefined;
  private readonly points: ChartPoint[] = [];
  private readonly log: string[] = [];
  private pointsSent = 0;
  private linesPending: string[] = [];
  private progressChanged = false;
  private statusChanged = false;
  private result: RunResult | undefined;
  private checkpoint: string | undefined;
  private trainSteps = 0;
  /** The round service's current phase, when it is one of `start.phases`. */
  private stage: string | undefined;
  readonly startedAt: string;
  private readonly startedMs: number;

  constructor(
    readonly start: RunStart,
    private readonly now: () => number = Date.now,
  ) {
    this.startedMs = now();
    this.startedAt = new Date(this.startedMs).toISOString();
  }

  get iteration(): number {
    return this.start.iteration;
  }

  get finished(): boolean {
    return this.result !== undefined;
  }

  /** How far the bar is (0–100). */
  get percent(): number {
    return this.progress?.percent ?? 0;
  }

  /** The last checkpoint the worker reported saving. */
  get lastCheckpoint(): string | undefined {
    return this.checkpoint;
  }

  event(e: DashboardEvent): void {
    if (this.result !== undefined) return;
    switch (e.event) {
      case 'progress':
        this.onProgress(e);
        return;
      case 'log':
        this.line(`${e.level.toUpperCase()} ${e.message}`);
        return;
      case 'checkpoint':
        this.checkpoint = e.path;
        this.line(`checkpoint saved: ${e.path}`);
        return;
      case 'error':
        this.line(`ERROR ${e.message}`);
        return;
      case 'phase': {
        this.line(e.message);
        if (this.start.phases.includes(e.phase)) this.stage = e.phase;
        const percent = Math.max(this.progress?.percent ?? 0, this.stage === e.phase ? this.percentAt(e.phase, 0) : 0);
        this.progress = { phase: e.message.slice(0, 120), step: 0, total: 0, percent: Math.min(RUNNING_PERCENT_LIMIT, percent) };
        this.progressChanged = true;
        return;
      }
      // The result comes through finish(), which knows the iteration record and the reason.
      case 'metrics':
      case 'done':
      case 'failed':
        return;
    }
  }

  /** A line for the log tail (the worker's stderr, or a note of the host). */
  line(text: string): void {
    for (const part of text.split(/\r?\n/u)) {
      const clipped = part.length > 2000 ? `${part.slice(0, 1999)}…` : part;
      this.log.push(clipped);
      this.linesPending.push(clipped);
    }
    if (this.log.length > LOG_TAIL_LINES) this.log.splice(0, this.log.length - LOG_TAIL_LINES);
    if (this.linesPending.length > LOG_TAIL_LINES) this.linesPending.splice(0, this.linesPending.length - LOG_TAIL_LINES);
  }

  private onProgress(e: Extract<DashboardEvent, { event: 'progress' }>): void {
    if (this.status === 'starting') {
      this.status = 'running';
      this.statusChanged = true;
    }
    const total = Math.max(0, Math.round(e.total));
    const step = Math.min(Math.max(0, Math.round(e.step)), total === 0 ? Math.max(0, Math.round(e.step)) : total);
    const within = total === 0 ? 0 : step / total;
    const phase = e.phase === 'distill' ? 'train' : e.phase;
    const listed = this.start.phases.includes(phase) ? phase : this.stage;
    const percent = this.start.phases.length === 0 ? 100 * within : listed === undefined ? 0 : this.percentAt(listed, within);
    this.progress = {
      phase: phaseLabel(e.phase),
      principle: e.principle,
      step,
      total,
      // Never backwards (a later phase's first steps must not empty the bar), and never 100% before the result.
      percent: Math.min(RUNNING_PERCENT_LIMIT, Math.max(this.progress?.percent ?? 0, percent)),
      etaS: finite(e.eta_s) !== undefined && (e.eta_s ?? 0) >= 0 ? e.eta_s : undefined,
    };
    this.progressChanged = true;
    const loss = finite(e.loss);
    const kl = finite(e.kl);
    const tokensPerS = finite(e.tokens_per_s);
    if (loss === undefined && kl === undefined && tokensPerS === undefined) return;
    this.trainSteps += 1;
    this.points.push({ step: this.trainSteps, t: Math.max(0, (this.now() - this.startedMs) / 1000), loss, kl, tokensPerS: tokensPerS !== undefined && tokensPerS >= 0 ? tokensPerS : undefined });
  }

  /** Where on the bar a listed phase is, `within` (0–1) of the way through it. */
  private percentAt(phase: string, within: number): number {
    const { phases, weights } = this.start;
    const index = phases.indexOf(phase);
    const share = (i: number): number => Math.max(0, weights?.[i] ?? 1);
    const total = phases.reduce((sum, _, i) => sum + share(i), 0);
    if (index < 0 || total <= 0) return 0;
    const before = phases.slice(0, index).reduce((sum, _, i) => sum + share(i), 0);
    return (100 * (before + within * share(index))) / total;
  }

  finish(result: Omit<RunResult, 'checkpoint'> & { readonly checkpoint?: string }): void {
    if (this.result !== undefined) return;
    this.result = { ...result, checkpoint: result.checkpoint ?? (result.status === 'failed' || result.status === 'cancelled' ? this.checkpoint : undefined) };
    this.status = result.status;
    this.statusChanged = true;
    if (result.status === 'done' || result.status === 'collapsed') {
      const p = this.progress;
      this.progress = { phase: 'Finished', step: p?.total ?? 0, total: p?.total ?? 0, percent: 100, etaS: 0 };
      this.progressChanged = true;
    }
  }

  get outcome(): RunResult | undefined {
    return this.result;
  }

  view(): RunView {
    return {
      iteration: this.start.iteration,
      title: this.start.title,
      startedAt: this.startedAt,
      status: this.status,
      progress: this.progress,
      points: thinPoints(this.points),
      log: [...this.log],
      result: this.result,
    };
  }

  /** Marks everything as sent (after a whole view went to the webview). */
  markSent(): void {
    this.pointsSent = this.points.length;
    this.linesPending = [];
    this.progressChanged = false;
    this.statusChanged = false;
  }

  /** What changed since the last drain or view, or undefined when nothing did. */
  drain(): RunDelta | undefined {
    const points = this.points.slice(this.pointsSent);
    if (points.length === 0 && this.linesPending.length === 0 && !this.progressChanged && !this.statusChanged) return undefined;
    const delta: RunDelta = { iteration: this.start.iteration, status: this.status, progress: this.progress, points: thinPoints(points), log: this.linesPending };
    this.markSent();
    return delta;
  }
}

/**
 * Calls `flush` at most once per `intervalMs`, however often `schedule` is called: a worker that
 * reports every few milliseconds must not flood the webview with messages.
 */
export class Throttle {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private last = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly intervalMs: number,
    private readonly flush: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  schedule(): void {
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.last + this.intervalMs - this.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.last = this.now();
      this.flush();
    }, wait);
  }

  /** Runs a pending flush now (the round ended: its last state must not wait). */
  flushNow(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.last = this.now();
    this.flush();
  }

  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Keys that are paths or structures, not numbers to show. */
const NOT_SHOWN = new Set(['adapter', 'merged', 'collapse', 'timings', 'rank']);

/** The result's metrics in words, each with what it means; a metric with a base says whether it got better. */
export function explainMetrics(metrics: Readonly<Record<string, unknown>>): ExplainedMetric[] {
  const out: ExplainedMetric[] = [];
  for (const [key, info] of Object.entries(METRICS)) {
    const value = num(metrics[key]);
    if (value === undefined) continue;
    let judgement: ExplainedMetric['judgement'];
    const base = info.base === undefined ? undefined : num(metrics[info.base.key]);
    if (info.base !== undefined && base !== undefined) {
      judgement = Math.abs(value - base) < 1e-9 ? 'same' : value > base === info.base.higherIsBetter ? 'better' : 'worse';
    }
    out.push({ key, label: info.label, value: info.format(value), explanation: info.explanation, judgement });
  }
  for (const [key, raw] of Object.entries(metrics)) {
    if (key in METRICS || NOT_SHOWN.has(key)) continue;
    const value = num(raw);
    if (value === undefined) continue;
    out.push({ key: key.slice(0, 80), label: key.replace(/_/gu, ' ').slice(0, 120), value: Number.isInteger(value) ? String(value) : value.toPrecision(4), explanation: 'Reported by the training worker.' });
  }
  return out.slice(0, 60);
}

/** The collapse guard's default retention limit in the trainer (max_retention_drop 0.05 in evaluate.collapse_guard). */
export const DEFAULT_RETENTION_LIMIT = 1.05;

function retentionLimitOf(iterations: readonly IterationRecord[]): number {
  for (const it of [...iterations].reverse()) {
    const guard = it.config.guard as { max_retention_drop?: unknown } | undefined;
    const drop = num(guard?.max_retention_drop);
    if (drop !== undefined && drop > 0) return 1 + drop;
  }
  return DEFAULT_RETENTION_LIMIT;
}

/**
 * The capability curve: per iteration, each principle's score (so forgetting shows as a falling
 * line), the retention ratio, and the toy world's accuracy without principles where it was measured.
 * Iterations still running or that never finished are left out: they measured nothing.
 */
export function capabilityCurve(iterations: readonly IterationRecord[], scores: readonly PrincipleScoreRecord[]): CapabilityCurve {
  const measured = iterations.filter((it) => it.status === 'done' || it.status === 'collapsed' || it.status === 'rolled-back' || scores.some((s) => s.iteration === it.number));
  const numbers = measured.map((it) => it.number);
  const column = new Map(numbers.map((n, i) => [n, i]));
  const byPrinciple = new Map<string, (number | null)[]>();
  const internalizedAt: number[] = [];
  for (const s of scores) {
    const i = column.get(s.iteration);
    if (i === undefined || s.score === undefined || !Number.isFinite(s.score)) continue;
    let values = byPrinciple.get(s.principleId);
    if (values === undefined) {
      values = numbers.map(() => null);
      byPrinciple.set(s.principleId, values);
    }
    values[i] = s.score;
    const threshold = num(s.detail.threshold);
    if (threshold !== undefined) internalizedAt.push(threshold);
  }
  const series: CurveSeries[] = [...byPrinciple.entries()]
    .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
    .map(([id, values]) => ({ id, label: `${id} score`, kind: 'principle' as const, values }));
  const retention = measured.map((it) => retentionOf(it.metrics) ?? null);
  if (retention.some((v) => v !== null)) series.push({ id: 'retention', label: 'Retention NLL (×base)', kind: 'retention', values: retention });
  const accuracy = measured.map((it) => num(it.metrics?.accuracy_without_principles) ?? null);
  if (accuracy.some((v) => v !== null)) series.push({ id: 'accuracy', label: 'Accuracy without principles', kind: 'accuracy', values: accuracy });
  return {
    iterations: numbers,
    statuses: measured.map((it) => it.status),
    series,
    retentionLimit: retentionLimitOf(measured),
    internalizedAt: internalizedAt.length === 0 ? undefined : internalizedAt[internalizedAt.length - 1],
  };
}
