/**
 * The decisions behind the Iterations view's actions that only the editor needs: which checkpoint a
 * stopped round resumes from, what a resumed round is, and how a row reads. The rollback and Compare
 * with Previous are the core's (src/core/distill/rollback.ts, iterationCompare.ts), shared with the
 * command line. The commands in iterations.ts ask the user and act on them.
 */
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
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
