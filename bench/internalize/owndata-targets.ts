/**
 * Recorded actions against teacher samples as the targets of one own-data round, on the demo's real
 * agent runs (samples/agent-runs, ten runs of four agents) with the demo's reference principles
 * (bench/experience/reference.json, R1–R8, the lessons those runs show) as the accepted pool.
 * Each target source runs one iteration in a store of its own (same dataset split, same seed, same
 * model), through the round service the editor and the CLI call: per-principle divergence score on
 * held-out states, held-out action NLL without principles, retention, records and time.
 *
 *   OMP_NUM_THREADS=1 npx tsx bench/internalize/owndata-targets.ts [--epochs N] [--k N] [--context N] [--new-tokens N]
 *
 * Writes bench/results/internalize-owndata-targets.{md,json}; a "## Reading" section already in the .md is kept.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRedactor, importPaths } from '../../src/core/capture/index.js';
import { parseRoundConfig, runRound, type RoundConfig } from '../../src/core/distill/round.js';
import { lexicalTextEmbedder } from '../../src/core/embedding/lexical.js';
import { createEmbedder } from '../../src/core/embedding/resolve.js';
import { proposeOps } from '../../src/core/experience/curation.js';
import { openStore } from '../../src/core/store/index.js';

const ROOT = join(__dirname, '..', '..');
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const EPOCHS = arg('epochs', 1);
const K = arg('k', 2);
const CONTEXT = arg('context', 256);
const NEW_TOKENS = arg('new-tokens', 48);

interface Reference {
  readonly principles: readonly { readonly id: string; readonly text: string; readonly shownBy: string }[];
}

async function main(): Promise<void> {
  const reference = JSON.parse(readFileSync(join(ROOT, 'bench', 'experience', 'reference.json'), 'utf8')) as Reference;
  const pool = reference.principles.filter((p) => p.shownBy.startsWith('demo'));
  const base: Record<string, unknown> = {
    model: 'smollm2-135m-instruct',
    device: 'cpu',
    epochs: EPOCHS,
    loraRank: 8,
    contextTokens: CONTEXT,
    heldoutFraction: 0.3,
    seed: 0,
    injection: { k: 3 },
  };
  const sources: readonly { readonly name: string; readonly config: RoundConfig }[] = [
    { name: 'recorded', config: parseRoundConfig({ ...base, targets: 'recorded' }) },
    { name: 'teacher-samples (divergence)', config: parseRoundConfig({ ...base, targets: 'teacher-samples', samples: { k: K, filter: 'divergence', maxNewTokens: NEW_TOKENS } }) },
  ];
  const embedderChoice = await createEmbedder({ env: { ...process.env, INTERNALIZE_MODELS_DIR: join(ROOT, '.cache', 'models'), INTERNALIZE_EMBEDDING_THREADS: '1' } }).catch(() => undefined);
  const embedder = embedderChoice ?? lexicalTextEmbedder();
  const rows: Record<string, unknown>[] = [];
  for (const source of sources) {
    const dir = mkdtempSync(join(tmpdir(), 'internalize-targets-'));
    const store = openStore(join(dir, 'internalize.db'));
    try {
      await importPaths(store, await createRedactor({ secretlint: false }), [join(ROOT, 'samples', 'agent-runs')]);
      proposeOps(store, pool.map((p) => ({ kind: 'ADD' as const, text: p.text, rationale: `bench/experience/reference.json ${p.id}`, evidence: [] })), { origin: 'manual', autoAccept: true });
      const started = performance.now();
      const record = await runRound(
        {
          store,
          runsDir: join(dir, 'runs'),
          python: join(ROOT, '.venv', 'bin', 'python'),
          modelsDir: join(ROOT, '.cache', 'models'),
          embedder,
          workerEnv: { OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
          onEvent: (e) => {
            if (e.event === 'phase') process.stderr.write(`[${source.name}] ${e.message}\n`);
            else if (e.event === 'log') process.stderr.write(`[${source.name}]   ${e.message}\n`);
            else if (e.event === 'progress' && (e.step === 0 || e.step === e.total || e.step % 8 === 0)) process.stderr.write(`[${source.name}]   ${e.phase} ${String(e.step)}/${String(e.total)} ${new Date().toISOString().slice(11, 19)}\n`);
            else if (e.event === 'failed') process.stderr.write(`[${source.name}] ${e.status}: ${e.reason}\n${e.logTail.join('\n')}\n`);
          },
        },
        source.config,
      );
      const seconds = (performance.now() - started) / 1000;
      const texts = new Map(store.principles.list({ status: 'accepted' }).map((p) => [p.id, p.text]));
      const metrics = record.metrics ?? {};
      rows.push({
        source: source.name,
        status: record.status,
        error: record.verdict?.error,
        seconds,
        dataset: metrics.dataset,
        targets: record.config.targetStats ?? 'recorded',
        action_nll: metrics.action_nll,
        retention: metrics.retention,
        retention_ratio: metrics.retention_ratio,
        mean_score: metrics.mean_score,
        train: { final_loss: (metrics.train as { final_loss?: unknown } | undefined)?.final_loss, tokens_per_s: metrics.tokens_per_s, steps: (metrics.train as { steps?: unknown } | undefined)?.steps },
        principles: store.scores.forIteration(record.number).map((s) => ({ id: s.principleId, text: texts.get(s.principleId), score: s.score ?? null, states: s.detail.states, kl_before: s.detail.kl_before, kl_after: s.detail.kl_after, reason: s.detail.reason })),
      });
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  await embedder.dispose();
  const result = {
    date: new Date().toISOString(),
    command: `OMP_NUM_THREADS=1 npx tsx bench/internalize/owndata-targets.ts --epochs ${String(EPOCHS)} --k ${String(K)} --context ${String(CONTEXT)} --new-tokens ${String(NEW_TOKENS)}`,
    scale: { model: 'SmolLM2-135M-Instruct', device: 'cpu, one torch thread', epochs: EPOCHS, loraRank: 8, contextTokens: CONTEXT, heldoutFraction: 0.3, k: K, sampleTokens: NEW_TOKENS, injectionK: 3, embedder: embedder.id, pool: pool.map((p) => p.id) },
    rows,
  };
  const out = join(ROOT, 'bench', 'results', 'internalize-owndata-targets');
  writeFileSync(`${out}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${out}.md`, markdown(result, existsSync(`${out}.md`) ? readFileSync(`${out}.md`, 'utf8') : ''));
  process.stderr.write(`wrote ${out}.md and .json\n`);
}

const f = (x: unknown, d = 3): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–');

function markdown(result: { date: string; command: string; scale: Record<string, unknown>; rows: Record<string, unknown>[] }, previous: string): string {
  const lines = [
    '# Own-data round: recorded actions against teacher samples as targets',
    '',
    `Taken ${result.date.slice(0, 16).replace('T', ' ')} UTC. Reproduce: \`${result.command}\` (bench/internalize/owndata-targets.ts).`,
    '',
    `Scale: ${Object.entries(result.scale).map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(' ') : String(v)}`).join(' · ')}. Data: the demo's ten agent runs (samples/agent-runs), successful ones as teacher data, held-out sessions by seed 0; pool: the demo's reference principles R1–R8 (bench/experience/reference.json). One iteration per target source, each in a fresh store, from the base model.`,
    '',
    '| Targets | Status | Train records | Held-out states | Kept / sampled | Action NLL base → student | Retention × | Mean divergence score | Time |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of result.rows) {
    const d = r.dataset as { train?: number; heldout?: number } | undefined;
    const t = r.targets as { kept?: number; sampled?: number } | string;
    const nll = r.action_nll as { base?: number; student?: number } | undefined;
    lines.push(`| ${String(r.source)} | ${String(r.status)} | ${String(d?.train ?? '–')} | ${String(d?.heldout ?? '–')} | ${typeof t === 'string' ? '–' : `${String(t.kept)} / ${String(t.sampled)}`} | ${f(nll?.base)} → ${f(nll?.student)} | ${f(r.retention_ratio)} | ${f(r.mean_score, 2)} | ${f(r.seconds, 0)} s |`);
  }
  lines.push('', '## Divergence score per principle (held-out states where the selector picks it)', '', `| Principle | ${result.rows.map((r) => String(r.source)).join(' | ')} |`, `| --- | ${result.rows.map(() => '---').join(' | ')} |`);
  const ids = [...new Set(result.rows.flatMap((r) => (r.principles as { id: string }[] | undefined ?? []).map((p) => p.id)))].sort();
  for (const id of ids) {
    const cells = result.rows.map((r) => {
      const p = (r.principles as { id: string; score: number | null; states?: number }[] | undefined ?? []).find((x) => x.id === id);
      return p === undefined ? '–' : `${f(p.score, 2)} (${String(p.states ?? 0)} states)`;
    });
    lines.push(`| ${id} | ${cells.join(' | ')} |`);
  }
  for (const r of result.rows) {
    const t = r.targets as { rejected?: Record<string, number>; statesWithKept?: number; states?: number } | string;
    if (typeof t !== 'string') lines.push('', `Teacher samples: ${String(t.statesWithKept)} of ${String(t.states)} training states kept at least one sample; rejected: ${JSON.stringify(t.rejected)}.`);
    if (r.status !== 'done' && r.status !== 'collapsed') lines.push('', `${String(r.source)} did not finish: ${String(r.error)}`);
  }
  const reading = /\n## Reading[\s\S]*$/u.exec(previous)?.[0];
  return `${lines.join('\n')}\n${reading ?? ''}`;
}

void main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
