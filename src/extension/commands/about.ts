import * as vscode from 'vscode';
import type { InternalizeContext } from '../context.js';
import { windowEmbedder } from '../embedder.js';

export function registerAboutCommands(ctx: InternalizeContext): void {
  const embedder = windowEmbedder(ctx);
  ctx.push(
    vscode.commands.registerCommand('internalize.about', async () => {
      const store = ctx.tryStore();
      const counts =
        store === undefined
          ? 'store unavailable'
          : `${String(store.trajectories.count())} trajectories, ${String(store.principles.count('accepted'))} accepted principles`;
      // Which embedder serves and why (e.g. "lexical: the ONNX model is missing at …"); resolving it also logs it.
      const embeddings = (await embedder()).description;
      const choice = await vscode.window.showInformationMessage(`Internalize ${ctx.version} — ${counts}. Database: ${ctx.storePath}. Embeddings: ${embeddings}`, 'Show Log');
      if (choice === 'Show Log') ctx.log.show(true);
    }),
    vscode.commands.registerCommand('internalize.showLog', () => {
      ctx.log.show(true);
    }),
  );
}
