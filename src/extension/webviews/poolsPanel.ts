import * as vscode from 'vscode';
import { comparePools, poolLabel, poolRefs, type PoolRef } from '../../core/experience/compare.js';
import { poolsWebviewMessage, type MetricDeltaView, type PoolsHostMessage } from '../../protocol/pools.js';
import type { InternalizeContext } from '../context.js';
import { describeError } from '../errors.js';
import { webviewHtml, webviewOptions } from './html.js';

/** Evidence rows per entry that the panel lists; the rest are counted. */
const EVIDENCE_SHOWN = 10;

/**
 * The Compare Pools panel: one per window, re-targeted when opened again. It follows the pool: a
 * comparison that ends at the current pool is recomputed whenever a principle changes.
 */
export class PoolsPanel {
  private panel: vscode.WebviewPanel | undefined;
  private from: PoolRef = { kind: 'empty' };
  private to: PoolRef = { kind: 'current' };
  /** Metric deltas of the two iterations being compared; dropped when the user picks other pools. */
  private metrics: { readonly title: string; readonly deltas: readonly MetricDeltaView[]; readonly note?: string } | undefined;

  constructor(private readonly ctx: InternalizeContext) {
    ctx.push(
      ctx.onDidChangeData((what) => {
        if (this.panel !== undefined && (what === 'principles' || what === 'store' || what === 'iterations')) this.render();
      }),
    );
  }

  show(from: PoolRef, to: PoolRef, metrics?: { readonly title: string; readonly deltas: readonly MetricDeltaView[]; readonly note?: string }): void {
    this.from = from;
    this.to = to;
    this.metrics = metrics;
    if (this.panel !== undefined) {
      this.panel.reveal();
      this.render();
      return;
    }
    const extensionUri = this.ctx.extension.extensionUri;
    const panel = vscode.window.createWebviewPanel('internalize.pools', 'Compare Pools', vscode.ViewColumn.Active, webviewOptions(extensionUri));
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'internalize.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'pools', 'Compare Pools');
    this.panel = panel;
    panel.onDidDispose(() => {
      this.panel = undefined;
    });
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const parsed = poolsWebviewMessage.safeParse(raw);
      if (!parsed.success) {
        this.ctx.log.warn(`Ignored a malformed message from the Compare Pools view: ${parsed.error.message}`);
        return;
      }
      const message = parsed.data;
      switch (message.type) {
        case 'ready':
          this.render();
          break;
        case 'compare':
          this.from = message.from;
          this.to = message.to;
          this.metrics = undefined;
          this.render();
          break;
        case 'openEvidence':
          void vscode.commands.executeCommand('internalize.openTrajectory', message.trajectoryId, message.stepIndex);
          break;
      }
    });
  }

  private post(message: PoolsHostMessage): void {
    void this.panel?.webview.postMessage(message);
  }

  private render(): void {
    try {
      const store = this.ctx.getStore();
      const comparison = comparePools(store, this.from, this.to);
      const title = (id: string): string => store.trajectories.summary(id)?.task.replace(/\s+/gu, ' ').slice(0, 100) ?? `${id} (no longer stored)`;
      this.post({
        type: 'show',
        refs: poolRefs(store).map((ref) => ({ ref, label: poolLabel(ref) })),
        from: this.from,
        to: this.to,
        comparison: {
          ...comparison,
          entries: comparison.entries.map((e) => ({
            ...e,
            segments: e.segments?.map((s) => ({ ...s })),
            mergedIds: e.mergedIds === undefined ? undefined : [...e.mergedIds],
            mergedTexts: e.mergedTexts === undefined ? undefined : [...e.mergedTexts],
            evidence: e.evidence.slice(0, EVIDENCE_SHOWN).map((ref) => ({ ...ref, title: title(ref.trajectoryId) })),
          })),
        },
        metrics: this.metrics === undefined ? undefined : { ...this.metrics, deltas: this.metrics.deltas.map((d) => ({ ...d })) },
      });
      if (this.panel !== undefined) this.panel.title = `Pools: ${comparison.from} → ${comparison.to}`;
    } catch (error) {
      this.post({ type: 'error', message: describeError(error) });
    }
  }
}

const panels = new WeakMap<InternalizeContext, PoolsPanel>();

/** The window's one Compare Pools panel: the pool commands and the Iterations view's Compare with Previous share it. */
export function poolsPanel(ctx: InternalizeContext): PoolsPanel {
  let panel = panels.get(ctx);
  if (panel === undefined) {
    panel = new PoolsPanel(ctx);
    panels.set(ctx, panel);
  }
  return panel;
}

/** "Compare Pools…" / "Compare Iterations": pick two pool states (palette) or take them from the caller. */
export function registerPoolCommands(ctx: InternalizeContext): void {
  const panel = poolsPanel(ctx);
  const open = (from?: unknown, to?: unknown): void => {
    const store = ctx.getStore();
    const refs = poolRefs(store);
    const valid = (r: unknown): r is PoolRef => refs.some((x) => JSON.stringify(x) === JSON.stringify(r));
    if (valid(from) && valid(to)) {
      panel.show(from, to);
      return;
    }
    const snapshots = refs.filter((r): r is Extract<PoolRef, { kind: 'snapshot' }> => r.kind === 'snapshot');
    // Without a choice: the latest iteration against the current pool, or everything accepted so far.
    const last = snapshots[snapshots.length - 1];
    panel.show(last ?? { kind: 'empty' }, { kind: 'current' });
  };
  ctx.push(
    vscode.commands.registerCommand('internalize.comparePools', open),
    vscode.commands.registerCommand('internalize.compareIterations', (arg?: unknown) => {
      const store = ctx.getStore();
      const iterations = store.snapshots.iterations();
      // From an Iterations row: that iteration's pool against the one before it.
      const n = typeof arg === 'object' && arg !== null && 'number' in arg && typeof arg.number === 'number' ? arg.number : undefined;
      if (iterations.length === 0) {
        // Comparing the empty pool with the current one would read as "nothing changed"; say what is true.
        const start = 'Start Distillation Round';
        const pools = 'Compare Pools…';
        void vscode.window
          .showInformationMessage(
            'Internalize: no distillation round has run yet, so there are no iterations to compare. Each round freezes the pool it starts from; after a round, Compare Iterations shows what changed between them. Compare Pools… compares the current pool with the empty one now.',
            start,
            pools,
          )
          .then((answer) => (answer === start ? vscode.commands.executeCommand('internalize.startRound') : answer === pools ? vscode.commands.executeCommand('internalize.comparePools') : undefined));
        return;
      }
      if (n !== undefined && iterations.includes(n)) {
        const previous = iterations.filter((i) => i < n).pop();
        const next = iterations.find((i) => i > n);
        panel.show(previous === undefined ? { kind: 'empty' } : { kind: 'snapshot', iteration: previous }, next === undefined ? { kind: 'snapshot', iteration: n } : { kind: 'snapshot', iteration: next });
        return;
      }
      open();
    }),
  );
}
