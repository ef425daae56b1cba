/**
 * A principle-suite round in the product: the suite's principles join the pool (so the Principles
 * view can show them and their scores), the pool is frozen for the iteration, the per-principle
 * scores are stored, and the before/after table is written for people.
 */
import { proposeOps } from '../experience/curation.js';
import type { Store } from '../store/index.js';
import type { SuiteResult } from './worker.js';

export interface SuitePrinciple {
  readonly id: string;
  readonly text: string;
}

/**
 * Makes sure each suite principle is an accepted principle of the pool (matched by text, added as
 * an imported principle when missing) and returns suite id → pool id.
 */
export function adoptSuitePrinciples(store: Store, principles: readonly SuitePrinciple[], iteration: number): Map<string, string> {
  const byText = new Map(store.principles.list().map((p) => [p.text.trim(), p]));
  const ids = new Map<string, string>();
  const missing = principles.filter((p) => {
    const known = byText.get(p.text.trim());
    if (known !== undefined && known.status === 'accepted') ids.set(p.id, known.id);
    return known?.status !== 'accepted';
  });
  if (missing.length > 0) {
    proposeOps(
      store,
      missing.map((p) => ({ kind: 'ADD' as const, text: p.text, rationale: `From the built-in principle suite (${p.id}).`, evidence: [] })),
      { origin: 'imported', iteration, batchId: `suite-${String(iteration)}`, autoAccept: true },
    );
    const added = new Map(store.principles.list({ status: 'accepted' }).map((p) => [p.text.trim(), p.id]));
    for (const p of missing) {
      const id = added.get(p.text.trim());
      if (id !== undefined) ids.set(p.id, id);
    }
  }
  return ids;
}

/** Stores the round's per-principle scores under the pool's ids. */
export function recordSuiteScores(store: Store, iteration: number, result: SuiteResult, ids: ReadonlyMap<string, string>): number {
  const rows = result.principles.flatMap((p) => {
    const principleId = ids.get(p.id);
    if (principleId === undefined || !p.calibrated) return [];
    return [
      {
        principleId,
        method: p.method,
        base: p.base ?? undefined,
        teacher: p.teacher ?? undefined,
        student: p.student ?? undefined,
        score: p.score ?? undefined,
        internalized: p.internalized,
        detail: { suiteId: p.id, reason: p.reason, ...(p.kl_before === undefined ? {} : { kl_before: p.kl_before, kl_after: p.kl_after }) },
      },
    ];
  });
  store.scores.save(iteration, rows);
  return rows.length;
}

const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(0)}%`);

/** The before/after table per principle, in Markdown. */
export function suiteReport(result: SuiteResult, principles: readonly SuitePrinciple[], ids: ReadonlyMap<string, string>, model: string): string {
  const text = new Map(principles.map((p) => [p.id, p.text]));
  const lines = [
    `# Principle suite on ${model}`,
    '',
    'Success rates on held-out prompts by each principle\'s checker: the base model *without* the principle, the teacher (same model) *with* it, and the student after this round *without* it. The score is the share of the teacher–base gap the student closed.',
    '',
    '| Principle | Base (without) | Teacher (with) | Student (without) | Score | Internalized |',
    '| --- | ---: | ---: | ---: | ---: | :---: |',
  ];
  for (const p of result.principles) {
    const label = `${ids.get(p.id) ?? p.id} ${text.get(p.id) ?? ''}`.replace(/\|/gu, '\\|');
    if (!p.calibrated) {
      lines.push(`| ${label} | ${pct(p.base)} | ${pct(p.teacher)} | – | – | not trained: ${p.reason.replace(/\|/gu, '\\|')} |`);
      continue;
    }
    const score = p.score === null ? '–' : p.method === 'divergence' ? `${p.score.toFixed(2)} (1 − KL after/before)` : p.score.toFixed(2);
    lines.push(`| ${label} | ${pct(p.base)} | ${pct(p.teacher)} | ${pct(p.student)} | ${score} | ${p.internalized ? 'yes' : 'no'} |`);
  }
  if (result.retention !== null) {
    lines.push('', `Retention: NLL on held-out general prompts ${result.retention.base_nll.toFixed(3)} (base) → ${result.retention.student_nll.toFixed(3)} (student), ×${result.retention.ratio.toFixed(3)}.`);
  }
  if (result.collapse?.collapsed === true) lines.push('', `**The collapse guard stopped the loop:** ${result.collapse.reasons.join('; ')}.`);
  // The worker names them `calibrate_s`, `round1_train_s`, `total_s`.
  const timings = Object.entries(result.timings).map(([k, v]) => `${k.replace(/_s$/u, '').replace(/^round(\d+)_/u, 'round $1 ').replace(/_/gu, ' ')} ${v.toFixed(0)} s`);
  if (timings.length > 0) lines.push('', `Time: ${timings.join(', ')}.`);
  return `${lines.join('\n')}\n`;
}
