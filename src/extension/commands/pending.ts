import * as vscode from 'vscode';
import type { InternalizeContext } from '../context.js';

/**
 * Palette commands whose capability is not in this build. They say so plainly instead of
 * pretending; each entry is removed when its capability lands.
 */
const PENDING: readonly { command: string; title: string; arrivesWith: string }[] = [
  { command: 'internalize.previewInjection', title: 'Preview Injection', arrivesWith: 'the step-wise injection planner' },
];

export function registerPendingCommands(ctx: InternalizeContext): void {
  for (const { command, title, arrivesWith } of PENDING) {
    ctx.push(
      vscode.commands.registerCommand(command, () => {
        const message = `Internalize ${ctx.version}: "${title}" is not available in this build yet; it arrives with ${arrivesWith}.`;
        ctx.log.warn(message);
        void vscode.window.showWarningMessage(message);
      }),
    );
  }
}
