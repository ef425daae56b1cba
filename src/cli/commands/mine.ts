import { openStore } from '../../core/store/index.js';
import type { Trajectory } from '../../core/trajectory.js';
import { proposeOps } from '../../core/experience/curation.js';
import { describeDrops, mine, minedOps } from '../../core/experience/miner.js';
import { parseArgs, UsageError } from '../args.js';
import { databasePath, type Command } from '../context.js';

export const mineCommand: Command = {
  name: 'mine',
  usage: 'internalize mine [--db PATH] [--min-support N] [--propose] [--json]',
  summary: 'Find recurring error→recovery patterns, failing loops and habits of successful runs, without a model.',
  run(argv, io) {
    const args = parseArgs(argv, { values: ['db', 'min-support'], flags: ['propose', 'json'] });
    const minSupport = Number.parseInt(args.options.get('min-support') ?? '2', 10);
    if (!Number.isInteger(minSupport) || minSupport <= 0) throw new UsageError('--min-support must be a positive whole number.');
    const store = openStore(databasePath(args.options.get('db'), io));
    try {
      const trajectories = store.trajectories
        .list({ limit: 100_000 })
        .map((s) => store.trajectories.get(s.id))
        .filter((t): t is Trajectory => t !== undefined);
      const report = mine(trajectories, { minSupport });
      const patterns = report.patterns;
      if (args.flags.has('json')) io.out(`${JSON.stringify(patterns)}\n`);
      else for (const p of patterns) io.out(`${p.kind.padEnd(14)} ×${String(p.support)}  ${p.text}\n`);
      if (report.dropped.length > 0) io.err(`Not proposed: ${describeDrops(report.dropped)}.\n`);
      if (args.flags.has('propose') && patterns.length > 0) {
        const ids = proposeOps(store, minedOps(patterns), { origin: 'mined', batchId: `mine-${new Date().toISOString()}` });
        io.err(`Proposed ${String(ids.length)} principles; review them with \`internalize pool\`.\n`);
      }
      if (patterns.length === 0) io.err(`No pattern recurs in at least ${String(minSupport)} of ${String(trajectories.length)} trajectories.\n`);
      return Promise.resolve(0);
    } finally {
      store.close();
    }
  },
};
