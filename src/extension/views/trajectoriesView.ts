import * as vscode from 'vscode';
import type { TrajectorySummary } from '../../core/store/index.js';
import type { OutcomeLabel } from '../../core/trajectory.js';
import type { InternalizeContext } from '../context.js';

/** Agent → workspace → session, as a developer thinks about where a run came from. */
type Node =
  | { kind: 'source'; source: string; items: TrajectorySummary[] }
  | { kind: 'workspace'; source: string; workspace: string; items: TrajectorySummary[] }
  | { kind: 'trajectory'; item: TrajectorySummary };

const OUTCOME_ICON: Record<OutcomeLabel, vscode.ThemeIcon> = {
  success: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failure: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  unknown: new vscode.ThemeIcon('circle-outline'),
};
// The outcome is inferred, so the tooltip says from what and how to correct it.
const OUTCOME_MEANING: Record<OutcomeLabel, string> = {
  success: 'Success: read from the run itself (its last test run, exit status or reward, or the agent reporting the task done). Right-click to set the outcome if it is wrong.',
  failure: 'Failure: read from the run itself (its last test run, exit status, an error or an interruption). Right-click to set the outcome if it is wrong.',
  unknown: 'Outcome unknown: the run shows no test result, exit status or verdict. Right-click to set it; the miner and the summarizer contrast successes with failures.',
};

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list === undefined) out.set(k, [item]);
    else list.push(item);
  }
  return out;
}

function workspaceLabel(workspace: string): string {
  const parts = workspace.split(/[\\/]/u).filter((p) => p !== '');
  return parts.at(-1) ?? workspace;
}

export class TrajectoriesProvider implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** Text filter set by the search command; empty shows everything. */
  private filter = '';

  constructor(private readonly ctx: InternalizeContext) {
    ctx.push(
      this.changed,
      ctx.onDidChangeData((what) => {
        if (what === 'trajectories' || what === 'store') this.refresh();
      }),
    );
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  setFilter(text: string): void {
    this.filter = text.trim();
    this.refresh();
  }

  get filterText(): string {
    return this.filter;
  }

  private summaries(): TrajectorySummary[] {
    const store = this.ctx.tryStore();
    if (store === undefined) return [];
    const all = store.trajectories.list();
    if (this.filter === '') return all;
    const ids = new Set(store.trajectories.search(this.filter, 500).map((h) => h.trajectoryId));
    const needle = this.filter.toLowerCase();
    return all.filter((t) => ids.has(t.id) || t.task.toLowerCase().includes(needle));
  }

  getChildren(node?: Node): Node[] {
    if (node === undefined) {
      return [...groupBy(this.summaries(), (t) => t.source)].sort(([a], [b]) => a.localeCompare(b)).map(([source, items]) => ({ kind: 'source', source, items }));
    }
    if (node.kind === 'source') {
      return [...groupBy(node.items, (t) => t.workspace ?? '(no workspace)')]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([workspace, items]) => ({ kind: 'workspace', source: node.source, workspace, items }));
    }
    if (node.kind === 'workspace') return node.items.map((item) => ({ kind: 'trajectory', item }));
    return [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'source') {
      const item = new vscode.TreeItem(node.source, vscode.TreeItemCollapsibleState.Expanded);
      item.iconPath = new vscode.ThemeIcon('hubot');
      item.description = `${String(node.items.length)} run${node.items.length === 1 ? '' : 's'}`;
      item.contextValue = 'source';
      return item;
    }
    if (node.kind === 'workspace') {
      const item = new vscode.TreeItem(workspaceLabel(node.workspace), vscode.TreeItemCollapsibleState.Collapsed);
      item.iconPath = vscode.ThemeIcon.Folder;
      item.description = String(node.items.length);
      item.tooltip = node.workspace;
      item.contextValue = 'workspace';
      return item;
    }
    const t = node.item;
    const item = new vscode.TreeItem(t.task.length > 80 ? `${t.task.slice(0, 79)}…` : t.task, vscode.TreeItemCollapsibleState.None);
    item.id = t.id;
    item.iconPath = OUTCOME_ICON[t.outcome];
    const parts = [`${String(t.stepCount)} steps`];
    if (t.redactionCount > 0) parts.push(`${String(t.redactionCount)} redacted`);
    if (t.startedAt !== undefined) parts.push(t.startedAt.slice(0, 16).replace('T', ' '));
    item.description = parts.join(' · ');
    const tooltip = new vscode.MarkdownString();
    tooltip.appendMarkdown(`**${t.source}** · ${t.outcome}\n\n`);
    tooltip.appendText(t.task);
    tooltip.appendMarkdown(`\n\nSession \`${t.sessionId}\`${t.model === undefined ? '' : ` · model \`${t.model}\``}`);
    tooltip.appendMarkdown(`\n\n${OUTCOME_MEANING[t.outcome]}`);
    if (t.redactionCount > 0) tooltip.appendMarkdown(`\n\n$(shield) ${String(t.redactionCount)} secret(s) redacted before storage`);
    tooltip.supportThemeIcons = true;
    item.tooltip = tooltip;
    item.contextValue = `trajectory.${t.outcome}`;
    item.command = { command: 'internalize.openTrajectory', title: 'Open Trajectory', arguments: [t.id] };
    item.accessibilityInformation = { label: `${t.outcome} run: ${t.task}, ${String(t.stepCount)} steps` };
    return item;
  }
}
