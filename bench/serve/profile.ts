/**
 * Where a principles_for_state call's milliseconds go: the same store, pool and session-ordered
 * stream as run.ts, each call timed part by part (servePrinciples' trace), garbage collection and
 * event-loop delay watched while it runs, and the embedding taken apart in this thread (tokenizer,
 * the ONNX pass by sequence length) beside the worker thread's round trip.
 *
 *   npx tsx bench/serve/profile.ts [--principles 2000] [--states 200] [--variant fp32|int8] [--thread inline|worker] [--threads N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { loadOnnxModel } from '../../src/core/embedding/onnxModel.js';
import { builtinModelDir, createEmbedder, defaultThreads } from '../../src/core/embedding/resolve.js';
import { buildState, DEFAULT_SEGMENT_POLICY, SegmentCache, servePrinciples, sharedSegmentCache, stateSegments, warmPool, type ServePart } from '../../src/core/serving/index.js';
import { openStore } from '../../src/core/store/index.js';
import { createServer } from '../../src/mcp/server.js';
import { cpuMs, percentile, ROOT, sessionStream, syntheticPool } from './setup.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

function line(name: string, values: readonly number[], unit = 'ms'): string {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
  const f = (v: number): string => v.toFixed(unit === 'ms' ? 2 : 0).padStart(7);
  return `${name.padEnd(40)} p50 ${f(percentile(sorted, 50))}   p95 ${f(percentile(sorted, 95))}   mean ${f(mean)}   max ${f(percentile(sorted, 100))} ${unit}   (${String(values.length)})`;
}

async function main(): Promise<void> {
  const n = Number(arg('principles', '2000'));
  const wanted = Number(arg('states', '200'));
  const variant = arg('variant', 'int8');
  if (variant !== 'int8' && variant !== 'fp32') throw new Error('--variant must be fp32 or int8');
  const thread = arg('thread', 'inline');
  if (thread !== 'inline' && thread !== 'worker') throw new Error('--thread must be inline or worker');
  if (!Number.isInteger(n) || n <= 0 || !Number.isInteger(wanted) || wanted <= 0) throw new Error('--principles and --states take positive whole numbers');
  // The embedder's threads as `internalize mcp` picks them (every core for an inline embedder, at most 4) unless --threads says.
  const threads = Number(arg('threads', String(defaultThreads(thread))));
  if (!Number.isInteger(threads) || threads < 1) throw new Error('--threads takes a whole number of at least 1');
  const cacheDir = join(ROOT, '.cache', 'models');
  const dir = mkdtempSync(join(tmpdir(), 'internalize-bench-profile-'));
  const store = openStore(join(dir, 'bench.db'));
  const embedder = await createEmbedder({ cacheDir, variant, threads, thread, env: process.env });
  try {
    if (embedder.kind !== 'onnx') throw new Error(`the ONNX embedder is not available: ${embedder.reason}`);
    const { stream } = await sessionStream(store, dir, wanted);
    store.transaction(() => {
      for (const p of syntheticPool(n)) store.principles.save(p);
    });
    await warmPool(store, embedder);
    const cache = new SegmentCache();
    const call = (state: (typeof stream)[number]['state'], trace?: (part: ServePart, ms: number) => void): ReturnType<typeof servePrinciples> =>
      servePrinciples({ store, embedder, state, k: 5, client: 'bench', segmentCache: cache, ...(trace === undefined ? {} : { trace }) });
    for (const c of stream.slice(0, 20)) await call(c.state);

    console.log(`${embedder.description}, ${thread === 'inline' ? 'in the serving thread' : 'in a worker thread'}; pool ${String(n)}; ${String(stream.length)} calls in session order; load average ${(loadavg()[0] ?? 0).toFixed(1)}`);
    const parts = { first: new Map<string, number[]>(), later: new Map<string, number[]>() };
    const totals = { first: [] as number[], later: [] as number[] };
    const cpu = { first: [] as number[], later: [] as number[] };
    const gcPauses: number[] = [];
    const gcKinds = new Map<string, number>();
    // node's GC entries: detail.kind 1 scavenge (young generation), 2 minor mark-sweep, 4 mark-sweep-compact, 8 incremental marking, 16 weak callbacks.
    const kindName = (kind: number | undefined): string => ({ 1: 'scavenge', 2: 'minor mark-sweep', 4: 'mark-sweep-compact', 8: 'incremental marking', 16: 'weak callbacks' } as Record<number, string>)[kind ?? 0] ?? `kind ${String(kind)}`;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        gcPauses.push(entry.duration);
        const name = kindName((entry as unknown as { detail?: { kind?: number } }).detail?.kind);
        gcKinds.set(name, (gcKinds.get(name) ?? 0) + entry.duration);
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    for (const c of stream) {
      if (c.first) cache.clear();
      const kind = c.first ? 'first' : 'later';
      const start = performance.now();
      const cpu0 = cpuMs();
      await call(c.state, (part, ms) => {
        const list = parts[kind].get(part) ?? [];
        list.push(ms);
        parts[kind].set(part, list);
      });
      totals[kind].push(performance.now() - start);
      cpu[kind].push(cpuMs() - cpu0);
    }
    loop.disable();
    observer.disconnect();
    for (const kind of ['later', 'first'] as const) {
      console.log(`\n${kind === 'later' ? 'later calls of a session (warm: the newest step embedded)' : 'first call of a session (the task and every step embedded)'}`);
      console.log(line('whole call, wall', totals[kind]));
      console.log(line('whole call, CPU (all threads)', cpu[kind]));
      for (const [part, ms] of parts[kind]) console.log(line(`  ${part}`, ms));
    }
    const gcSum = gcPauses.reduce((s, v) => s + v, 0);
    console.log(`\ngarbage collection during the stream: ${String(gcPauses.length)} pauses, ${gcSum.toFixed(1)} ms in all (${[...gcKinds].map(([k, ms]) => `${k} ${ms.toFixed(1)} ms`).join(', ')}), longest ${Math.max(0, ...gcPauses).toFixed(2)} ms`);
    console.log(`event-loop delay (main thread): p50 ${(loop.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(loop.max / 1e6).toFixed(2)} ms`);

    // The same warm calls through the MCP server (schema validation, the answer rendered, JSON-RPC over an
    // in-memory transport), with the request and the answer also written and read as JSON, as stdio would.
    // The server disposes its embedder when it closes; this one is still needed below.
    const server = createServer({ dbPath: store.path, resolveEmbedder: () => Promise.resolve({ ...embedder, dispose: () => Promise.resolve() }) });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'bench', version: '0' });
    await client.connect(clientSide);
    try {
      const viaMcp: number[] = [];
      const direct: number[] = [];
      const json: number[] = [];
      for (const [i, c] of [...stream, ...stream].entries()) {
        if (c.first) {
          sharedSegmentCache.clear();
          cache.clear();
        }
        const args = { ...c.state, k: 5 };
        let t0 = performance.now();
        const result = await client.callTool({ name: 'principles_for_state', arguments: args });
        const mcpMs = performance.now() - t0;
        t0 = performance.now();
        JSON.parse(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'tools/call', params: { name: 'principles_for_state', arguments: args } }));
        JSON.parse(JSON.stringify({ jsonrpc: '2.0', id: i, result }));
        const jsonMs = performance.now() - t0;
        t0 = performance.now();
        await call(c.state);
        // The first pass over the stream warms the server's pool and JIT; the second is measured.
        if (i >= stream.length && !c.first) {
          viaMcp.push(mcpMs);
          json.push(jsonMs);
          direct.push(performance.now() - t0);
        }
      }
      // Each side's log insert is the other's foreign commit, so here both pay the pool's version check every call.
      console.log('\nwarm calls through the MCP server (in-memory transport) beside servePrinciples called directly, alternated (both re-check the pool version)');
      console.log(line('  through the MCP server', viaMcp));
      console.log(line('  servePrinciples directly', direct));
      console.log(line('  request and answer as JSON text', json));
    } finally {
      await client.close();
      await server.close();
    }

    // The embedding taken apart, in this thread, on the segments a warm call embeds (each state's newest step).
    const model = await loadOnnxModel({ dir: builtinModelDir(cacheDir), variant, threads });
    try {
      const newest = stream.map((c) => stateSegments(buildState(c.state, 512).trajectory).segments.at(-1)?.text ?? '');
      const cap = DEFAULT_SEGMENT_POLICY.modelTokens;
      console.log(`\nthe newest step's segment: ${String(newest.length)} texts, model tokens before the cap and after (cap ${String(cap ?? 'none')})`);
      console.log(line('  tokens, uncapped', newest.map((t) => model.tokenize(t).length), 'tokens'));
      console.log(line('  tokens, capped', newest.map((t) => model.tokenize(t, cap).length), 'tokens'));
      const tokenize: number[] = [];
      const pass: number[] = [];
      for (const text of newest) {
        let t0 = performance.now();
        const ids = model.tokenize(text, cap);
        tokenize.push(performance.now() - t0);
        t0 = performance.now();
        await model.run([ids]);
        pass.push(performance.now() - t0);
      }
      console.log(line('  tokenizer', tokenize));
      console.log(line('  ONNX pass + pooling (this thread)', pass));
      for (const length of [8, 16, 32, 48, 64, 96, 128]) {
        const ids = [101, ...Array.from({ length: length - 2 }, (_, i) => 2000 + ((i * 37) % 5000)), 102];
        const ms: number[] = [];
        for (let i = 0; i < 25; i++) {
          const t0 = performance.now();
          await model.run([ids]);
          ms.push(performance.now() - t0);
        }
        console.log(line(`  ONNX pass, ${String(length)} tokens`, ms));
      }
      // The embedder as configured (through the worker with --thread worker) beside the model called here.
      const viaWorker: number[] = [];
      const here: number[] = [];
      for (let i = 0; i < 50; i++) {
        let t0 = performance.now();
        await embedder.embed(['ok'], undefined, cap === undefined ? undefined : { maxTokens: cap });
        viaWorker.push(performance.now() - t0);
        t0 = performance.now();
        await model.embed(['ok'], cap);
        here.push(performance.now() - t0);
      }
      console.log(line(`  "ok" through the embedder (${thread})`, viaWorker));
      console.log(line('  "ok", the model called here', here));
    } finally {
      await model.dispose();
    }
  } finally {
    await embedder.dispose();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
