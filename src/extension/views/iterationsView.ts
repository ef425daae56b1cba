import * as vscode from 'vscode';
import type { IterationRecord, PrincipleScoreRecord } from '../../core/store/index.js';
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

/** A row of the view: an iteration, or one principle's score in it (its children). */
export type IterationsNode = IterationRecord | PrincipleScoreRecord;

function isScore(node: IterationsNode): node is PrincipleScoreRecord {
  return 'principleId' in node;
}

/** A score row's short text: the method and the score, or why there is none. */
export function scoreDescription(s: PrincipleScoreRecord): string {
  const value = s.score === undefined || !Number.isFinite(s.score) ? 'not scored' : s.score.toFixed(2);
  // The LLM judge's score, where a judge model graded the round (round.ts keeps it in the detail).
  const judge = s.detail.judge as { score?: unknown } | undefined;
  const judged = typeof judge?.score === 'number' && Number.isFinite(judge.score) ? `judge ${judge.score.toFixed(2)}` : undefined;
  return [s.method, value, judged, s.internalized ? 'internalized' : undefined].filter((x) => x !== undefined).join(' · ');
}

export class IterationsProvider implements vscode.TreeDataProvider<IterationsNode> {
  private readonly changed = new vscode.EventEmitter<IterationsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly ctx: InternalizeContext) {
    ctx.push(
      this.changed,
      ctx.onDidChangeData((what) => {
        if (what === 'iterations' || what === 'store') this.changed.fire(undefined);
      }),
    );
  }

  getChildren(node?: IterationsNode): IterationsNode[] {
    const store = this.ctx.tryStore();
    if (node === undefined) return store?.iterations.list() ?? [];
    // Under an iteration, each principle it scored: what the round did per principle, beside the metrics in the tooltip.
    return isScore(node) ? [] : (store?.scores.forIteration(node.number) ?? []);
  }

  getTreeItem(node: IterationsNode): vscode.TreeItem {
    if (isScore(node)) return this.scoreItem(node);
    const it = node;
    const scored = (this.ctx.tryStore()?.scores.forIteration(it.number).length ?? 0) > 0;
    const item = new vscode.TreeItem(`Iteration ${String(it.number)}`, scored ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = `iteration-${String(it.number)}`;
    item.iconPath = new vscode.ThemeIcon(STATUS_ICON[it.status]);
    // The row stays short so a narrow sidebar never cuts it; everything else is in the tooltip.
    item.description = iterationDescription(it);
    item.tooltip = this.tooltip(it);
    // Flags after the status let menus offer only the actions that can work on this row.
    const flags = [it.adapterPath === undefined ? undefined : 'adapter', it.config.dataset === undefined ? undefined : 'dataset', this.resumable(it) ? 'resumable' : undefined].filter((f) => f !== undefined);
    item.contextValue = `iteration.${it.status}${flags.map((f) => `.${f}`).join('')}`;
    return item;
  }

  private scoreItem(s: PrincipleScoreRecord): vscode.TreeItem {
    const item = new vscode.TreeItem(s.principleId, vscode.TreeItemCollapsibleState.None);
    item.id = `iteration-${String(s.iteration)}-${s.principleId}`;
    item.description = scoreDescription(s);
    item.iconPath = new vscode.ThemeIcon(s.internalized ? 'verified-filled' : 'circle-outline');
    item.contextValue = 'iterationScore';
    const tooltip = new vscode.MarkdownString();
    const text = this.ctx.tryStore()?.principles.get(s.principleId)?.text;
    tooltip.appendMarkdown(`**${s.principleId}**`);
    if (text !== undefined) tooltip.appendText(` ${text}`);
    const d = s.detail;
    const explained =
      s.method === 'divergence'
        ? 'Divergence score: 1 − KL(teacher‖student) ÷ KL(teacher‖base) on the held-out states where the selector picked this principle (1: the student, without the principle, decides as the teacher does with it).'
        : 'Checker score: the share of the gap between the base model and the teacher that the student closed without the principle in context.';
    tooltip.appendMarkdown('\n\n').appendText(explained);
    const facts = [
      typeof d.states === 'number' ? `${String(d.states)} held-out states` : undefined,
      typeof d.kl_before === 'number' && typeof d.kl_after === 'number' ? `KL before ${d.kl_before.toFixed(4)}, after ${d.kl_after.toFixed(4)} per token` : undefined,
      typeof d.reason === 'string' && (s.score === undefined || !Number.isFinite(s.score)) ? d.reason : undefined,
    ].filter((x) => x !== undefined);
    if (facts.length > 0) tooltip.appendMarkdown('\n\n').appendText(facts.join(' · '));
    item.tooltip = tooltip;
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
