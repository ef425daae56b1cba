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
 *   npx tsx bench/serve/run.ts [--principles 2000] [--states 200] [--k 5] [--variant fp32|int8] [--whole 60] [--thread inline|worker]
 *
 * `--thread` is where the model runs: `inline` (default), in the serving thread, as `internalize mcp`
 * runs it; `worker`, a thread of its own, as the editor runs it.
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
import { createEmbedder } from '../../src/core/embedding/resolve.js';
import { arenaKernel } from '../../src/core/injection/exactDot.js';
import { DEFAULT_INJECTION_OPTIONS } from '../../src/core/injection/options.js';
import { selectBatch } from '../../src/core/injection/select.js';
import { buildState, DEFAULT_SEGMENT_POLICY, SegmentCache, servePrinciples, stateVector, warmPool, type ServeState, type StateEmbedding } from '../../src/core/serving/index.js';
import { openStore } from '../../src/core/store/index.js';
import { cpuMs, percentile, ROOT, sessionStream, syntheticPool, type Call } from './setup.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive whole number`);
  return v;
}

function summary(name: string, ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((s, v) => s + v, 0) / Math.max(1, ms.length);
  return `${name.padEnd(44)} p50 ${percentile(sorted, 50).toFixed(2).padStart(7)} ms   p95 ${percentile(sorted, 95).toFixed(2).padStart(7)} ms   mean ${mean.toFixed(2).padStart(7)} ms   max ${percentile(sorted, 100).toFixed(2).padStart(7)} ms`;
}

async function main(): Promise<void> {
  const n = arg('principles', 2000);
  const wanted = arg('states', 200);
  const k = arg('k', DEFAULT_INJECTION_OPTIONS.k);
  const wholeCalls = process.argv.includes('--whole') ? Number(process.argv[process.argv.indexOf('--whole') + 1]) : 60;
  const variantArg = process.argv.includes('--variant') ? process.argv[process.argv.indexOf('--variant') + 1] : undefined;
  if (variantArg !== undefined && variantArg !== 'fp32' && variantArg !== 'int8') throw new Error('--variant must be fp32 or int8');
  const thread = process.argv.includes('--thread') ? process.argv[process.argv.indexOf('--thread') + 1] : 'inline';
  if (thread !== 'inline' && thread !== 'worker') throw new Error('--thread must be inline or worker');
  const budget = DEFAULT_INJECTION_OPTIONS.stateTokenBudget;
  const dir = mkdtempSync(join(tmpdir(), 'internalize-bench-serve-'));
  const store = openStore(join(dir, 'bench.db'));
  try {
    const { stream, distinct, sessions } = await sessionStream(store, dir, wanted);
    const principles = syntheticPool(n);
    store.transaction(() => {
      for (const p of principles) store.principles.save(p);
    });

    const embedder = await createEmbedder({ cacheDir: join(ROOT, '.cache', 'models'), env: process.env, thread, ...(variantArg === undefined ? {} : { variant: variantArg }) });
    if (embedder.kind !== 'onnx') console.log(`WARNING: not the ONNX embedder (${embedder.description}); run bash scripts/setup-embedder.sh first.`);
    console.log(`${String(stream.length)} calls in session order over ${String(distinct)} distinct decision states of ${String(sessions)} fixture runs; pool ${String(n)} principles; k ${String(k)}; state budget ${String(budget)} tokens; embedder ${embedder.description}, ${thread === 'inline' ? 'in the serving thread' : 'in a worker thread'}; segment cap ${String(DEFAULT_SEGMENT_POLICY.modelTokens ?? 'none')} model tokens`);
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
