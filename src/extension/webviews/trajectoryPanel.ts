import * as vscode from 'vscode';
import type { Trajectory } from '../../core/trajectory.js';
import { trajectoryWebviewMessage, type TrajectoryHostMessage, type TrajectoryView } from '../../protocol/trajectory.js';
import type { InternalizeContext } from '../context.js';
import { webviewHtml, webviewOptions } from './html.js';

/** Observations longer than this are cut in the timeline; the full text stays in the store. */
const MAX_OBSERVATION_CHARS = 20_000;

function toView(t: Trajectory): TrajectoryView {
  return {
    id: t.id,
    source: t.source,
    sessionId: t.sessionId,
    workspace: t.workspace,
    task: t.task,
    model: t.model,
    startedAt: t.startedAt,
    endedAt: t.endedAt,
    outcome: { label: t.outcome.label, reward: t.outcome.reward, evidence: t.outcome.evidence.map((e) => ({ ...e })) },
    redactions: { ...(t.redactions ?? {}) },
    steps: t.steps.map((s) => ({
      index: s.index,
      text: s.text,
      thought: s.thought,
      toolCalls: s.toolCalls.map((c) => ({ id: c.id, name: c.name, arguments: { ...c.arguments } })),
      observations: s.observations.map((o) => ({
        ...o,
        content: o.content.length > MAX_OBSERVATION_CHARS ? `${o.content.slice(0, MAX_OBSERVATION_CHARS)}\n… (${String(o.content.length - MAX_OBSERVATION_CHARS)} more characters)` : o.content,
      })),
      userMessages: s.userMessages === undefined ? undefined : [...s.userMessages],
      startedAt: s.startedAt,
      model: s.model,
    })),
  };
}

/** One panel per trajectory; opening it again reveals the existing one. */
export class TrajectoryPanels {
  private readonly open = new Map<string, vscode.WebviewPanel>();

  constructor(private readonly ctx: InternalizeContext) {}

  show(trajectoryId: string, focusStep?: number): void {
    const store = this.ctx.getStore();
    const trajectory = store.trajectories.get(trajectoryId);
    if (trajectory === undefined) {
      void vscode.window.showWarningMessage(`Internalize: trajectory ${trajectoryId} is no longer in the store (it may have been reset).`);
      return;
    }
    const existing = this.open.get(trajectoryId);
    if (existing !== undefined) {
      existing.reveal();
      if (focusStep !== undefined) void existing.webview.postMessage({ type: 'show', trajectory: toView(trajectory), focusStep } satisfies TrajectoryHostMessage);
      return;
    }
    const extensionUri = this.ctx.extension.extensionUri;
    const title = `${trajectory.source}: ${trajectory.task.slice(0, 40)}`;
    const panel = vscode.window.createWebviewPanel('internalize.trajectory', title, vscode.ViewColumn.Active, webviewOptions(extensionUri));
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'internalize.svg');
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'trajectory', title);
    this.open.set(trajectoryId, panel);
    const post = (message: TrajectoryHostMessage): void => {
      void panel.webview.postMessage(message);
    };
    panel.onDidDispose(() => this.open.delete(trajectoryId));
    panel.webview.onDidReceiveMessage((raw: unknown) => {
      const parsed = trajectoryWebviewMessage.safeParse(raw);
      if (!parsed.success) {
        this.ctx.log.warn(`Ignored a malformed message from the trajectory view: ${parsed.error.message}`);
        return;
      }
      const message = parsed.data;
      switch (message.type) {
        case 'ready': {
          const latest = this.ctx.getStore().trajectories.get(trajectoryId);
          if (latest === undefined) post({ type: 'error', message: 'This trajectory is no longer in the store.' });
          else post({ type: 'show', trajectory: toView(latest), focusStep });
          break;
        }
        case 'setOutcome': {
          if (message.trajectoryId !== trajectoryId) return;
          const s = this.ctx.getStore();
          s.trajectories.setOutcome(trajectoryId, { label: message.label, evidence: [{ kind: 'user-verdict', detail: `Set to ${message.label} by the user` }] });
          this.ctx.notify('trajectories');
          const latest = s.trajectories.get(trajectoryId);
          if (latest !== undefined) post({ type: 'show', trajectory: toView(latest) });
          break;
        }
        case 'copy':
          void vscode.env.clipboard.writeText(message.text);
          break;
        case 'previewInjection':
          if (message.trajectoryId === trajectoryId) void vscode.commands.executeCommand('internalize.previewInjection', trajectoryId);
          break;
      }
    });
  }
}
