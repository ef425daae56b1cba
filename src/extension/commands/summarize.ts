import * as vscode from 'vscode';
import { createRedactor } from '../../core/redaction/index.js';
import { consentSummary } from '../../core/experience/consent.js';
import { proposeOps, withoutKnown } from '../../core/experience/curation.js';
import { describeDrops, mine as minePool, minedOps } from '../../core/experience/miner.js';
import { extractExperience, type TextRedactor } from '../../core/experience/pipeline.js';
import { textRedactor } from '../../core/experience/textRedaction.js';
import type { LanguageModel } from '../../core/llm/languageModel.js';
import type { Trajectory } from '../../core/trajectory.js';
import { config } from '../config.js';
import type { InternalizeContext } from '../context.js';
import { reportError } from '../errors.js';
import { availableModels, type ModelChoice } from '../llm/models.js';

/**
 * "Summarize Trajectories into Principles": the offline miner, or the model pipeline after the
 * user has seen what goes to which model and agreed once per model. Results are proposed pool
 * operations; nothing enters the pool until the user accepts it (or autoAccept is on).
 */

const CONSENT_KEY = 'internalize.llmConsent';

let redactor: Promise<TextRedactor> | undefined;

/** The capture detectors over one string, loaded once (secretlint's rules take a moment to load). */
export function promptRedactor(): Promise<TextRedactor> {
  redactor ??= createRedactor().then(textRedactor);
  return redactor;
}

/** Asks once per model (endpoint + name) before trajectories leave the machine; remembers a "yes, always". */
export async function ensureConsent(ctx: InternalizeContext, model: LanguageModel, what: string): Promise<boolean> {
  const given = ctx.extension.globalState.get<Record<string, string>>(CONSENT_KEY, {});
  const key = `${model.endpoint}#${model.model}`;
  if (given[key] !== undefined) return true;
  const answer = await vscode.window.showWarningMessage(
    `Send ${what} to ${model.model} (${model.endpoint})?`,
    {
      modal: true,
      detail: 'Secrets were redacted when the runs were captured and are checked again on the exact text sent. Nothing is sent until you agree; "Always" remembers this model.',
    },
    'Send Once',
    'Always for This Model',
  );
  if (answer === 'Always for This Model') await ctx.extension.globalState.update(CONSENT_KEY, { ...given, [key]: new Date().toISOString() });
  return answer !== undefined;
}

function loadTrajectories(ctx: InternalizeContext, workspace?: string): Trajectory[] {
  const store = ctx.getStore();
  return store.trajectories
    .list({ workspace, limit: 100_000 })
    .map((s) => store.trajectories.get(s.id))
    .filter((t): t is Trajectory => t !== undefined);
}

interface MethodItem extends vscode.QuickPickItem {
  readonly choice?: ModelChoice;
}

async function mine(ctx: InternalizeContext, trajectories: readonly Trajectory[]): Promise<void> {
  const store = ctx.getStore();
  const minSupport = config.minSupport();
  const report = minePool(trajectories, { minSupport });
  const patterns = report.patterns;
  const ops = withoutKnown(store, minedOps(patterns));
  const ids = proposeOps(store, ops, { origin: 'mined', batchId: `mine-${new Date().toISOString()}`, autoAccept: config.autoAccept() });
  ctx.notify('principles');
  ctx.log.info(`Miner: ${String(patterns.length)} patterns in ${String(trajectories.length)} trajectories, ${String(ids.length)} new proposals, ${describeDrops(report.dropped)}`);
  for (const d of report.dropped) ctx.log.info(`Miner dropped ${d.kind} "${d.text ?? d.key}" (${String(d.support)} runs): ${d.reason}`);
  const known = patterns.length - ops.length;
  const message =
    patterns.length === 0
      ? `Internalize found no pattern that recurs in ${String(minSupport)} or more of ${String(trajectories.length)} trajectories (internalize.experience.minSupport). Capture more runs, or summarize with a model.`
      : `Internalize mined ${String(patterns.length)} recurring patterns from ${String(trajectories.length)} trajectories: ${String(ids.length)} new ${config.autoAccept() ? 'principles added' : 'proposals to review'}${known > 0 ? ` (${String(known)} already in the pool)` : ''}${report.dropped.length > 0 ? `; ${String(report.dropped.length)} not proposed as no general principle could be phrased (see the log)` : ''}.`;
  const show = await vscode.window.showInformationMessage(message, ...(ids.length > 0 ? ['Show Principles'] : []));
  if (show !== undefined) await vscode.commands.executeCommand('internalize.principles.focus');
}

async function summarizeWithModel(ctx: InternalizeContext, choice: ModelChoice, trajectories: readonly Trajectory[]): Promise<void> {
  const model = await choice.create();
  const granularity = config.granularity();
  const summary = consentSummary(model, trajectories, granularity);
  const what = `${String(summary.trajectoryCount)} trajectories (${String(summary.groupCount)} task groups, about ${summary.estimatedTokens.toLocaleString('en-US')} tokens in ${String(summary.calls)} calls)`;
  ctx.log.info(`Summarize: ${what} → ${model.model} at ${model.endpoint}`);
  // The local worker's model runs on this machine: nothing leaves it, so there is nothing to consent to.
  if (choice.provider !== 'local' && !(await ensureConsent(ctx, model, what))) return;
  const redact = await promptRedactor();
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Summarizing with ${model.model}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => {
        abort.abort();
      });
      let last = 0;
      const stages = { summary: 'summaries', critique: 'critiques', operations: 'pool operations' };
      return extractExperience({
        store: ctx.getStore(),
        model,
        trajectories,
        redact,
        granularity,
        maxPoolSize: config.maxPoolSize(),
        autoAccept: config.autoAccept(),
        signal: abort.signal,
        onProgress: (e) => {
          // Each stage is a third of the bar.
          const base = e.stage === 'summary' ? 0 : e.stage === 'critique' ? 33 : 66;
          const now = base + (33 * e.done) / Math.max(1, e.total);
          progress.report({ message: `${stages[e.stage]} ${String(e.done)}/${String(e.total)}`, increment: now - last });
          last = now;
        },
      });
    },
  );
  ctx.notify('principles');
  ctx.log.info(`Summarize: ${String(result.opIds.length)} operations proposed, ${String(result.dropped.length)} dropped, ${String(result.redactedInPrompts)} secrets redacted in prompts, ~${String(result.tokensSent)} tokens sent`);
  for (const d of result.dropped) ctx.log.info(`Dropped ${d.candidate.raw.op}: ${d.reason}`);
  const parts = [`${String(result.opIds.length)} changes proposed by ${model.model}`];
  if (result.dropped.length > 0) parts.push(`${String(result.dropped.length)} dropped by reconciliation (see the log)`);
  if (result.flagged.length > 0) parts.push(`${String(result.flagged.length)} still carry instance details (marked with a warning)`);
  if (result.redactedInPrompts > 0) parts.push(`${String(result.redactedInPrompts)} secrets redacted before sending`);
  const show = await vscode.window.showInformationMessage(`Internalize: ${parts.join('; ')}.`, 'Show Principles');
  if (show !== undefined) await vscode.commands.executeCommand('internalize.principles.focus');
}

export function registerSummarizeCommand(ctx: InternalizeContext, local?: () => ModelChoice | undefined): void {
  ctx.push(
    vscode.commands.registerCommand('internalize.summarize', async (method?: unknown) => {
      try {
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
        const all = ctx.getStore().trajectories.count();
        if (all === 0) {
          void vscode.window.showInformationMessage('Internalize has no captured trajectories to summarize yet. Run "Internalize: Capture Now" or import a file first.');
          return;
        }
        const models = await availableModels(ctx, local?.());
        const items: MethodItem[] = [
          { label: '$(search) Mine recurring patterns offline', description: 'no model; nothing leaves this machine', detail: 'Error → recovery patterns, repeated failing loops and habits of successful runs, with support counts.' },
          ...models.map((choice) => ({ label: `$(sparkle) Summarize with ${choice.label}`, description: choice.detail, choice })),
        ];
        if (models.length === 0) items.push({ label: '$(gear) Set up a language model…', description: 'vscode.lm, an OpenAI-compatible endpoint, or the local worker', detail: 'Opens the internalize.llm settings.' });
        const picked = method === 'mine' ? items[0] : await vscode.window.showQuickPick(items, { title: `Summarize ${String(all)} Trajectories into Principles`, matchOnDescription: true });
        if (picked === undefined) return;
        if (picked.label.startsWith('$(gear)')) {
          await vscode.commands.executeCommand('workbench.action.openSettings', 'internalize.llm');
          return;
        }
        const trajectories = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Internalize: loading trajectories' }, () => Promise.resolve(loadTrajectories(ctx)));
        if (picked.choice === undefined) {
          await mine(ctx, trajectories);
          return;
        }
        let chosen = trajectories;
        if (folder !== undefined && trajectories.some((t) => t.workspace !== folder)) {
          const mine = trajectories.filter((t) => t.workspace === folder);
          const scope = await vscode.window.showQuickPick(
            [
              { label: `All ${String(trajectories.length)} trajectories`, all: true },
              { label: `Only this workspace's ${String(mine.length)}`, description: folder, all: false },
            ],
            { title: 'Which trajectories?' },
          );
          if (scope === undefined) return;
          if (!scope.all) chosen = mine;
        }
        if (chosen.length === 0) {
          void vscode.window.showInformationMessage('Internalize: no trajectories were captured in this workspace.');
          return;
        }
        await summarizeWithModel(ctx, picked.choice, chosen);
      } catch (error) {
        ctx.notify('principles');
        await reportError(ctx.log, 'Internalize could not summarize the trajectories', error, [
          { title: 'Retry', run: () => vscode.commands.executeCommand('internalize.summarize') },
        ]);
      }
    }),
  );
}
