import * as vscode from 'vscode';
import type { IterationRecord } from '../../core/store/index.js';
import { summarizeIteration } from '../../core/distill/ledger.js';
import { findCheckpoint, iterationDescription, roundKindOf } from '../commands/iterationsPlan.js';
import type { InternalizeContext } from '../context.js';
import { explainMetrics } from '../webviews/runDashboardModel.js';

const STATUS_ICON: Record<IterationRecord['status'], string> = {
  pending: 'clock',
  running: 'sync~spin',
  done: 'pass',
  failed: 'error',
  cancelled: 'circle-slash',
  collapsed: 'warning',
  'rolled-back': 'discard',
};

export class IterationsProvider implements vscode.TreeDataProvider<IterationRecord> {
  private readonly changed = new vscode.EventEmitter<IterationRecord | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly ctx: InternalizeContext) {
    ctx.push(
      this.changed,
      ctx.onDidChangeData((what) => {
        if (what === 'iterations' || what === 'store') this.changed.fire(undefined);
      }),
    );
  }

  getChildren(node?: IterationRecord): IterationRecord[] {
    if (node !== undefined) return [];
    return this.ctx.tryStore()?.iterations.list() ?? [];
  }

  getTreeItem(it: IterationRecord): vscode.TreeItem {
    const item = new vscode.TreeItem(`Iteration ${String(it.number)}`, vscode.TreeItemCollapsibleState.None);
    item.iconPath = new vscode.ThemeIcon(STATUS_ICON[it.status]);
    // The row stays short so a narrow sidebar never cuts it; everything else is in the tooltip.
    item.description = iterationDescription(it);
    item.tooltip = this.tooltip(it);
    // Flags after the status let menus offer only the actions that can work on this row.
    const flags = [it.adapterPath === undefined ? undefined : 'adapter', it.config.dataset === undefined ? undefined : 'dataset', this.resumable(it) ? 'resumable' : undefined].filter((f) => f !== undefined);
    item.contextValue = `iteration.${it.status}${flags.map((f) => `.${f}`).join('')}`;
    return item;
  }

  private resumable(it: IterationRecord): boolean {
    if (it.status !== 'failed' && it.status !== 'cancelled') return false;
    if (it.config.kind === 'own-data') return true;
    if (roundKindOf(it) === undefined) return false;
    const folder = this.ctx.tryStore()?.runs.list(it.number).filter((r) => r.kind === 'distill').pop()?.logPath;
    return findCheckpoint(folder) !== undefined;
  }

  private tooltip(it: IterationRecord): vscode.MarkdownString {
    const tooltip = new vscode.MarkdownString(`**Iteration ${String(it.number)}** · ${it.status === 'rolled-back' ? 'rolled back' : it.status}`);
    tooltip.supportThemeIcons = true;
    const config = it.config;
    const facts = [
      typeof config.world === 'string' ? `round: ${config.world === 'toy' ? 'toy world' : config.world === 'suite' ? 'principle suite' : config.world}` : typeof config.kind === 'string' ? `round: ${config.kind}` : undefined,
      typeof config.model === 'string' ? `model: ${config.model}` : undefined,
      typeof config.regime === 'string' ? `regime: ${config.regime}` : undefined,
      it.startedAt === undefined ? undefined : `started ${it.startedAt.replace('T', ' ').slice(0, 19)}`,
      it.endedAt === undefined ? undefined : `ended ${it.endedAt.replace('T', ' ').slice(0, 19)}`,
    ].filter((x) => x !== undefined);
    if (facts.length > 0) tooltip.appendMarkdown('\n\n').appendText(facts.join(' · '));
    if (it.metrics !== undefined) {
      const summary = summarizeIteration(it.metrics);
      if (summary !== '') tooltip.appendMarkdown('\n\n').appendText(summary);
      for (const m of explainMetrics(it.metrics).slice(0, 8)) tooltip.appendMarkdown('\n\n').appendText(`${m.label}: ${m.value}`);
    }
    const verdict = it.verdict as { reasons?: unknown; error?: unknown; rolledBackTo?: unknown } | undefined;
    if (Array.isArray(verdict?.reasons) && verdict.reasons.length > 0) tooltip.appendMarkdown('\n\n$(warning) ').appendText(verdict.reasons.map(String).join('; '));
    if (typeof verdict?.error === 'string') tooltip.appendMarkdown('\n\n$(error) ').appendText(verdict.error);
    if (typeof verdict?.rolledBackTo === 'number') tooltip.appendMarkdown('\n\n$(discard) ').appendText(`Set aside by a roll back to iteration ${String(verdict.rolledBackTo)}.`);
    if (it.adapterPath !== undefined) tooltip.appendMarkdown('\n\nAdapter: ').appendText(it.adapterPath);
    return tooltip;
  }
}
