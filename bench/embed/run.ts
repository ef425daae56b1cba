/**
 * Embedding throughput: our ONNX embedder (worker thread, length-bucketed batches, int8 and fp32)
 * against @huggingface/transformers' feature-extraction pipeline (mean pooling, normalize) on the same
 * fp32 ONNX export of all-MiniLM-L6-v2 and the same texts, measured in the same run: 2,000 sentences of
 * 10–50 words and 500 decision states of 256 tokens. Also the cosine of ours (int8 and fp32) to the fp32
 * reference embeddings (the peer's). Goal (issue #15): ≥ 1.5× the peer's sentences/s at cosine ≥ 0.99.
 *
 * Needs the export (`bash scripts/setup-embedder.sh`). Run: `node --import tsx bench/embed/run.ts [--reps 2] [--threads N] [--peer-batch 32]`;
 * writes bench/embed/RESULTS.md.
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { createOnnxEmbedder, type OnnxEmbedder } from '../../src/core/embedding/onnx.js';
import { loadOnnxModel } from '../../src/core/embedding/onnxModel.js';
import { decisionStates, sentences } from './texts.js';

const ROOT = join(__dirname, '..', '..');
const MODELS = join(ROOT, '.cache', 'models');
const DIR = join(MODELS, 'minilm');
const DIM = 384;

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const value = at >= 0 ? Number(process.argv[at + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
const REPS = flag('reps', 2);
const THREADS = flag('threads', availableParallelism());
const PEER_BATCH = flag('peer-batch', 32);

/** The slice of transformers.js this benchmark calls. */
interface Extractor {
  (texts: string[], options: { pooling: 'mean'; normalize: boolean }): Promise<{ data: Float32Array; dims: number[] }>;
  dispose(): Promise<void>;
}
interface TransformersJs {
  env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string };
  pipeline(task: 'feature-extraction', model: string, options: Record<string, unknown>): Promise<Extractor>;
}

interface Side {
  readonly name: string;
  embed(texts: readonly string[]): Promise<Float32Array>;
}

async function peer(): Promise<Side & { dispose(): Promise<void> }> {
  const tjs = (await import('@huggingface/transformers')) as unknown as TransformersJs;
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = `${MODELS}/`;
  const extractor = await tjs.pipeline('feature-extraction', 'minilm', { dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: THREADS, interOpNumThreads: 1 } });
  return {
    name: `transformers.js feature-extraction (fp32, batch ${String(PEER_BATCH)})`,
    async embed(texts) {
      const out = new Float32Array(texts.length * DIM);
      for (let start = 0; start < texts.length; start += PEER_BATCH) {
        const result = await extractor(texts.slice(start, start + PEER_BATCH), { pooling: 'mean', normalize: true });
        out.set(result.data, start * DIM);
      }
      return out;
    },
    dispose: () => extractor.dispose(),
  };
}

function ours(embedder: OnnxEmbedder, label: string): Side {
  return { name: label, embed: (texts) => embedder.embed(texts) };
}

async function throughput(side: Side, texts: readonly string[]): Promise<{ perSecond: number; vectors: Float32Array }> {
  const started = performance.now();
  const vectors = await side.embed(texts);
  return { perSecond: texts.length / ((performance.now() - started) / 1000), vectors };
}

function cosines(a: Float32Array, b: Float32Array, n: number): { min: number; mean: number } {
  let min = 1;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let d = 0; d < DIM; d++) dot += (a[i * DIM + d] ?? 0) * (b[i * DIM + d] ?? 0);
    min = Math.min(min, dot);
    sum += dot;
  }
  return { min, mean: sum / n };
}

async function main(): Promise<void> {
  const load0 = loadavg();
  const counter = await loadOnnxModel({ dir: DIR, variant: 'fp32', threads: 1 });
  const sets = [
    { name: '2,000 sentences (10–50 words)', texts: sentences() },
    { name: '500 decision states (256 tokens)', texts: decisionStates((t) => counter.tokenCount(t)) },
  ];
  const tokens = sets.map((s) => s.texts.reduce((n, t) => n + counter.tokenize(t).length, 0) / s.texts.length);
  await counter.dispose();

  const them = await peer();
  const fp32 = await createOnnxEmbedder({ dir: DIR, variant: 'fp32', threads: THREADS });
  const int8 = await createOnnxEmbedder({ dir: DIR, variant: 'int8', threads: THREADS });
  const sides: Side[] = [them, ours(int8, `ours int8 (${int8.id})`), ours(fp32, `ours fp32 (${fp32.id})`)];
  // Warm-up: first-run allocations and lazy initialization on every side.
  for (const side of sides) await side.embed(sets[0]?.texts.slice(0, 64) ?? []);

  const rows: string[] = [];
  const summary: string[] = [];
  for (const [k, set] of sets.entries()) {
    const best = new Map<string, number>();
    const vectors = new Map<string, Float32Array>();
    for (let rep = 0; rep < REPS; rep++) {
      // Alternating order, so a burst of load from elsewhere does not land on one side only.
      for (const side of rep % 2 === 0 ? sides : [...sides].reverse()) {
        const result = await throughput(side, set.texts);
        best.set(side.name, Math.max(best.get(side.name) ?? 0, result.perSecond));
        vectors.set(side.name, result.vectors);
        console.log(`${set.name} rep ${String(rep + 1)}: ${side.name} ${result.perSecond.toFixed(1)}/s (load ${loadavg()[0]?.toFixed(2) ?? '?'})`);
      }
    }
    const reference = vectors.get(them.name) ?? new Float32Array();
    const peerRate = best.get(them.name) ?? Number.NaN;
    for (const side of sides) {
      const rate = best.get(side.name) ?? Number.NaN;
      const cos = side === them ? undefined : cosines(vectors.get(side.name) ?? new Float32Array(), reference, set.texts.length);
      rows.push(`| ${set.name} (${tokens[k]?.toFixed(0) ?? '?'} tokens avg) | ${side.name} | ${rate.toFixed(1)} | ${(rate / peerRate).toFixed(2)}× | ${cos === undefined ? 'reference' : `${cos.min.toFixed(4)} / ${cos.mean.toFixed(5)}`} |`);
      if (side !== them) summary.push(`${set.name}: ${side.name.split(' (')[0] ?? side.name} ${(rate / peerRate).toFixed(2)}× the peer (${rate.toFixed(1)} vs ${peerRate.toFixed(1)} texts/s), cosine to fp32 min ${cos?.min.toFixed(4) ?? '?'}`);
    }
  }
  await Promise.all([them.dispose(), fp32.dispose(), int8.dispose()]);
  const load1 = loadavg();

  const report = [
    '# Embedding throughput: ours vs transformers.js',
    '',
    `Command: \`node --import tsx bench/embed/run.ts --reps ${String(REPS)} --threads ${String(THREADS)} --peer-batch ${String(PEER_BATCH)}\` — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${String(cpus().length)} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}.`,
    `Load average (1/5/15 min) before: ${load0.map((x) => x.toFixed(2)).join(' / ')}, after: ${load1.map((x) => x.toFixed(2)).join(' / ')} — other processes shared the cores, so absolute rates are noisy; the ratio is measured in the same run with alternating order (best of ${String(REPS)} per side).`,
    '',
    'Both sides run the same ONNX export of all-MiniLM-L6-v2 (`.cache/models/minilm`, from `bash scripts/setup-embedder.sh`) with onnxruntime-node 1.30 on',
    `${String(THREADS)} intra-op thread(s), mean pooling over the attention mask and L2 normalization, on the same texts (bench/embed/texts.ts, seeded).`,
    'The peer is `@huggingface/transformers` 4.3.1 `pipeline("feature-extraction", "minilm", { dtype: "fp32" })` called with batches of',
    `${String(PEER_BATCH)} texts. Ours is the product's embedder: its worker thread, length-bucketed batches (≤ 32 texts, ≤ 8,192 padded tokens), int8 (dynamic`,
    'quantization, per channel, feed-forward output projections kept fp32) and fp32. Cosine is to the peer’s fp32 embeddings of the same texts.',
    '',
    '| Texts | Side | texts/s | vs peer | cosine to fp32 (min / mean) |',
    '| --- | --- | ---: | ---: | --- |',
    ...rows,
    '',
    ...summary.map((s) => `- ${s}`),
    '',
  ].join('\n');
  writeFileSync(join(__dirname, 'RESULTS.md'), report);
  console.log(`\n${report}`);
}

void main();
