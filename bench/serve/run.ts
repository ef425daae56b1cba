/**
 * principles_for_state latency: a pool of 2,000 accepted principles, the ONNX MiniLM embedder warm,
 * and a query stream shaped like real agent sessions: the decision states of the real agent runs
 * under test/fixtures (imported through the capture core) asked in session order — each run's
 * states one after another, each the task and up to the last 6 steps, as an agent calling the tool
 * at every step sends them. Measured in one run against its peer, the same query through a generic
 * vector-search path: the same state, the same embedder and the same state embedding (the segments
 * of src/core/serving/stateVector.ts, with a segment cache of its own that the peer fills itself),
 * then an in-memory Orama index (`@orama/orama`) instead of the warm pool's arena and the injection
 * selector. Calls alternate ours / peer so both see the same machine load.
 *
 *   npx tsx bench/serve/run.ts [--principles 2000] [--states 200] [--k 5] [--variant fp32|int8] [--whole 60]
 *
 * Three phases, each reported apart:
 * - session stream (the product's case): both segment caches are emptied when a session starts, so
 *   each session's first call is cold (task and every step embedded) and the later ones warm (only
 *   the newest step); first calls and later calls are reported apart, and all together;
 * - cold: every cache emptied before every call (what a call costs with nothing remembered);
 * - whole state (`--whole N` calls, 0 to skip): the state embedded in one piece, as before segments.
 *
 * Ours is the whole call as the MCP server makes it: state built and cut, embedded, selected (scope
 * and internalized masks, MMR, floor), track records read, the state redacted and the call logged
 * in an IMMEDIATE transaction. The peer does less (no scope filter, no MMR, no log); both sides'
 * search alone (state vector given) is reported too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, insert, search } from '@orama/orama';
import { runCli } from '../../src/cli/main.js';
import { createEmbedder } from '../../src/core/embedding/resolve.js';
import { arenaKernel } from '../../src/core/injection/exactDot.js';
import { DEFAULT_INJECTION_OPTIONS } from '../../src/core/injection/options.js';
import { selectBatch } from '../../src/core/injection/select.js';
import type { Principle } from '../../src/core/principle.js';
import { buildState, SegmentCache, servePrinciples, stateVector, warmPool, type ServeState, type StateEmbedding } from '../../src/core/serving/index.js';
import { openStore } from '../../src/core/store/index.js';
import { serveStateAt } from './sessions.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`);
  return v;
}

const ROOT = join(__dirname, '..', '..');
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

function pool(n: number): Principle[] {
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

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function summary(name: string, ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((s, v) => s + v, 0) / Math.max(1, ms.length);
  return `${name.padEnd(44)} p50 ${percentile(sorted, 50).toFixed(2).padStart(7)} ms   p95 ${percentile(sorted, 95).toFixed(2).padStart(7)} ms   mean ${mean.toFixed(2).padStart(7)} ms   max ${percentile(sorted, 100).toFixed(2).padStart(7)} ms`;
}

interface Call {
  readonly state: ServeState;
  /** The first call of its session: the segment caches are emptied before it. */
  readonly first: boolean;
}

async function main(): Promise<void> {
  const n = arg('principles', 2000);
  const wanted = arg('states', 200);
  const k = arg('k', DEFAULT_INJECTION_OPTIONS.k);
  const wholeCalls = process.argv.includes('--whole') ? Number(process.argv[process.argv.indexOf('--whole') + 1]) : 60;
  const variantArg = process.argv.includes('--variant') ? process.argv[process.argv.indexOf('--variant') + 1] : undefined;
  if (variantArg !== undefined && variantArg !== 'fp32' && variantArg !== 'int8') throw new Error('--variant must be fp32 or int8');
  const budget = DEFAULT_INJECTION_OPTIONS.stateTokenBudget;
  const dir = mkdtempSync(join(tmpdir(), 'internalize-bench-serve-'));
  const store = openStore(join(dir, 'bench.db'));
  try {
    const io = { out: (): void => undefined, err: (): void => undefined, env: { HOME: dir }, cwd: dir };
    await runCli(['import', '--db', store.path, ...FIXTURES], io);
    // Sessions in capture order; within each, its states in step order.
    const sessions: Call[][] = [];
    for (const summaryRow of store.trajectories.list({})) {
      const t = store.trajectories.get(summaryRow.id);
      if (t === undefined || t.steps.length === 0) continue;
      sessions.push(Array.from({ length: t.steps.length }, (_, i) => ({ state: serveStateAt(t, i + 1, 6), first: i === 0 })));
    }
    const distinct = sessions.reduce((m, s) => m + s.length, 0);
    if (distinct === 0) throw new Error('no decision states: the fixtures gave no trajectories');
    // The fixtures hold fewer states than a stable p95 wants: whole sessions are asked again, each
    // time as a new session (caches emptied), so a repeat is never warmer than the first time.
    const stream: Call[] = [];
    for (let i = 0; stream.length < wanted; i++) stream.push(...(sessions[i % sessions.length] ?? []));
    const principles = pool(n);
    store.transaction(() => {
      for (const p of principles) store.principles.save(p);
    });

    const embedder = await createEmbedder({ cacheDir: join(ROOT, '.cache', 'models'), env: process.env, ...(variantArg === undefined ? {} : { variant: variantArg }) });
    if (embedder.kind !== 'onnx') console.log(`WARNING: not the ONNX embedder (${embedder.description}); run bash scripts/setup-embedder.sh first.`);
    console.log(`${String(stream.length)} calls in session order over ${String(distinct)} distinct decision states of ${String(sessions.length)} fixture runs; pool ${String(n)} principles; k ${String(k)}; state budget ${String(budget)} tokens; embedder ${embedder.description}`);
    try {
      let t0 = performance.now();
      const warm = await warmPool(store, embedder);
      console.log(`warm pool: ${String(warm.principles.length)} principles embedded and loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s (once; later calls reuse it)`);

      // The peer's index: the same principle vectors in Orama.
      t0 = performance.now();
      // Orama types its schema from a literal: the MiniLM width is written out (checked, since the lexical fallback is wider).
      if (embedder.dim !== 384) throw new Error(`the peer index is declared for 384 dimensions; the embedder has ${String(embedder.dim)}`);
      const index = create({ schema: { pid: 'string', embedding: 'vector[384]' } as const });
      for (let i = 0; i < warm.principles.length; i++) {
        await insert(index, { pid: warm.principles[i]?.id ?? '', embedding: Array.from(warm.vectors.subarray(i * embedder.dim, (i + 1) * embedder.dim)) });
      }
      console.log(`peer index: Orama ${String(warm.principles.length)} vectors inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const oursCache = new SegmentCache();
      const peerCache = new SegmentCache();
      const peerSearch = async (vector: Float32Array): Promise<string[]> => {
        const found = await search(index, { mode: 'vector', vector: { value: Array.from(vector), property: 'embedding' }, similarity: DEFAULT_INJECTION_OPTIONS.scoreFloor, limit: k, includeVectors: false });
        return found.hits.map((h) => h.document.pid);
      };
      const peerCall = async (state: ServeState, mode: StateEmbedding): Promise<string[]> => {
        const built = buildState(state, budget);
        const { vector } = await stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, mode, cache: peerCache });
        return peerSearch(vector);
      };
      const oursCall = async (state: ServeState, mode: StateEmbedding): Promise<string | undefined> =>
        (await servePrinciples({ store, embedder, state, k, client: 'bench', stateTokenBudget: budget, stateEmbedding: mode, segmentCache: oursCache })).principles[0]?.id;
      const oursSearch = async (vector: Float32Array): Promise<number[]> => {
        const [row] = await selectBatch({ states: vector, rows: 1, principles: warm.vectors, n: warm.principles.length, dim: embedder.dim, config: { k, scoreFloor: DEFAULT_INJECTION_OPTIONS.scoreFloor, mmrLambda: DEFAULT_INJECTION_OPTIONS.mmrLambda }, kernel: arenaKernel(warm.arena), arena: warm.arena, blockRows: 1 });
        return row?.picks.map((p) => p.index) ?? [];
      };
      // CPU time of the whole process (the embedder's thread included) per call: on a shared machine
      // wall time mostly measures the wait for a core, CPU time what the call itself costs.
      const cpuMs = (): number => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      };

      // Warm-up: JIT, the redactor's rules, the embedder's first batches.
      for (const c of stream.slice(0, 20)) {
        await oursCall(c.state, 'segments');
        await peerCall(c.state, 'segments');
      }

      const phase = async (name: string, calls: readonly Call[], mode: StateEmbedding, emptyBefore: (c: Call) => boolean): Promise<void> => {
        const wall = { ours: [] as number[], peer: [] as number[] };
        const cpu = { ours: [] as number[], peer: [] as number[] };
        const byKind = { first: { ours: [] as number[], peer: [] as number[] }, later: { ours: [] as number[], peer: [] as number[] } };
        const cpuByKind = { first: { ours: [] as number[], peer: [] as number[] }, later: { ours: [] as number[], peer: [] as number[] } };
        let agree = 0;
        const embeddedBefore = oursCache.misses;
        const load0 = loadavg()[0] ?? 0;
        for (const [i, c] of calls.entries()) {
          if (emptyBefore(c)) {
            oursCache.clear();
            peerCache.clear();
          }
          let oursTop: string | undefined;
          let peerTop: string | undefined;
          // Alternate which side goes first so neither always runs right after the other warmed the core.
          for (const side of i % 2 === 0 ? (['ours', 'peer'] as const) : (['peer', 'ours'] as const)) {
            const start = performance.now();
            const cpu0 = cpuMs();
            if (side === 'ours') oursTop = await oursCall(c.state, mode);
            else peerTop = (await peerCall(c.state, mode))[0];
            const ms = performance.now() - start;
            wall[side].push(ms);
            const cpuSpent = cpuMs() - cpu0;
            cpu[side].push(cpuSpent);
            byKind[c.first ? 'first' : 'later'][side].push(ms);
            cpuByKind[c.first ? 'first' : 'later'][side].push(cpuSpent);
          }
          if (oursTop === peerTop) agree++;
        }
        console.log(`\n${name}: ${String(calls.length)} calls per side; load average ${load0.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end; ours embedded ${String(oursCache.misses - embeddedBefore)} segments`);
        console.log(summary('ours: servePrinciples (whole call, logged)', wall.ours));
        console.log(summary('peer: same state vector + Orama search', wall.peer));
        console.log(summary('ours: CPU time per call (all threads)', cpu.ours));
        console.log(summary('peer: CPU time per call (all threads)', cpu.peer));
        if (mode === 'segments' && byKind.first.ours.length > 0 && byKind.later.ours.length > 0) {
          console.log(summary(`  ours, first call of a session (${String(byKind.first.ours.length)})`, byKind.first.ours));
          console.log(summary(`  ours, later calls (${String(byKind.later.ours.length)})`, byKind.later.ours));
          console.log(summary(`  peer, first call of a session`, byKind.first.peer));
          console.log(summary(`  peer, later calls`, byKind.later.peer));
          console.log(summary(`  ours, CPU, first call of a session`, cpuByKind.first.ours));
          console.log(summary(`  ours, CPU, later calls`, cpuByKind.later.ours));
          console.log(summary(`  peer, CPU, later calls`, cpuByKind.later.peer));
        }
        console.log(`same first principle on both sides: ${String(agree)} / ${String(calls.length)}`);
        const p95 = percentile([...wall.ours].sort((a, b) => a - b), 95);
        console.log(`goal p95 < 20 ms: ${p95 < 20 ? 'met' : 'NOT met'} (${p95.toFixed(2)} ms)`);
      };

      await phase('session stream (segments; caches emptied when a session starts)', stream, 'segments', (c) => c.first);
      await phase('cold (segments; caches emptied before every call)', stream, 'segments', () => true);
      if (wholeCalls > 0) await phase('whole state embedded in one piece (the planner\'s way)', stream.slice(0, wholeCalls), 'whole', () => false);

      // Search alone, state vector given, on the session stream's vectors.
      const searchOurs: number[] = [];
      const searchPeer: number[] = [];
      oursCache.clear();
      for (const c of stream) {
        const built = buildState(c.state, budget);
        const { vector } = await stateVector({ embedder, trajectory: built.trajectory, wholeText: built.text, cache: oursCache });
        let start = performance.now();
        await oursSearch(vector);
        searchOurs.push(performance.now() - start);
        start = performance.now();
        await peerSearch(vector);
        searchPeer.push(performance.now() - start);
      }
      console.log('');
      console.log(summary('search alone, ours: selectBatch on the arena', searchOurs));
      console.log(summary('search alone, peer: Orama vector search', searchPeer));
    } finally {
      await embedder.dispose();
    }
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
