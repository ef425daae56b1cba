import * as vscode from 'vscode';
import { createRedactor } from '../../core/redaction/index.js';
import { rescanSecrets } from '../../core/store/rescan.js';
import type { InternalizeContext } from '../context.js';
import { reportError } from '../errors.js';

/** Secret redaction over what is already stored: runs captured before a detector existed keep what it would catch. */
export function registerRedactCommands(ctx: InternalizeContext): void {
  ctx.push(
    vscode.commands.registerCommand('internalize.rescanSecrets', async () => {
      try {
        const store = ctx.getStore();
        const redactor = await createRedactor();
        const report = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'Internalize: re-scanning the store for secrets', cancellable: true },
          (progress, token) => {
            const abort = new AbortController();
            token.onCancellationRequested(() => {
              abort.abort();
            });
            let reported = 0;
            return rescanSecrets(store, redactor, {
              signal: abort.signal,
              onProgress: (done, total) => {
                const share = total > 0 ? (done / total) * 100 : 100;
                progress.report({ message: `${String(done)} of ${String(total)} trajectories`, increment: share - reported });
                reported = share;
              },
            });
          },
        );
        const added = Object.values(report.redactions).reduce((a, b) => a + b, 0);
        const byRule = Object.entries(report.redactions).map(([rule, n]) => `${rule} ${String(n)}`).join(', ');
        ctx.log.info(
          `Re-scan for secrets: ${String(report.trajectories)} trajectories, ${String(added)} secrets redacted in ${String(report.changedTrajectories)}` +
            `${byRule === '' ? '' : ` (${byRule})`}${report.skipped.length > 0 ? `; ${String(report.skipped.length)} changed meanwhile and left for the next re-scan` : ''}${report.cancelled ? '; cancelled' : ''}`,
        );
        if (added > 0) ctx.notify('trajectories');
        const scope = report.cancelled ? `Re-scan cancelled after ${String(report.trajectories)} trajectories` : `Re-scanned ${String(report.trajectories)} trajectories`;
        const found = added === 0 ? 'no secret had slipped through.' : `${String(added)} secrets redacted in ${String(report.changedTrajectories)} of them (${byRule}).`;
        const again = report.skipped.length > 0 ? ` ${String(report.skipped.length)} were being written by capture meanwhile: run the re-scan again for them.` : '';
        void vscode.window.showInformationMessage(`Internalize: ${scope}; ${found}${again}`);
      } catch (error) {
        await reportError(ctx.log, 'Internalize could not re-scan the store for secrets', error);
      }
    }),
  );
}
