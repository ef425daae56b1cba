/**
 * Principle quality per extractor on the reference set (bench/experience/reference.json): the
 * principle check's pass rate (form, 32 words, no instance details), duplicates, support, agreement
 * with the reference principles (greedy match by ONNX MiniLM cosine) shown side by side, and time.
 * Written to bench/results/experience.{md,json}; a "## Reading" section already in the .md is kept.
 *
 *   npx tsx bench/experience/run.ts                       # the miner (always)
 *   npx tsx bench/experience/run.ts --local               # + SmolLM2-135M in the training worker
 *   npx tsx bench/experience/run.ts --llama [--gguf F]    # + llama.cpp server (built-in SmolLM2 GGUF, or F)
 *   npx tsx bench/experience/run.ts --endpoint URL --model NAME   # + any OpenAI-compatible endpoint
 *
 * Environment: INTERNALIZE_BENCH_ENDPOINT / INTERNALIZE_BENCH_MODEL (an endpoint), INTERNALIZE_QWEN_GGUF (a
 * GGUF for --llama, e.g. Qwen2.5-Coder-1.5B-Instruct), INTERNALIZE_MODELS_DIR (models cache, default .cache/models).
 * --llm-runs N: model extractors see the N shortest runs of the demo (default 4), since a 2-core CPU
 * takes minutes per run for a small model; the miner always sees the whole set.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRedactor, importPaths } from '../../src/core/capture/index.js';
import { localWorkerModel } from '../../src/core/distill/localModel.js';
import { WorkerClient } from '../../src/core/distill/worker.js';
import { createEmbedder, type ResolvedEmbedder } from '../../src/core/embedding/resolve.js';
import { mine } from '../../src/core/experience/miner.js';
import { extractExperience } from '../../src/core/experience/pipeline.js';
import { renderTrajectory } from '../../src/core/experience/render.js';
import { checkPrinciple, MAX_SENTENCE_WORDS } from '../../src/core/experience/specificity.js';
import { textRedactor } from '../../src/core/experience/textRedaction.js';
import type { LanguageModel } from '../../src/core/llm/languageModel.js';
import { openAiCompatibleModel } from '../../src/core/llm/openaiCompatible.js';
import { openStore } from '../../src/core/store/index.js';
import type { Trajectory } from '../../src/core/trajectory.js';
import { LLAMA_ALIAS, llamaEnvironment, startLlamaServer, type LlamaServer } from '../../test/contract/llamaServer.js';

const ROOT = join(__dirname, '..', '..');
const RESULTS = join(ROOT, 'bench', 'results');

/**
 * A proposal matches a reference principle at this MiniLM cosine or above. Measured on this set:
 * paraphrases of one lesson ("read the failing test before editing" in two wordings) score 0.70-0.90;
 * different lessons that share the vocabulary of tests and failures score up to about 0.55.
 */
const MATCH_THRESHOLD = 0.6;
/** Two proposals of one extractor at this cosine or above say the same thing. */
const DUPLICATE_THRESHOLD = 0.85;

interface Reference {
  readonly runs: readonly { readonly path: string; readonly kind: string; readonly note: string }[];
  readonly principles: readonly { readonly id: string; readonly text: string; readonly shownBy: string }[];
}

interface Proposal {
  readonly text: string;
  /** Distinct runs behind it: the miner's support, or the runs of the group a model's operation came from. */
  readonly support: number;
  readonly agents: readonly string[];
}

interface Extraction {
  readonly name: string;
  readonly scope: string;
  readonly proposals: readonly Proposal[];
  readonly dropped: readonly { readonly reason: string; readonly text?: string }[];
  readonly ms: number;
  /** For model extractors: how the model's own texts fared before the rewrite loop. */
  readonly check?: { readonly texts: number; readonly passed: number; readonly rewritten: number };
  readonly error?: string;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string): boolean => process.argv.includes(name);

async function load(paths: readonly string[]): Promise<Trajectory[]> {
  const store = openStore(':memory:');
  try {
    await importPaths(store, await createRedactor(), paths.map((p) => join(ROOT, p)));
    return store.trajectories
      .list({ limit: 100_000 })
      .map((s) => store.trajectories.get(s.id))
      .filter((t): t is Trajectory => t !== undefined)
      .sort((a, b) => a.id.localeCompare(b.id));
  } finally {
    store.close();
  }
}

function runMiner(name: string, scope: string, trajectories: readonly Trajectory[], minSupport: number): Extraction {
  const t0 = performance.now();
  const report = mine(trajectories, { minSupport });
  const ms = performance.now() - t0;
  return {
    name,
    scope,
    proposals: report.patterns.map((p) => ({ text: p.text, support: p.support, agents: p.agents })),
    dropped: report.dropped.map((d) => ({ reason: d.reason, ...(d.text === undefined ? {} : { text: d.text }) })),
    ms,
  };
}

/**
 * Summaries and critiques carry no token budget of their own (a capable model stops by itself); a
 * small model may ramble to its context's end, so the bench gives them this many tokens (--max-tokens).
 */
const PROSE_MAX_TOKENS = Number.parseInt(arg('--max-tokens') ?? '256', 10);

async function runModel(name: string, base: LanguageModel, trajectories: readonly Trajectory[]): Promise<Extraction> {
  const model: LanguageModel = { ...base, chat: (request) => base.chat({ ...request, maxTokens: request.maxTokens ?? PROSE_MAX_TOKENS }) };
  const store = openStore(':memory:');
  const scope = `${String(trajectories.length)} demo runs`;
  const t0 = performance.now();
  try {
    const result = await extractExperience({ store, model, trajectories, redact: textRedactor(await createRedactor()), onProgress: (e) => { process.stderr.write(`  ${name}: ${e.stage} ${String(e.done)}/${String(e.total)}\n`); } });
    const byId = new Map(trajectories.map((t) => [t.id, t]));
    const proposals = result.opIds.flatMap((id) => {
      const op = store.poolOps.get(id);
      if (op?.after === undefined) return [];
      const runs = new Set(op.evidence.map((e) => e.trajectoryId));
      const agents = [...new Set([...runs].map((r) => byId.get(r)?.source ?? 'unknown'))].sort();
      return [{ text: op.after, support: runs.size, agents }];
    });
    return {
      name,
      scope,
      proposals,
      dropped: result.dropped.map((d) => ({ reason: d.reason, ...('text' in d.candidate.raw ? { text: d.candidate.raw.text } : {}) })),
      ms: performance.now() - t0,
      check: result.check,
    };
  } catch (e) {
    return { name, scope, proposals: [], dropped: [], ms: performance.now() - t0, error: e instanceof Error ? e.message : String(e) };
  } finally {
    store.close();
  }
}

function cosineMatrix(a: Float32Array, b: Float32Array, dim: number): number[][] {
  const rows = a.length / dim;
  const cols = b.length / dim;
  return Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => {
      let s = 0;
      for (let k = 0; k < dim; k++) s += (a[i * dim + k] ?? 0) * (b[j * dim + k] ?? 0);
      return s;
    }),
  );
}

interface Scored {
  readonly extraction: Extraction;
  readonly pass: number;
  readonly form: number;
  readonly length: number;
  readonly general: number;
  readonly duplicates: readonly (readonly [number, number, number])[];
  /** Per reference principle: the proposal it was matched to (greedy, above the threshold), and its best proposal whatever the score. */
  readonly matches: readonly { readonly ref: string; readonly matched?: number; readonly best?: number; readonly score: number; readonly bestScore: number }[];
}

async function score(extraction: Extraction, reference: Reference, refVectors: Float32Array, embedder: ResolvedEmbedder): Promise<Scored> {
  const texts = extraction.proposals.map((p) => p.text);
  const checks = texts.map((t) => checkPrinciple(t));
  const vectors = texts.length === 0 ? new Float32Array(0) : await embedder.embed(texts);
  const sim = cosineMatrix(refVectors, vectors, embedder.dim);
  const self = cosineMatrix(vectors, vectors, embedder.dim);
  const duplicates: [number, number, number][] = [];
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) if ((self[i]?.[j] ?? 0) >= DUPLICATE_THRESHOLD) duplicates.push([i, j, self[i]?.[j] ?? 0]);
  // Greedy one-to-one matching: the most similar free pair first.
  const pairs: [number, number, number][] = [];
  sim.forEach((row, r) => { row.forEach((s, p) => { if (s >= MATCH_THRESHOLD) pairs.push([r, p, s]); }); });
  pairs.sort((x, y) => y[2] - x[2] || x[0] - y[0] || x[1] - y[1]);
  const refTaken = new Map<number, [number, number]>();
  const propTaken = new Set<number>();
  for (const [r, p, s] of pairs) {
    if (refTaken.has(r) || propTaken.has(p)) continue;
    refTaken.set(r, [p, s]);
    propTaken.add(p);
  }
  const matches = reference.principles.map((ref, r) => {
    const row = sim[r] ?? [];
    const best = row.length === 0 ? undefined : row.indexOf(Math.max(...row));
    const taken = refTaken.get(r);
    return { ref: ref.id, ...(taken === undefined ? {} : { matched: taken[0] }), ...(best === undefined ? {} : { best }), score: taken?.[1] ?? 0, bestScore: best === undefined ? 0 : (row[best] ?? 0) };
  });
  return {
    extraction,
    pass: checks.filter((c) => c.length === 0).length,
    form: checks.filter((c) => !c.some((p) => p.kind === 'form')).length,
    length: checks.filter((c) => !c.some((p) => p.kind === 'length')).length,
    general: checks.filter((c) => !c.some((p) => p.kind === 'specific')).length,
    duplicates,
    matches,
  };
}

const pct = (n: number, d: number): string => (d === 0 ? '–' : `${String(n)}/${String(d)} (${((100 * n) / d).toFixed(0)}%)`);
const cell = (s: string): string => s.replace(/\|/gu, '\\|').replace(/\n/gu, ' ');

function supportLine(p: readonly Proposal[]): string {
  if (p.length === 0) return '–';
  const s = p.map((x) => x.support).sort((a, b) => a - b);
  const agents = p.map((x) => x.agents.length).sort((a, b) => a - b);
  return `runs ${String(s[0])}–${String(s[s.length - 1])} (median ${String(s[Math.floor(s.length / 2)])}), agents ${String(agents[0])}–${String(agents[agents.length - 1])}`;
}

function markdown(reference: Reference, scored: readonly Scored[], meta: Record<string, string>): string {
  const lines = [
    '# Principle quality: extractors against a reference set',
    '',
    `Generated by \`npx tsx bench/experience/run.ts${meta.args === '' ? '' : ` ${meta.args ?? ''}`}\` on ${meta.date ?? ''} (${meta.machine ?? ''}). Reference set and method: [bench/experience/README.md](../experience/README.md).`,
    `Embedder: ${meta.embedder ?? ''}. A proposal matches a reference principle at cosine ≥ ${String(MATCH_THRESHOLD)} (greedy, one to one); two proposals are duplicates at ≥ ${String(DUPLICATE_THRESHOLD)}.`,
    '',
    '| Extractor | Runs seen | Proposed | Principle check | Form "When …, …." | ≤ 32 words | No instance details | Duplicates | Support | References matched | Dropped | Time |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of scored) {
    const e = s.extraction;
    const n = e.proposals.length;
    const matched = s.matches.filter((m) => m.matched !== undefined).length;
    lines.push(
      `| ${e.name}${e.error === undefined ? '' : ' (failed)'} | ${e.scope} | ${String(n)} | ${pct(s.pass, n)} | ${pct(s.form, n)} | ${pct(s.length, n)} | ${pct(s.general, n)} | ${String(s.duplicates.length)} | ${supportLine(e.proposals)} | ${pct(matched, reference.principles.length)} | ${String(e.dropped.length)} | ${e.ms < 1000 ? `${e.ms.toFixed(0)} ms` : `${(e.ms / 1000).toFixed(1)} s`} |`,
    );
  }
  for (const s of scored) {
    const e = s.extraction;
    lines.push('', `## ${e.name}`, '');
    if (e.error !== undefined) lines.push(`The run failed: ${cell(e.error)}`, '');
    if (e.check !== undefined) lines.push(`The model wrote ${String(e.check.texts)} principle texts; ${String(e.check.passed)} passed the principle check as written, ${String(e.check.rewritten)} more after one rewrite; the rest were dropped.`, '');
    lines.push('| Reference | Matched proposal (cosine) | Best proposal if unmatched (cosine) |', '| --- | --- | --- |');
    for (const m of s.matches) {
      const ref = reference.principles.find((r) => r.id === m.ref);
      const matched = m.matched === undefined ? '–' : `${cell(e.proposals[m.matched]?.text ?? '')} (${m.score.toFixed(2)})`;
      const best = m.matched === undefined && m.best !== undefined ? `${cell(e.proposals[m.best]?.text ?? '')} (${m.bestScore.toFixed(2)})` : '';
      lines.push(`| ${m.ref}: ${cell(ref?.text ?? '')} | ${matched} | ${best} |`);
    }
    const used = new Set(s.matches.flatMap((m) => (m.matched === undefined ? [] : [m.matched])));
    const extra = e.proposals.map((p, i) => ({ p, i })).filter(({ i }) => !used.has(i));
    if (extra.length > 0) {
      lines.push('', 'Proposals that match no reference principle:', '');
      for (const { p } of extra) lines.push(`- ${p.text} (${String(p.support)} runs; ${p.agents.join(', ')}${checkPrinciple(p.text).length === 0 ? '' : '; fails the principle check'})`);
    }
    if (s.duplicates.length > 0) {
      lines.push('', 'Duplicates:', '');
      for (const [i, j, c] of s.duplicates) lines.push(`- "${e.proposals[i]?.text ?? ''}" ≈ "${e.proposals[j]?.text ?? ''}" (${c.toFixed(2)})`);
    }
    if (e.dropped.length > 0) {
      lines.push('', 'Dropped:', '');
      for (const d of e.dropped) lines.push(`- ${cell(d.reason)}${d.text === undefined ? '' : ` — "${cell(d.text)}"`}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const reference = JSON.parse(readFileSync(join(__dirname, 'reference.json'), 'utf8')) as Reference;
  const all = await load(reference.runs.map((r) => r.path));
  const demoPath = reference.runs[0]?.path ?? 'samples/agent-runs';
  const demo = await load([demoPath]);
  process.stderr.write(`reference set: ${String(all.length)} trajectories (${String(demo.length)} in the demo), ${String(reference.principles.length)} reference principles\n`);

  const extractions: Extraction[] = [
    runMiner('miner, minSupport 2 (default)', `all ${String(all.length)}`, all, 2),
    runMiner('miner, minSupport 1', `all ${String(all.length)}`, all, 1),
    runMiner('miner on the demo, minSupport 2', `demo ${String(demo.length)}`, demo, 2),
  ];

  const llmRuns = Number.parseInt(arg('--llm-runs') ?? '4', 10);
  const small = demo
    .map((t) => ({ t, size: renderTrajectory(t).length }))
    .sort((a, b) => a.size - b.size || a.t.id.localeCompare(b.t.id))
    .slice(0, llmRuns)
    .map((x) => x.t);
  const modelsDir = process.env.INTERNALIZE_MODELS_DIR ?? join(ROOT, '.cache', 'models');

  if (flag('--local')) {
    const worker = WorkerClient.start({ python: join(ROOT, '.venv', 'bin', 'python'), cwd: ROOT });
    try {
      const model = localWorkerModel({ model: 'smollm2-135m-instruct', modelsDir, worker: () => worker });
      extractions.push(await runModel('SmolLM2-135M-Instruct (training worker)', model, small));
    } finally {
      worker.dispose();
    }
  }
  if (flag('--llama')) {
    const env = llamaEnvironment();
    const gguf = arg('--gguf') ?? process.env.INTERNALIZE_QWEN_GGUF;
    if (typeof env === 'string') process.stderr.write(`llama.cpp server skipped: ${env}\n`);
    else if (gguf !== undefined && !existsSync(gguf)) process.stderr.write(`llama.cpp server skipped: no GGUF at ${gguf}\n`);
    else {
      let server: LlamaServer | undefined;
      try {
        server = await startLlamaServer({ ...env, gguf: gguf ?? env.gguf });
        const model = openAiCompatibleModel({ baseUrl: server.baseUrl, model: LLAMA_ALIAS, timeoutMs: 900_000, maxRetries: 0 });
        extractions.push(await runModel(`${gguf === undefined ? 'SmolLM2-135M-Instruct Q4_1' : gguf.split('/').pop() ?? gguf} (llama.cpp server)`, model, small));
      } finally {
        await server?.stop();
      }
    }
  }
  const endpoint = arg('--endpoint') ?? process.env.INTERNALIZE_BENCH_ENDPOINT;
  if (endpoint !== undefined) {
    const name = arg('--model') ?? process.env.INTERNALIZE_BENCH_MODEL ?? 'default';
    extractions.push(await runModel(`${name} at ${endpoint}`, openAiCompatibleModel({ baseUrl: endpoint, model: name, timeoutMs: 900_000 }), small));
  }

  const embedder = await createEmbedder({ cacheDir: modelsDir, env: process.env, variant: 'fp32' });
  try {
    const refVectors = await embedder.embed(reference.principles.map((p) => p.text));
    const scored: Scored[] = [];
    for (const e of extractions) scored.push(await score(e, reference, refVectors, embedder));
    const meta = {
      args: process.argv.slice(2).join(' '),
      date: new Date().toISOString().slice(0, 10),
      machine: `${String((await import('node:os')).cpus().length)}-core CPU, load ${(await import('node:os')).loadavg()[0]?.toFixed(1) ?? '?'}`,
      embedder: embedder.description,
    };
    const md = markdown(reference, scored, meta);
    const mdPath = join(RESULTS, 'experience.md');
    // The reading is written by a person after looking at the numbers; a rerun keeps it.
    const previous = existsSync(mdPath) ? readFileSync(mdPath, 'utf8') : '';
    const reading = previous.indexOf('\n## Reading\n');
    writeFileSync(mdPath, reading < 0 ? md : `${md}${previous.slice(reading)}`);
    const json = {
      generated: meta,
      matchThreshold: MATCH_THRESHOLD,
      duplicateThreshold: DUPLICATE_THRESHOLD,
      maxWords: MAX_SENTENCE_WORDS,
      reference,
      extractors: scored.map((s) => ({
        ...s.extraction,
        pass: s.pass,
        form: s.form,
        length: s.length,
        general: s.general,
        duplicates: s.duplicates,
        matches: s.matches,
      })),
    };
    writeFileSync(join(RESULTS, 'experience.json'), `${JSON.stringify(json, null, 1)}\n`);
    for (const s of scored) {
      const matched = s.matches.filter((m) => m.matched !== undefined).length;
      process.stdout.write(`${s.extraction.name}: ${String(s.extraction.proposals.length)} proposed, ${String(s.pass)} pass the principle check, ${String(matched)}/${String(reference.principles.length)} references matched, ${s.extraction.ms.toFixed(0)} ms\n`);
    }
  } finally {
    await embedder.dispose();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
