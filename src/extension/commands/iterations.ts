import { copyFileSync, existsSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import { exportDataset } from '../../core/distill/dataset.js';
import { compareWithPrevious } from '../../core/distill/iterationCompare.js';
import { applyRollback, changes, describeRollback, planRollback } from '../../core/distill/rollback.js';
import type { IterationRecord, Store } from '../../core/store/index.js';
import type { InternalizeContext } from '../context.js';
import { reportError } from '../errors.js';
import { poolsPanel } from '../webviews/poolsPanel.js';
import { runDashboard } from '../webviews/runDashboard.js';
import { findCheckpoint, roundKindOf } from './iterationsPlan.js';

/** The iteration a command acts on: the row it was invoked on, a `{ number }` argument, or one the user picks. */
async function pickIteration(store: Store, arg: unknown, title: string, filter: (it: IterationRecord) => boolean = () => true): Promise<IterationRecord | undefined> {
  const n = typeof arg === 'object' && arg !== null && 'number' in arg && typeof arg.number === 'number' ? arg.number : typeof arg === 'number' ? arg : undefined;
  if (n !== undefined) {
    const found = store.iterations.get(n);
    if (found === undefined) void vscode.window.showWarningMessage(`Internalize: there is no iteration ${String(n)} in the store (it may have been reset).`);
    return found;
  }
  const candidates = store.iterations.list().filter(filter).reverse();
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(`Internalize: no iteration to ${title.toLowerCase()}.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    candidates.map((it) => ({ label: `Iteration ${String(it.number)}`, description: it.status, it })),
    { title, placeHolder: 'Which iteration?' },
  );
  return pick?.it;
}

/** The output folder of an iteration's latest round (where its checkpoints and adapter are). */
function runFolder(store: Store, n: number): string | undefined {
  return store.runs
    .list(n)
    .filter((r) => r.kind === 'distill')
    .pop()?.logPath;
}

function showComparison(ctx: InternalizeContext, it: IterationRecord): void {
  const c = compareWithPrevious(ctx.getStore(), it);
  poolsPanel(ctx).show(c.from, c.to, { title: c.title, deltas: c.deltas, note: c.notes.length === 0 ? undefined : c.notes.join(' ') });
}

async function rollBack(ctx: InternalizeContext, it: IterationRecord): Promise<void> {
  const store = ctx.getStore();
  const plan = planRollback(store, it.number);
  if (plan.kind === 'refused') {
    void vscode.window.showWarningMessage(`Internalize: ${plan.reason}`);
    return;
  }
  const detail = describeRollback(plan).join('\n\n');
  const hasOps = plan.ops.length > 0;
  const apply = hasOps ? 'Apply Changes' : 'Roll Back';
  const review = 'Review Changes';
  const choice = await vscode.window.showWarningMessage(`Roll back to iteration ${String(it.number)}?`, { modal: true, detail }, ...(hasOps ? [apply, review] : [apply]));
  if (choice === undefined) return;
  const applyNow = choice === apply;
  const { opIds } = applyRollback(store, plan, { apply: applyNow });
  ctx.notify('principles');
  ctx.notify('iterations');
  ctx.log.info(`Rolled back to iteration ${String(it.number)}: ${String(opIds.length)} pool operations ${applyNow ? 'applied' : 'proposed for review'}; ${String(plan.later.length)} later iterations marked rolled back`);
  if (!applyNow && opIds.length > 0) {
    const open = await vscode.window.showInformationMessage(`Internalize: rolled back to iteration ${String(it.number)}. ${changes(opIds.length)} ${opIds.length === 1 ? 'waits' : 'wait'} for your review in the Principles view.`, 'Show Principles');
    if (open === 'Show Principles') await vscode.commands.executeCommand('internalize.principles.focus');
  } else {
    void vscode.window.showInformationMessage(`Internalize: rolled back to iteration ${String(it.number)}${opIds.length > 0 ? `; ${changes(opIds.length)} applied` : ''}.`);
  }
}

async function revealAdapter(it: IterationRecord): Promise<void> {
  const path = it.adapterPath;
  if (path === undefined) {
    void vscode.window.showInformationMessage(`Internalize: iteration ${String(it.number)} has no adapter (${it.status === 'done' || it.status === 'collapsed' ? 'its round saved none' : `it is ${it.status}`}).`);
    return;
  }
  if (!existsSync(path)) {
    void vscode.window.showWarningMessage(`Internalize: iteration ${String(it.number)}'s adapter is no longer at ${path} (the folder was moved or deleted).`);
    return;
  }
  const target = statSync(path).isDirectory() && existsSync(join(path, 'adapter_config.json')) ? join(path, 'adapter_config.json') : path;
  // A remote or browser editor cannot open the machine's file manager: show the path to copy instead.
  if (vscode.env.remoteName !== undefined || vscode.env.uiKind === vscode.UIKind.Web) {
    const choice = await vscode.window.showInformationMessage(`Internalize: iteration ${String(it.number)}'s adapter is in ${path}`, 'Copy Path');
    if (choice === 'Copy Path') await vscode.env.clipboard.writeText(path);
    return;
  }
  await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(target));
}

/** The dataset files an iteration's record names: one JSONL file, or a round's train and held-out splits. */
function datasetOf(it: IterationRecord): { readonly file: string } | { readonly train: string; readonly heldout: string } | undefined {
  const dataset = it.config.dataset;
  if (typeof dataset === 'string') return { file: dataset };
  if (typeof dataset === 'object' && dataset !== null && 'train' in dataset && 'heldout' in dataset && typeof dataset.train === 'string' && typeof dataset.heldout === 'string') {
    return { train: dataset.train, heldout: dataset.heldout };
  }
  return undefined;
}

async function exportIterationDataset(ctx: InternalizeContext, it: IterationRecord): Promise<void> {
  const dataset = datasetOf(it);
  const kind = roundKindOf(it);
  if (dataset === undefined) {
    void vscode.window.showInformationMessage(
      `Internalize: iteration ${String(it.number)} stored no dataset${kind === undefined ? '' : ` (a ${kind === 'toy' ? 'toy-world' : 'principle-suite'} round builds its data inside the trainer)`}. Rounds on your own trajectories keep theirs with the iteration.`,
    );
    return;
  }
  const files = 'file' in dataset ? [dataset.file] : [dataset.train, dataset.heldout];
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    void vscode.window.showWarningMessage(`Internalize: iteration ${String(it.number)}'s dataset is no longer on disk: ${missing.join(', ')}.`);
    return;
  }
  const defaultName = 'file' in dataset ? basename(dataset.file) : `iteration-${String(it.number)}-dataset.jsonl`;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(ctx.extension.globalStorageUri.fsPath);
  const to = await vscode.window.showSaveDialog({ title: `Export Iteration ${String(it.number)}'s Dataset`, defaultUri: vscode.Uri.joinPath(folder, defaultName), filters: { 'JSON Lines': ['jsonl'] } });
  if (to === undefined) return;
  try {
    if ('file' in dataset) copyFileSync(dataset.file, to.fsPath);
    const records = 'file' in dataset ? undefined : exportDataset(dataset.train, dataset.heldout, to.fsPath);
    const choice = await vscode.window.showInformationMessage(`Internalize: iteration ${String(it.number)}'s dataset${records === undefined ? '' : ` (${String(records)} records, train and held-out)`} saved to ${to.fsPath}.`, 'Open');
    if (choice === 'Open') await vscode.window.showTextDocument(to);
  } catch (error) {
    await reportError(ctx.log, `Internalize: the dataset of iteration ${String(it.number)} could not be exported`, error);
  }
}

async function resumeRound(ctx: InternalizeContext, it: IterationRecord): Promise<void> {
  if (it.status !== 'failed' && it.status !== 'cancelled') {
    void vscode.window.showInformationMessage(`Internalize: iteration ${String(it.number)} is ${it.status}; only a failed or stopped round can be resumed.`);
    return;
  }
  // A round on the user's own data is resumed by its round service, which keeps its dataset and checkpoint.
  if (it.config.kind === 'own-data') {
    await vscode.commands.executeCommand('internalize.startRound', { resumeOwnData: it.number });
    return;
  }
  const kind = roundKindOf(it);
  const store = ctx.getStore();
  const checkpoint = findCheckpoint(runFolder(store, it.number));
  if (kind === undefined || checkpoint === undefined) {
    void vscode.window.showInformationMessage(
      `Internalize: iteration ${String(it.number)} cannot be resumed: ${checkpoint === undefined ? 'its round saved no checkpoint before it stopped (a checkpoint is written after each epoch and when a round is stopped)' : 'this build does not know how to re-run its kind of round'}. Start a new round instead.`,
    );
    return;
  }
  await vscode.commands.executeCommand('internalize.startRound', { resume: { kind, iteration: it.number, checkpoint } });
}

/** The Iterations view's actions and the Run Dashboard's commands. */
export function registerIterationCommands(ctx: InternalizeContext): void {
  const guarded =
    (title: string, action: (it: IterationRecord) => Promise<void> | void, filter?: (it: IterationRecord) => boolean) =>
    async (arg?: unknown): Promise<void> => {
      try {
        const store = ctx.getStore();
        const it = await pickIteration(store, arg, title, filter);
        if (it !== undefined) await action(it);
      } catch (error) {
        await reportError(ctx.log, `Internalize: ${title} failed`, error);
      }
    };
  ctx.push(
    vscode.commands.registerCommand('internalize.showRunDashboard', () => {
      runDashboard(ctx).show('run');
    }),
    vscode.commands.registerCommand('internalize.showCapabilityCurve', () => {
      runDashboard(ctx).show('curve');
    }),
    vscode.commands.registerCommand('internalize.iterations.compareWithPrevious', guarded('Compare with Previous', (it) => {
      showComparison(ctx, it);
    })),
    vscode.commands.registerCommand('internalize.iterations.rollBack', guarded('Roll Back to This Iteration', (it) => rollBack(ctx, it), (it) => it.status !== 'running' && it.status !== 'pending')),
    vscode.commands.registerCommand('internalize.iterations.revealAdapter', guarded('Reveal Adapter', revealAdapter, (it) => it.adapterPath !== undefined)),
    vscode.commands.registerCommand('internalize.iterations.exportDataset', guarded('Export Dataset', (it) => exportIterationDataset(ctx, it), (it) => datasetOf(it) !== undefined)),
    vscode.commands.registerCommand('internalize.iterations.resumeRound', guarded('Resume Round', (it) => resumeRound(ctx, it), (it) => it.status === 'failed' || it.status === 'cancelled')),
  );
}
