/**
 * The decisions behind the Iterations view's actions, without the editor: which pool operations a
 * rollback proposes, which checkpoint a stopped round resumes from, what a resumed round is, and
 * which iteration comes before another. The commands in iterations.ts ask the user and act on them.
 */
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ProposedOp } from '../../core/experience/curation.js';
import type { PoolSnapshot, Principle } from '../../core/principle.js';
import type { IterationRecord } from '../../core/store/index.js';

/** The kinds of round the editor can run again from an iteration's record. */
export type RoundKind = 'toy' | 'suite';

export function roundKindOf(it: IterationRecord): RoundKind | undefined {
  const world = it.config.world;
  return world === 'toy' || world === 'suite' ? world : undefined;
}

/** What Resume Round hands to internalize.startRound: the same kind of round, the same iteration, from a checkpoint. */
export const resumePresetSchema = z.object({
  resume: z.object({ kind: z.enum(['toy', 'suite']), iteration: z.number().int().positive(), checkpoint: z.string().min(1) }),
});
export type ResumePreset = z.infer<typeof resumePresetSchema>;

/** The resume request in a startRound argument, or undefined when the argument is something else. */
export function resumePreset(preset: unknown): ResumePreset['resume'] | undefined {
  const parsed = resumePresetSchema.safeParse(preset);
  return parsed.success ? parsed.data.resume : undefined;
}

/**
 * The newest checkpoint a round saved in its output folder: the trainer writes `checkpoint-epochN`
 * after each epoch and `checkpoint-interrupted-stepN` when stopped, each a PEFT adapter folder.
 */
export function findCheckpoint(outDir: string | undefined): string | undefined {
  if (outDir === undefined || !existsSync(outDir)) return undefined;
  let best: { path: string; mtime: number } | undefined;
  for (const name of readdirSync(outDir)) {
    if (!name.startsWith('checkpoint-')) continue;
    const path = join(outDir, name);
    if (!existsSync(join(path, 'adapter_config.json'))) continue;
    const mtime = statSync(path).mtimeMs;
    if (best === undefined || mtime > best.mtime) best = { path, mtime };
  }
  return best?.path;
}

/** The iteration before `n` that froze a pool (the one Compare with Previous diffs against), if any. */
export function previousSnapshot(snapshotIterations: readonly number[], n: number): number | undefined {
  return snapshotIterations.filter((i) => i < n).pop();
}

/** The iteration before `n` in the ledger, whatever its status, for metric deltas. */
export function previousIteration(iterations: readonly IterationRecord[], n: number): IterationRecord | undefined {
  return iterations.filter((it) => it.number < n && it.metrics !== undefined).pop();
}

function sameText(a: string, b: string): boolean {
  return a.trim().replace(/\s+/gu, ' ') === b.trim().replace(/\s+/gu, ' ');
}

/**
 * The pool operations that turn the accepted pool back into an iteration's frozen snapshot:
 * DELETE what was accepted since, UPDATE what was rewritten, ADD back what was retired or merged
 * away (with a new id: retired ids are never revived, so history stays linear). Each op says why.
 */
export function rollbackOps(current: readonly Principle[], snapshot: PoolSnapshot): ProposedOp[] {
  const accepted = current.filter((p) => p.status === 'accepted');
  const now = new Map(accepted.map((p) => [p.id, p]));
  const then = new Map(snapshot.principles.map((p) => [p.id, p]));
  // A principle restored by an earlier rollback lives on under a new id with the old text: it counts as
  // the snapshot's, so rolling back twice proposes nothing the second time.
  const restored = new Set<string>();
  const missing = snapshot.principles.filter((old) => !now.has(old.id)).filter((old) => {
    const twin = accepted.find((p) => !then.has(p.id) && !restored.has(p.id) && sameText(p.text, old.text));
    if (twin !== undefined) restored.add(twin.id);
    return twin === undefined;
  });
  const why = `Roll back to iteration ${String(snapshot.iteration)}`;
  const ops: ProposedOp[] = [];
  for (const p of accepted) {
    const old = then.get(p.id);
    if (old === undefined) {
      if (!restored.has(p.id)) ops.push({ kind: 'DELETE', principleId: p.id, rationale: `${why}: ${p.id} was not in its pool.`, evidence: [] });
    } else if (!sameText(old.text, p.text)) ops.push({ kind: 'UPDATE', principleId: p.id, text: old.text, rationale: `${why}: ${p.id} had this text then.`, evidence: [] });
  }
  for (const old of missing) {
    ops.push({ kind: 'ADD', text: old.text, when: old.when, scope: old.scope, rationale: `${why}: restores ${old.id}, which has left the pool since.`, evidence: old.evidence });
  }
  return ops;
}

/** Iterations after `n` that a rollback to `n` sets aside (a running one is never touched). */
export function supersededBy(iterations: readonly IterationRecord[], n: number): IterationRecord[] {
  return iterations.filter((it) => it.number > n && it.status !== 'running' && it.status !== 'pending' && it.status !== 'rolled-back');
}

/**
 * The iteration whose student the next round builds on: the latest finished one that was not rolled
 * back or collapsed. A rollback to `n` makes this `n`.
 */
export function baseIteration(iterations: readonly IterationRecord[]): IterationRecord | undefined {
  return iterations.filter((it) => it.status === 'done').pop();
}

/** One line for an iteration row: short, so the view never cuts it off; the rest goes to the tooltip. */
export function iterationDescription(it: IterationRecord): string {
  const parts: string[] = [it.status === 'rolled-back' ? 'rolled back' : it.status];
  const world = roundKindOf(it);
  if (world !== undefined) parts.push(world === 'toy' ? 'toy' : 'suite');
  const metrics = it.metrics ?? {};
  const accuracy = metrics.accuracy_without_principles;
  const score = metrics.mean_score;
  if (typeof score === 'number' && Number.isFinite(score)) parts.push(`score ${score.toFixed(2)}`);
  else if (typeof accuracy === 'number' && Number.isFinite(accuracy)) parts.push(`acc ${accuracy.toFixed(2)}`);
  // The LLM judge's mean, only when a judge model scored the round (absent otherwise, never 0).
  const judged = metrics.mean_judge_score;
  if (typeof judged === 'number' && Number.isFinite(judged)) parts.push(`judge ${judged.toFixed(2)}`);
  return parts.join(' · ');
}
