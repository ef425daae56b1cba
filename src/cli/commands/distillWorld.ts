/**
 * `internalize distill --toy` and `--suite`: the built-in rounds headless, through the same round
 * service as the editor (core/distill/worldRound.ts), writing the same iteration records.
 */
import { join } from 'node:path';
import { resumeWorldRound, runWorldRound, type WorldRoundConfig, type WorldRoundEnvironment, type WorldRoundResult } from '../../core/distill/worldRound.js';
import { RoundConfigError, type RoundConfig, type RoundEnvironment } from '../../core/distill/round.js';
import { RoundBusyError } from '../../core/distill/roundLock.js';
import type { Store } from '../../core/store/index.js';
import { UsageError, type ParsedArgs } from '../args.js';
import type { CliIo } from '../context.js';

/** Options that only a round on the user's data reads: given with --toy or --suite they would silently do nothing. */
const OWN_DATA_ONLY = ['iterations', 'k', 'lora-rank', 'outcome', 'source', 'workspace', 'since', 'until', 'context-tokens', 'targets', 'samples', 'sample-filter', 'judge-url', 'judge-model', 'judge-states', 'export-dataset', 'iteration', 'dry-run', 'auto-accept'];

/** The built-in round the command line asks for, or undefined for a round on the user's data. */
export function worldConfigFrom(args: ParsedArgs, config: RoundConfig): WorldRoundConfig | undefined {
  const toy = args.flags.has('toy');
  const suite = args.flags.has('suite');
  if (toy && suite) throw new UsageError('--toy and --suite are two kinds of round; choose one.');
  const principles = args.options.get('principles');
  if (!toy && !suite) {
    if (principles !== undefined) throw new UsageError('--principles chooses the principle suite\'s principles; it goes with --suite.');
    if (args.flags.has('lean-memory')) throw new UsageError('--lean-memory goes with --toy or --suite.');
    return undefined;
  }
  const kind = toy ? '--toy' : '--suite';
  const misplaced = OWN_DATA_ONLY.filter((name) => args.options.has(name) || args.flags.has(name));
  if (misplaced.length > 0) throw new UsageError(`${misplaced.map((n) => `--${n}`).join(', ')} ${misplaced.length === 1 ? 'is' : 'are'} for rounds on your data, not ${kind} (a built-in round is one iteration on its own data).`);
  if (args.options.has('resume')) throw new UsageError(`--resume N continues iteration N as the kind of round it was; give it without ${kind}.`);
  if (toy && principles !== undefined) throw new UsageError('--principles chooses the principle suite\'s principles; the toy world has its own four.');
  if (toy && args.options.has('model')) throw new UsageError('--model chooses the principle suite\'s base model; the toy world has its own tiny model.');
  if (args.options.get('injection') === 'global') throw new UsageError(`--injection global is not a setting of ${kind}: the toy world's blocks are step-wise (stepwise or cumulative) and the suite's prompts are single-turn.`);
  const ids = principles === undefined ? [] : principles.split(',').map((p) => p.trim().toUpperCase()).filter((p) => p !== '');
  const bad = ids.filter((p) => !/^P\d+$/u.test(p));
  if (bad.length > 0) throw new UsageError(`--principles takes suite principle ids separated by commas, like P2,P6; not ${bad.join(', ')}.`);
  const epochs = args.options.get('epochs');
  return {
    world: toy ? 'toy' : 'suite',
    regime: config.regime,
    persistence: config.injection.persistence,
    leanMemory: args.flags.has('lean-memory'),
    model: config.model,
    principles: ids,
    // configFrom validated it; absent, the trainer's default applies.
    ...(epochs === undefined ? {} : { epochs: Number(epochs) }),
  };
}

/** Whether iteration `n` of the store was a built-in round (so --resume goes to that service). */
export function isWorldIteration(store: Store, n: number): boolean {
  const world = store.iterations.get(n)?.config.world;
  return world === 'toy' || world === 'suite';
}

const fixed = (x: unknown, digits: number): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–');

/** The iteration's row, what it achieved in words, and for the suite its per-principle table. */
export function worldTable(result: WorldRoundResult): string {
  const r = result.record;
  const m = r.metrics ?? {};
  const world = r.config.world === 'suite' ? 'principle suite' : 'toy world';
  // The toy world scores by accuracy without principles, the suite by each principle's checker.
  const score = r.config.world === 'suite' ? fixed(m.mean_score, 2) : fixed(m.accuracy_without_principles, 2);
  const internalized = typeof m.principles_internalized === 'number' ? `${String(m.principles_internalized)}/${String(m.principles_trained)}` : '–';
  const retention = m.retention_ratio ?? (typeof m.probe_nll === 'number' && typeof m.base_probe_nll === 'number' && m.base_probe_nll > 0 ? m.probe_nll / m.base_probe_nll : undefined);
  const lines = [
    'Iteration  Status     Round            Final loss  Score  Internalized  Retention ×',
    [String(r.number).padEnd(9), r.status.padEnd(10), world.padEnd(16), fixed(m.final_loss, 4).padEnd(11), score.padEnd(6), internalized.padEnd(13), fixed(retention, 3)].join(' '),
    '',
  ];
  if (r.status === 'done' || r.status === 'collapsed') {
    if (result.summary !== '') lines.push(`Iteration ${String(r.number)} ${r.status}: ${result.summary}.`);
    if (r.status === 'collapsed') lines.push(`The collapse guard stopped the loop: ${((r.verdict?.reasons as string[] | undefined) ?? []).join('; ')}.`);
    if (result.report !== undefined) lines.push('', result.report.trimEnd());
  } else {
    lines.push(`Iteration ${String(r.number)} ${r.status}: ${typeof r.verdict?.error === 'string' ? r.verdict.error : 'no reason was recorded'}`);
    const checkpoint = r.verdict?.checkpoint;
    if (typeof checkpoint === 'string') lines.push(`  Its checkpoint is kept (${checkpoint}); continue with \`internalize distill --resume ${String(r.number)}\`.`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Runs a built-in round (or resumes one) and prints its table; Ctrl-C stops it at the worker's next
 * step with a checkpoint kept. Exit status 0 when the iteration finished done.
 */
export async function distillWorld(io: CliIo, base: Pick<RoundEnvironment, 'store' | 'runsDir' | 'python' | 'modelsDir' | 'onEvent' | 'startWorker'>, what: { readonly config: WorldRoundConfig } | { readonly resume: number }): Promise<number> {
  const abort = new AbortController();
  const stop = (): void => {
    io.err('Stopping: the worker saves a checkpoint at its next step…\n');
    abort.abort();
  };
  process.once('SIGINT', stop);
  // The toy model is taught once and kept beside the runs, as the editor keeps it in its storage.
  const env: WorldRoundEnvironment = { ...base, cacheDir: join(base.runsDir, '..', 'cache'), signal: abort.signal };
  try {
    const result = 'config' in what ? await runWorldRound(env, what.config) : await resumeWorldRound(env, what.resume);
    io.out(worldTable(result));
    return result.record.status === 'done' ? 0 : 1;
  } catch (error) {
    if (error instanceof RoundBusyError || error instanceof RoundConfigError) {
      io.err(`${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    process.removeListener('SIGINT', stop);
  }
}
