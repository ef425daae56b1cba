import * as vscode from 'vscode';
import type { OutcomeLabel } from '../../core/trajectory.js';
import type { InternalizeContext } from '../context.js';
import { reportError } from '../errors.js';
import { TrajectoryPanels } from '../webviews/trajectoryPanel.js';

/** A tree row passes its summary; the palette passes nothing and the user picks. */
export function idFrom(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (typeof arg === 'object' && arg !== null && 'item' in arg) {
    const item = (arg).item;
    if (typeof item === 'object' && item !== null && 'id' in item && typeof item.id === 'string') return item.id;
  }
  return undefined;
}

export async function pickTrajectory(ctx: InternalizeContext, title = 'Open Trajectory'): Promise<string | undefined> {
  const summaries = ctx.getStore().trajectories.list({ limit: 2000 });
  if (summaries.length === 0) {
    void vscode.window.showInformationMessage('Internalize has no captured trajectories yet. Run "Internalize: Capture Now" or import a file.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    summaries.map((s) => ({ label: s.task.slice(0, 120), description: `${s.source} · ${s.outcome} · ${String(s.stepCount)} steps`, detail: s.workspace, id: s.id })),
    { title, matchOnDescription: true, matchOnDetail: true },
  );
  return picked?.id;
}

export function registerTrajectoryCommands(ctx: InternalizeContext): void {
  const panels = new TrajectoryPanels(ctx);
  const setOutcome = (label: OutcomeLabel) => (arg: unknown) => {
    const id = idFrom(arg);
    if (id === undefined) return;
    try {
      ctx.getStore().trajectories.setOutcome(id, { label, evidence: [{ kind: 'user-verdict', detail: `Set to ${label} by the user` }] });
      ctx.notify('trajectories');
    } catch (error) {
      void reportError(ctx.log, 'Internalize could not change the outcome', error);
    }
  };
  ctx.push(
    vscode.commands.registerCommand('internalize.openTrajectory', async (arg: unknown, step?: unknown) => {
      try {
        const id = idFrom(arg) ?? (await pickTrajectory(ctx));
        if (id !== undefined) panels.show(id, typeof step === 'number' ? step : undefined);
      } catch (error) {
        await reportError(ctx.log, 'Internalize could not open the trajectory', error);
      }
    }),
    vscode.commands.registerCommand('internalize.markSuccess', setOutcome('success')),
    vscode.commands.registerCommand('internalize.markFailure', setOutcome('failure')),
    vscode.commands.registerCommand('internalize.markUnknown', setOutcome('unknown')),
  );
}
