import * as vscode from 'vscode';
import { checkSpecificity } from '../../core/experience/specificity.js';
import type { EvidenceRef, PoolOpKind, Principle, PrincipleStatus } from '../../core/principle.js';
import { estimateTokens } from '../../core/llm/languageModel.js';
import type { PrincipleScoreRecord, StoredPoolOp } from '../../core/store/index.js';
import type { InternalizeContext } from '../context.js';
import { describeServed, internalizedModels, recentServeCalls, servedCounts, SERVE_LOG_WINDOW, tokensPerStep, type ServedCounts } from '../serving/usage.js';

/**
 * The Principles view: proposed changes to review first, then the pool by status. Every row that
 * has evidence expands into the trajectory steps it came from; a click opens the step.
 */
export type PrincipleNode =
  | { readonly kind: 'proposals'; readonly count: number }
  | { readonly kind: 'status'; readonly status: Exclude<PrincipleStatus, 'proposed'>; readonly count: number; readonly internalized?: { readonly count: number; readonly tokens: number } }
  | { readonly kind: 'op'; readonly op: StoredPoolOp; readonly principle?: Principle }
  | { readonly kind: 'principle'; readonly principle: Principle; readonly score?: PrincipleScoreRecord }
  | { readonly kind: 'evidence'; readonly parent: string; readonly ref: EvidenceRef; readonly title: string }
  | { readonly kind: 'more'; readonly group: string; readonly shown: number; readonly total: number };

const GROUPS: readonly { status: Exclude<PrincipleStatus, 'proposed'>; label: string; icon: string }[] = [
  { status: 'accepted', label: 'Accepted', icon: 'check' },
  { status: 'rejected', label: 'Rejected', icon: 'close' },
  { status: 'retired', label: 'Retired', icon: 'archive' },
];

const OP_ICON: Record<PoolOpKind, string> = { ADD: 'diff-added', UPDATE: 'diff-modified', DELETE: 'diff-removed', MERGE: 'merge' };

/** Tree rows are paged so that a pool of 10,000 principles never builds 10,000 items at once. */
export const PAGE = 500;
/** Evidence rows per principle; the rest are counted in the tooltip. */
const EVIDENCE_ROWS = 20;

export class PrinciplesProvider implements vscode.TreeDataProvider<PrincipleNode> {
  private readonly changed = new vscode.EventEmitter<PrincipleNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** Rows shown per group; "Show more" raises it a page at a time. */
  private readonly limits = new Map<string, number>();
  private filter = '';

  constructor(private readonly ctx: InternalizeContext) {
    ctx.push(
      this.changed,
      ctx.onDidChangeData((what) => {
        if (what === 'principles' || what === 'store' || what === 'iterations') this.changed.fire(undefined);
      }),
      this.changed.event(() => {
        this.scoreCache = undefined;
        this.usageCache = undefined;
      }),
    );
  }

  get filterText(): string {
    return this.filter;
  }

  /** Shows only principles whose text matches (full-text search); empty shows the whole pool. */
  setFilter(text: string): void {
    this.filter = text.trim();
    this.changed.fire(undefined);
  }

  showMore(group: string): void {
    this.limits.set(group, (this.limits.get(group) ?? PAGE) + PAGE);
    this.changed.fire(undefined);
  }

  private paged<T>(group: string, total: number, items: T[], wrap: (item: T) => PrincipleNode): PrincipleNode[] {
    const out = items.map(wrap);
    if (total > items.length) out.push({ kind: 'more', group, shown: items.length, total });
    return out;
  }

  getChildren(node?: PrincipleNode): PrincipleNode[] {
    const store = this.ctx.tryStore();
    if (store === undefined) return [];
    if (node === undefined && this.filter !== '') {
      return store.principles.search(this.filter, PAGE).map((principle) => ({ kind: 'principle', principle }));
    }
    if (node === undefined) {
      const pending = store.poolOps.count('proposed');
      const groups: PrincipleNode[] = GROUPS.map((g) => ({
        kind: 'status' as const,
        status: g.status,
        count: store.principles.count(g.status),
        internalized: g.status === 'accepted' ? this.internalizedSummary() : undefined,
      })).filter((g) => g.count > 0);
      return pending > 0 ? [{ kind: 'proposals', count: pending }, ...groups] : groups;
    }
    switch (node.kind) {
      case 'proposals':
        return this.paged('proposals', node.count, store.poolOps.list({ status: 'proposed', limit: this.limits.get('proposals') ?? PAGE }), (op) => ({ kind: 'op', op, principle: store.principles.get(op.principleId) }));
      case 'status':
        return this.paged(node.status, node.count, store.principles.list({ status: node.status, limit: this.limits.get(node.status) ?? PAGE }), (principle) => ({
          kind: 'principle',
          principle,
          score: this.scores().get(principle.id),
        }));
      case 'op':
        return this.evidenceRows(node.op.principleId, node.op.evidence.length > 0 ? node.op.evidence : (node.principle?.evidence ?? []));
      case 'principle':
        return this.evidenceRows(node.principle.id, node.principle.evidence);
      case 'evidence':
      case 'more':
        return [];
    }
  }

  /**
   * The row above `node`, so that TreeView.reveal can open the way to a principle (the Injection
   * Preview reveals the principles it injects). Rows are matched by their ids, so fresh nodes do.
   */
  getParent(node: PrincipleNode): PrincipleNode | undefined {
    const store = this.ctx.tryStore();
    if (store === undefined || node.kind === 'proposals' || node.kind === 'status') return undefined;
    if (node.kind === 'op') return { kind: 'proposals', count: store.poolOps.count('proposed') };
    if (node.kind === 'more') {
      if (node.group === 'proposals') return { kind: 'proposals', count: store.poolOps.count('proposed') };
      const status = GROUPS.find((g) => g.status === node.group)?.status;
      return status === undefined ? undefined : this.statusNode(status);
    }
    const principle = node.kind === 'principle' ? node.principle : store.principles.get(node.parent);
    if (principle === undefined) return undefined;
    if (node.kind === 'evidence') return { kind: 'principle', principle, score: this.scores().get(principle.id) };
    // While a filter is on, matching principles are the top-level rows.
    if (this.filter !== '' || principle.status === 'proposed') return undefined;
    return this.statusNode(principle.status);
  }

  private statusNode(status: Exclude<PrincipleStatus, 'proposed'>): PrincipleNode {
    const store = this.ctx.tryStore();
    return { kind: 'status', status, count: store?.principles.count(status) ?? 0, internalized: status === 'accepted' ? this.internalizedSummary() : undefined };
  }

  /**
   * The row of principle `id`, with its group paged far enough to hold it; undefined when the
   * principle is unknown, proposed (shown as its proposal) or hidden by the filter.
   */
  principleNode(id: string): PrincipleNode | undefined {
    const store = this.ctx.tryStore();
    const principle = store?.principles.get(id);
    if (store === undefined || principle === undefined || principle.status === 'proposed') return undefined;
    if (this.filter !== '') {
      if (!store.principles.search(this.filter, PAGE).some((p) => p.id === id)) return undefined;
    } else {
      const rank = store.principles.list({ status: principle.status }).findIndex((p) => p.id === id);
      const limit = this.limits.get(principle.status) ?? PAGE;
      if (rank >= limit) {
        this.limits.set(principle.status, Math.ceil((rank + 1) / PAGE) * PAGE);
        this.changed.fire(undefined);
      }
    }
    return { kind: 'principle', principle, score: this.scores().get(id) };
  }

  private scoreCache: Map<string, PrincipleScoreRecord> | undefined;
  private usageCache: { served: Map<string, ServedCounts>; internalizedIn: Map<string, string[]> } | undefined;

  /**
   * Where a principle is served (the serve call log, by front end) and which models internalized it
   * (so serving leaves it out for them), read once per refresh.
   */
  private usage(id: string): PrincipleUsage {
    if (this.usageCache === undefined) {
      const store = this.ctx.tryStore();
      this.usageCache = store === undefined ? { served: new Map(), internalizedIn: new Map() } : { served: servedCounts(recentServeCalls(store)), internalizedIn: internalizedModels(store) };
    }
    return { served: this.usageCache.served.get(id), internalizedIn: this.usageCache.internalizedIn.get(id) ?? [] };
  }

  /** The latest internalization score of each principle, read once per refresh. */
  private scores(): Map<string, PrincipleScoreRecord> {
    this.scoreCache ??= this.ctx.tryStore()?.scores.latest() ?? new Map<string, PrincipleScoreRecord>();
    return this.scoreCache;
  }

  /**
   * Internalized principles are no longer injected when serving: the context each step saves is
   * what their lines in the step-wise block would have cost.
   */
  private internalizedSummary(): { count: number; tokens: number } | undefined {
    const store = this.ctx.tryStore();
    if (store === undefined) return undefined;
    let count = 0;
    let tokens = 0;
    for (const [id, score] of this.scores()) {
      if (!score.internalized) continue;
      const p = store.principles.get(id);
      if (p?.status !== 'accepted') continue;
      count++;
      tokens += estimateTokens(`- ${p.text}\n`);
    }
    return count === 0 ? undefined : { count, tokens };
  }

  private evidenceRows(parent: string, evidence: readonly EvidenceRef[]): PrincipleNode[] {
    const store = this.ctx.tryStore();
    return evidence.slice(0, EVIDENCE_ROWS).map((ref) => {
      const task = store?.trajectories.summary(ref.trajectoryId)?.task;
      return { kind: 'evidence', parent, ref, title: task === undefined ? `${ref.trajectoryId} (no longer stored)` : task.replace(/\s+/gu, ' ').slice(0, 100) };
    });
  }

  getTreeItem(node: PrincipleNode): vscode.TreeItem {
    switch (node.kind) {
      case 'proposals': {
        const item = new vscode.TreeItem('Proposed changes', vscode.TreeItemCollapsibleState.Expanded);
        item.id = 'group:proposals';
        item.iconPath = new vscode.ThemeIcon('lightbulb');
        item.description = String(node.count);
        item.tooltip = 'Accept, edit or reject each change; nothing in the pool changes until you do.';
        item.contextValue = 'proposals';
        return item;
      }
      case 'status': {
        const group = GROUPS.find((g) => g.status === node.status);
        const item = new vscode.TreeItem(group?.label ?? node.status, node.status === 'accepted' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `group:${node.status}`;
        item.iconPath = new vscode.ThemeIcon(group?.icon ?? 'circle-outline');
        item.description = String(node.count);
        if (node.internalized !== undefined) {
          item.description += ` · ${String(node.internalized.count)} internalized (−${String(node.internalized.tokens)} tokens/step)`;
          item.tooltip = `${String(node.internalized.count)} accepted principles are internalized: the model follows them without seeing them, so serving no longer injects them. That saves about ${String(node.internalized.tokens)} context tokens at each step where the selector would have picked all of them.`;
        }
        return item;
      }
      case 'op':
        return opItem(node.op, node.principle);
      case 'principle':
        return principleItem(node.principle, node.score, this.usage(node.principle.id));
      case 'more': {
        const item = new vscode.TreeItem(`Show ${String(Math.min(PAGE, node.total - node.shown))} more`, vscode.TreeItemCollapsibleState.None);
        item.id = `more:${node.group}:${String(node.shown)}`;
        item.description = `${String(node.shown)} of ${String(node.total)} shown`;
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.command = { command: 'internalize.principles.showMore', title: 'Show More', arguments: [node.group] };
        return item;
      }
      case 'evidence': {
        const step = node.ref.stepIndex === undefined ? '' : ` · step ${String(node.ref.stepIndex + 1)}`;
        const item = new vscode.TreeItem(node.title, vscode.TreeItemCollapsibleState.None);
        item.id = `evidence:${node.parent}:${node.ref.trajectoryId}:${String(node.ref.stepIndex ?? '')}`;
        item.description = step.slice(3);
        item.iconPath = new vscode.ThemeIcon('references');
        item.tooltip = `Evidence: trajectory ${node.ref.trajectoryId}${step}`;
        item.contextValue = 'evidence';
        item.command = { command: 'internalize.openTrajectory', title: 'Open Trajectory', arguments: [node.ref.trajectoryId, node.ref.stepIndex] };
        return item;
      }
    }
  }
}

function specificityNote(text: string | undefined, granularity: string | undefined): string | undefined {
  if (text === undefined || granularity === 'instance') return undefined;
  const spans = checkSpecificity(text);
  return spans.length === 0 ? undefined : `Carries instance details (${spans.map((s) => `${s.reason} "${s.text}"`).join(', ')}); principle-level text should hold for any run.`;
}

/** The words the rows use, said plainly for their tooltips. */
const OP_MEANING: Readonly<Record<StoredPoolOp['kind'], string>> = {
  ADD: 'adds a new principle to the pool',
  UPDATE: 'changes the wording of a principle in the pool',
  DELETE: 'takes a principle out of the pool',
  MERGE: 'folds several principles into one',
};
const ORIGIN_MEANING: Readonly<Record<Principle['origin'], string>> = {
  mined: 'found by the offline miner in patterns that recur across your runs (no model involved)',
  llm: 'written by a language model from your runs',
  manual: 'written by hand',
  imported: 'brought in from a principle pack',
};

function opItem(op: StoredPoolOp, principle: Principle | undefined): vscode.TreeItem {
  const text = op.after ?? op.before ?? principle?.text ?? op.principleId;
  const evidence = op.evidence.length > 0 ? op.evidence : (principle?.evidence ?? []);
  const item = new vscode.TreeItem(text, evidence.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
  item.id = `op:${String(op.id)}`;
  const specific = op.kind === 'DELETE' ? undefined : specificityNote(op.after, principle?.granularity);
  item.iconPath = new vscode.ThemeIcon(specific === undefined ? OP_ICON[op.kind] : 'warning');
  const target = op.kind === 'MERGE' ? `${op.principleId} ← ${(op.mergedIds ?? []).join(', ')}` : op.principleId;
  item.description = [`${op.kind} ${target}`, principle?.origin === 'llm' && principle.model !== undefined ? principle.model : principle?.origin].filter((x) => x !== undefined).join(' · ');
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${op.kind} ${target}** · proposed ${op.proposedAt.slice(0, 16).replace('T', ' ')}\n\n`);
  tooltip.appendText(`A proposed change: accepting it ${OP_MEANING[op.kind]}${principle === undefined ? '' : `; ${ORIGIN_MEANING[principle.origin]}`}.`);
  tooltip.appendMarkdown('\n\n');
  if (op.before !== undefined && op.after !== undefined && op.before !== op.after) {
    tooltip.appendMarkdown('*Before:* ');
    tooltip.appendText(op.before);
    tooltip.appendMarkdown('\n\n*After:* ');
    tooltip.appendText(op.after);
  } else {
    tooltip.appendText(text);
  }
  tooltip.appendMarkdown('\n\n*Why:* ');
  tooltip.appendText(op.rationale);
  tooltip.appendMarkdown(`\n\nEvidence: ${String(evidence.length)} trajectory step(s)`);
  if (specific !== undefined) {
    tooltip.appendMarkdown('\n\n$(warning) ');
    tooltip.appendText(specific);
  }
  tooltip.supportThemeIcons = true;
  item.tooltip = tooltip;
  item.contextValue = `op.${op.kind}`;
  item.accessibilityInformation = { label: `Proposed ${op.kind} of ${target}: ${text}` };
  return item;
}

function scoreText(s: PrincipleScoreRecord): string {
  const pct = (x: number | undefined): string => (x === undefined ? '–' : `${(x * 100).toFixed(0)}%`);
  if (s.method === 'checker') {
    return `Iteration ${String(s.iteration)}, by its checker on held-out prompts: base model ${pct(s.base)} without the principle, teacher ${pct(s.teacher)} with it, student ${pct(s.student)} without it → ${s.score === undefined ? 'no score' : `${(s.score * 100).toFixed(0)}% of the gap closed`}.`;
  }
  return `Iteration ${String(s.iteration)}, by divergence (no checker): 1 − KL after / KL before = ${s.score === undefined ? '–' : s.score.toFixed(2)} on held-out decision states where the selector picks it.`;
}

interface PrincipleUsage {
  readonly served: ServedCounts | undefined;
  readonly internalizedIn: readonly string[];
}

function servedText(served: ServedCounts | undefined): string {
  const where = describeServed(served);
  if (served === undefined || where === undefined) return `Served: not yet (in the last ${String(SERVE_LOG_WINDOW)} calls of the MCP server and the language-model tool).`;
  return `Served: ${where} call(s), last ${served.lastAt.slice(0, 16).replace('T', ' ')}. Helpful and harmful counts come from agents' reports and from the outcomes of captured runs that used it.`;
}

function principleItem(p: Principle, score?: PrincipleScoreRecord, usage?: PrincipleUsage): vscode.TreeItem {
  const item = new vscode.TreeItem(p.text, p.evidence.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
  item.id = `principle:${p.id}`;
  const specific = p.status === 'accepted' ? specificityNote(p.text, p.granularity) : undefined;
  const by = p.origin === 'llm' ? (p.model ?? 'model') : p.origin;
  const scored = score?.score === undefined ? undefined : `${score.internalized ? 'internalized' : 'score'} ${score.score.toFixed(2)}${score.method === 'divergence' ? ' (KL)' : ''}`;
  const served = describeServed(usage?.served);
  const track = p.helpful + p.harmful > 0 ? `+${String(p.helpful)}/−${String(p.harmful)}` : undefined;
  item.description = [
    p.id,
    p.scope === 'global' ? undefined : p.scope,
    p.granularity === 'instance' ? 'instance-level' : undefined,
    by,
    scored,
    served === undefined ? undefined : `served: ${served}`,
    usage === undefined || usage.internalizedIn.length === 0 ? undefined : `internalized in ${usage.internalizedIn.join(', ')}`,
    track,
    specific === undefined ? undefined : 'specific',
  ]
    .filter((x) => x !== undefined)
    .join(' · ');
  if (specific !== undefined) item.iconPath = new vscode.ThemeIcon('warning');
  else if (score?.internalized === true) item.iconPath = new vscode.ThemeIcon('verified-filled');
  const tooltip = new vscode.MarkdownString();
  tooltip.appendMarkdown(`**${p.id}** · ${p.status} · ${p.origin}${p.model === undefined ? '' : ` (${p.model})`} · scope ${p.scope}\n\n`);
  tooltip.appendText(p.text);
  tooltip.appendMarkdown('\n\n');
  tooltip.appendText(`${p.origin[0]?.toUpperCase() ?? ''}${ORIGIN_MEANING[p.origin].slice(1)}; scope ${p.scope === 'global' ? 'global: it applies to every workspace and task' : `${p.scope}: it is only injected there`}.`);
  if (p.when !== '') {
    tooltip.appendMarkdown('\n\n*When:* ');
    tooltip.appendText(p.when);
  }
  tooltip.appendMarkdown(`\n\nEvidence: ${String(p.evidence.length)} step(s) · helpful ${String(p.helpful)} · harmful ${String(p.harmful)} · created in iteration ${String(p.createdIteration)}, changed in ${String(p.updatedIteration)}`);
  if (score !== undefined) {
    tooltip.appendMarkdown('\n\n');
    tooltip.appendText(scoreText(score));
  }
  if (p.status === 'accepted' && usage !== undefined) {
    tooltip.appendMarkdown('\n\n');
    tooltip.appendText(servedText(usage.served));
    tooltip.appendMarkdown('\n\n');
    tooltip.appendText(
      usage.internalizedIn.length === 0
        ? `Internalized in no trained model yet: served to every agent; it costs about ${String(tokensPerStep(p))} context tokens at each step where the selector picks it.`
        : `Internalized in ${usage.internalizedIn.join(', ')}: not served to ${usage.internalizedIn.length === 1 ? 'that model' : 'those models'}, saving about ${String(tokensPerStep(p))} context tokens at each step where the selector would have picked it. Other agents still get it.`,
    );
  }
  if (specific !== undefined) {
    tooltip.appendMarkdown('\n\n');
    tooltip.appendText(specific);
  }
  item.tooltip = tooltip;
  item.contextValue = `principle.${p.status}`;
  return item;
}
