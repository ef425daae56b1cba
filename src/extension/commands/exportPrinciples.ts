import * as vscode from 'vscode';
import { EXPORT_TARGETS, exportPack, initialContent, mergeManagedBlock, renderPrinciples, type ExportTarget } from '../../core/experience/export.js';
import type { InternalizeContext } from '../context.js';
import { reportError } from '../errors.js';

/**
 * "Export Principles…": the accepted pool into the instruction files agents read (a managed block;
 * the user's own text outside it is kept) or into a JSON pack for a team to commit and review.
 */

const DESCRIPTIONS: Record<ExportTarget, string> = {
  'AGENTS.md': 'Codex, Copilot agent mode, Cursor, Gemini CLI and others',
  'CLAUDE.md': 'Claude Code',
  '.github/copilot-instructions.md': 'GitHub Copilot',
  '.cursor/rules/internalize.mdc': 'Cursor rules',
};

interface TargetItem extends vscode.QuickPickItem {
  readonly target?: ExportTarget;
}

async function pickFolder(): Promise<vscode.WorkspaceFolder | undefined> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) return folders[0];
  return vscode.window.showWorkspaceFolderPick({ placeHolder: 'Export into which folder?' });
}

async function readText(uri: vscode.Uri): Promise<string | undefined> {
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch (error) {
    if (error instanceof vscode.FileSystemError && error.code === 'FileNotFound') return undefined;
    throw error;
  }
}

/** Writes one target; returns what happened in a word, or undefined when the user skipped it. */
async function writeTarget(folder: vscode.Uri, target: ExportTarget, body: string): Promise<'written' | 'unchanged' | undefined> {
  const uri = vscode.Uri.joinPath(folder, ...target.split('/'));
  const existing = (await readText(uri)) ?? initialContent(target);
  let result = mergeManagedBlock(existing, body);
  if (result.status === 'hand-edited') {
    const answer = await vscode.window.showWarningMessage(`${target}: ${result.message}`, { modal: true }, 'Overwrite the Block', 'Open File');
    if (answer === 'Open File') await vscode.window.showTextDocument(uri);
    if (answer !== 'Overwrite the Block') return undefined;
    result = mergeManagedBlock(existing, body, { force: true });
  }
  if (result.status === 'unchanged') return 'unchanged';
  await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(uri, '..'));
  await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(result.text));
  return 'written';
}

/** An empty pool: says why there is nothing to export and offers the step that fills it. */
async function nothingToExport(ctx: InternalizeContext): Promise<void> {
  const pending = ctx.getStore().poolOps.list({ status: 'proposed' }).length;
  const next = pending > 0 ? 'Show Principles' : 'Summarize Trajectories';
  const answer = await vscode.window.showInformationMessage(
    pending > 0
      ? `Internalize: no principle is accepted yet, so there is nothing to export. ${String(pending)} proposed change${pending === 1 ? ' waits' : 's wait'} for your review in the Principles view.`
      : 'Internalize: no principle is accepted yet, so there is nothing to export. Summarizing your trajectories proposes principles to review and accept.',
    next,
  );
  if (answer === next) await vscode.commands.executeCommand(pending > 0 ? 'internalize.principles.focus' : 'internalize.summarize');
}

export function registerExportCommand(ctx: InternalizeContext): void {
  ctx.push(
    vscode.commands.registerCommand('internalize.exportPrinciples', async (preset?: unknown) => {
      try {
        const pool = ctx.getStore().principles.list({ status: 'accepted' });
        if (pool.length === 0) {
          await nothingToExport(ctx);
          return;
        }
        const principles = `${String(pool.length)} principle${pool.length === 1 ? '' : 's'}`;
        const items: TargetItem[] = [
          ...EXPORT_TARGETS.map((target) => ({ label: target, description: DESCRIPTIONS[target], picked: target === 'AGENTS.md', target })),
          { label: 'Principle pack (JSON)…', description: 'a file a team commits and reviews; import it with "Import Principle Pack…"' },
        ];
        const picked = Array.isArray(preset)
          ? items.filter((i) => (preset as unknown[]).includes(i.target))
          : await vscode.window.showQuickPick(items, { title: `Export ${pool.length === 1 ? 'the Accepted Principle' : `${String(pool.length)} Accepted Principles`}`, canPickMany: true });
        if (picked === undefined || picked.length === 0) return;
        const written: string[] = [];
        const unchanged: string[] = [];
        const targets = picked.flatMap((p) => (p.target === undefined ? [] : [p.target]));
        if (targets.length > 0) {
          const folder = await pickFolder();
          if (folder === undefined) {
            void vscode.window.showWarningMessage('Internalize: open a folder to export into its instruction files (or export a JSON pack).');
          } else {
            const body = renderPrinciples(pool);
            for (const target of targets) {
              const outcome = await writeTarget(folder.uri, target, body);
              if (outcome === 'written') written.push(target);
              else if (outcome === 'unchanged') unchanged.push(target);
            }
          }
        }
        if (picked.some((p) => p.target === undefined)) {
          const base = vscode.workspace.workspaceFolders?.[0]?.uri;
          const uri = await vscode.window.showSaveDialog({
            title: 'Save Principle Pack',
            defaultUri: base === undefined ? undefined : vscode.Uri.joinPath(base, 'internalize-principles.json'),
            filters: { 'Principle pack': ['json'] },
          });
          if (uri !== undefined) {
            await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(`${JSON.stringify(exportPack(pool), null, 2)}\n`));
            written.push(vscode.workspace.asRelativePath(uri));
          }
        }
        ctx.log.info(`Export: ${String(pool.length)} principles → written ${written.join(', ') || 'nothing'}; unchanged ${unchanged.join(', ') || 'nothing'}`);
        if (written.length === 0 && unchanged.length === 0) return;
        const message = `Internalize exported ${principles}${written.length > 0 ? ` to ${written.join(', ')}` : ''}${unchanged.length > 0 ? `${written.length > 0 ? ';' : ':'} ${unchanged.join(', ')} already up to date` : ''}.`;
        const first = written[0] ?? unchanged[0];
        const open = await vscode.window.showInformationMessage(message, `Open ${first ?? ''}`);
        const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
        if (open !== undefined && first !== undefined && folder !== undefined) await vscode.window.showTextDocument(vscode.Uri.joinPath(folder, ...first.split('/')));
      } catch (error) {
        await reportError(ctx.log, 'Internalize could not export the principles', error);
      }
    }),
  );
}
