/**
 * "Install Principle Server for an Agent…" and "Uninstall…": the MCP server entry written into (or
 * taken out of) Claude Code, Codex, Gemini CLI, Cline or Cursor's own configuration file. The user
 * picks the agent, sees the exact change (a diff editor and the same change in the confirmation),
 * and only then is the file written.
 */
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import {
  AGENT_NAMES,
  AGENTS,
  applyChange,
  ConfigFileError,
  configLocations,
  installState,
  planInstall,
  planUninstall,
  serverCommand,
  unifiedDiff,
  type ConfigChange,
  type ConfigLocation,
} from '../../core/serving/install.js';
import type { InternalizeContext } from '../context.js';
import { describeError, reportError } from '../errors.js';

const SCHEME = 'internalize-agent-config';

/** Where install records live: the same folder the CLI uses, so either one can undo the other's install. */
export function installRecordsDir(): string {
  return join(homedir(), '.internalize', 'mcp-installs');
}

interface LocationItem extends vscode.QuickPickItem {
  readonly location: ConfigLocation;
}

function locations(ctx: InternalizeContext): ConfigLocation[] {
  const cwd = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const context = {
    home: homedir(),
    platform: process.platform,
    env: process.env,
    // This editor's own User/globalStorage, where Cline (if installed here) keeps its settings.
    vscodeGlobalStorage: dirname(ctx.extension.globalStorageUri.fsPath),
    ...(cwd === undefined ? {} : { cwd }),
  };
  return AGENTS.flatMap((agent) => configLocations(agent, context));
}

async function pickLocation(ctx: InternalizeContext, verb: 'install' | 'uninstall'): Promise<ConfigLocation | undefined> {
  const STATE: Record<'installed' | 'absent' | 'no-file', string> = { installed: 'installed', absent: 'not installed', 'no-file': 'no file yet' };
  const items: LocationItem[] = await Promise.all(
    locations(ctx).map(async (location) => {
      const state = await installState(location);
      return {
        label: AGENT_NAMES[location.agent],
        description: `${location.label} · ${state.state === 'invalid' ? 'cannot be read' : STATE[state.state]}`,
        detail: state.state === 'invalid' ? `$(warning) ${state.message}` : location.path,
        location,
      };
    }),
  );
  const picked = await vscode.window.showQuickPick(items, {
    title: verb === 'install' ? 'Install the Internalize principle server for which agent?' : 'Remove the Internalize principle server from which agent?',
    placeHolder: 'The change is shown before anything is written',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  return picked?.location;
}

/** Before/after texts for the diff editor, by URI; read-only virtual documents. */
class ChangeDocuments implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private serial = 0;

  show(change: ConfigChange): Thenable<unknown> {
    const n = String(++this.serial);
    const name = change.location.path.split(/[\\/]/u).pop() ?? 'config';
    const left = vscode.Uri.from({ scheme: SCHEME, path: `/${n}/before/${name}` });
    const right = vscode.Uri.from({ scheme: SCHEME, path: `/${n}/after/${name}` });
    this.texts.set(left.toString(), change.before ?? '');
    this.texts.set(right.toString(), change.after ?? '');
    const verb = change.action === 'install' ? 'Install' : 'Uninstall';
    return vscode.commands.executeCommand('vscode.diff', left, right, `${verb}: ${change.location.path} (current ↔ proposed)`, { preview: true });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }
}

async function confirmAndWrite(ctx: InternalizeContext, documents: ChangeDocuments, change: ConfigChange): Promise<void> {
  if (change.status === 'unchanged') {
    void vscode.window.showInformationMessage(change.summary);
    return;
  }
  await documents.show(change);
  const action = change.action === 'install' ? 'Install' : 'Uninstall';
  const choice = await vscode.window.showInformationMessage(change.summary, { modal: true, detail: unifiedDiff(change) }, action);
  if (choice !== action) return;
  applyChange(change, { recordsDir: installRecordsDir() });
  const agent = AGENT_NAMES[change.location.agent];
  ctx.log.info(`${action}ed the principle server ${change.action === 'install' ? 'for' : 'from'} ${agent}: ${change.location.path} (${change.status})`);
  const message =
    change.action === 'install'
      ? `Installed the Internalize principle server for ${agent} in ${change.location.path}. Restart ${agent} (or reload its MCP servers) to use it.`
      : `Removed the Internalize principle server from ${agent} (${change.location.path}).`;
  const open = await vscode.window.showInformationMessage(message, ...(change.after === undefined ? [] : ['Open File']));
  if (open === 'Open File') await vscode.window.showTextDocument(vscode.Uri.file(change.location.path));
}

async function failed(ctx: InternalizeContext, what: string, error: unknown): Promise<void> {
  if (error instanceof ConfigFileError) {
    // The file was left as it was; the message says where it is broken and what to do.
    ctx.log.warn(`${what}: ${error.message}`);
    const choice = await vscode.window.showErrorMessage(`${what}: ${describeError(error)}`, 'Open File');
    if (choice === 'Open File') await vscode.window.showTextDocument(vscode.Uri.file(error.path));
    return;
  }
  await reportError(ctx.log, what, error);
}

export function registerInstallMcpCommands(ctx: InternalizeContext): void {
  const documents = new ChangeDocuments();
  ctx.push(
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, documents),
    vscode.commands.registerCommand('internalize.installMcpServer', async () => {
      const location = await pickLocation(ctx, 'install');
      if (location === undefined) return;
      try {
        const server = serverCommand(join(ctx.extension.extensionPath, 'dist', 'cli.js'), ctx.storePath);
        await confirmAndWrite(ctx, documents, await planInstall(location, server));
      } catch (error) {
        await failed(ctx, `Could not install the principle server for ${AGENT_NAMES[location.agent]}`, error);
      }
    }),
    vscode.commands.registerCommand('internalize.uninstallMcpServer', async () => {
      const location = await pickLocation(ctx, 'uninstall');
      if (location === undefined) return;
      try {
        await confirmAndWrite(ctx, documents, await planUninstall(location, { recordsDir: installRecordsDir() }));
      } catch (error) {
        await failed(ctx, `Could not uninstall the principle server from ${AGENT_NAMES[location.agent]}`, error);
      }
    }),
  );
}
