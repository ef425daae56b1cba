import * as vscode from 'vscode';
import type { InternalizeContext } from '../context.js';
import { IterationsProvider } from './iterationsView.js';
import { PrinciplesProvider } from './principlesView.js';
import { TrajectoriesProvider } from './trajectoriesView.js';

export interface Views {
  readonly trajectories: TrajectoriesProvider;
  readonly principles: PrinciplesProvider;
  readonly iterations: IterationsProvider;
}

/** Creates the three views of the Internalize container and the commands that act on the views themselves. */
export function registerViews(ctx: InternalizeContext): Views {
  const trajectories = new TrajectoriesProvider(ctx);
  const principles = new PrinciplesProvider(ctx);
  const iterations = new IterationsProvider(ctx);
  const trajectoriesView = vscode.window.createTreeView('internalize.trajectories', { treeDataProvider: trajectories, showCollapseAll: true });
  const principlesView = vscode.window.createTreeView('internalize.principles', { treeDataProvider: principles, showCollapseAll: true, canSelectMany: true });
  const iterationsView = vscode.window.createTreeView('internalize.iterations', { treeDataProvider: iterations });

  const showStoreProblem = (): void => {
    const problem = ctx.lastStoreError;
    const message = problem === undefined ? undefined : `Database unavailable: ${problem.message}`;
    trajectoriesView.message = message;
    principlesView.message = message;
    iterationsView.message = message;
  };
  showStoreProblem();

  ctx.push(
    trajectoriesView,
    principlesView,
    iterationsView,
    ctx.onDidChangeData((what) => {
      if (what === 'store') showStoreProblem();
    }),
    vscode.commands.registerCommand('internalize.refresh', () => {
      ctx.notify('store');
    }),
    vscode.commands.registerCommand('internalize.revealPrinciple', async (id: unknown) => {
      if (typeof id !== 'string') return;
      const node = principles.principleNode(id);
      if (node === undefined) {
        const filtered = principles.filterText === '' ? '' : ` (the view is filtered by "${principles.filterText}")`;
        void vscode.window.showInformationMessage(`Internalize: principle ${id} is not in the Principles view${filtered}; it may have been retired or merged.`);
        return;
      }
      await principlesView.reveal(node, { select: true, focus: true, expand: false });
    }),
    vscode.commands.registerCommand('internalize.principles.showMore', (group: unknown) => {
      if (typeof group === 'string') principles.showMore(group);
    }),
    vscode.commands.registerCommand('internalize.searchPrinciples', async () => {
      const text = await vscode.window.showInputBox({
        title: 'Find Principles',
        prompt: 'Words to find in principle text (empty shows the whole pool)',
        value: principles.filterText,
      });
      if (text === undefined) return;
      principles.setFilter(text);
      principlesView.description = text.trim() === '' ? undefined : `filter: ${text.trim()}`;
    }),
    vscode.commands.registerCommand('internalize.searchTrajectories', async () => {
      const text = await vscode.window.showInputBox({
        title: 'Search Trajectories',
        prompt: 'Words to find in tasks, tool calls and outputs (empty clears the filter)',
        value: trajectories.filterText,
      });
      if (text === undefined) return;
      trajectories.setFilter(text);
      trajectoriesView.description = text.trim() === '' ? undefined : `filter: ${text.trim()}`;
    }),
  );
  return { trajectories, principles, iterations };
}
