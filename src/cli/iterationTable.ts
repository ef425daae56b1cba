/**
 * The per-iteration table the command line prints: at the end of `internalize distill`, and for
 * every stored iteration with `internalize iterations`.
 */
import type { JudgeScore } from '../core/distill/judge.js';
import type { IterationRecord, Store } from '../core/store/index.js';

export const fixed = (x: unknown, digits = 3): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–');

/** Where an iteration's targets came from: a built-in round's world, else the own-data round's target source. */
function targetsOf(r: IterationRecord): string {
  const world = r.config.world;
  if (world === 'toy') return 'toy world (built-in)';
  if (world === 'suite') return 'principle suite (built-in)';
  const m = r.metrics ?? {};
  return typeof m.targets === 'string' ? m.targets : typeof r.config.targets === 'string' ? r.config.targets : 'recorded';
}

/** The per-iteration table and each iteration's principle scores, as plain text. */
export function iterationTable(store: Store, records: readonly IterationRecord[]): string {
  // A listing of the whole ledger may hold `rolled-back`, one letter wider than the column a round's own statuses fit.
  const statusWidth = Math.max(10, ...records.map((r) => r.status.length));
  const lines = [`Iteration  ${'Status'.padEnd(statusWidth)} Targets                      Train/held-out  Final loss  Mean score  Judge score  Internalized  Action NLL base→student  Retention ×`];
  for (const r of records) {
    const m = r.metrics ?? {};
    const data = m.dataset as { train?: number; heldout?: number } | undefined;
    const nll = m.action_nll as { base?: number; student?: number } | undefined;
    const train = m.train as { final_loss?: number } | undefined;
    const cells = [
      String(r.number).padEnd(9),
      r.status.padEnd(statusWidth),
      targetsOf(r).padEnd(28),
      (data === undefined ? '–' : `${String(data.train)}/${String(data.heldout)}`).padEnd(15),
      fixed(train?.final_loss, 4).padEnd(11),
      fixed(m.mean_score, 2).padEnd(11),
      // Absent without a judge model ('–'), never shown as zero.
      fixed(m.mean_judge_score, 2).padEnd(12),
      (typeof m.principles_internalized === 'number' ? `${String(m.principles_internalized)}/${String(m.principles_scored)}` : '–').padEnd(13),
      (nll === undefined ? '–' : `${fixed(nll.base)} → ${fixed(nll.student)}`).padEnd(24),
      fixed(m.retention_ratio),
    ];
    lines.push(cells.join(' '));
  }
  for (const r of records) {
    const scores = store.scores.forIteration(r.number);
    // Statuses a finished `distill` run never prints, but a listing of the whole ledger does.
    if (r.status === 'running' || r.status === 'pending') {
      lines.push('', `Iteration ${String(r.number)} is ${r.status}${r.startedAt === undefined ? '' : ` (started ${r.startedAt})`}: it has no scores yet.`);
      continue;
    }
    const before = r.status === 'rolled-back' && typeof r.verdict?.statusBefore === 'string' ? r.verdict.statusBefore : undefined;
    if (r.status === 'rolled-back') {
      lines.push('', `Iteration ${String(r.number)}${before === undefined ? '' : ` (${before})`} was rolled back${typeof r.verdict?.rolledBackTo === 'number' ? ` to iteration ${String(r.verdict.rolledBackTo)}` : ''}.`);
      if (before !== 'done' && before !== 'collapsed') continue;
    } else if (r.status !== 'done' && r.status !== 'collapsed') {
      lines.push('', `Iteration ${String(r.number)} ${r.status}: ${typeof r.verdict?.error === 'string' ? r.verdict.error : 'no reason was recorded'}`);
      const checkpoint = r.verdict?.checkpoint;
      if (typeof checkpoint === 'string') lines.push(`  Its checkpoint is kept (${checkpoint}); continue with \`internalize distill --resume ${String(r.number)}\`.`);
      continue;
    }
    if (r.status === 'collapsed') lines.push('', `Iteration ${String(r.number)} collapsed, the loop stops: ${((r.verdict?.reasons as string[] | undefined) ?? []).join('; ')}.`);
    const judged = typeof r.metrics?.judge_model === 'string' ? r.metrics.judge_model : undefined;
    lines.push('', `Iteration ${String(r.number)}: divergence score per principle (1 − KL(teacher‖student)/KL(teacher‖base) on held-out states where the selector picked it)${judged === undefined ? '' : `; llm-judge: share of graded held-out states where the student's answer without principles follows it (base model's share), by ${judged}`}`);
    if (scores.length === 0) lines.push('  (no held-out state picked any principle)');
    for (const s of scores) {
      const states = typeof s.detail.states === 'number' ? s.detail.states : 0;
      const judge = s.detail.judge as JudgeScore | undefined;
      const judgeCell = judged === undefined ? '' : judge === undefined || judge.score === null ? `  llm-judge –${judge === undefined ? '' : ` (${judge.reason})`}` : `  llm-judge ${fixed(judge.score, 2)} (base ${fixed(judge.base, 2)}, ${String(judge.states)} states)`;
      lines.push(`  ${s.principleId.padEnd(6)} ${fixed(s.score, 2).padStart(6)}  ${s.internalized ? 'internalized' : '            '}  ${String(states)} states${s.score === undefined && typeof s.detail.reason === 'string' ? `  (${s.detail.reason})` : ''}${judgeCell}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
