import * as vscode from 'vscode';
import type { InjectionOptions, InjectionPlan, RenderedViews } from '../../core/injection/types.js';
import { estimateTokens } from '../../core/llm/languageModel.js';
import type { Trajectory } from '../../core/trajectory.js';
import { injectionWebviewMessage, type InjectionHostMessage, type InjectionWebviewMessage } from '../../protocol/injection.js';
import type { InternalizeContext } from '../context.js';
import { describeError } from '../errors.js';
import { webviewHtml, webviewOptions } from './html.js';
import { stepDetail, stepRows, toPreviewOptions, withPreviewOptions, type PlannedPreview } from './injectionModel.js';

/** Per-step teacher–student divergence, from a worker that is already running. */
export interface DivergenceSource {
  /** Ready with the model it scores with, or why not and what would help. */
  status(): { readonly ready: true; readonly model: string } | { readonly ready: false; readonly reason: string; readonly action?: 'startWorker' | 'trust' };
  /** Starts the worker at the user's request (never in an untrusted workspace). */
  start(): Promise<void>;
  /** Scores the given plan positions (same order); throws with a message for the user. */
  score(trajectory: Trajectory, plan: InjectionPlan, positions: readonly number[]): Promise<{ position: number; klPerToken: number; tokens: number }[]>;
}

/** What a preview needs from the rest of the extension; the command wires the real ones. */
export interface PreviewServices {
  /** The planner's options from settings, before the webview's toggles. */
  options(): InjectionOptions;
  plan(trajectory: Trajectory, options: InjectionOptions, signal: AbortSignal): Promise<PlannedPreview>;
  render(trajectory: Trajectory, plan: InjectionPlan, stepIndex: number): RenderedViews;
  /** Why the LLM re-rank cannot be chosen now, or undefined when a model is configured. */
  rerankUnavailable(): Promise<string | undefined>;
  readonly divergence: DivergenceSource;
}

/** Steps planned first in a long run, so the timeline paints before the whole run is planned. */
const HEAD_STEPS = 64;

/**
 * One preview per trajectory. The whole plan stays in the host; the webview asks for the rows it
 * shows and the detail of the step it opens. It re-plans when the toggles or the pool change and
 * says so when its trajectory leaves the store.
 */
class PreviewSession {
  private trajectory: Trajectory | undefined;
  private plan: InjectionPlan | undefined;
  /** From settings on the first plan (a bad setting is then reported in the panel), then the toggles. */
  private options: InjectionOptions | undefined;
  private planning: AbortController | undefined;
  private deleted = false;
  /** The last plan or empty-pool message, re-sent to a webview that was rebuilt. */
  private shown: InjectionHostMessage | undefined;

  constructor(
    private readonly ctx: InternalizeContext,
    private readonly services: PreviewServices,
    readonly trajectoryId: string,
    readonly panel: vscode.WebviewPanel,
  ) {
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const parsed = injectionWebviewMessage.safeParse(raw);
      if (!parsed.success) {
        this.ctx.log.warn(`Ignored a malformed message from the Injection Preview: ${parsed.error.message}`);
        return;
      }
      void this.handle(parsed.data).catch((error: unknown) => {
        this.ctx.log.error(`Injection Preview: ${describeError(error)}`);
        if (error instanceof Error && error.stack !== undefined) this.ctx.log.debug(error.stack);
        this.post({ type: 'error', kind: 'failed', message: describeError(error) });
      });
    });
  }

  private post(message: InjectionHostMessage): void {
    void this.panel.webview.postMessage(message);
  }

  /** Still in the store? If not, the panel says so once and offers to close. */
  private present(): boolean {
    if (this.deleted) return false;
    const store = this.ctx.tryStore();
    if (store?.trajectories.summary(this.trajectoryId) !== undefined) return true;
    this.deleted = true;
    this.planning?.abort();
    this.post({ type: 'error', kind: 'deleted', message: `Trajectory ${this.trajectoryId} was deleted from the store (or the store was reset) while its preview was open. Nothing of it can be planned any more.` });
    return false;
  }

  onDataChanged(what: 'trajectories' | 'principles' | 'iterations' | 'store'): void {
    if (!this.present()) return;
    // A pool edit (accept, retire, a new score) changes what is injected: plan again, in place.
    if (what === 'principles' || what === 'iterations' || what === 'store') void this.replan();
  }

  private async handle(message: InjectionWebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        // A hidden panel's webview is rebuilt when shown again: the plan in hand is still good.
        if (this.shown !== undefined && this.present()) this.post(this.shown);
        else await this.replan();
        return;
      case 'rows':
        if (this.plan === undefined || this.trajectory === undefined || !this.present()) return;
        this.post({ type: 'rows', start: message.start, rows: stepRows(this.trajectory, this.plan, message.start, message.count) });
        return;
      case 'selectStep': {
        if (this.plan === undefined || this.trajectory === undefined || !this.present()) return;
        const step = this.plan.steps[message.position];
        if (step === undefined) return;
        this.post({ type: 'detail', detail: stepDetail(this.plan, message.position, this.services.render(this.trajectory, this.plan, step.stepIndex)) });
        return;
      }
      case 'setOptions':
        this.options = withPreviewOptions(this.options ?? this.services.options(), message.options);
        await this.replan();
        return;
      case 'revealPrinciple':
        await vscode.commands.executeCommand('internalize.revealPrinciple', message.id);
        return;
      case 'divergence':
        await this.divergence(message.positions);
        return;
      case 'startWorker':
        try {
          await this.services.divergence.start();
          this.postDivergenceStatus();
        } catch (error) {
          this.post({ type: 'divergenceUnavailable', reason: `The training worker did not start: ${describeError(error)}`, action: 'startWorker' });
        }
        return;
      case 'run':
        if (message.action === 'close') this.panel.dispose();
        else if (message.action === 'summarize') await vscode.commands.executeCommand('internalize.summarize');
        else if (message.action === 'addPrinciple') await vscode.commands.executeCommand('internalize.addPrinciple');
        else await vscode.commands.executeCommand('workbench.trust.manage');
        return;
    }
  }

  private postDivergenceStatus(): void {
    const status = this.services.divergence.status();
    if (!status.ready) this.post({ type: 'divergenceUnavailable', reason: status.reason, action: status.action });
    else this.post({ type: 'divergence', model: status.model, scores: [] });
  }

  private async divergence(positions: readonly number[]): Promise<void> {
    const status = this.services.divergence.status();
    if (!status.ready) {
      this.postDivergenceStatus();
      return;
    }
    if (this.plan === undefined || this.trajectory === undefined || !this.present()) return;
    const plan = this.plan;
    try {
      const scores = await this.services.divergence.score(this.trajectory, plan, positions);
      // A re-plan while the worker scored makes these numbers stale: drop them.
      if (plan === this.plan) this.post({ type: 'divergence', model: status.model, scores });
    } catch (error) {
      this.post({ type: 'divergenceUnavailable', reason: `The worker could not score these steps: ${describeError(error)}` });
    }
  }

  /**
   * Plans again with the current options; a plan in flight is abandoned. A long run is planned
   * twice: its first HEAD_STEPS steps (the rows on screen paint at once, the rest marked pending),
   * then the whole run, which replaces the head's rows (the scope filter sees the whole run then).
   */
  async replan(): Promise<void> {
    if (!this.present()) return;
    this.planning?.abort();
    const controller = new AbortController();
    this.planning = controller;
    const trajectory = this.ctx.getStore().trajectories.get(this.trajectoryId);
    if (trajectory === undefined) {
      this.present();
      return;
    }
    this.trajectory = trajectory;
    this.post({ type: 'busy', message: `Planning ${trajectory.steps.length.toLocaleString('en-US')} steps…` });
    const started = performance.now();
    this.options ??= this.services.options();
    const options = this.options;
    const phases = trajectory.steps.length > HEAD_STEPS ? [{ ...trajectory, steps: trajectory.steps.slice(0, HEAD_STEPS) }, trajectory] : [trajectory];
    for (const part of phases) {
      let planned: PlannedPreview;
      try {
        planned = await this.services.plan(part, options, controller.signal);
      } catch (error) {
        if (controller.signal.aborted) return;
        throw error;
      }
      if (controller.signal.aborted) return;
      if (planned.kind === 'emptyPool') {
        this.plan = undefined;
        this.planning = undefined;
        this.shown = { type: 'emptyPool', trajectory: { id: trajectory.id, task: trajectory.task } };
        this.post(this.shown);
        return;
      }
      await this.showPlan(trajectory, planned.plan, planned.poolSize, performance.now() - started);
    }
    this.planning = undefined;
    this.ctx.log.info(`Injection Preview: planned ${String(trajectory.steps.length)} decision states of ${trajectory.id} in ${(performance.now() - started).toFixed(0)} ms (${this.plan?.embedder.id ?? ''})`);
  }

  private async showPlan(trajectory: Trajectory, plan: InjectionPlan, poolSize: number, ms: number): Promise<void> {
    this.plan = plan;
    this.options = plan.options;
    this.panel.title = `Injection: ${trajectory.task.replace(/\s+/gu, ' ').slice(0, 40)}`;
    const globalBlock = plan.globalBlock;
    this.shown = {
      type: 'plan',
      trajectory: { id: trajectory.id, task: trajectory.task, source: trajectory.source, steps: trajectory.steps.length },
      options: toPreviewOptions(plan.options),
      embedder: { ...plan.embedder },
      tokenCounter: plan.tokenCounter,
      rowCount: Math.max(plan.steps.length, trajectory.steps.length),
      planned: plan.steps.length,
      poolSize,
      rerankUnavailable: await this.services.rerankUnavailable(),
      globalBlock: globalBlock === undefined ? undefined : { text: globalBlock, tokens: plan.globalBlockTokens ?? estimateTokens(globalBlock) },
      planMs: ms,
    };
    this.post(this.shown);
  }

  dispose(): void {
    this.planning?.abort();
  }
}

/** The open previews, one per trajectory: opening one again reveals it. */
export class InjectionPanels {
  private readonly open = new Map<string, PreviewSession>();

  constructor(
    private readonly ctx: InternalizeContext,
    private readonly services: PreviewServices,
  ) {
    ctx.push(
      ctx.onDidChangeData((what) => {
        for (const session of this.open.values()) session.onDataChanged(what);
      }),
    );
  }

  show(trajectoryId: string): void {
    const existing = this.open.get(trajectoryId);
    if (existing !== undefined) {
      existing.panel.reveal();
      return;
    }
    const trajectory = this.ctx.getStore().trajectories.summary(trajectoryId);
    if (trajectory === undefined) {
      void vscode.window.showWarningMessage(`Internalize: trajectory ${trajectoryId} is no longer in the store (it may have been deleted or the store reset).`);
      return;
    }
    const extensionUri = this.ctx.extension.extensionUri;
    const title = `Injection: ${trajectory.task.replace(/\s+/gu, ' ').slice(0, 40)}`;
    const panel = vscode.window.createWebviewPanel('internalize.injection', title, vscode.ViewColumn.Active, webviewOptions(extensionUri));
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'internalize.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'injection', title);
    const session = new PreviewSession(this.ctx, this.services, trajectoryId, panel);
    this.open.set(trajectoryId, session);
    panel.onDidDispose(() => {
      session.dispose();
      this.open.delete(trajectoryId);
    });
  }
}
