/** Reading an iteration's metrics (as the worker reports them) for people. */

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** One sentence on what an iteration achieved, from the metrics the worker reported. */
export function summarizeIteration(metrics: Readonly<Record<string, unknown>>): string {
  const before = num(metrics.base_accuracy_without_principles);
  const after = num(metrics.accuracy_without_principles);
  const teacher = num(metrics.teacher_accuracy_with_principles);
  const probe = num(metrics.probe_nll);
  const baseProbe = num(metrics.base_probe_nll);
  const parts: string[] = [];
  if (metrics.kind === 'own-data') return ownDataSummary(metrics);
  if (after !== undefined) parts.push(`accuracy without principles ${before?.toFixed(2) ?? '?'} → ${after.toFixed(2)}${teacher === undefined ? '' : ` (teacher with them ${teacher.toFixed(2)})`}`);
  if (probe !== undefined && baseProbe !== undefined && baseProbe > 0) parts.push(retentionWords(probe / baseProbe));
  return parts.join('; ');
}

/**
 * Retention in words: the student's loss on general text it was not trained on, against the base model's.
 * Lower or equal means nothing general was lost; the collapse guard stops the loop past +5%.
 */
function retentionWords(ratio: number): string {
  const change = (ratio - 1) * 100;
  if (Math.abs(change) < 0.5) return 'general ability unchanged (loss on general text as the base model\'s)';
  return change < 0
    ? `general ability kept (loss on general text ${(-change).toFixed(1)}% below the base model's)`
    : `general ability ${change > 5 ? 'lost' : 'slightly lower'} (loss on general text ${change.toFixed(1)}% above the base model's${change > 5 ? ', past the guard\'s 5%' : ''})`;
}

/** A round on the user's data: principles internalized by divergence, held-out action NLL, retention. */
function ownDataSummary(metrics: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  const scored = num(metrics.principles_scored);
  const internalized = num(metrics.principles_internalized);
  const mean = num(metrics.mean_score);
  if (scored !== undefined && internalized !== undefined) parts.push(`${String(internalized)} of ${String(scored)} scored principles internalized${mean === undefined ? '' : ` (mean divergence score ${mean.toFixed(2)})`}`);
  const judged = num(metrics.mean_judge_score);
  if (judged !== undefined) parts.push(`mean LLM-judge score ${judged.toFixed(2)}${typeof metrics.judge_model === 'string' ? ` by ${metrics.judge_model}` : ''}`);
  const kept = num(metrics.samples_kept);
  const sampled = num(metrics.samples_sampled);
  if (kept !== undefined && sampled !== undefined) parts.push(`trained on ${String(kept)} of ${String(sampled)} teacher samples`);
  const nll = metrics.action_nll as { base?: unknown; student?: unknown } | undefined;
  const base = num(nll?.base);
  const student = num(nll?.student);
  if (base !== undefined && student !== undefined) parts.push(`held-out action NLL without principles ${base.toFixed(3)} → ${student.toFixed(3)}`);
  const ratio = num(metrics.retention_ratio);
  if (ratio !== undefined) parts.push(`retention: general NLL ×${ratio.toFixed(3)}`);
  return parts.join('; ');
}
