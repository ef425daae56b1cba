import { createRedactor } from '../../core/redaction/index.js';
import { openStore } from '../../core/store/index.js';
import { rescanSecrets } from '../../core/store/rescan.js';
import { parseArgs } from '../args.js';
import { databasePath, type Command } from '../context.js';

export const rescanSecretsCommand: Command = {
  name: 'rescan-secrets',
  usage: 'internalize rescan-secrets [--db PATH] [--json]',
  summary: 'Re-scan every stored trajectory with the current secret detectors and redact what slipped through, with counts by rule.',
  async run(argv, io) {
    const args = parseArgs(argv, { values: ['db'], flags: ['json'] });
    const store = openStore(databasePath(args.options.get('db'), io));
    try {
      const started = performance.now();
      const report = await rescanSecrets(store, await createRedactor());
      const seconds = (performance.now() - started) / 1000;
      const added = Object.values(report.redactions).reduce((a, b) => a + b, 0);
      if (args.flags.has('json')) {
        io.out(`${JSON.stringify({ ...report, secretsRedacted: added, seconds })}\n`);
      } else {
        io.out(
          `Re-scanned ${String(report.trajectories)} trajectories (${String(report.steps)} steps) in ${seconds.toFixed(2)} s; ` +
            `${String(added)} secrets redacted in ${String(report.changedTrajectories)} trajectories (${String(report.changedSteps)} steps).\n`,
        );
        if (added > 0) io.out(`  redactions by rule: ${Object.entries(report.redactions).map(([r, n]) => `${r} ${String(n)}`).join(', ')}\n`);
      }
      if (report.skipped.length > 0) {
        io.err(`${String(report.skipped.length)} trajectories changed while they were scanned (capture was writing them) and were left as they are; run \`internalize rescan-secrets\` again.\n`);
        return 1;
      }
      return 0;
    } finally {
      store.close();
    }
  },
};
