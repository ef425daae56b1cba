import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { diffPools, type PoolSnapshot } from '../../core/principle.js';
import { openStore } from '../../core/store/index.js';
import { comparePools, type ComparedEntry, type PoolRef } from '../../core/experience/compare.js';
import { applyOp, rejectOp } from '../../core/experience/curation.js';
import { importPack, readPrinciplePack } from '../../core/experience/export.js';
import { wordDiff } from '../../core/experience/wordDiff.js';
import { parseArgs, UsageError } from '../args.js';
import { databasePath, type Command } from '../context.js';

export const poolCommand: Command = {
  name: 'pool',
  usage: 'internalize pool [--db PATH] [--apply OPID | --reject OPID] [--json] | pool diff [--from empty|N|current] [--to …] | pool diff A.json B.json | pool import FILE [--auto-accept]',
  summary:
    'Show accepted principles and proposed operations; apply or reject one; diff two pool states (iteration snapshots, the current pool) or two packs; import a pack. Packs: Internalize principle packs and the experience pools of Training-Free GRPO / ExpInternalization ({"G0": "…"} experiences.json, batch_update.json).',
  run(argv, io) {
    const args = parseArgs(argv, { values: ['db', 'apply', 'reject', 'from', 'to'], flags: ['json', 'auto-accept'] });
    if (args.positionals[0] === 'diff') return Promise.resolve(diff(args, io));
    if (args.positionals[0] === 'import') return Promise.resolve(importFile(args, io));
    if (args.positionals.length > 0) {
      const sub = args.positionals[0] ?? '';
      const closest = ['diff', 'import'].find((c) => c.startsWith(sub.slice(0, 2))) ?? 'diff';
      throw new UsageError(`Unknown pool subcommand "${sub}"; did you mean \`internalize pool ${closest}\`? (subcommands: diff, import)`);
    }
    const store = openStore(databasePath(args.options.get('db'), io));
    try {
      for (const [flag, act] of [['apply', applyOp], ['reject', rejectOp]] as const) {
        const v = args.options.get(flag);
        if (v === undefined) continue;
        const id = Number.parseInt(v, 10);
        if (!Number.isInteger(id)) throw new UsageError(`--${flag} takes an operation id.`);
        act(store, id);
        io.out(`Operation ${String(id)} ${flag === 'apply' ? 'applied' : 'rejected'}.\n`);
        return Promise.resolve(0);
      }
      const principles = store.principles.list({ status: 'accepted' });
      const ops = store.poolOps.list({ status: 'proposed' });
      if (args.flags.has('json')) {
        io.out(`${JSON.stringify({ principles, proposed: ops })}\n`);
        return Promise.resolve(0);
      }
      for (const p of principles) io.out(`${p.id.padEnd(6)} ${p.scope.padEnd(10)} ${p.text}\n`);
      for (const o of ops) io.out(`op ${String(o.id).padEnd(4)} ${o.kind.padEnd(6)} ${o.principleId.padEnd(6)} ${o.after ?? o.before ?? ''}\n`);
      io.out(`${String(principles.length)} accepted, ${String(ops.length)} proposed.\n`);
      return Promise.resolve(0);
    } finally {
      store.close();
    }
  },
};

type Io = Parameters<Command['run']>[1];

function ref(value: string | undefined, fallback: PoolRef): PoolRef {
  if (value === undefined) return fallback;
  if (value === 'empty' || value === 'current') return { kind: value };
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`"${value}" is not a pool state: use empty, current or an iteration number.`);
  return { kind: 'snapshot', iteration: n };
}

function readPackFile(file: string, cwd: string): { path: string; pack: ReturnType<typeof readPrinciplePack> } {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${path}: ${(error as Error).message}`);
  }
  return { path, pack: readPrinciplePack(text, path) };
}

/** A pack as a pool state; its own ids are kept (`G12` stays `G12`), so the diff names what the file names. */
function packSnapshot(file: string, cwd: string, iteration: number): PoolSnapshot {
  const { pack } = readPackFile(file, cwd);
  return {
    iteration,
    createdAt: pack.exportedAt,
    principles: pack.principles.map((p) => ({ ...p, scope: p.scope as PoolSnapshot['principles'][number]['scope'], status: 'accepted' as const, origin: 'imported' as const, helpful: 0, harmful: 0, createdIteration: iteration, updatedIteration: iteration })),
  };
}

/** `pool import FILE`: proposes the pack's new principles (applied at once with --auto-accept), skipping texts the pool has. */
function importFile(args: ReturnType<typeof parseArgs>, io: Io): number {
  const files = args.positionals.slice(1);
  if (files.length !== 1) throw new UsageError('`internalize pool import` takes one pack file.');
  const { path, pack } = readPackFile(files[0] ?? '', io.cwd);
  const store = openStore(databasePath(args.options.get('db'), io));
  try {
    const autoAccept = args.flags.has('auto-accept');
    const result = importPack(store, pack, path, { autoAccept });
    if (args.flags.has('json')) {
      io.out(`${JSON.stringify({ shape: pack.shape, ...result, autoAccept })}\n`);
      return 0;
    }
    const byId = new Map(pack.principles.map((p) => [p.id, p.text]));
    const ops = new Map(store.poolOps.list({}).filter((o) => result.opIds.includes(o.id)).map((o) => [o.id, o]));
    result.added.forEach((id, i) => {
      const op = ops.get(result.opIds[i] ?? -1);
      io.out(`${autoAccept ? 'added   ' : 'proposed'} ${(op?.principleId ?? '').padEnd(6)} (${id}) ${byId.get(id) ?? ''}\n`);
    });
    for (const id of result.skipped) io.out(`skipped ${id}: the pool already has this text\n`);
    io.out(
      `${String(result.added.length)} principles from ${path} (${pack.shape}) ${autoAccept ? 'added to the pool' : 'proposed for review (accept with `internalize pool --apply OPID`)'}, ${String(result.skipped.length)} already known.\n`,
    );
    return 0;
  } finally {
    store.close();
  }
}

function marked(entry: ComparedEntry): string {
  return (entry.segments ?? []).map((s) => (s.kind === 'same' ? s.text : s.kind === 'added' ? `{+${s.text.trimEnd()}+}${s.text.slice(s.text.trimEnd().length)}` : `[-${s.text.trimEnd()}-]${s.text.slice(s.text.trimEnd().length)}`)).join('');
}

/** `pool diff`: what changed between two pool states, one line per change, word-level for updates. */
function diff(args: ReturnType<typeof parseArgs>, io: Io): number {
  const files = args.positionals.slice(1);
  let from: string;
  let to: string;
  let entries: ComparedEntry[];
  let unchanged: number;
  if (files.length === 2) {
    const a = packSnapshot(files[0] ?? '', io.cwd, 0);
    const b = packSnapshot(files[1] ?? '', io.cwd, 1);
    const d = diffPools(a, b);
    [from, to, unchanged] = [files[0] ?? '', files[1] ?? '', d.unchanged];
    entries = d.entries.map((e) => ({
      kind: e.kind,
      principleId: e.principleId,
      before: e.before?.text,
      after: e.after?.text,
      segments: e.before !== undefined && e.after !== undefined ? wordDiff(e.before.text, e.after.text) : undefined,
      mergedIds: e.mergedIds,
      evidence: (e.after ?? e.before)?.evidence ?? [],
    }));
  } else if (files.length === 0) {
    const store = openStore(databasePath(args.options.get('db'), io));
    try {
      const c = comparePools(store, ref(args.options.get('from'), lastSnapshot(store.snapshots.iterations())), ref(args.options.get('to'), { kind: 'current' }));
      [from, to, unchanged, entries] = [c.from, c.to, c.unchanged, [...c.entries]];
    } finally {
      store.close();
    }
  } else {
    throw new UsageError('`internalize pool diff` takes two principle pack files, or none (then --from and --to name pool states).');
  }
  if (args.flags.has('json')) {
    io.out(`${JSON.stringify({ from, to, unchanged, entries })}\n`);
    return 0;
  }
  io.out(poolDiffText(from, to, entries, unchanged));
  return 0;
}

/** A pool diff as `pool diff` prints it: one line per change, word-level for updates, then the counts. `iterations --compare` prints the same. */
export function poolDiffText(from: string, to: string, entries: readonly ComparedEntry[], unchanged: number): string {
  const lines = [`${from} → ${to}`];
  for (const e of entries) {
    const text = e.kind === 'ADD' ? (e.after ?? '') : e.kind === 'DELETE' ? (e.before ?? '') : marked(e);
    const merged = e.kind === 'MERGE' && e.mergedIds !== undefined ? ` (absorbed ${e.mergedIds.join(', ')})` : '';
    lines.push(`${e.kind.padEnd(6)} ${e.principleId.padEnd(6)} ${text}${merged}`);
  }
  const count = (k: string): number => entries.filter((e) => e.kind === k).length;
  lines.push(`${String(count('ADD'))} added, ${String(count('UPDATE'))} updated, ${String(count('MERGE'))} merged, ${String(count('DELETE'))} deleted, ${String(unchanged)} unchanged.`);
  return `${lines.join('\n')}\n`;
}

function lastSnapshot(iterations: readonly number[]): PoolRef {
  const last = iterations[iterations.length - 1];
  return last === undefined ? { kind: 'empty' } : { kind: 'snapshot', iteration: last };
}
