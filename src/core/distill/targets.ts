/**
 * Where a training record's target comes from. `recorded` (the default): the agent's own successful
 * step, off-policy on high-quality trajectories. `teacher-samples`: the round's teacher (the original
 * base model with that step's principle block) samples k responses per training state in the worker,
 * and a filter keeps the good ones, each as a record of its own:
 *  - `divergence` (in the worker, trainer/internalize_trainer/teacher_samples.py): the sample finished,
 *    is fluent for the teacher (its NLL per token under a limit) and owes something to the block (the
 *    teacher finds it likelier than the base model without the block by a margin per token);
 *  - `judge`: an LLM judge grades each finished sample against the recorded action and the principles.
 * A state none of whose samples is kept leaves training; zero kept in all is an error naming the filter.
 */
import { DatasetError, type DistillRecord, type TargetSource } from './dataset.js';
import type { LlmJudge } from './judge.js';
import type { SampleTargetsResult } from './worker.js';

export type SampleFilter = 'divergence' | 'judge';

/** How teacher samples are drawn and kept; a field of the round's configuration. */
export interface SampleOptions {
  /** Responses sampled per training state. */
  readonly k: number;
  readonly filter: SampleFilter;
  readonly temperature: number;
  readonly maxNewTokens: number;
  /** Divergence filter: nats per token by which the block must make the sample likelier. */
  readonly minMargin: number;
  /** Divergence filter: the teacher's NLL per token above which a sample is not fluent. */
  readonly maxTeacherNll: number;
}

export const DEFAULT_SAMPLE_OPTIONS: SampleOptions = { k: 4, filter: 'divergence', temperature: 0.8, maxNewTokens: 96, minMargin: 0.02, maxTeacherNll: 2.5 };

/** The worker's sampling parameters for these options: the judge filter gets every usable sample from the worker. */
export function workerSampleConfig(options: SampleOptions, seed: number): Record<string, unknown> {
  return {
    k: options.k,
    temperature: options.temperature,
    max_new_tokens: options.maxNewTokens,
    seed,
    filter: options.filter === 'divergence' ? 'divergence' : 'none',
    min_margin: options.minMargin,
    max_teacher_nll: options.maxTeacherNll,
  };
}

export interface TargetStats {
  readonly source: 'teacher-samples';
  readonly filter: SampleFilter;
  readonly states: number;
  readonly sampled: number;
  readonly kept: number;
  /** Rejected samples by why: the worker's reasons (empty, unfinished, not-fluent, block-did-not-matter, duplicate), or the judge's (judge-rejected, judge-failed). */
  readonly rejected: Readonly<Record<string, number>>;
  /** Training states with at least one kept sample (the others leave training). */
  readonly statesWithKept: number;
  /** The judge's model and its calls, with the judge filter. */
  readonly judge?: { readonly model: string; readonly calls: number; readonly redacted: number };
}

const REASON_WORDS: Readonly<Record<string, string>> = {
  empty: 'empty',
  unfinished: 'not finished within the token limit',
  'not-fluent': 'not fluent (the teacher itself found them unlikely)',
  'block-did-not-matter': 'no likelier with the principles than without (the block did not matter)',
  duplicate: 'repeats of a kept sample',
  'judge-rejected': 'rejected by the judge',
  'judge-failed': 'not graded (the judge call failed)',
};

/** The rejections in words, largest first. */
export function describeRejections(rejected: Readonly<Record<string, number>>): string {
  const parts = Object.entries(rejected)
    .filter(([, n]) => n > 0)
    .sort(([, a], [, b]) => b - a)
    .map(([why, n]) => `${String(n)} ${REASON_WORDS[why] ?? why}`);
  return parts.length === 0 ? 'none rejected' : parts.join(', ');
}

/** The principles' texts of a record, for the judge. */
type PrincipleTexts = ReadonlyMap<string, string>;

/**
 * The training records with teacher samples as targets: one record per kept sample, its meta saying
 * where the target came from and why it was kept. With the judge filter, every sample the worker
 * returned is graded first. Throws a DatasetError when no sample is kept, naming the filter and why.
 */
export async function teacherSampleRecords(
  train: readonly DistillRecord[],
  sampled: SampleTargetsResult,
  filter: SampleFilter,
  options: { readonly judge?: LlmJudge; readonly principles?: PrincipleTexts; readonly signal?: AbortSignal; readonly onError?: (message: string) => void } = {},
): Promise<{ records: DistillRecord[]; stats: TargetStats }> {
  if (sampled.records.length !== train.length) {
    throw new DatasetError(`The worker returned samples for ${String(sampled.records.length)} states, but the training set has ${String(train.length)}: the dataset changed while it sampled.`, 'bad-file');
  }
  const { judge } = options;
  if (filter === 'judge' && judge === undefined) throw new DatasetError('The judge filter needs a language model: configure one, or choose the divergence filter.', 'no-records');
  const rejected: Record<string, number> = { ...sampled.stats.rejected };
  const records: DistillRecord[] = [];
  let statesWithKept = 0;
  let sampledCount = 0;
  for (const [index, record] of train.entries()) {
    const samples = sampled.records[index] ?? [];
    sampledCount += samples.length;
    const target = record.targets.at(-1) ?? record.messages.length - 1;
    const recorded = record.messages[target]?.content ?? '';
    const principles = record.meta.principles.map((id) => ({ id, text: options.principles?.get(id) ?? id }));
    let keptHere = 0;
    for (const [i, s] of samples.entries()) {
      if (!s.kept) continue;
      let verdict: string | undefined;
      if (filter === 'judge' && judge !== undefined) {
        try {
          const answer = await judge.gradeSample(record, principles, recorded, s.text, options.signal);
          verdict = answer.reason;
          if (!(answer.follows_principles && answer.sound)) {
            rejected['judge-rejected'] = (rejected['judge-rejected'] ?? 0) + 1;
            continue;
          }
        } catch (error) {
          if (options.signal?.aborted === true) throw error;
          rejected['judge-failed'] = (rejected['judge-failed'] ?? 0) + 1;
          options.onError?.(`The judge could not grade sample ${String(i)} of training state ${String(index)}: ${error instanceof Error ? error.message : String(error)}`);
          continue;
        }
      }
      const source: TargetSource = {
        source: 'teacher-sample',
        sample: i,
        filter,
        ...(s.teacher_nll === null ? {} : { teacherNll: s.teacher_nll }),
        ...(s.student_nll === null ? {} : { studentNll: s.student_nll }),
        ...(s.margin === null ? {} : { margin: s.margin }),
        ...(verdict === undefined || judge === undefined ? {} : { judge: { model: judge.model, verdict: 'kept', reason: verdict } }),
      };
      const messages = record.messages.slice(0, target + 1).map((m, j) => (j === target ? { role: 'assistant' as const, content: s.text } : m));
      records.push({ messages, blocks: record.blocks, targets: [target], meta: { ...record.meta, target: source } });
      keptHere++;
    }
    if (keptHere > 0) statesWithKept++;
  }
  const stats: TargetStats = {
    source: 'teacher-samples',
    filter,
    states: train.length,
    sampled: sampledCount,
    kept: records.length,
    rejected,
    statesWithKept,
    ...(judge === undefined || filter !== 'judge' ? {} : { judge: { model: judge.model, calls: judge.stats.calls, redacted: judge.stats.redacted } }),
  };
  if (records.length === 0) {
    const by = filter === 'judge' ? `the judge filter (${judge?.model ?? 'no model'})` : 'the divergence filter';
    throw new DatasetError(
      `No teacher sample was kept: ${by} rejected all ${String(sampledCount)} samples of ${String(train.length)} training states (${describeRejections(rejected)}). ${
        filter === 'judge' ? 'Check the judge model answers (the log has each failure), sample more per state, or use the divergence filter' : 'Lower the margin or raise the fluency limit, sample more per state, or train on the recorded actions'
      }.`,
      'no-records',
    );
  }
  return { records, stats };
}
