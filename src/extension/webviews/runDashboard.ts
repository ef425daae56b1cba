import * as vscode from 'vscode';
import { dashboardWebviewMessage, type DashboardHostMessage, type DashboardTab, type DashboardWebviewMessage } from '../../protocol/dashboard.js';
import type { InternalizeContext } from '../context.js';
import { describeError } from '../errors.js';
import { webviewHtml, webviewOptions } from './html.js';
import { capabilityCurve, explainMetrics, RunTracker, Throttle, type DashboardEvent, type RunStart } from './runDashboardModel.js';

/** At most this many messages a second reach the webview while a round runs. */
const POSTS_PER_SECOND = 10;

/** How a round ended, as the round's frame knows it. */
export type RoundOutcome =
  | { readonly status: 'done' | 'collapsed'; readonly summary: string; readonly metrics: Readonly<Record<string, unknown>>; readonly reasons?: readonly string[] }
  | { readonly status: 'failed' | 'cancelled'; readonly reason: string; readonly checkpoint?: string };

/** What a round's frame holds while it runs: it forwards every worker event and says how the round ended. */
export interface DashboardRound {
  event(event: DashboardEvent): void;
  /** A line the worker wrote outside the protocol (stderr): it belongs in the log tail. */
  diagnostic(line: string): void;
  finish(outcome: RoundOutcome): void;
  /** The last checkpoint the worker reported, for the record of a stopped round. */
  readonly lastCheckpoint: string | undefined;
  /** How far the bar is (0–100): the notification and the status bar show the same number. */
  readonly percent: number;
}

/**
 * The Run Dashboard: one panel per window, opened when a round starts. It keeps the current round's
 * state in the host, so a panel closed and reopened (or hidden and rebuilt) shows the whole run, and
 * sends what changed at most POSTS_PER_SECOND times a second.
 */
export class RunDashboard {
  private panel: vscode.WebviewPanel | undefined;
  private run: RunTracker | undefined;
  private tab: DashboardTab = 'run';
  private readonly throttle = new Throttle(1000 / POSTS_PER_SECOND, () => {
    this.flush();
  });

  constructor(private readonly ctx: InternalizeContext) {
    ctx.push(
      {
        dispose: () => {
          this.throttle.dispose();
        },
      },
      ctx.onDidChangeData((what) => {
        if (this.panel !== undefined && (what === 'iterations' || what === 'store' || what === 'principles')) this.postCurve();
      }),
    );
  }

  /** A round starts: the panel opens (without taking the focus from the editor) on a fresh run. */
  begin(start: RunStart): DashboardRound {
    this.throttle.dispose();
    const run = new RunTracker(start);
    this.run = run;
    this.tab = 'run';
    this.show('run', true);
    this.postState();
    return {
      event: (event) => {
        run.event(event);
        if (this.run === run) this.throttle.schedule();
      },
      diagnostic: (line) => {
        run.line(line);
        if (this.run === run) this.throttle.schedule();
      },
      finish: (outcome) => {
        if (!('reason' in outcome)) {
          run.finish({ status: outcome.status, summary: outcome.summary, reasons: [...(outcome.reasons ?? [])], metrics: explainMetrics(outcome.metrics) });
        } else {
          const summary = outcome.status === 'cancelled' ? 'Stopped at your request.' : 'The round failed.';
          run.finish({ status: outcome.status, summary, reasons: [outcome.reason], metrics: [], checkpoint: outcome.checkpoint });
        }
        if (this.run !== run) return;
        this.throttle.flushNow();
        const result = run.outcome;
        if (result !== undefined) this.post({ type: 'result', iteration: run.iteration, result });
        this.postCurve();
      },
      get lastCheckpoint() {
        return run.lastCheckpoint;
      },
      get percent() {
        return run.percent;
      },
    };
  }

  /** Opens (or reveals) the panel on a tab. */
  show(tab: DashboardTab, preserveFocus = false): void {
    this.tab = tab;
    if (this.panel !== undefined) {
      this.panel.reveal(undefined, preserveFocus);
      this.post({ type: 'tab', tab });
      return;
    }
    const extensionUri = this.ctx.extension.extensionUri;
    // The charts and the log tail are rebuilt from the host's state on reload; keeping the context
    // while hidden spares that work when the user switches tabs during a round.
    const panel = vscode.window.createWebviewPanel('internalize.runDashboard', 'Run Dashboard', { viewColumn: vscode.ViewColumn.Active, preserveFocus }, { ...webviewOptions(extensionUri), retainContextWhenHidden: true });
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'internalize.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'dashboard', 'Run Dashboard');
    this.panel = panel;
    panel.onDidDispose(() => {
      this.panel = undefined;
    });
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const parsed = dashboardWebviewMessage.safeParse(raw);
      if (!parsed.success) {
        this.ctx.log.warn(`Ignored a malformed message from the Run Dashboard: ${parsed.error.message}`);
        return;
      }
      void this.handle(parsed.data).catch((error: unknown) => {
        this.ctx.log.error(`Run Dashboard: ${describeError(error)}`);
        this.post({ type: 'error', message: describeError(error) });
      });
    });
  }

  private async handle(message: DashboardWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.postState();
        return;
      case 'cancel':
        await vscode.commands.executeCommand('internalize.stopRound');
        return;
      case 'resume':
        await vscode.commands.executeCommand('internalize.iterations.resumeRound', { number: message.iteration });
        return;
      case 'showLog':
        this.ctx.log.show(true);
        return;
      case 'tab':
        this.tab = message.tab;
        if (message.tab === 'curve') this.postCurve();
        return;
      case 'startRound':
        await vscode.commands.executeCommand('internalize.startRound');
        return;
    }
  }

  private post(message: DashboardHostMessage): void {
    void this.panel?.webview.postMessage(message);
  }

  private curve(): ReturnType<typeof capabilityCurve> | undefined {
    const store = this.ctx.tryStore();
    if (store === undefined) return undefined;
    const iterations = store.iterations.list();
    return capabilityCurve(
      iterations,
      iterations.flatMap((it) => store.scores.forIteration(it.number)),
    );
  }

  private postCurve(): void {
    try {
      const curve = this.curve();
      if (curve !== undefined) this.post({ type: 'curve', curve });
    } catch (error) {
      this.post({ type: 'error', message: `The capability curve could not be read: ${describeError(error)}` });
    }
  }

  private postState(): void {
    if (this.panel === undefined) return;
    let curve: ReturnType<typeof capabilityCurve> | undefined;
    try {
      curve = this.curve();
    } catch (error) {
      this.ctx.log.warn(`Run Dashboard: the capability curve could not be read: ${describeError(error)}`);
    }
    this.post({ type: 'state', run: this.run?.view(), curve, tab: this.tab });
    this.run?.markSent();
  }

  private flush(): void {
    const delta = this.run?.drain();
    if (delta !== undefined) this.post({ type: 'delta', ...delta });
  }
}

const dashboards = new WeakMap<InternalizeContext, RunDashboard>();

/** The window's one Run Dashboard (created on first use): the round's frame and the commands share it. */
export function runDashboard(ctx: InternalizeContext): RunDashboard {
  let dashboard = dashboards.get(ctx);
  if (dashboard === undefined) {
    dashboard = new RunDashboard(ctx);
    dashboards.set(ctx, dashboard);
  }
  return dashboard;
}
