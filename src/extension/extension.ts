import { bundleLoadStartedAt } from './activationClock.js';
import { performance } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { registerAboutCommands } from './commands/about.js';
import { registerCaptureCommands } from './commands/capture.js';
import { registerDistillCommands } from './commands/distill.js';
import { registerExportCommand } from './commands/exportPrinciples.js';
import { registerInstallMcpCommands } from './commands/installMcpServer.js';
import { registerIterationCommands } from './commands/iterations.js';
import { registerPreviewInjectionCommand } from './commands/previewInjection.js';
import { registerPrincipleCommands } from './commands/principles.js';
import { registerRedactCommands } from './commands/redact.js';
import { registerStoreCommands } from './commands/store.js';
import { registerSummarizeCommand } from './commands/summarize.js';
import { registerTrajectoryCommands } from './commands/trajectories.js';
import { config } from './config.js';
import { InternalizeContext } from './context.js';
import { windowEmbedder } from './embedder.js';
import { describeError } from './errors.js';
import { localModelProvider } from './llm/local.js';
import { registerModelCommands } from './llm/models.js';
import { registerLanguageModelTools, registerToolTestCommand } from './serving/lmTool.js';
import { registerViews } from './views/register.js';
import { registerPoolCommands } from './webviews/poolsPanel.js';

let ctx: InternalizeContext | undefined;

export function activate(extension: vscode.ExtensionContext): void {
  const context = new InternalizeContext(extension);
  ctx = context;
  extension.subscriptions.push(context);
  registerViews(context);
  registerAboutCommands(context);
  registerStoreCommands(context);
  registerRedactCommands(context);
  registerTrajectoryCommands(context);
  registerCaptureCommands(context);
  registerDistillCommands(context);
  const localModel = localModelProvider(context);
  registerSummarizeCommand(context, localModel);
  registerPrincipleCommands(context, localModel);
  registerExportCommand(context);
  registerPoolCommands(context);
  registerIterationCommands(context);
  registerModelCommands(context);
  registerPreviewInjectionCommand(context);
  registerLanguageModelTools(context, windowEmbedder(context));
  registerToolTestCommand(context);
  registerInstallMcpCommands(context);
  context.push(
    config.onDidChange((event) => {
      if (!event.affectsConfiguration('internalize.store.path')) return;
      context.closeStore();
      context.log.info(`Store path changed; using ${context.storePath}`);
      context.notify('store');
    }),
  );
  const store = context.tryStore();
  if (store === undefined && context.lastStoreError !== undefined) {
    const message = describeError(context.lastStoreError);
    context.log.error(message);
    void vscode.window.showErrorMessage(message, 'Reset Store', 'Show Log').then((choice) => {
      if (choice === 'Reset Store') void vscode.commands.executeCommand('internalize.resetStore');
      else if (choice === 'Show Log') context.log.show(true);
    });
  }
  const ms = performance.now() - bundleLoadStartedAt;
  context.log.info(`Internalize activated in ${ms.toFixed(1)} ms (version ${context.version}, store ${store === undefined ? 'unavailable' : 'ready'})`);
}

export function deactivate(): void {
  ctx?.dispose();
  ctx = undefined;
}
