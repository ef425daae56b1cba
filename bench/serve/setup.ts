/**
 * What the serving benchmarks share: the fixture runs' decision states as a session-ordered call
 * stream, and a synthetic pool of principles in the shape curation produces. run.ts measures the
 * latency against its peer with them, profile.ts takes a call apart.
 */
import { join } from 'node:path';
import { runCli } from '../../src/cli/main.js';
import type { Principle } from '../../src/core/principle.js';
import type { ServeState } from '../../src/core/serving/index.js';
import type { Store } from '../../src/core/store/index.js';
import { serveStateAt } from './sessions.js';

export const ROOT = join(__dirname, '..', '..');
const FIXTURES = ['claude-code', 'codex', 'swe-agent', 'openhands', 'gemini-cli', 'cline', 'aider', 'atif'].map((f) => join(ROOT, 'test', 'fixtures', f));

// A pool of 2,000 distinct principles in the shape curation produces ("When [situation], [strategy]."):
// every situation crossed with every strategy, so texts vary the way a large real pool's do.
const SITUATIONS = [
  'a test fails after an edit', 'a shell command is not found', 'a build fails on a type error', 'a dependency install fails',
  'the linter reports errors', 'a migration fails halfway', 'a file is larger than the context', 'the task is ambiguous',
  'a command hangs without output', 'a network request times out', 'a merge conflict appears', 'an import cannot be resolved',
  'a Python script raises a SyntaxError', 'the same error repeats after a fix', 'a deploy fails on the remote host', 'a test is flaky',
  'you are about to delete files', 'you are about to force-push', 'the working tree has uncommitted changes', 'the API returns 401',
  'a Rust build fails on borrow errors', 'a Go module is missing', 'the database schema changed', 'a config file is not valid JSON',
  'memory runs out during a run', 'the output is truncated', 'a regex does not match', 'a date parses in the wrong zone',
  'a Docker image fails to build', 'a CI job passes locally but fails remotely', 'the user reports a regression', 'a refactor touches many files',
  'a function has no tests', 'the docs disagree with the code', 'a path works on Linux but not Windows', 'environment variables are missing',
  'the server port is already in use', 'a package version conflicts', 'a permission is denied', 'the task is nearly done',
];
const STRATEGIES = [
  'read the full error message before changing code', 'reproduce it with the smallest command first', 'check the versions that are installed',
  'search the repository for the symbol before editing', 'run only the failing test to iterate quickly', 'make a backup before continuing',
  'ask the user before doing anything irreversible', 'read the relevant file instead of guessing its contents', 'keep the change minimal and re-run the checks',
  'look at the last successful commit for what changed', 'pipe long output through tail to keep the context small', 'check the logs of the failing service',
  'write a failing test that captures the problem', 'compare against the documented behaviour', 'undo the last change if it made things worse',
  'list the directory to confirm the path exists', 'verify the fix with the original reproduction', 'prefer the project’s own scripts over ad-hoc commands',
  'state the assumption you are making', 'stop and summarize what is known before trying again', 'check for an existing helper before writing a new one',
  'run the formatter before committing', 'pin the version that is known to work', 'read the test to learn the expected behaviour',
  'retry once with a longer timeout, then investigate', 'check the environment the command runs in', 'look for the same pattern elsewhere in the code',
  'split the change into smaller steps', 'confirm the branch and remote before pushing', 'consult the changelog of the dependency',
  'validate the input file before processing it', 'print the intermediate values to locate the fault', 'check the permissions of the file and its folder',
  'search the issue tracker for the error text', 'revert to a clean state before retrying', 'keep the user informed of what you changed',
  'check both the code and its configuration', 'read the stack trace from the bottom frame up', 'run the whole test suite before finishing',
  'note what was tried so it is not repeated', 'prefer an explicit error over a silent fallback', 'check free disk space and memory',
  'use the dry-run flag first', 'confirm the change with a second independent check', 'check whether the file is generated before editing it',
  'read the README for the supported way to do it', 'open the failing line in context before editing', 'check the encoding of the file',
  'verify the credentials without printing them', 'compare the failing and the passing environment',
];

/** `n` distinct accepted, global principles. */
export function syntheticPool(n: number): Principle[] {
  const out: Principle[] = [];
  for (let i = 0; out.length < n; i++) {
    const situation = SITUATIONS[i % SITUATIONS.length] ?? '';
    const strategy = STRATEGIES[Math.floor(i / SITUATIONS.length) % STRATEGIES.length] ?? '';
    const round = Math.floor(i / (SITUATIONS.length * STRATEGIES.length));
    const text = `When ${situation}, ${strategy}${round > 0 ? ` (variant ${String(round)})` : ''}.`;
    out.push({ id: `P${String(out.length + 1)}`, text, when: situation, scope: 'global', granularity: 'principle', status: 'accepted', origin: 'manual', evidence: [], helpful: 0, harmful: 0, createdIteration: 0, updatedIteration: 0 });
  }
  return out;
}

export interface Call {
  readonly state: ServeState;
  /** The first call of its session: the segment caches are emptied before it. */
  readonly first: boolean;
}

/**
 * The fixture runs imported into `store`, asked in session order (each run's states one after another,
 * each the task and up to the last 6 steps), at least `wanted` calls: the fixtures hold fewer states than
 * a stable p95 wants, so whole sessions are asked again, each time as a new session.
 */
export async function sessionStream(store: Store, home: string, wanted: number): Promise<{ stream: Call[]; distinct: number; sessions: number }> {
  const io = { out: (): void => undefined, err: (): void => undefined, env: { HOME: home }, cwd: home };
  await runCli(['import', '--db', store.path, ...FIXTURES], io);
  const sessions: Call[][] = [];
  for (const summaryRow of store.trajectories.list({})) {
    const t = store.trajectories.get(summaryRow.id);
    if (t === undefined || t.steps.length === 0) continue;
    sessions.push(Array.from({ length: t.steps.length }, (_, i) => ({ state: serveStateAt(t, i + 1, 6), first: i === 0 })));
  }
  const distinct = sessions.reduce((m, s) => m + s.length, 0);
  if (distinct === 0) throw new Error('no decision states: the fixtures gave no trajectories');
  const stream: Call[] = [];
  for (let i = 0; stream.length < wanted; i++) stream.push(...(sessions[i % sessions.length] ?? []));
  return { stream, distinct, sessions: sessions.length };
}

/** The p-th percentile of sorted values (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

/** CPU time of the whole process (every thread, the embedder's included), in ms. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
