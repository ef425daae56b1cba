/**
 * "Install for an agent": writes the Internalize MCP server into a coding agent's own configuration
 * file, and takes it out again. The user's file is edited as text at one place, so every other byte
 * (their entries, comments, indentation, a missing final newline) stays as it was; each edit is
 * checked by parsing the result before anything is written. Shared by the CLI and the editor.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';

export const AGENTS = ['claude-code', 'codex', 'gemini-cli', 'cline', 'cursor'] as const;
export type AgentId = (typeof AGENTS)[number];

export const AGENT_NAMES: Readonly<Record<AgentId, string>> = {
  'claude-code': 'Claude Code',
  codex: 'Codex CLI',
  'gemini-cli': 'Gemini CLI',
  cline: 'Cline',
  cursor: 'Cursor',
};

/** The key our server is registered under in every agent's file. */
export const SERVER_NAME = 'internalize';

/** How an agent starts the server: a program, its arguments and what it needs in its environment (stdio transport). */
export interface ServerCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

/** The JavaScript runtime doing the install: the one the native modules beside the CLI bundle were built for. */
export interface InstallRuntime {
  /** The runtime's executable (process.execPath). */
  readonly execPath: string;
  /** Electron's version when the runtime is Electron (a desktop VS Code's extension host). */
  readonly electron?: string;
}

export function currentRuntime(): InstallRuntime {
  return { execPath: process.execPath, ...(process.versions.electron === undefined ? {} : { electron: process.versions.electron }) };
}

/**
 * What every agent runs: `<extension or package>/dist/cli.js mcp --db <store>`. The CLI loads
 * better-sqlite3 from beside it, and a native module only loads in the runtime it was built for: a
 * desktop VS Code extension's copy is built for the editor's Electron, which a system `node` refuses
 * (NODE_MODULE_VERSION mismatch). So from inside Electron the agent is told to start the editor's own
 * executable as plain Node (ELECTRON_RUN_AS_NODE=1, as VS Code's `code` launcher does); elsewhere (the
 * CLI installed with npm, code-server) the copy was built for Node and `node` runs it.
 */
export function serverCommand(cliPath: string, storePath: string, runtime: InstallRuntime = currentRuntime()): ServerCommand {
  const args = [cliPath, 'mcp', '--db', storePath];
  return runtime.electron === undefined ? { command: 'node', args } : { command: runtime.execPath, args, env: { ELECTRON_RUN_AS_NODE: '1' } };
}

/**
 * A native module that failed to load because it was built for another runtime, in words a user can
 * act on; undefined for any other error. The raw message names the module's file and both ABI numbers.
 */
export function explainNativeModuleError(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const abi = /compiled against a different Node\.js version using\s+NODE_MODULE_VERSION (\d+)\.\s+This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/u.exec(message);
  if (abi === null) return undefined;
  const file = /'([^']+\.node)'/u.exec(message)?.[1] ?? 'a native module';
  return (
    `${file} was built for another JavaScript runtime (NODE_MODULE_VERSION ${abi[1] ?? '?'}; this one, ${process.execPath} (Node.js ${process.versions.node}), needs ${abi[2] ?? '?'}). ` +
    'The copy inside a desktop VS Code extension is built for the editor\'s Electron: install the server for the agent again from the editor ' +
    '(Internalize: Install Principle Server for an Agent…), which starts it with the editor\'s own runtime, or use the `internalize` CLI installed with npm for this Node.js.'
  );
}

export function isAgentId(value: string): value is AgentId {
  return (AGENTS as readonly string[]).includes(value);
}

/** One file an agent reads MCP servers from. */
export interface ConfigLocation {
  readonly agent: AgentId;
  readonly path: string;
  readonly format: 'json' | 'toml';
  readonly scope: 'user' | 'project';
  /** Where the file is, in the agent's words ("user: ~/.claude.json"). */
  readonly label: string;
}

export interface LocationContext {
  readonly home: string;
  /** The project folder, for agents that also read a project file (Claude Code's `.mcp.json`). */
  readonly cwd?: string;
  readonly platform: NodeJS.Platform;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * VS Code's `User/globalStorage` folder when known (the editor knows its own); Cline keeps its
   * settings under it, so the CLI falls back to the desktop VS Code default of the platform.
   */
  readonly vscodeGlobalStorage?: string;
}

function defaultVscodeGlobalStorage(ctx: LocationContext): string {
  if (ctx.platform === 'darwin') return join(ctx.home, 'Library', 'Application Support', 'Code', 'User', 'globalStorage');
  if (ctx.platform === 'win32') return join(ctx.env.APPDATA ?? join(ctx.home, 'AppData', 'Roaming'), 'Code', 'User', 'globalStorage');
  return join(ctx.env.XDG_CONFIG_HOME ?? join(ctx.home, '.config'), 'Code', 'User', 'globalStorage');
}

/**
 * The files each agent reads its MCP servers from, the default first. Claude Code reads the user's
 * `~/.claude.json` (every project) and a project's `.mcp.json` (shared through the repository).
 */
export function configLocations(agent: AgentId, ctx: LocationContext): ConfigLocation[] {
  switch (agent) {
    case 'claude-code': {
      const user: ConfigLocation = { agent, path: join(ctx.home, '.claude.json'), format: 'json', scope: 'user', label: 'user: ~/.claude.json' };
      return ctx.cwd === undefined ? [user] : [user, { agent, path: join(ctx.cwd, '.mcp.json'), format: 'json', scope: 'project', label: 'project: .mcp.json' }];
    }
    case 'codex': {
      const codexHome = ctx.env.CODEX_HOME !== undefined && ctx.env.CODEX_HOME !== '' ? ctx.env.CODEX_HOME : join(ctx.home, '.codex');
      return [{ agent, path: join(codexHome, 'config.toml'), format: 'toml', scope: 'user', label: 'user: ~/.codex/config.toml' }];
    }
    case 'gemini-cli':
      return [{ agent, path: join(ctx.home, '.gemini', 'settings.json'), format: 'json', scope: 'user', label: 'user: ~/.gemini/settings.json' }];
    case 'cline':
      return [
        {
          agent,
          path: join(ctx.vscodeGlobalStorage ?? defaultVscodeGlobalStorage(ctx), 'saoudrizwan.claude-dev', 'settings', 'cline_mcp_settings.json'),
          format: 'json',
          scope: 'user',
          label: 'user: cline_mcp_settings.json',
        },
      ];
    case 'cursor':
      return [{ agent, path: join(ctx.home, '.cursor', 'mcp.json'), format: 'json', scope: 'user', label: 'user: ~/.cursor/mcp.json' }];
  }
}

/** A location for a file the user named (`--config PATH`): its format from its name. */
export function locationForPath(agent: AgentId, path: string): ConfigLocation {
  return { agent, path, format: agent === 'codex' || path.endsWith('.toml') ? 'toml' : 'json', scope: 'user', label: path };
}

/** The file could not be changed safely; nothing was written. The message names the file and the place. */
export class ConfigFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'ConfigFileError';
  }
}

/** What an install or uninstall would do to one file; `apply` writes it. */
export interface ConfigChange {
  readonly location: ConfigLocation;
  readonly action: 'install' | 'uninstall';
  /** `unchanged`: already as asked, nothing to write. */
  readonly status: 'add' | 'replace' | 'remove' | 'restore' | 'unchanged';
  /** The file's text now; undefined when it does not exist. */
  readonly before: string | undefined;
  /** The file's text after the change; undefined when the change deletes a file that we created. */
  readonly after: string | undefined;
  /** One sentence for the user. */
  readonly summary: string;
  /** Install only: the edit also created the `mcpServers` object, so uninstall takes it out again. */
  readonly createdContainer?: boolean;
}

/**
 * What we remember of an install, so that uninstall can give back the user's file byte for byte
 * when nothing else changed in it since (including deleting a file we created).
 */
interface InstallRecord {
  readonly path: string;
  readonly before: string | null;
  readonly after: string;
  /** Whether the install created the `mcpServers` object (JSON), so uninstall removes it again. */
  readonly createdContainer: boolean;
}

function recordPath(recordsDir: string, configPath: string): string {
  return join(recordsDir, `${createHash('sha256').update(configPath).digest('hex').slice(0, 24)}.json`);
}

function readRecord(recordsDir: string, configPath: string): InstallRecord | undefined {
  const file = recordPath(recordsDir, configPath);
  if (!existsSync(file)) return undefined;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as Partial<InstallRecord>;
    if (value.path !== configPath || typeof value.after !== 'string' || (value.before !== null && typeof value.before !== 'string')) return undefined;
    return { path: value.path, before: value.before, after: value.after, createdContainer: value.createdContainer === true };
  } catch {
    // A damaged record only costs the byte-exact restore: uninstall then removes our entry alone.
    return undefined;
  }
}

/** The file as it is: the real file behind a symbolic link, so a linked dotfile stays a link. */
function resolvePath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function readText(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if (statSync(path).isDirectory()) throw new ConfigFileError(`${path} is a folder, not a configuration file.`, path);
  return readFileSync(path, 'utf8');
}

// ---------------------------------------------------------------------------------------------
// JSON and JSONC: edit the text at the one place our entry lives.

interface TextEdit {
  readonly offset: number;
  readonly length: number;
  readonly text: string;
}

function applyEdit(text: string, edit: TextEdit): string {
  return text.slice(0, edit.offset) + edit.text + text.slice(edit.offset + edit.length);
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

function parseJsonText(text: string, path: string): JsonNode | undefined {
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first !== undefined) {
    const at = lineAndColumn(text, first.offset);
    throw new ConfigFileError(
      `${path}:${String(at.line)}:${String(at.column)}: not valid JSON (${printParseErrorCode(first.error)}). The file was left untouched; fix it (or move it aside) and run the install again.`,
      path,
    );
  }
  if (root !== undefined && root.type !== 'object') throw new ConfigFileError(`${path}: the top level is ${root.type === 'array' ? 'an array' : `a ${root.type}`}, not an object of settings. The file was left untouched.`, path);
  return root;
}

function property(object: JsonNode, key: string): JsonNode | undefined {
  return object.children?.find((p) => p.children?.[0]?.value === key);
}

/** The whitespace that starts the line holding `offset`. */
function indentAt(text: string, offset: number): string {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/u.exec(text.slice(start))?.[0] ?? '';
}

/** The file's own indentation step: a tab, or its first indented line's spaces (2 when none). */
function indentUnit(text: string): string {
  const m = /\n([ \t]+)\S/u.exec(text);
  if (m?.[1] === undefined) return '  ';
  return m[1].startsWith('\t') ? '\t' : m[1];
}

function eolOf(text: string): string {
  return text.includes('\r\n') ? '\r\n' : '\n';
}

/** `value` as JSON laid out like the file: its indentation step, continued at `indent`. */
function renderJson(value: unknown, unit: string, indent: string, eol: string): string {
  return JSON.stringify(value, null, unit).split('\n').join(eol + indent);
}

/** An edit that appends `"key": value` as the last member of `object`. */
function appendMember(text: string, object: JsonNode, key: string, value: unknown, unit: string, eol: string): TextEdit {
  const members = object.children ?? [];
  const last = members[members.length - 1];
  if (last !== undefined) {
    const indent = indentAt(text, last.offset);
    const sameLine = !text.slice(object.offset, last.offset).includes('\n');
    const lead = sameLine ? ' ' : eol + indent;
    return { offset: last.offset + last.length, length: 0, text: `,${lead}${JSON.stringify(key)}: ${renderJson(value, unit, indent, eol)}` };
  }
  // An empty object: open it onto lines, one step deeper than its own line.
  const outer = indentAt(text, object.offset);
  const inner = outer + unit;
  return { offset: object.offset + 1, length: object.length - 2, text: `${eol}${inner}${JSON.stringify(key)}: ${renderJson(value, unit, inner, eol)}${eol}${outer}` };
}

/** An edit that removes member `member` of `object` with the separator that joined it to a neighbour. */
function removeMember(text: string, object: JsonNode, member: JsonNode): TextEdit {
  const members = object.children ?? [];
  const i = members.indexOf(member);
  const prev = members[i - 1];
  const next = members[i + 1];
  if (next !== undefined) return { offset: member.offset, length: next.offset - member.offset, text: '' };
  if (prev !== undefined) {
    // The last member: from the end of the one before it, so its comma goes too; a trailing comma after ours stays trailing.
    const end = member.offset + member.length;
    return { offset: prev.offset + prev.length, length: end - (prev.offset + prev.length), text: '' };
  }
  // The only member: the object becomes empty as it was before it opened onto lines.
  return { offset: object.offset + 1, length: object.length - 2, text: '' };
}

function entryOf(server: ServerCommand): { command: string; args: string[]; env?: Record<string, string> } {
  return { command: server.command, args: [...server.args], ...(server.env === undefined ? {} : { env: { ...server.env } }) };
}

function jsonValue(text: string, path: string): Record<string, unknown> {
  const root = parseJsonText(text, path);
  if (root === undefined) return {};
  return (nodeValue(root) ?? {}) as Record<string, unknown>;
}

function nodeValue(node: JsonNode): unknown {
  switch (node.type) {
    case 'object':
      return Object.fromEntries((node.children ?? []).map((p) => [String(p.children?.[0]?.value), p.children?.[1] === undefined ? undefined : nodeValue(p.children[1])]));
    case 'array':
      return (node.children ?? []).map(nodeValue);
    default:
      return node.value;
  }
}

function withoutEntry(value: Record<string, unknown>, createdContainer: boolean): Record<string, unknown> {
  const servers = value.mcpServers;
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) return value;
  const rest = Object.fromEntries(Object.entries(servers).filter(([k]) => k !== SERVER_NAME));
  const out: Record<string, unknown> = { ...value, mcpServers: rest };
  if (createdContainer && Object.keys(rest).length === 0) delete out.mcpServers;
  return out;
}

function installJson(text: string, path: string, server: ServerCommand): { after: string; status: 'add' | 'replace' | 'unchanged'; createdContainer: boolean } {
  const source = text.trim() === '' ? '{}' : text;
  const root = parseJsonText(source, path);
  if (root === undefined) throw new ConfigFileError(`${path}: could not be read as JSON. The file was left untouched.`, path);
  const unit = indentUnit(source);
  const eol = eolOf(source);
  const entry = entryOf(server);
  const container = property(root, 'mcpServers');
  let after: string;
  let status: 'add' | 'replace' | 'unchanged' = 'add';
  let createdContainer = false;
  if (container === undefined) {
    after = applyEdit(source, appendMember(source, root, 'mcpServers', { [SERVER_NAME]: entry }, unit, eol));
    createdContainer = true;
  } else {
    const servers = container.children?.[1];
    if (servers?.type !== 'object') throw new ConfigFileError(`${path}: "mcpServers" is ${servers?.type ?? 'empty'}, not an object of servers. The file was left untouched; fix it and run the install again.`, path);
    const ours = property(servers, SERVER_NAME);
    const value = ours?.children?.[1];
    if (ours !== undefined && value !== undefined) {
      if (isDeepStrictEqual(nodeValue(value), entry)) return { after: text, status: 'unchanged', createdContainer: false };
      // Only our server's value changes; the member keeps its place and its key.
      after = applyEdit(source, { offset: value.offset, length: value.length, text: renderJson(entry, unit, indentAt(source, ours.offset), eol) });
      status = 'replace';
    } else {
      after = applyEdit(source, appendMember(source, servers, SERVER_NAME, entry, unit, eol));
    }
  }
  if (text.trim() === '' && !after.endsWith('\n')) after += eol;
  // The edit must mean exactly "the user's settings plus our server": checked, never assumed.
  const check = jsonValue(after, path);
  const servers = check.mcpServers as Record<string, unknown> | undefined;
  const original = jsonValue(source, path);
  if (!isDeepStrictEqual(servers?.[SERVER_NAME], entry) || !isDeepStrictEqual(withoutEntry(check, createdContainer), withoutEntry(original, createdContainer))) {
    throw new ConfigFileError(`${path}: the edit would not keep the file's other settings as they are (a duplicate "mcpServers" key?). The file was left untouched; add the server by hand.`, path);
  }
  return { after, status, createdContainer };
}

function uninstallJson(text: string, path: string, createdContainer: boolean): string | undefined {
  const root = parseJsonText(text, path);
  const container = root === undefined ? undefined : property(root, 'mcpServers');
  const servers = container?.children?.[1];
  if (root === undefined || container === undefined || servers?.type !== 'object') return undefined;
  const ours = property(servers, SERVER_NAME);
  if (ours === undefined) return undefined;
  let after = applyEdit(text, removeMember(text, servers, ours));
  if (createdContainer && (servers.children ?? []).length === 1) {
    const again = parseJsonText(after, path);
    const emptied = again === undefined ? undefined : property(again, 'mcpServers');
    if (again !== undefined && emptied !== undefined) after = applyEdit(after, removeMember(after, again, emptied));
  }
  if (!isDeepStrictEqual(jsonValue(after, path), withoutEntry(jsonValue(text, path), createdContainer))) {
    throw new ConfigFileError(`${path}: removing the "${SERVER_NAME}" server would change other settings. The file was left untouched; remove it by hand.`, path);
  }
  return after;
}

// ---------------------------------------------------------------------------------------------
// TOML (Codex): our server is the table [mcp_servers.internalize] and its sub-tables, as lines.

type TomlParser = (text: string) => Record<string, unknown>;

let tomlParser: Promise<TomlParser> | undefined;

/** smol-toml ships as an ES module only; it is loaded on the first TOML file. */
function loadToml(): Promise<TomlParser> {
  // Tables come back without a prototype and dates as objects; compared as plain JSON values.
  tomlParser ??= import('smol-toml').then((m) => (text: string) => JSON.parse(JSON.stringify(m.parse(text))) as Record<string, unknown>);
  return tomlParser;
}

function parseTomlText(parse: TomlParser, text: string, path: string): Record<string, unknown> {
  try {
    return parse(text);
  } catch (error) {
    const at = error as { line?: unknown; column?: unknown; message?: unknown };
    if (typeof at.line === 'number' && typeof at.column === 'number') {
      const first = typeof at.message === 'string' ? (at.message.split('\n')[0] ?? '') : '';
      throw new ConfigFileError(`${path}:${String(at.line)}:${String(at.column)}: not valid TOML (${first}). The file was left untouched; fix it (or move it aside) and run the install again.`, path);
    }
    throw error;
  }
}

const HEADER = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$/u;

/** Whether a table header's dotted name is our table or below it (`mcp_servers.internalize[.x]`). */
function isOurHeader(name: string): boolean {
  const parts = name.split('.').map((p) => p.trim().replace(/^"(.*)"$/u, '$1').replace(/^'(.*)'$/u, '$1'));
  return parts[0] === 'mcp_servers' && parts[1] === SERVER_NAME;
}

/**
 * The line range [start, end) of our table and its sub-tables. Lines inside a multi-line string or
 * array that look like headers are not headers: the range is trusted only after a parse confirms it.
 */
function ourTableLines(lines: readonly string[]): { start: number; end: number } | undefined {
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const m = HEADER.exec(lines[i] ?? '');
    if (m?.[1] === undefined) continue;
    if (start === -1) {
      if (isOurHeader(m[1])) start = i;
    } else if (!isOurHeader(m[1])) {
      return { start, end: i };
    }
  }
  return start === -1 ? undefined : { start, end: lines.length };
}

function tomlString(value: string): string {
  // JSON's escapes (\" \\ \n \uXXXX) are TOML basic-string escapes too.
  return JSON.stringify(value);
}

function tomlTable(server: ServerCommand): string[] {
  const env = server.env === undefined ? [] : [`env = { ${Object.entries(server.env).map(([k, v]) => `${tomlString(k)} = ${tomlString(v)}`).join(', ')} }`];
  return [`[mcp_servers.${SERVER_NAME}]`, `command = ${tomlString(server.command)}`, `args = [${server.args.map(tomlString).join(', ')}]`, ...env];
}

function tomlWithout(value: Record<string, unknown>): Record<string, unknown> {
  const servers = value.mcp_servers;
  if (typeof servers !== 'object' || servers === null) return value;
  const rest = Object.fromEntries(Object.entries(servers).filter(([k]) => k !== SERVER_NAME));
  const out: Record<string, unknown> = { ...value, mcp_servers: rest };
  if (Object.keys(rest).length === 0) delete out.mcp_servers;
  return out;
}

function installToml(parse: TomlParser, text: string, path: string, server: ServerCommand): { after: string; status: 'add' | 'replace' | 'unchanged' } {
  const original = parseTomlText(parse, text, path);
  const entry = entryOf(server);
  const existing = (original.mcp_servers as Record<string, unknown> | undefined)?.[SERVER_NAME];
  if (existing !== undefined && isDeepStrictEqual(existing, entry)) return { after: text, status: 'unchanged' };
  const eol = eolOf(text);
  const lines = text.split(/\r?\n/u);
  const range = ourTableLines(lines);
  const table = tomlTable(server);
  let after: string;
  if (range !== undefined) {
    // Keep the blank lines and comments that close the old table: they separate it from the next one.
    let end = range.end;
    while (end > range.start + 1 && /^\s*(#.*)?$/u.test(lines[end - 1] ?? '')) end--;
    after = [...lines.slice(0, range.start), ...table, ...lines.slice(end)].join(eol);
  } else {
    const body = text === '' ? '' : text.endsWith('\n') ? (text.endsWith(`${eol}${eol}`) ? text : text + eol) : text + eol + eol;
    after = body + table.join(eol) + eol;
  }
  const check = parseTomlText(parse, after, path);
  if (!isDeepStrictEqual((check.mcp_servers as Record<string, unknown> | undefined)?.[SERVER_NAME], entry) || !isDeepStrictEqual(tomlWithout(check), tomlWithout(original))) {
    throw new ConfigFileError(`${path}: [mcp_servers.${SERVER_NAME}] is defined in a form this installer does not edit (inline or dotted keys). The file was left untouched; add the server by hand.`, path);
  }
  return { after, status: existing === undefined ? 'add' : 'replace' };
}

function uninstallToml(parse: TomlParser, text: string, path: string): string | undefined {
  const original = parseTomlText(parse, text, path);
  if ((original.mcp_servers as Record<string, unknown> | undefined)?.[SERVER_NAME] === undefined) return undefined;
  const eol = eolOf(text);
  const lines = text.split(/\r?\n/u);
  const range = ourTableLines(lines);
  if (range === undefined) throw new ConfigFileError(`${path}: [mcp_servers.${SERVER_NAME}] is defined inline or with dotted keys. The file was left untouched; remove it by hand.`, path);
  let { start, end } = range;
  // Our table's trailing blank lines go with it when it is the last thing; the blank line we put
  // before it goes too, so the file ends as it ended before the install.
  if (end === lines.length) {
    while (start > 0 && (lines[start - 1] ?? '').trim() === '') start--;
    const head = lines.slice(0, start);
    const after = head.length === 0 ? '' : head.join(eol) + eol;
    return checkedTomlRemoval(parse, after, original, path);
  }
  while (end > start + 1 && /^\s*(#.*)?$/u.test(lines[end - 1] ?? '')) end--;
  // Keep one blank line between the tables around it.
  if (start > 0 && (lines[start - 1] ?? '').trim() === '' && (lines[end] ?? '').trim() === '') start--;
  return checkedTomlRemoval(parse, [...lines.slice(0, start), ...lines.slice(end)].join(eol), original, path);
}

function checkedTomlRemoval(parse: TomlParser, after: string, original: Record<string, unknown>, path: string): string {
  if (!isDeepStrictEqual(tomlWithout(parseTomlText(parse, after, path)), tomlWithout(original))) {
    throw new ConfigFileError(`${path}: removing [mcp_servers.${SERVER_NAME}] would change other settings. The file was left untouched; remove it by hand.`, path);
  }
  return after;
}

// ---------------------------------------------------------------------------------------------
// Planning and writing.

export interface InstallOptions {
  /** Where install records are kept, so uninstall can restore files byte for byte. */
  readonly recordsDir: string;
}

/** What installing `server` into `location` would change; reads the file, writes nothing. */
export async function planInstall(location: ConfigLocation, server: ServerCommand): Promise<ConfigChange> {
  const path = resolvePath(location.path);
  const before = readText(path);
  const resolved = { ...location, path };
  const name = AGENT_NAMES[location.agent];
  if (location.format === 'toml') {
    const r = installToml(await loadToml(), before ?? '', path, server);
    return { location: resolved, action: 'install', status: r.status, before, after: r.after, summary: installSummary(r.status, name, path, before === undefined) };
  }
  const r = installJson(before ?? '', path, server);
  return { location: resolved, action: 'install', status: r.status, before, after: r.after, summary: installSummary(r.status, name, path, before === undefined), createdContainer: r.createdContainer };
}

function installSummary(status: 'add' | 'replace' | 'unchanged', agent: string, path: string, created: boolean): string {
  if (status === 'unchanged') return `${agent} already starts the Internalize server from ${path}; nothing to change.`;
  if (status === 'replace') return `Update the "${SERVER_NAME}" server in ${path} (${agent}) to the current command.`;
  return created ? `Create ${path} with the "${SERVER_NAME}" server for ${agent}.` : `Add the "${SERVER_NAME}" server to ${path} (${agent}); nothing else in the file changes.`;
}

/**
 * What uninstalling would change: the file as it was before the install when nothing else changed
 * since (deleting it when the install created it), else the file with only our entry taken out.
 */
export async function planUninstall(location: ConfigLocation, options: InstallOptions): Promise<ConfigChange> {
  const path = resolvePath(location.path);
  const before = readText(path);
  const resolved = { ...location, path };
  const name = AGENT_NAMES[location.agent];
  const unchanged = (summary: string): ConfigChange => ({ location: resolved, action: 'uninstall', status: 'unchanged', before, after: before, summary });
  if (before === undefined) return unchanged(`${path} does not exist; ${name} has no Internalize server to remove.`);
  const record = readRecord(options.recordsDir, path);
  if (record !== undefined && record.after === before) {
    return {
      location: resolved,
      action: 'uninstall',
      status: 'restore',
      before,
      after: record.before ?? undefined,
      summary: record.before === null ? `Delete ${path}: the install created it and nothing else was added since.` : `Restore ${path} exactly as it was before the install (nothing else changed since).`,
    };
  }
  const after = location.format === 'toml' ? uninstallToml(await loadToml(), before, path) : uninstallJson(before, path, record?.createdContainer ?? false);
  if (after === undefined) return unchanged(`${path} has no "${SERVER_NAME}" server; nothing to remove.`);
  return { location: resolved, action: 'uninstall', status: 'remove', before, after, summary: `Remove the "${SERVER_NAME}" server from ${path} (${name}); the rest of the file stays as it is.` };
}

/** Whether an agent's file already starts our server, for pickers: `invalid` carries the parse error. */
export async function installState(location: ConfigLocation): Promise<{ state: 'installed' | 'absent' | 'no-file' } | { state: 'invalid'; message: string }> {
  try {
    const path = resolvePath(location.path);
    const text = readText(path);
    if (text === undefined) return { state: 'no-file' };
    if (location.format === 'toml') {
      const value = parseTomlText(await loadToml(), text, path);
      return { state: (value.mcp_servers as Record<string, unknown> | undefined)?.[SERVER_NAME] === undefined ? 'absent' : 'installed' };
    }
    const servers = (text.trim() === '' ? {} : jsonValue(text, path)).mcpServers;
    return { state: typeof servers === 'object' && servers !== null && SERVER_NAME in servers ? 'installed' : 'absent' };
  } catch (error) {
    return { state: 'invalid', message: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Writes a planned change. The file must still hold what the plan read (else the user is shown a
 * change that is no longer the one written, so it refuses); the write goes through a temporary file
 * and a rename, keeping the file's mode, so an agent never reads half a file.
 */
export function applyChange(change: ConfigChange, options: InstallOptions): void {
  const path = change.location.path;
  if (change.status === 'unchanged') return;
  const now = readText(path);
  if (now !== change.before) throw new ConfigFileError(`${path} changed after the change was shown; nothing was written. Run the command again to see the new change.`, path);
  const record = recordPath(options.recordsDir, path);
  if (change.after === undefined) {
    rmSync(path);
    rmSync(record, { force: true });
    return;
  }
  mkdirSync(dirname(path), { recursive: true });
  const mode = existsSync(path) ? statSync(path).mode & 0o777 : 0o600;
  const temp = join(dirname(path), `.${basename(path)}.internalize-${String(process.pid)}.tmp`);
  try {
    writeFileSync(temp, change.after, { mode });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new ConfigFileError(`${path}: could not be written (${error instanceof Error ? error.message : String(error)}). The file was left as it was.`, path);
  }
  if (change.action === 'install') {
    // A re-install keeps the first record's "before": that is the user's own file.
    const previous = readRecord(options.recordsDir, path);
    const createdContainer = previous?.createdContainer ?? change.createdContainer ?? false;
    const entry: InstallRecord = { path, before: previous !== undefined && previous.after === change.before ? previous.before : (change.before ?? null), after: change.after, createdContainer };
    mkdirSync(options.recordsDir, { recursive: true });
    writeFileSync(record, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  } else {
    rmSync(record, { force: true });
  }
}

/**
 * A unified diff of a change, for the user to read before it is written. Our edits touch one
 * region, so the hunk is what lies between the common first and last lines (with three lines of
 * context); no general diff is needed, even for a large `~/.claude.json`.
 */
export function unifiedDiff(change: ConfigChange): string {
  const path = change.location.path;
  const a = change.before === undefined ? [] : change.before.split(/\r?\n/u);
  const b = change.after === undefined ? [] : change.after.split(/\r?\n/u);
  if (change.before === change.after) return '';
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const context = 3;
  const from = Math.max(0, head - context);
  const aEnd = Math.min(a.length, a.length - tail + context);
  const bEnd = Math.min(b.length, b.length - tail + context);
  const out = [`--- ${change.before === undefined ? '/dev/null' : path}`, `+++ ${change.after === undefined ? '/dev/null' : path}`, `@@ -${String(from + 1)},${String(aEnd - from)} +${String(from + 1)},${String(bEnd - from)} @@`];
  for (let i = from; i < head; i++) out.push(` ${a[i] ?? ''}`);
  for (let i = head; i < a.length - tail; i++) out.push(`-${a[i] ?? ''}`);
  for (let i = head; i < b.length - tail; i++) out.push(`+${b[i] ?? ''}`);
  for (let i = a.length - tail; i < aEnd; i++) out.push(` ${a[i] ?? ''}`);
  return `${out.join('\n')}\n`;
}
