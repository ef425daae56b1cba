import { existsSync } from 'node:fs';
import { comparePools } from '../../core/experience/compare.js';
import { compareWithPrevious } from '../../core/distill/iterationCompare.js';
import { METRICS } from '../../core/distill/metrics.js';
import { applyRollback, changes, describeRollback, planRollback } from '../../core/distill/rollback.js';
import { openStore, type IterationRecord, type PrincipleScoreRecord, type Store } from '../../core/store/index.js';
import { parseArgs, UsageError, type ParsedArgs } from '../args.js';
import { databasePath, type CliIo, type Command } from '../context.js';
import { fixed, iterationTable } from '../iterationTable.js';
import { poolDiffText } from './pool.js';

const USAGE = 'internalize iterations [--db PATH] [--json] | iterations --show N [--json] | iterations --compare N [--json] | iterations --roll-back N [--review]';

const SUMMARY = `List the distillation iterations in the store (the table \`internalize distill\` prints), or act on one:
  --show N prints it in full: status, kind, model, regime, injection, targets, dataset files, adapter (and whether it is still on disk), metrics, per-principle scores, the verdict, and for a failed or stopped round its checkpoint and the command that resumes it.
  --compare N prints what changed in the pool since the previous iteration's snapshot and how the metrics moved (the editor's Compare with Previous).
  --roll-back N puts the pool back to iteration N's snapshot through recorded pool operations, applied at once (--review proposes them for review instead, see \`internalize pool\`), and marks later iterations rolled back; their records and files stay.
  --json prints the list, --show or --compare as JSON.`;

type Action = { readonly kind: 'list' } | { readonly kind: 'show' | 'compare' | 'roll-back'; readonly n: number };

function actionOf(args: ParsedArgs): Action {
  if (args.positionals.length > 0) throw new UsageError(`iterations takes no positional arguments; got ${args.positionals.join(' ')}.`);
  const given = (['show', 'compare', 'roll-back'] as const).filter((k) => args.options.has(k));
  if (given.length > 1) throw new UsageError(`--${given.join(' and --')} cannot go together: choose one.`);
  if (args.flags.has('review') && given[0] !== 'roll-back') throw new UsageError('--review goes with --roll-back N (propose the pool changes for review instead of applying them).');
  if (args.flags.has('json') && given[0] === 'roll-back') throw new UsageError('--json goes with the list, --show N or --compare N; --roll-back prints what it did.');
  const kind = given[0];
  if (kind === undefined) return { kind: 'list' };
  const raw = args.options.get(kind) ?? '';
  if (!/^\d+$/u.test(raw) || Number(raw) < 1) throw new UsageError(`--${kind} takes an iteration number (1, 2, …), not "${raw}".`);
  return { kind, n: Number(raw) };
}

const NO_ITERATIONS = 'No iterations yet: run `internalize distill …` (or Start Distillation Round in the editor) to train the first.';

/** The iteration the user named, or why there is none: the numbers that do exist, so the next try is right. */
function iterationOrError(store: Store, n: number, io: CliIo): IterationRecord | undefined {
  const record = store.iterations.get(n);
  if (record !== undefined) return record;
  const numbers = store.iterations.list().map((it) => it.number);
  io.err(numbers.length === 0 ? `${NO_ITERATIONS}\n` : `There is no iteration ${String(n)} in ${store.path}; it has ${numbers.length === 1 ? 'iteration' : 'iterations'} ${numbers.join(', ')}.\n`);
  return undefined;
}

interface FileState {
  readonly path: string;
  readonly exists: boolean;
}

const file = (path: string): FileState => ({ path, exists: existsSync(path) });

const DATASET_LABELS: Readonly<Record<string, string>> = { train: 'Training set', heldout: 'Held-out set', recorded: 'Recorded set', dataset: 'Dataset' };

/** The dataset files an iteration's record names: the training and held-out splits (and the recorded actions a teacher-sampled round replaced), or one file. */
function datasetFiles(it: IterationRecord): { readonly role: string; readonly file: FileState }[] {
  const dataset = it.config.dataset;
  if (typeof dataset === 'string') return [{ role: 'dataset', file: file(dataset) }];
  if (typeof dataset !== 'object' || dataset === null) return [];
  return ['train', 'heldout', 'recorded'].flatMap((role) => {
    const path = (dataset as Record<string, unknown>)[role];
    return typeof path === 'string' ? [{ role, file: file(path) }] : [];
  });
}

function kindOf(it: IterationRecord): string {
  const kind = it.config.kind ?? it.config.world;
  if (kind === 'own-data') return 'own-data (your principles on your trajectories)';
  if (kind === 'toy') return 'toy (the built-in toy world)';
  if (kind === 'suite') return 'suite (the built-in principle suite)';
  return typeof kind === 'string' ? kind : 'not recorded';
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A metric for a terminal: a known one with its label and unit, another as the worker wrote it. */
function metricLine(key: string, value: unknown): string {
  const info = METRICS[key];
  if (info !== undefined && typeof value === 'number' && Number.isFinite(value)) return `${info.label} (${key}): ${info.format(value)}`;
  if (typeof value === 'number') return `${key}: ${Number.isInteger(value) ? String(value) : value.toPrecision(4)}`;
  return `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`;
}

/** How a resume is typed, with the --db the user gave (a store elsewhere than the default must be named again). */
function resumeCommand(args: ParsedArgs, n: number): string {
  const db = args.options.get('db');
  return `internalize distill --resume ${String(n)}${db === undefined ? '' : ` --db ${/\s/u.test(db) ? JSON.stringify(db) : db}`}`;
}

interface ShownIteration {
  readonly iteration: IterationRecord;
  readonly adapter?: FileState;
  readonly dataset: readonly { readonly role: string; readonly file: FileState }[];
  readonly checkpoint?: FileState;
  readonly resume?: string;
  readonly scores: readonly PrincipleScoreRecord[];
}

function shown(store: Store, it: IterationRecord, args: ParsedArgs): ShownIteration {
  const checkpoint = text(it.verdict?.checkpoint);
  const stopped = it.status === 'failed' || it.status === 'cancelled';
  return {
    iteration: it,
    ...(it.adapterPath === undefined ? {} : { adapter: file(it.adapterPath) }),
    dataset: datasetFiles(it),
    ...(checkpoint === undefined ? {} : { checkpoint: file(checkpoint) }),
    ...(stopped ? { resume: resumeCommand(args, it.number) } : {}),
    scores: store.scores.forIteration(it.number),
  };
}

function verdictLines(it: IterationRecord): string[] {
  const v = it.verdict ?? {};
  const lines: string[] = [];
  if (it.status === 'rolled-back') {
    const to = typeof v.rolledBackTo === 'number' ? String(v.rolledBackTo) : '?';
    lines.push(`Rolled back to iteration ${to}${text(v.rolledBackAt) === undefined ? '' : ` at ${String(v.rolledBackAt)}`}${text(v.statusBefore) === undefined ? '' : `; its status before was ${String(v.statusBefore)}`}.`);
  }
  const reasons = Array.isArray(v.reasons) ? v.reasons.filter((r): r is string => typeof r === 'string') : [];
  if (v.collapsed === true || it.status === 'collapsed' || (it.status === 'rolled-back' && v.statusBefore === 'collapsed')) lines.push(`Collapsed: ${reasons.length === 0 ? 'no reason was recorded' : reasons.join('; ')}.`);
  else if (v.collapsed === false) lines.push('Passed the collapse guard.');
  const error = text(v.error);
  if (error !== undefined) lines.push(`Reason: ${error}`);
  else if (it.status === 'failed' || it.status === 'cancelled') lines.push('Reason: no reason was recorded.');
  const tail = Array.isArray(v.logTail) ? v.logTail.filter((l): l is string => typeof l === 'string') : [];
  if (tail.length > 0) lines.push('Worker log tail:', ...tail.map((l) => `  ${l}`));
  return lines;
}

function showText(s: ShownIteration): string {
  const it = s.iteration;
  const c = it.config;
  const out: string[] = [`Iteration ${String(it.number)}: ${it.status === 'rolled-back' ? 'rolled back' : it.status}`];
  const field = (label: string, value: string | undefined): void => {
    if (value !== undefined) out.push(`  ${`${label}:`.padEnd(14)} ${value}`);
  };
  field('Kind', kindOf(it));
  const model = text(c.model);
  const start = text(c.startModel);
  field('Model', model === undefined ? start : `${model}${start !== undefined && start !== model ? ` (trained from ${start}${typeof c.startIteration === 'number' ? `, iteration ${String(c.startIteration)}'s student` : ''})` : ''}`);
  field('Regime', text(c.regime));
  const injection = text(c.injection) ?? (text(c.persistence) === undefined ? undefined : `stepwise-${String(c.persistence)}`);
  field('Injection', injection === undefined ? undefined : `${injection}${typeof c.k === 'number' ? `, k ${String(c.k)}` : ''}`);
  field('Targets', text(c.targets) ?? (c.kind === 'own-data' ? 'recorded' : undefined));
  field('Started', it.startedAt);
  field('Ended', it.endedAt);
  for (const d of s.dataset) field(DATASET_LABELS[d.role] ?? d.role, `${d.file.path}${d.file.exists ? '' : ' (no longer on disk)'}`);
  if (s.dataset.length === 0) field('Dataset', c.world === 'toy' || c.world === 'suite' ? 'none stored (a built-in round builds its data inside the trainer)' : 'none stored');
  field('Adapter', s.adapter === undefined ? 'none' : s.adapter.exists ? s.adapter.path : `${s.adapter.path} (no longer on disk: the folder was moved or deleted)`);
  const metrics = Object.entries(it.metrics ?? {});
  out.push(metrics.length === 0 ? `  ${'Metrics:'.padEnd(14)} none recorded` : '  Metrics:');
  for (const [key, value] of metrics) out.push(`    ${metricLine(key, value)}`);
  if (s.scores.length > 0) {
    out.push('  Principle scores:');
    for (const score of s.scores) {
      const states = typeof score.detail.states === 'number' ? `  ${String(score.detail.states)} states` : '';
      const why = score.score === undefined && typeof score.detail.reason === 'string' ? `  (${score.detail.reason})` : '';
      out.push(`    ${score.principleId.padEnd(6)} ${fixed(score.score, 2).padStart(6)}  ${score.method.padEnd(10)} ${score.internalized ? 'internalized' : '            '}${states}${why}`);
    }
  }
  const verdict = verdictLines(it);
  if (verdict.length > 0) out.push('  Verdict:', ...verdict.map((l) => `    ${l}`));
  if (s.checkpoint !== undefined) out.push(`  ${'Checkpoint:'.padEnd(14)} ${s.checkpoint.path}${s.checkpoint.exists ? '' : ' (no longer on disk)'}`);
  if (s.resume !== undefined) out.push(`  ${'Resume with:'.padEnd(14)} ${s.resume}${s.checkpoint?.exists === true ? '' : ' (no checkpoint is left, so its training starts again)'}`);
  return `${out.join('\n')}\n`;
}

function compare(store: Store, it: IterationRecord, json: boolean, io: CliIo): number {
  const c = compareWithPrevious(store, it);
  const pools = comparePools(store, c.from, c.to);
  if (json) {
    io.out(`${JSON.stringify({ iteration: it.number, title: c.title, deltas: c.deltas, notes: c.notes, pool: pools })}\n`);
    return 0;
  }
  const lines = [c.title];
  if (c.deltas.length === 0) lines.push('  (no metric to compare)');
  const width = Math.max(0, ...c.deltas.map((d) => d.label.length));
  for (const d of c.deltas) lines.push(`  ${d.label.padEnd(width)}  ${d.before} → ${d.after}  ${d.change}${d.judgement === undefined ? '' : ` (${d.judgement})`}`);
  for (const note of c.notes) lines.push(note);
  io.out(`${lines.join('\n')}\n\n${poolDiffText(pools.from, pools.to, pools.entries, pools.unchanged)}`);
  return 0;
}

function rollBack(store: Store, n: number, review: boolean, io: CliIo): number {
  const plan = planRollback(store, n);
  if (plan.kind === 'refused') {
    io.err(`${plan.reason.charAt(0).toUpperCase()}${plan.reason.slice(1)}\n`);
    return 1;
  }
  const { opIds } = applyRollback(store, plan, { apply: !review });
  const said = describeRollback(plan).join('\n');
  if (review && opIds.length > 0) {
    io.out(`${said}\nRolled back to iteration ${String(n)}. ${changes(opIds.length)} ${opIds.length === 1 ? 'waits' : 'wait'} for your review (operations ${opIds.join(', ')}): \`internalize pool\` lists them, \`internalize pool --apply OPID\` or \`--reject OPID\` decides one, or the Principles view in the editor.\n`);
  } else {
    io.out(`${said}\nRolled back to iteration ${String(n)}${opIds.length > 0 ? `; ${changes(opIds.length)} applied` : ''}.\n`);
  }
  return 0;
}

export const iterationsCommand: Command = {
  name: 'iterations',
  usage: USAGE,
  summary: SUMMARY,
  run(argv, io) {
    const args = parseArgs(argv, { values: ['db', 'show', 'compare', 'roll-back'], flags: ['json', 'review'] });
    const action = actionOf(args);
    const dbPath = databasePath(args.options.get('db'), io);
    // Reading the ledger must not leave an empty database behind where the user mistyped a path.
    if (!existsSync(dbPath)) {
      io.err(`No Internalize store at ${dbPath}: nothing has been captured or distilled there yet. Pass --db with the store you use (the editor's internalize.store.path), or set INTERNALIZE_DB.\n`);
      return Promise.resolve(1);
    }
    const store = openStore(dbPath);
    try {
      const json = args.flags.has('json');
      if (action.kind === 'list') {
        const records = store.iterations.list();
        if (json) io.out(`${JSON.stringify(records)}\n`);
        else io.out(records.length === 0 ? `${NO_ITERATIONS}\n` : iterationTable(store, records));
        return Promise.resolve(0);
      }
      const it = iterationOrError(store, action.n, io);
      if (it === undefined) return Promise.resolve(1);
      if (action.kind === 'show') {
        const s = shown(store, it, args);
        io.out(json ? `${JSON.stringify(s)}\n` : showText(s));
        return Promise.resolve(0);
      }
      if (action.kind === 'compare') return Promise.resolve(compare(store, it, json, io));
      return Promise.resolve(rollBack(store, action.n, args.flags.has('review'), io));
    } finally {
      store.close();
    }
  },
};
