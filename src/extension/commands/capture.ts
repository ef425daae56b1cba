import * as vscode from 'vscode';
import { CaptureService, describeReport } from '../capture/service.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { reportError } from '../errors.js';
import type { SerializedReport } from '../capture/messages.js';

async function showResult(ctx: InternalizeContext, capture: CaptureService, what: string, report: SerializedReport): Promise<void> {
  capture.logProblems(report);
  const message = `Internalize ${what}: ${describeReport(report)}.`;
  ctx.log.info(message);
  const problems = report.issues.length + report.errors.length + report.empty.length;
  // A file the user named that gave nothing is a warning with its reason, not a quiet "0 trajectories".
  const namedEmpty = report.empty.find((e) => report.emptyTargets.includes(e.file));
  const choice =
    report.errors.length > 0
      ? await vscode.window.showWarningMessage(`${message} ${report.errors[0]?.message ?? ''}`, 'Show Log')
      : namedEmpty !== undefined
        ? await vscode.window.showWarningMessage(`${message} ${namedEmpty.file}: ${namedEmpty.reason}`, 'Show Log')
        : await vscode.window.showInformationMessage(message, ...(problems > 0 ? ['Show Log'] : []));
  if (choice === 'Show Log') ctx.log.show(true);
}

/** Capture Now, Import…, and the live watchers that keep the Trajectories view current. */
export function registerCaptureCommands(ctx: InternalizeContext): CaptureService {
  const capture = new CaptureService(ctx);
  ctx.push(capture);
  capture.watch();
  ctx.push(
    config.onDidChange((event) => {
      if (event.affectsConfiguration('internalize.capture')) capture.watch();
    }),
    vscode.commands.registerCommand('internalize.captureNow', async () => {
      try {
        const locations = capture.locations();
        const report = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: 'Internalize: capturing agent runs', cancellable: false },
          async (progress) => {
            progress.report({ message: `${String(locations.length)} locations` });
            return capture.run({ kind: 'capture', locations });
          },
        );
        if (report.files === 0) {
          void vscode.window.showInformationMessage(
            'Internalize found no agent logs in the default locations. Import a file or folder, or add paths in the setting internalize.capture.sources.',
            'Import…',
          ).then((choice) => {
            if (choice === 'Import…') void vscode.commands.executeCommand('internalize.importTrajectories');
          });
          return;
        }
        await showResult(ctx, capture, 'captured', report);
      } catch (error) {
        await reportError(ctx.log, 'Internalize could not capture agent runs', error);
      }
    }),
    vscode.commands.registerCommand('internalize.importTrajectories', async (target?: unknown) => {
      try {
        const uris =
          target instanceof vscode.Uri
            ? [target]
            : await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: true, canSelectMany: true, openLabel: 'Import', title: 'Import agent trajectories' });
        if (uris === undefined || uris.length === 0) return;
        const paths = uris.map((u) => u.fsPath);
        const report = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Internalize: importing ${String(paths.length)} item(s)` },
          () => capture.run({ kind: 'import', paths }),
        );
        await showResult(ctx, capture, 'imported', report);
      } catch (error) {
        await reportError(ctx.log, 'Internalize could not import', error);
      }
    }),
  );
  return capture;
}
