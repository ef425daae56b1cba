/**
 * The metrics an iteration records, in words: what each means, how it is shown, which way is better,
 * and how an iteration's metrics moved from the previous one's. The editor's Run Dashboard and
 * Compare with Previous, and `internalize iterations --compare`, all read them from here.
 */

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export interface MetricInfo {
  readonly label: string;
  readonly explanation: string;
  readonly format: (value: number) => string;
  /** The metric this one is compared with (the base model's), and whether higher is better. */
  readonly base?: { readonly key: string; readonly higherIsBetter: boolean };
}

const fixed = (digits: number) => (v: number): string => v.toFixed(digits);
const share = (v: number): string => `${(100 * v).toFixed(0)}%`;

/** The metrics a result explains, in the order it shows them; others are listed after them as they are. */
export const METRICS: Readonly<Record<string, MetricInfo>> = {
  accuracy_without_principles: {
    label: 'Accuracy without principles (student)',
    explanation: 'How often the trained model takes the right action on held-out states with no principles in its context: what it has internalized.',
    format: share,
    base: { key: 'base_accuracy_without_principles', higherIsBetter: true },
  },
  base_accuracy_without_principles: { label: 'Accuracy without principles (base model)', explanation: 'The same held-out states, answered by the model before this round: the starting point.', format: share },
  teacher_accuracy_with_principles: { label: 'Accuracy with principles (teacher)', explanation: 'The base model with the principles injected into its context: the behaviour the student is trained to reach without them.', format: share },
  mean_score: {
    label: 'Mean principle score',
    explanation: 'Per principle, the share of the gap between the base model and the teacher that the student closed without the principle in context (1.0 = all of it); averaged over trained principles.',
    format: fixed(2),
  },
  mean_judge_score: {
    label: 'Mean LLM-judge score',
    explanation: 'Per principle, the share of held-out states where an LLM judge found that the student, without the principle in context, follows it (the base model\'s share is in the principle\'s row); averaged over judged principles. Shown only when a judge model was configured.',
    format: fixed(2),
  },
  samples_kept: { label: 'Teacher samples kept', explanation: 'Teacher samples (the base model with the principles, at each training state) that the filter kept as training targets.', format: fixed(0) },
  samples_sampled: { label: 'Teacher samples drawn', explanation: 'Teacher samples drawn in all, kept or not.', format: fixed(0) },
  principles_internalized: { label: 'Principles internalized', explanation: 'Trained principles whose score passed the internalization threshold; they are no longer injected when serving this model.', format: fixed(0) },
  principles_trained: { label: 'Principles trained', explanation: 'Principles that calibration kept (the teacher clearly beat the base model with them) and this round trained.', format: fixed(0) },
  retention_ratio: {
    label: 'Retention NLL (×base)',
    explanation: 'Retention NLL: the negative log-likelihood of fixed general text under the trained model, divided by the base model\'s. Above 1 the model lost some general ability; the collapse guard stops the loop past its limit.',
    format: (v) => `×${v.toFixed(3)}`,
  },
  probe_nll: {
    label: 'Retention NLL (probe text)',
    explanation: 'Retention NLL: the negative log-likelihood of fixed general text under the trained model (lower is better). Compared with the base model\'s to see whether training cost general ability.',
    format: fixed(3),
    base: { key: 'base_probe_nll', higherIsBetter: false },
  },
  base_probe_nll: { label: 'Retention NLL of the base model', explanation: 'The same probe text under the model before this round.', format: fixed(3) },
  valid_action_rate: {
    label: 'Valid actions',
    explanation: 'Share of held-out states where the model produced a well-formed tool call (no premature final answer, no malformed call): the paper\'s collapse symptom.',
    format: share,
    base: { key: 'base_valid_action_rate', higherIsBetter: true },
  },
  base_valid_action_rate: { label: 'Valid actions (base model)', explanation: 'The same measure for the model before this round.', format: share },
  divergence_score: {
    label: 'Divergence score',
    explanation: 'Divergence score: 1 − KL(teacher‖student) after training ÷ KL before, on held-out states where the selector picks the principle. 1 means the student, without the principle, now decides as the teacher does with it.',
    format: fixed(2),
  },
  final_loss: { label: 'Final training loss', explanation: 'The distillation loss (forward KL from teacher to student per target token, plus the replay term) at the last step.', format: fixed(4) },
  tokens_per_s: { label: 'Training speed', explanation: 'Tokens processed per second of training.', format: (v) => `${v.toFixed(0)} tok/s` },
  steps: { label: 'Optimizer steps', explanation: 'Weight updates this round made.', format: fixed(0) },
  target_turns: { label: 'Target turns', explanation: 'Assistant turns the student was trained on.', format: fixed(0) },
  train_loop_s: { label: 'Training time', explanation: 'Seconds spent in the training loop, without loading and evaluation.', format: (v) => `${v.toFixed(1)} s` },
};

/** Whether a larger value of a metric is better, for the ones that have a direction. */
const DIRECTION: Readonly<Record<string, boolean>> = {
  accuracy_without_principles: true,
  teacher_accuracy_with_principles: true,
  mean_score: true,
  mean_judge_score: true,
  principles_internalized: true,
  retention_ratio: false,
  probe_nll: false,
  valid_action_rate: true,
  divergence_score: true,
  final_loss: false,
  tokens_per_s: true,
};

export interface MetricDelta {
  readonly label: string;
  readonly before: string;
  readonly after: string;
  readonly change: string;
  readonly judgement?: 'better' | 'worse' | 'same';
  readonly explanation: string;
}

function delta(key: string, info: MetricInfo, before: number, after: number): MetricDelta {
  const up = DIRECTION[key];
  const diff = after - before;
  const same = Math.abs(diff) < 1e-9;
  const change = same ? 'no change' : `${diff > 0 ? '+' : '−'}${info.format(Math.abs(diff)).replace(/^×/u, '')}`;
  return {
    label: info.label,
    before: info.format(before),
    after: info.format(after),
    change,
    judgement: up === undefined ? undefined : same ? 'same' : diff > 0 === up ? 'better' : 'worse',
    explanation: info.explanation,
  };
}

/**
 * How an iteration's metrics moved from the previous iteration's. Without a previous one (the first
 * iteration), against the base model measured in the same run, for the metrics that have a base.
 */
export function metricDeltas(previous: Readonly<Record<string, unknown>> | undefined, current: Readonly<Record<string, unknown>>): MetricDelta[] {
  const out: MetricDelta[] = [];
  for (const [key, info] of Object.entries(METRICS)) {
    const after = num(current[key]);
    if (after === undefined) continue;
    if (previous !== undefined) {
      if (key.startsWith('base_')) continue;
      const before = num(previous[key]);
      if (before !== undefined) out.push(delta(key, info, before, after));
    } else if (info.base !== undefined) {
      const before = num(current[info.base.key]);
      if (before !== undefined) out.push(delta(key, info, before, after));
    }
  }
  if (previous === undefined) {
    const retention = retentionOf(current);
    if (retention !== undefined && num(current.retention_ratio) === undefined) {
      const info = METRICS.retention_ratio;
      if (info !== undefined) out.push(delta('retention_ratio', info, 1, retention));
    }
  }
  return out;
}

/** Retention of an iteration as ×base probe NLL, from whichever form its metrics carry. */
export function retentionOf(metrics: Readonly<Record<string, unknown>> | undefined): number | undefined {
  if (metrics === undefined) return undefined;
  const ratio = num(metrics.retention_ratio);
  if (ratio !== undefined) return ratio;
  const probe = num(metrics.probe_nll);
  const base = num(metrics.base_probe_nll);
  return probe !== undefined && base !== undefined && base > 0 ? probe / base : undefined;
}
