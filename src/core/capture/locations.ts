/**
 * Where each agent writes its logs, per OS. The extension watches these (each source can be turned
 * off or pointed elsewhere through `internalize.capture.sources`); `internalize import --auto` reads them.
 */
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { TrajectorySource } from '../trajectory.js';

export interface SourceLocation {
  readonly source: TrajectorySource;
  /** Folder to walk. */
  readonly root: string;
  /** Files (relative to root) this source reads; matched against the path with forward slashes. */
  readonly include: RegExp;
  /** How many folder levels below root to walk. */
  readonly depth: number;
}

export interface Environment {
  readonly platform: NodeJS.Platform;
  readonly home: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Project folders open in the editor (or the CLI's working folder): aider writes its history into the project root. */
  readonly workspaceFolders?: readonly string[];
}

export function currentEnvironment(): Environment {
  return { platform: process.platform, home: homedir(), env: process.env };
}

/** The folders VS Code-family editors keep their per-user data in. */
function editorUserDirs(e: Environment): string[] {
  const products = ['Code', 'Code - Insiders', 'VSCodium', 'Cursor', 'Windsurf'];
  let base: string;
  if (e.platform === 'darwin') base = join(e.home, 'Library', 'Application Support');
  else if (e.platform === 'win32') base = e.env.APPDATA ?? join(e.home, 'AppData', 'Roaming');
  else base = e.env.XDG_CONFIG_HOME ?? join(e.home, '.config');
  const dirs = products.map((p) => join(base, p, 'User'));
  // Remote and server installs (code-server, VS Code Server over SSH) keep user data here.
  dirs.push(join(e.home, '.vscode-server', 'data', 'User'), join(e.home, '.local', 'share', 'code-server', 'User'));
  return dirs;
}

/** Default locations of every source on this OS. Sources without a standard place (ATIF, SWE-agent, rollouts) are imported explicitly. */
export function defaultLocations(e: Environment = currentEnvironment()): SourceLocation[] {
  const out: SourceLocation[] = [];
  const claudeDirs = (e.env.CLAUDE_CONFIG_DIR ?? '').split(',').filter((d) => d.trim() !== '');
  if (claudeDirs.length === 0) claudeDirs.push(join(e.home, '.config', 'claude'), join(e.home, '.claude'));
  for (const dir of claudeDirs) out.push({ source: 'claude-code', root: join(dir.trim(), 'projects'), include: /\.jsonl$/u, depth: 5 });
  const codexHome = e.env.CODEX_HOME ?? join(e.home, '.codex');
  out.push({ source: 'codex', root: join(codexHome, 'sessions'), include: /rollout-[^/]*\.jsonl$/u, depth: 4 });
  out.push({ source: 'codex', root: join(codexHome, 'archived_sessions'), include: /rollout-[^/]*\.jsonl$/u, depth: 1 });
  for (const user of editorUserDirs(e)) {
    out.push({ source: 'copilot-chat', root: join(user, 'workspaceStorage'), include: /\/chatSessions\/[^/]+\.jsonl?$/u, depth: 3 });
    out.push({ source: 'copilot-chat', root: join(user, 'globalStorage', 'emptyWindowChatSessions'), include: /^\/[^/]+\.jsonl?$/u, depth: 1 });
    out.push({ source: 'cline', root: join(user, 'globalStorage', 'saoudrizwan.claude-dev', 'tasks'), include: /\/api_conversation_history\.json$/u, depth: 2 });
    out.push({ source: 'roo', root: join(user, 'globalStorage', 'rooveterinaryinc.roo-cline', 'tasks'), include: /\/api_conversation_history\.json$/u, depth: 2 });
  }
  const geminiHome = e.env.GEMINI_CLI_HOME ?? e.home;
  out.push({ source: 'gemini-cli', root: join(geminiHome, '.gemini', 'tmp'), include: /\/chats\/session-[^/]+\.jsonl?$/u, depth: 3 });
  out.push({ source: 'openhands', root: join(e.env.OPENHANDS_HOME ?? join(e.home, '.openhands'), 'sessions'), include: /\/events$/u, depth: 2 });
  // Aider keeps no per-user folder: its history sits in each project's git root, so only the open projects are looked at (depth 0, no recursive walk of a source tree).
  for (const folder of e.workspaceFolders ?? []) out.push({ source: 'aider', root: folder, include: /^\/\.aider\.chat\.history\.md$/u, depth: 0 });
  const aiderFile = e.env.AIDER_CHAT_HISTORY_FILE;
  // A relative AIDER_CHAT_HISTORY_FILE is relative to each project, which the folders above already cover.
  if (aiderFile !== undefined && isAbsolute(aiderFile.trim())) {
    const name = basename(aiderFile.trim()).replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
    out.push({ source: 'aider', root: dirname(aiderFile.trim()), include: new RegExp(`^/${name}$`, 'u'), depth: 0 });
  }
  return out;
}

/** Applies the user's per-source settings: a source turned off is dropped, extra roots are added. */
export function configureLocations(
  defaults: readonly SourceLocation[],
  settings: Readonly<Partial<Record<TrajectorySource, { readonly enabled?: boolean; readonly paths?: readonly string[] }>>>,
): SourceLocation[] {
  const out: SourceLocation[] = [];
  for (const location of defaults) {
    const setting = settings[location.source];
    if (setting?.enabled === false) continue;
    if (setting?.paths && setting.paths.length > 0) continue;
    out.push(location);
  }
  for (const [source, setting] of Object.entries(settings) as [TrajectorySource, { enabled?: boolean; paths?: readonly string[] } | undefined][]) {
    if (!setting || setting.enabled === false || !setting.paths) continue;
    const template = defaults.find((d) => d.source === source);
    for (const root of setting.paths) out.push({ source, root, include: template?.include ?? /\.(jsonl?|traj)$/u, depth: template?.depth ?? 6 });
  }
  return out;
}

/**
 * The folders a file watcher should watch for these locations: each root, or its nearest existing
 * ancestor when the agent has not created it yet (so the first session of a newly installed agent is
 * seen), deduplicated. `exists` is injectable for tests.
 */
export function watchRoots(locations: readonly SourceLocation[], exists: (path: string) => boolean): string[] {
  const out = new Set<string>();
  for (const location of locations) {
    let dir = location.root;
    while (!exists(dir)) {
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
    out.add(dir);
  }
  return [...out];
}

/**
 * Whether a changed file is one the location reads: matched the way the scanner matches, as
 * `/relative/path`, or inside a folder that is itself a unit (OpenHands' `events/`).
 */
export function locationMatches(location: SourceLocation, path: string): boolean {
  const rel = relative(location.root, path).split(sep).join('/');
  if (rel.startsWith('..')) return false;
  const parts = rel.split('/');
  for (let n = parts.length; n > 0; n--) {
    if (location.include.test(`/${parts.slice(0, n).join('/')}`)) return true;
  }
  return false;
}

