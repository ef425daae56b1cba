/**
 * Offline miner: finds recurring patterns in stored trajectories without a model, deterministically.
 * It abstracts before it phrases: tool names become roles (roles.ts) and error texts become classes
 * (errorClasses.ts), so one lesson seen across agents is one principle, "When <situation>,
 * <strategy>.", worded from tables that name no tool, path or literal. Whatever would still fail the
 * principle check is dropped, and the report says what and why.
 */
import type { EvidenceRef } from '../principle.js';
import type { Step, Trajectory } from '../trajectory.js';
import type { ProposedOp } from './curation.js';
import type { ErrorClass } from './errorClasses.js';
import { classifyError } from './errorClasses.js';
import type { ToolRole } from './roles.js';
import { isInspection, toolRole } from './roles.js';
import { checkPrinciple, describeProblems } from './specificity.js';

export type MinedPatternKind = 'error-recovery' | 'failure-loop' | 'success-habit';

export interface MinedPattern {
  readonly kind: MinedPatternKind;
  /** The abstract situation: error class (and strategy), loop, or habit name. Never a tool name. */
  readonly key: string;
  /** For error-recovery: the role of the call that followed the error and succeeded, in the first run seen. */
  readonly action?: ToolRole;
  /**
   * Distinct trajectories that show the pattern: for a habit, the successes that kept it and the
   * failures that did without it.
   */
  readonly support: number;
  /** Distinct agents (trajectory sources) among them, sorted. */
  readonly agents: readonly string[];
  readonly evidence: readonly EvidenceRef[];
  readonly text: string;
}

/** A pattern that recurred often enough but was not proposed. */
export interface MineDrop {
  readonly kind: MinedPatternKind;
  readonly key: string;
  readonly support: number;
  readonly reason: string;
  readonly text?: string;
}

export interface MineReport {
  readonly patterns: readonly MinedPattern[];
  readonly dropped: readonly MineDrop[];
  readonly trajectories: number;
}

export interface MineOptions {
  /** Distinct trajectories a pattern needs (default 2). */
  readonly minSupport?: number;
  /** Consecutive identical failing calls that count as a loop (default 3). */
  readonly loopLength?: number;
}

/** Replaces run-specific details so that the same error in two runs has the same signature. */
export function errorSignature(content: string): string {
  const line = content.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  return line
    .toLowerCase()
    .replace(/https?:\/\/\S+/gu, '<url>')
    .replace(/(["'`])[^"'`]*\1/gu, '<str>')
    .replace(/(?:[a-z]:)?(?:[\w.-]*\/)+[\w.-]+/gu, '<path>')
    .replace(/\b[0-9a-f]{7,}\b/gu, '<hex>')
    .replace(/\d+/gu, '<n>')
    .replace(/\s+/gu, ' ')
    .slice(0, 100)
    .trim();
}

// ---- wording: situations of error classes, strategies by what recovering runs did -------------

/** Strategy groups: roles that lead to the same advice. */
type Move = 'inspect' | 'check' | 'install' | 'edit' | 'test' | 'rerun' | 'ask' | 'other';

function moveOf(role: ToolRole): Move {
  if (role === 'read' || role === 'search') return 'inspect';
  if (role === 'check' || role === 'install' || role === 'edit' || role === 'test' || role === 'ask') return role;
  if (role === 'run' || role === 'build') return 'rerun';
  return 'other';
}

interface ClassWording {
  readonly situation: string;
  /** The advice when no move-specific one fits: what the class asks for whatever runs did next. */
  readonly fallback: string;
  readonly moves: Partial<Record<Move, string>>;
}

const WORDING: Readonly<Record<ErrorClass, ClassWording>> = {
  'missing-command': {
    situation: 'a command fails because a tool is missing',
    fallback: 'check that it is installed before running it again, or continue with a way that does not need it',
    moves: {
      check: 'check that it is installed before running it again',
      install: 'install it, or use a tool that is already available, before running it again',
      inspect: 'check that it is installed before running it again',
      edit: 'continue with a way that does not need it instead of retrying the command',
    },
  },
  'missing-dependency': {
    situation: 'a run fails because a module or package is missing',
    fallback: 'install it in the environment the project uses before running it again',
    moves: {
      check: 'check which environment is active and whether the package is installed there before running it again',
      inspect: 'check the project\'s dependency list and environment before installing anything',
    },
  },
  'failing-test': {
    situation: 'tests fail',
    fallback: 'read the failing test and its message before editing any code',
    moves: {
      edit: 'fix the code the failure points to, then run the tests again',
      test: 'rerun only the failing test to see its full message before editing',
    },
  },
  'syntax-error': {
    situation: 'code fails with a syntax error',
    fallback: 'read the lines the error points to and fix them before running it again',
    moves: {},
  },
  'compile-error': {
    situation: 'a build or type check fails',
    fallback: 'read the first reported error and fix its cause before building again',
    moves: {},
  },
  permission: {
    situation: 'an action is refused for lack of permission',
    fallback: 'work in a location you may write to instead of retrying with more privileges',
    moves: { check: 'check the ownership and permissions of the target before trying again' },
  },
  timeout: {
    situation: 'a command times out',
    fallback: 'run a smaller or narrower version of it before retrying the whole',
    moves: {},
  },
  'not-found': {
    situation: 'a file or directory is not found',
    fallback: 'list or search the workspace for the right path before trying again',
    moves: {},
  },
  network: {
    situation: 'a command fails on a network error',
    fallback: 'check whether the network is reachable, and prefer what is available offline, before retrying',
    moves: {},
  },
  'edit-mismatch': {
    situation: 'an edit does not match the file\'s current text',
    fallback: 'read the file again and copy the exact current text before retrying the edit',
    moves: {},
  },
  'bad-usage': {
    situation: 'a command rejects its arguments',
    fallback: 'read its help output before running it again with different arguments',
    moves: {},
  },
  conflict: {
    situation: 'a patch or merge conflicts with the current files',
    fallback: 'read the conflicting parts and resolve them by hand before continuing',
    moves: {},
  },
  'out-of-memory': {
    situation: 'a process runs out of memory',
    fallback: 'reduce the size of the input or the batch before running it again',
    moves: {},
  },
  'secret-detected': {
    situation: 'a check finds a secret in the files',
    fallback: 'remove it from the files and read it from the environment instead',
    moves: {},
  },
  lint: {
    situation: 'a linter reports problems',
    fallback: 'fix what it reports and run it again before moving on',
    moves: {},
  },
  declined: {
    situation: 'the user declines a proposed action',
    fallback: 'do not repeat it; ask what they want instead or propose another way',
    moves: {},
  },
};

function recoveryText(cls: ErrorClass, role: ToolRole): string {
  const w = WORDING[cls];
  return `When ${w.situation}, ${w.moves[moveOf(role)] ?? w.fallback}.`;
}

const LOOP_TEXT = 'When the same action has failed the same way twice, stop repeating it, read the error, and change the approach.';

// ---- what happened in a run, abstracted once --------------------------------------------------

interface Event {
  readonly step: number;
  readonly role: ToolRole;
  readonly failed: boolean;
  readonly cls?: ErrorClass;
  /** The agent wrote a secret into a file: the capture replaced it in the call's arguments. */
  readonly secret: boolean;
  /** The call handles a credential: its arguments name one, or carry a redacted secret. */
  readonly credential: boolean;
}

/** Words that put a credential in play; a run without one has no chance to leak one. */
const CREDENTIAL = /\b(?:api[_ -]?keys?|access[_ -]?keys?|tokens?|secrets?|passwords?|credentials?)\b|_KEY\b|\[REDACTED:/iu;

/**
 * A failed observation: flagged as an error or with a non-zero exit code, or a test run whose output
 * reports failing tests (some agents log a terminal's output with neither flag nor exit code).
 */
function observationFailed(o: Step['observations'][number], step: Step): boolean {
  if (o.isError || (o.exitCode !== undefined && o.exitCode !== 0)) return true;
  if (o.exitCode === 0) return false;
  const call = step.toolCalls.find((c) => c.id === o.callId) ?? (step.toolCalls.length === 1 ? step.toolCalls[0] : undefined);
  return call !== undefined && toolRole(call) === 'test' && classifyError(o.content) === 'failing-test';
}

function stepFailed(step: Step): boolean {
  return step.observations.some((o) => observationFailed(o, step));
}

function failure(step: Step): { readonly content: string; readonly exitCode?: number } | undefined {
  return step.observations.find((o) => observationFailed(o, step));
}

/** One event per call; a failing step's failure is carried by its calls (observations are rarely tied to one call). */
function eventsOf(t: Trajectory): Event[] {
  const out: Event[] = [];
  for (const s of t.steps) {
    const f = failure(s);
    const cls = f === undefined ? undefined : classifyError(f.content, f.exitCode);
    for (const c of s.toolCalls) {
      const byCall = s.observations.find((o) => o.callId === c.id);
      const failed = byCall === undefined ? f !== undefined : observationFailed(byCall, s);
      const role = toolRole(c);
      const args = JSON.stringify(c.arguments);
      out.push({
        step: s.index,
        role,
        failed,
        cls: failed ? (byCall === undefined ? cls : classifyError(byCall.content, byCall.exitCode)) : undefined,
        secret: role === 'edit' && args.includes('[REDACTED:'),
        credential: CREDENTIAL.test(args),
      });
    }
  }
  return out;
}

/** A habit: something a run does, checked only in runs where it can apply. */
interface Habit {
  readonly key: string;
  readonly text: string;
  /** The step the habit is shown at, or undefined when the run gives it no chance. */
  applies(events: readonly Event[]): number | undefined;
  holds(events: readonly Event[]): boolean;
}

const firstIndex = (events: readonly Event[], p: (e: Event) => boolean): number => events.findIndex(p);
function lastIndex(events: readonly Event[], p: (e: Event) => boolean): number {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e !== undefined && p(e)) return i;
  }
  return -1;
}
const stepAt = (events: readonly Event[], i: number): number | undefined => (i < 0 ? undefined : events[i]?.step);
const isRun = (e: Event): boolean => e.role === 'run' || e.role === 'test' || e.role === 'build';

const HABITS: readonly Habit[] = [
  {
    key: 'read-before-edit',
    text: 'When about to change a file, read its current contents first instead of editing from memory.',
    applies: (ev) => stepAt(ev, firstIndex(ev, (e) => e.role === 'edit')),
    holds: (ev) => {
      const edit = firstIndex(ev, (e) => e.role === 'edit');
      return ev.slice(0, edit).some((e) => e.role === 'read' || e.role === 'search');
    },
  },
  {
    key: 'test-after-edit',
    text: 'When code has been changed, run the relevant tests and read their result before declaring the task done.',
    applies: (ev) => stepAt(ev, lastIndex(ev, (e) => e.role === 'edit')),
    holds: (ev) => ev.slice(lastIndex(ev, (e) => e.role === 'edit') + 1).some((e) => e.role === 'test'),
  },
  {
    key: 'read-failing-test-before-edit',
    text: 'When tests fail, read the failing test and its message before editing any code.',
    applies: (ev) => {
      const fail = firstIndex(ev, (e) => e.cls === 'failing-test');
      return fail >= 0 && ev.slice(fail + 1).some((e) => e.role === 'edit') ? stepAt(ev, fail) : undefined;
    },
    holds: (ev) => {
      const fail = firstIndex(ev, (e) => e.cls === 'failing-test');
      const after = ev.slice(fail + 1);
      const edit = after.findIndex((e) => e.role === 'edit');
      return after.slice(0, edit).some((e) => e.role === 'read' || e.role === 'search');
    },
  },
  {
    key: 'check-before-rerun',
    text: recoveryText('missing-command', 'check'),
    applies: (ev) => {
      const fail = firstIndex(ev, (e) => e.cls === 'missing-command');
      return fail >= 0 && ev.slice(fail + 1).some(isRun) ? stepAt(ev, fail) : undefined;
    },
    holds: (ev) => {
      const fail = firstIndex(ev, (e) => e.cls === 'missing-command');
      const after = ev.slice(fail + 1);
      const rerun = after.findIndex(isRun);
      return after.slice(0, rerun).some((e) => e.role === 'check' || e.role === 'install' || isInspection(e.role));
    },
  },
  {
    key: 'tests-pass-before-done',
    text: 'When the latest test run still fails, keep fixing or report the failure instead of declaring the task done.',
    applies: (ev) => stepAt(ev, lastIndex(ev, (e) => e.role === 'test')),
    holds: (ev) => ev[lastIndex(ev, (e) => e.role === 'test')]?.failed === false,
  },
  {
    key: 'secrets-out-of-files',
    text: 'When a change needs an API key or other secret, read it from an environment variable instead of writing it into a file.',
    applies: (ev) => (ev.some((e) => e.credential) ? stepAt(ev, firstIndex(ev, (e) => e.role === 'edit')) : undefined),
    holds: (ev) => !ev.some((e) => e.secret),
  },
];

/**
 * How much more often successful runs show a habit than failed runs with the same chance. A third:
 * one failed run in three that wrote a secret into a file, against none of the successes, is a lesson.
 */
const HABIT_CONTRAST = 1 / 3;

// ---- mining ----------------------------------------------------------------------------------

interface Bucket {
  readonly kind: MinedPatternKind;
  readonly key: string;
  readonly text: string;
  action?: ToolRole;
  readonly trajectories: Set<string>;
  readonly agents: Set<string>;
  readonly evidence: EvidenceRef[];
}

class Buckets {
  readonly map = new Map<string, Bucket>();
  add(kind: MinedPatternKind, key: string, text: string, t: Trajectory, stepIndex: number, action?: ToolRole): void {
    const id = `${kind}\u0000${key}`;
    let b = this.map.get(id);
    if (b === undefined) {
      b = { kind, key, text, action, trajectories: new Set(), agents: new Set(), evidence: [] };
      this.map.set(id, b);
    }
    b.trajectories.add(t.id);
    b.agents.add(t.source);
    b.evidence.push({ trajectoryId: t.id, stepIndex });
  }
}

function loopKey(step: Step): string {
  return step.toolCalls.map((c) => `${c.name}${JSON.stringify(c.arguments)}`).join('|');
}

/**
 * Mines error→recovery patterns (by error class and what the recovering call did), repeated
 * failing loops, and habits more frequent in successful runs than in failed ones. Patterns that
 * share a text are one principle with their runs merged.
 */
export function mine(trajectories: readonly Trajectory[], options: MineOptions = {}): MineReport {
  const minSupport = options.minSupport ?? 2;
  const loopLength = options.loopLength ?? 3;
  const found = new Buckets();
  const unclassified = new Buckets();
  const habitFailures = new Map<string, { applies: number; holds: number }>();
  const habitSuccesses = new Map<string, { applies: number; holds: number }>();

  for (const t of trajectories) {
    const steps = t.steps;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      if (step === undefined) continue;
      const f = failure(step);
      // A recovery is worth repeating only from a run that did not end in failure.
      if (f !== undefined && t.outcome.label !== 'failure') {
        // The recovery is the first later step that called something and did not fail.
        const next = steps.slice(i + 1).find((s) => s.toolCalls.length > 0);
        const call = next?.toolCalls.find((c) => toolRole(c) !== 'plan') ?? next?.toolCalls[0];
        if (next !== undefined && call !== undefined && !stepFailed(next)) {
          const cls = classifyError(f.content, f.exitCode);
          const role = toolRole(call);
          if (cls === undefined) unclassified.add('error-recovery', errorSignature(f.content), '', t, step.index, role);
          else {
            const text = recoveryText(cls, role);
            found.add('error-recovery', `${cls}: ${text}`, text, t, step.index, role);
          }
        }
      }
      // A loop: the same call, failing, loopLength times in a row, counted once per run of it.
      const key = loopKey(step);
      if (key !== '' && f !== undefined && i + 1 >= loopLength) {
        const run = steps.slice(i + 1 - loopLength, i + 1);
        const prev = steps[i - loopLength];
        const sameAsPrev = prev !== undefined && stepFailed(prev) && loopKey(prev) === key;
        if (!sameAsPrev && run.every((s) => stepFailed(s) && loopKey(s) === key)) found.add('failure-loop', 'repeat', LOOP_TEXT, t, run[0]?.index ?? step.index);
      }
    }
    if (t.outcome.label === 'unknown') continue;
    const events = eventsOf(t);
    for (const h of HABITS) {
      const at = h.applies(events);
      if (at === undefined) continue;
      const holds = h.holds(events);
      const counts = t.outcome.label === 'success' ? habitSuccesses : habitFailures;
      const c = counts.get(h.key) ?? { applies: 0, holds: 0 };
      c.applies++;
      if (holds) c.holds++;
      counts.set(h.key, c);
      // Both kinds of run show the lesson: a success that kept the habit, a failure that did without it.
      if (holds === (t.outcome.label === 'success')) found.add('success-habit', h.key, h.text, t, at);
    }
  }

  const dropped: MineDrop[] = [];
  const byText = new Map<string, { kind: MinedPatternKind; key: string; action?: ToolRole; trajectories: Set<string>; agents: Set<string>; evidence: EvidenceRef[] }>();
  for (const b of found.map.values()) {
    if (b.trajectories.size < minSupport) continue;
    if (b.kind === 'success-habit') {
      // A habit counts when successful runs show it clearly more often than failed runs that had the
      // same chance, and at least one such failed run did without it: with no contrast, nothing says it matters.
      const s = habitSuccesses.get(b.key);
      const f = habitFailures.get(b.key);
      if (s === undefined || s.holds === 0 || f === undefined || f.holds === f.applies) continue;
      if (s.holds / s.applies - f.holds / f.applies < HABIT_CONTRAST) continue;
    }
    const problems = checkPrinciple(b.text);
    if (problems.length > 0) {
      dropped.push({ kind: b.kind, key: b.key, support: b.trajectories.size, reason: `fails the principle check (${describeProblems(problems)})`, text: b.text });
      continue;
    }
    const same = byText.get(b.text);
    if (same === undefined) byText.set(b.text, { kind: b.kind, key: b.key, action: b.action, trajectories: new Set(b.trajectories), agents: new Set(b.agents), evidence: [...b.evidence] });
    else {
      for (const id of b.trajectories) same.trajectories.add(id);
      for (const a of b.agents) same.agents.add(a);
      same.evidence.push(...b.evidence);
    }
  }
  for (const b of unclassified.map.values()) {
    if (b.trajectories.size < minSupport) continue;
    dropped.push({ kind: 'error-recovery', key: b.key, support: b.trajectories.size, reason: 'the error fits no known class, so no general situation can be named' });
  }

  const patterns: MinedPattern[] = [...byText].map(([text, b]) => ({
    kind: b.kind,
    key: b.key,
    ...(b.action === undefined ? {} : { action: b.action }),
    support: b.trajectories.size,
    agents: [...b.agents].sort(),
    evidence: b.evidence,
    text,
  }));
  patterns.sort((a, b) => b.support - a.support || a.kind.localeCompare(b.kind) || a.key.localeCompare(b.key));
  dropped.sort((a, b) => b.support - a.support || a.key.localeCompare(b.key));
  return { patterns, dropped, trajectories: trajectories.length };
}

/** The proposed patterns only; `mine` also says what was dropped and why. */
export function minePatterns(trajectories: readonly Trajectory[], options: MineOptions = {}): MinedPattern[] {
  return [...mine(trajectories, options).patterns];
}

/** The drops in one line for a log or a notification, e.g. "2 dropped: 2 with an error of no known class". */
export function describeDrops(dropped: readonly MineDrop[]): string {
  if (dropped.length === 0) return 'none dropped';
  const byReason = new Map<string, number>();
  for (const d of dropped) byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
  return `${String(dropped.length)} dropped: ${[...byReason].map(([r, n]) => `${String(n)} because ${r}`).join('; ')}`;
}

/** The mined patterns as ADD proposals for curation (origin 'mined'). */
export function minedOps(patterns: readonly MinedPattern[]): ProposedOp[] {
  return patterns.map((p) => ({
    kind: 'ADD',
    text: p.text,
    rationale: `${p.kind}: seen in ${String(p.support)} trajectories from ${String(p.agents.length)} ${p.agents.length === 1 ? 'agent' : 'agents'} (${p.agents.join(', ')})`,
    evidence: p.evidence,
  }));
}
