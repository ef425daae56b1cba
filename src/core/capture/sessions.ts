/**
 * A session that spans files: a resumed or continued session, a sub-agent written beside its parent,
 * a copy of a project folder. Each file's part is kept, and the stored trajectory is rebuilt from all
 * parts by a pure function of the set: the same parts give the same trajectory whatever the order in
 * which their files were read, in one run or in several.
 */
import type { Step, TokenUsage, Trajectory } from '../trajectory.js';
import { decideOutcome, type Verdict } from './outcome.js';

/** What one file holds of a session. */
export interface SessionPart {
  readonly path: string;
  readonly trajectory: Trajectory;
}

// Ids a builder makes up when the log has none (`<step>-<n>`): they repeat across files, so they prove nothing.
const SYNTHETIC_CALL_ID = /^\d+-\d+$/u;

/**
 * What makes two steps the same step seen in two files. A call id the agent issued (Claude Code's
 * `toolu_…`, OpenAI's `call_…`) is unique to one call; without one, the step's own content and time.
 */
function identity(step: Step): string {
  const call = step.toolCalls.find((c) => !SYNTHETIC_CALL_ID.test(c.id));
  if (call !== undefined) return `call\u0000${call.id}`;
  return `content\u0000${JSON.stringify([step.startedAt ?? '', step.text ?? '', step.thought ?? '', step.toolCalls.map((c) => [c.name, c.arguments])])}`;
}

/** Of two copies of one step, the one that saw more (a copy cut before its result arrived saw less). */
function richer(a: Step, b: Step): Step {
  const score = (s: Step): [number, number, number] => [s.observations.length, (s.userMessages ?? []).length, JSON.stringify(s).length];
  const [x, y] = [score(a), score(b)];
  for (let i = 0; i < x.length; i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0) ? a : b;
  }
  return a;
}

function partOrder(a: SessionPart, b: SessionPart): number {
  const at = a.trajectory.startedAt ?? a.trajectory.steps[0]?.startedAt ?? '\uffff';
  const bt = b.trajectory.startedAt ?? b.trajectory.steps[0]?.startedAt ?? '\uffff';
  if (at !== bt) return at < bt ? -1 : 1;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Every part's steps in time order, each step once. Parts are merged like sorted runs: a step
 * without a timestamp takes the time of the step before it in its own file, so a file's own order
 * is never changed; ties go to the earlier part. A step seen in two files (the copied history of a
 * resumed session, a copied folder) is kept once, in its richer copy, where it first appears. The
 * n-th occurrence of a step in one file matches the n-th in another, so a step a file repeats stays
 * repeated.
 */
function mergeSteps(parts: readonly SessionPart[]): Step[] {
  const cursors = parts.map(() => 0);
  const lastTime = parts.map(() => '');
  const out: Step[] = [];
  const placed = new Map<string, { at: number; part: number }>();
  const seen = parts.map(() => new Map<string, number>());
  for (;;) {
    let pick = -1;
    let pickTime = '';
    parts.forEach((part, p) => {
      const step = part.trajectory.steps[cursors[p] ?? 0];
      if (step === undefined) return;
      const time = step.startedAt ?? lastTime[p] ?? '';
      if (pick === -1 || time < pickTime) {
        pick = p;
        pickTime = time;
      }
    });
    if (pick === -1) break;
    const step = parts[pick]?.trajectory.steps[cursors[pick] ?? 0];
    cursors[pick] = (cursors[pick] ?? 0) + 1;
    if (step === undefined) continue;
    lastTime[pick] = step.startedAt ?? lastTime[pick] ?? '';
    const base = identity(step);
    const counts = seen[pick] ?? new Map<string, number>();
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    const key = `${base}\u0000${String(n)}`;
    const earlier = placed.get(key);
    if (earlier !== undefined && earlier.part !== pick) {
      const kept = out[earlier.at];
      if (kept !== undefined) out[earlier.at] = richer(kept, step);
      continue;
    }
    placed.set(key, { at: out.length, part: pick });
    out.push(step);
  }
  return out.map((step, index) => ({ ...step, index }));
}

function addUsage(a: TokenUsage | undefined, b: TokenUsage | undefined): TokenUsage | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const out: { inputTokens: number; outputTokens: number; cacheReadTokens?: number; cacheWriteTokens?: number } = {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
  };
  if (a.cacheReadTokens !== undefined || b.cacheReadTokens !== undefined) out.cacheReadTokens = (a.cacheReadTokens ?? 0) + (b.cacheReadTokens ?? 0);
  if (a.cacheWriteTokens !== undefined || b.cacheWriteTokens !== undefined) out.cacheWriteTokens = (a.cacheWriteTokens ?? 0) + (b.cacheWriteTokens ?? 0);
  return out;
}

/**
 * Token usage of the merged session: the sum over its (deduplicated) steps where steps carry usage;
 * otherwise the largest part total, since formats that report only a session total report it
 * cumulatively, so a continued session's file already counts what came before.
 */
function mergedUsage(parts: readonly SessionPart[], steps: readonly Step[]): TokenUsage | undefined {
  let fromSteps: TokenUsage | undefined;
  for (const step of steps) fromSteps = addUsage(fromSteps, step.usage);
  if (fromSteps !== undefined) return fromSteps;
  let best: TokenUsage | undefined;
  for (const { trajectory } of parts) {
    const u = trajectory.usage;
    if (u !== undefined && (best === undefined || u.inputTokens + u.outputTokens > best.inputTokens + best.outputTokens)) best = u;
  }
  return best;
}

/** One trajectory from every part of a session; a single part comes back as it is. */
export function mergeParts(input: readonly SessionPart[]): Trajectory {
  const parts = [...input].sort(partOrder);
  const first = parts[0];
  if (first === undefined) throw new Error('mergeParts needs at least one part');
  if (parts.length === 1) return first.trajectory;
  const steps = mergeSteps(parts);
  const pick = <K extends keyof Trajectory>(key: K): Trajectory[K] | undefined => parts.find((p) => p.trajectory[key] !== undefined && p.trajectory[key] !== '')?.trajectory[key];
  // Test results are read again from the merged steps; the user's verdict lives on the stored row.
  const verdicts: Verdict[] = parts.flatMap(({ trajectory }) =>
    trajectory.outcome.evidence.filter((e) => e.kind !== 'test-result' && e.kind !== 'user-verdict').map((evidence) => ({ label: trajectory.outcome.label, evidence })),
  );
  const rewards = parts.map((p) => p.trajectory.outcome.reward).filter((r): r is number => r !== undefined);
  const outcome = decideOutcome(steps, dedupeVerdicts(verdicts), rewards.length > 0 ? Math.max(...rewards) : undefined);
  const redactions: Record<string, number> = {};
  for (const { trajectory } of parts) for (const [rule, n] of Object.entries(trajectory.redactions ?? {})) redactions[rule] = (redactions[rule] ?? 0) + n;
  const times = (key: 'startedAt' | 'endedAt'): string[] => parts.map((p) => p.trajectory[key]).filter((t): t is string => t !== undefined).sort();
  const merged: { -readonly [K in keyof Trajectory]: Trajectory[K] } = {
    id: first.trajectory.id,
    source: first.trajectory.source,
    sessionId: first.trajectory.sessionId,
    task: pick('task') ?? '',
    outcome,
    steps,
  };
  const optional = { workspace: pick('workspace'), systemPrompt: pick('systemPrompt'), model: pick('model'), sourcePath: first.trajectory.sourcePath, parentSessionId: pick('parentSessionId') };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) Object.assign(merged, { [key]: value });
  const started = times('startedAt')[0];
  const ended = times('endedAt').at(-1);
  if (started !== undefined) merged.startedAt = started;
  if (ended !== undefined) merged.endedAt = ended;
  const usage = mergedUsage(parts, steps);
  if (usage !== undefined) merged.usage = usage;
  if (Object.keys(redactions).length > 0) merged.redactions = redactions;
  return merged;
}

function dedupeVerdicts(verdicts: readonly Verdict[]): Verdict[] {
  const seen = new Set<string>();
  return verdicts.filter((v) => {
    const key = `${v.label}\u0000${v.evidence.kind}\u0000${v.evidence.detail}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
