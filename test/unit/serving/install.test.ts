import { strict as assert } from 'node:assert';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseJsonc } from 'jsonc-parser';
import {
  AGENTS,
  applyChange,
  ConfigFileError,
  configLocations,
  explainNativeModuleError,
  installState,
  locationForPath,
  planInstall,
  planUninstall,
  serverCommand,
  unifiedDiff,
  type AgentId,
  type ConfigLocation,
} from '../../../src/core/serving/install.js';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'mcp-config');
const SERVER = serverCommand('/opt/internalize/dist/cli.js', '/home/dev/.internalize/internalize.db');
const ENTRY = { command: 'node', args: ['/opt/internalize/dist/cli.js', 'mcp', '--db', '/home/dev/.internalize/internalize.db'] };

let root: string;
let records: string;
/** smol-toml is an ES module only: loaded once, the way the installer loads it. */
let parseToml: (text: string) => Record<string, unknown>;
before(async () => {
  const toml = await import('smol-toml');
  parseToml = (text) => toml.parse(text);
  root = mkdtempSync(join(tmpdir(), 'internalize-install-'));
  records = join(root, 'records');
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

let counter = 0;
/** A copy of a fixture in its own folder, so each test owns the file it edits. */
function copy(fixture: string, agent: AgentId): ConfigLocation {
  const dir = join(root, `case-${String(++counter)}`);
  mkdirSync(dir);
  const path = join(dir, fixture);
  copyFileSync(join(FIXTURES, fixture), path);
  return locationForPath(agent, path);
}

function servers(location: ConfigLocation, text: string): Record<string, unknown> {
  // smol-toml's tables have no prototype; compared as plain JSON values.
  if (location.format === 'toml') return JSON.parse(JSON.stringify(parseToml(text).mcp_servers ?? {})) as Record<string, unknown>;
  return ((parseJsonc(text) as { mcpServers?: Record<string, unknown> }).mcpServers ?? {});
}

const SHAPES: readonly { fixture: string; agent: AgentId; others: readonly string[] }[] = [
  { fixture: 'claude-code.mcp.json', agent: 'claude-code', others: ['youtube', 'instagram', 'instagram-alt', 'instagram-fizik'] },
  { fixture: 'claude-user.json', agent: 'claude-code', others: ['workos'] },
  { fixture: 'codex-config.toml', agent: 'codex', others: [] },
  { fixture: 'codex-mcp-servers.toml', agent: 'codex', others: ['ipykernel'] },
  { fixture: 'gemini-settings.json', agent: 'gemini-cli', others: [] },
  { fixture: 'cline_mcp_settings.json', agent: 'cline', others: ['github.com/modelcontextprotocol/servers/tree/main/src/sequentialthinking', 'github.com/upstash/context7-mcp'] },
  { fixture: 'cursor-mcp.json', agent: 'cursor', others: ['eslint', 'context7'] },
];

describe('install into each agent’s real configuration', () => {
  for (const shape of SHAPES) {
    it(`${shape.fixture}: adds only our server, keeps every other byte, and uninstall restores the file`, async () => {
      const location = copy(shape.fixture, shape.agent);
      const original = readFileSync(location.path, 'utf8');
      const change = await planInstall(location, SERVER);
      assert.equal(change.status, 'add');
      assert.equal(change.before, original);
      const written = change.after ?? '';
      // The change is one insertion: the user's text before it and after it is kept byte for byte.
      let head = 0;
      while (head < original.length && original[head] === written[head]) head++;
      let tail = 0;
      while (tail < original.length - head && original[original.length - 1 - tail] === written[written.length - 1 - tail]) tail++;
      assert.equal(head + tail, original.length, 'every byte of the user\'s file is kept, around one inserted block');
      const after = servers(location, written);
      assert.deepEqual(after.internalize, ENTRY);
      assert.deepEqual(Object.keys(after).filter((k) => k !== 'internalize'), shape.others);
      assert.match(unifiedDiff(change), /^\+.*internalize/mu);
      applyChange(change, { recordsDir: records });
      assert.equal(readFileSync(location.path, 'utf8'), written);

      const again = await planInstall(location, SERVER);
      assert.equal(again.status, 'unchanged');

      const removal = await planUninstall(location, { recordsDir: records });
      assert.equal(removal.status, 'restore');
      applyChange(removal, { recordsDir: records });
      assert.equal(readFileSync(location.path, 'utf8'), original);
    });

    it(`${shape.fixture}: when the user edited the file after the install, uninstall removes our entry alone`, async () => {
      const location = copy(shape.fixture, shape.agent);
      const original = readFileSync(location.path, 'utf8');
      applyChange(await planInstall(location, SERVER), { recordsDir: records });
      // The user's later edit lives at the top of the file, away from our entry.
      const edited = location.format === 'toml' ? `# my own note\n${readFileSync(location.path, 'utf8')}` : readFileSync(location.path, 'utf8').replace('{', '{\n  "myOwnSetting": true,');
      writeFileSync(location.path, edited);
      const removal = await planUninstall(location, { recordsDir: records });
      assert.equal(removal.status, 'remove');
      applyChange(removal, { recordsDir: records });
      const now = readFileSync(location.path, 'utf8');
      assert.equal(servers(location, now).internalize, undefined);
      const expected = location.format === 'toml' ? parseToml(`# my own note\n${original}`) : { myOwnSetting: true, ...(parseJsonc(original) as object) };
      const actual: unknown = location.format === 'toml' ? parseToml(now) : parseJsonc(now);
      assert.deepEqual(actual, expected);
      assert.ok(now.includes(location.format === 'toml' ? '# my own note' : '"myOwnSetting": true'));
    });
  }
});

describe('the runtime the agent starts the server with', () => {
  // A desktop VS Code's extension host: Electron, whose executable runs the CLI as Node with ELECTRON_RUN_AS_NODE.
  const ELECTRON = { execPath: '/usr/share/code/code', electron: '34.5.8' };
  const electronServer = serverCommand('/home/dev/.vscode/extensions/internalize/dist/cli.js', '/home/dev/.internalize/internalize.db', ELECTRON);

  it('from the editor\'s Electron: its own executable with ELECTRON_RUN_AS_NODE=1; from Node: node', () => {
    assert.deepEqual(electronServer, {
      command: '/usr/share/code/code',
      args: ['/home/dev/.vscode/extensions/internalize/dist/cli.js', 'mcp', '--db', '/home/dev/.internalize/internalize.db'],
      env: { ELECTRON_RUN_AS_NODE: '1' },
    });
    assert.deepEqual(serverCommand('/opt/internalize/dist/cli.js', '/x.db', { execPath: '/usr/bin/node' }), { command: 'node', args: ['/opt/internalize/dist/cli.js', 'mcp', '--db', '/x.db'] });
  });

  for (const shape of SHAPES) {
    it(`${shape.fixture}: the Electron entry, environment included, is what the agent reads back; uninstall restores the file`, async () => {
      const location = copy(shape.fixture, shape.agent);
      const original = readFileSync(location.path, 'utf8');
      const change = await planInstall(location, electronServer);
      assert.deepEqual(servers(location, change.after ?? '').internalize, { command: electronServer.command, args: [...electronServer.args], env: { ELECTRON_RUN_AS_NODE: '1' } });
      applyChange(change, { recordsDir: records });
      assert.equal((await planInstall(location, electronServer)).status, 'unchanged');
      // An entry written by an earlier version (plain node) is brought up to the current command.
      assert.equal((await planInstall(location, SERVER)).status, 'replace');
      applyChange(await planUninstall(location, { recordsDir: records }), { recordsDir: records });
      assert.equal(readFileSync(location.path, 'utf8'), original);
    });
  }

  it('a better-sqlite3 built for another runtime is explained with what to do; other errors are left alone', () => {
    // Node's own message for the case, as printed when the editor's copy is loaded by a system node.
    const raw = new Error(
      "The module '/home/dev/.vscode/extensions/internalize/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\n" +
        'was compiled against a different Node.js version using\nNODE_MODULE_VERSION 132. This version of Node.js requires\nNODE_MODULE_VERSION 115. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).',
    );
    const said = explainNativeModuleError(raw) ?? '';
    assert.match(said, /better-sqlite3\/build\/Release\/better_sqlite3\.node was built for another JavaScript runtime \(NODE_MODULE_VERSION 132; this one, .+, needs 115\)/u);
    assert.match(said, /Install Principle Server for an Agent/u);
    assert.equal(explainNativeModuleError(new Error('SQLITE_BUSY: database is locked')), undefined);
  });
});

describe('files that cannot be edited safely', () => {
  it('leaves a file that is not valid JSON untouched and names the line and column', async () => {
    const location = copy('cursor-mcp.json', 'cursor');
    const broken = readFileSync(location.path, 'utf8').replace('"args": ["@eslint/mcp@latest"],', '"args": ["@eslint/mcp@latest"] oops,');
    writeFileSync(location.path, broken);
    await assert.rejects(planInstall(location, SERVER), (error: unknown) => {
      assert.ok(error instanceof ConfigFileError);
      assert.match(error.message, new RegExp(`^${location.path.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')}:5:\\d+: not valid JSON`, 'u'));
      assert.match(error.message, /left untouched/u);
      return true;
    });
    assert.equal(readFileSync(location.path, 'utf8'), broken);
  });

  it('leaves a file that is not valid TOML untouched and names the line', async () => {
    const location = copy('codex-mcp-servers.toml', 'codex');
    const broken = `${readFileSync(location.path, 'utf8')}[broken\n`;
    writeFileSync(location.path, broken);
    await assert.rejects(planInstall(location, SERVER), /codex-mcp-servers\.toml:14:\d+: not valid TOML .*left untouched/u);
    await assert.rejects(planUninstall(location, { recordsDir: records }), /not valid TOML/u);
    assert.equal(readFileSync(location.path, 'utf8'), broken);
  });

  it('refuses a JSON file whose top level or "mcpServers" is not an object', async () => {
    const location = copy('cursor-mcp.json', 'cursor');
    writeFileSync(location.path, '[1, 2]\n');
    await assert.rejects(planInstall(location, SERVER), /top level is an array/u);
    writeFileSync(location.path, '{ "mcpServers": [] }\n');
    await assert.rejects(planInstall(location, SERVER), /"mcpServers" is array/u);
  });

  it('refuses a Codex file that defines our server with dotted keys instead of a table', async () => {
    const location = copy('codex-mcp-servers.toml', 'codex');
    writeFileSync(location.path, 'mcp_servers.internalize.command = "python"\n');
    await assert.rejects(planInstall(location, SERVER), /does not edit|left untouched/u);
    assert.equal(readFileSync(location.path, 'utf8'), 'mcp_servers.internalize.command = "python"\n');
  });

  it('writes nothing when the file changed after the change was shown', async () => {
    const location = copy('gemini-settings.json', 'gemini-cli');
    const change = await planInstall(location, SERVER);
    writeFileSync(location.path, '{ "theme": "GitHub" }\n');
    assert.throws(() => {
      applyChange(change, { recordsDir: records });
    }, /changed after the change was shown/u);
    assert.equal(readFileSync(location.path, 'utf8'), '{ "theme": "GitHub" }\n');
  });
});

describe('install details', () => {
  it('creates a missing file, and uninstall deletes it again', async () => {
    const location = locationForPath('cursor', join(root, `fresh-${String(++counter)}`, 'mcp.json'));
    const change = await planInstall(location, SERVER);
    assert.equal(change.before, undefined);
    assert.deepEqual(parseJsonc(change.after ?? ''), { mcpServers: { internalize: ENTRY } });
    assert.match(unifiedDiff(change), /^--- \/dev\/null$/mu);
    applyChange(change, { recordsDir: records });
    const removal = await planUninstall(location, { recordsDir: records });
    assert.equal(removal.after, undefined);
    applyChange(removal, { recordsDir: records });
    assert.equal(existsSync(location.path), false);
  });

  it('replaces an outdated entry of ours in place, JSON and TOML', async () => {
    const json = copy('cline_mcp_settings.json', 'cline');
    applyChange(await planInstall(json, serverCommand('/old/dist/cli.js', '/old.db')), { recordsDir: records });
    const update = await planInstall(json, SERVER);
    assert.equal(update.status, 'replace');
    assert.deepEqual(servers(json, update.after ?? '').internalize, ENTRY);
    const toml = copy('codex-config.toml', 'codex');
    const original = readFileSync(toml.path, 'utf8');
    applyChange(await planInstall(toml, serverCommand('/old/dist/cli.js', '/old.db')), { recordsDir: records });
    const tomlUpdate = await planInstall(toml, SERVER);
    assert.equal(tomlUpdate.status, 'replace');
    applyChange(tomlUpdate, { recordsDir: records });
    assert.deepEqual(servers(toml, readFileSync(toml.path, 'utf8')).internalize, ENTRY);
    // The record keeps the user's own file from before the first install, so uninstall still restores it.
    applyChange(await planUninstall(toml, { recordsDir: records }), { recordsDir: records });
    assert.equal(readFileSync(toml.path, 'utf8'), original);
  });

  it('keeps CRLF line ends and the file mode, and edits the file behind a symbolic link', async () => {
    const location = copy('claude-code.mcp.json', 'claude-code');
    writeFileSync(location.path, readFileSync(location.path, 'utf8').replace(/\n/gu, '\r\n'));
    chmodSync(location.path, 0o640);
    const link = join(root, `link-${String(++counter)}.json`);
    symlinkSync(location.path, link);
    const change = await planInstall(locationForPath('claude-code', link), SERVER);
    assert.ok(!/[^\r]\n/u.test(change.after ?? ''), 'every line ends with CRLF');
    applyChange(change, { recordsDir: records });
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(statSync(location.path).mode & 0o777, 0o640);
    assert.deepEqual(servers(location, readFileSync(location.path, 'utf8')).internalize, ENTRY);
  });

  it('quotes paths with spaces, quotes and backslashes so each agent reads them back', async () => {
    const odd = serverCommand('C:\\Program Files\\Internalize "x"\\dist\\cli.js', '/tmp/a b/internalize.db');
    for (const [fixture, agent] of [['codex-config.toml', 'codex'], ['gemini-settings.json', 'gemini-cli']] as const) {
      const location = copy(fixture, agent);
      const change = await planInstall(location, odd);
      assert.deepEqual(servers(location, change.after ?? '').internalize, { command: 'node', args: [...odd.args] });
    }
  });

  it('keeps JSONC comments and an empty "mcpServers" object, and a TOML file without a final newline', async () => {
    const gemini = copy('gemini-settings.json', 'gemini-cli');
    const commented = '{\n  // my theme\n  "theme": "GitHub", /* keep */\n  "mcpServers": {}\n}\n';
    writeFileSync(gemini.path, commented);
    const change = await planInstall(gemini, SERVER);
    assert.equal(change.after, '{\n  // my theme\n  "theme": "GitHub", /* keep */\n  "mcpServers": {\n    "internalize": ' + JSON.stringify(ENTRY, null, 2).split('\n').join('\n    ') + '\n  }\n}\n');
    applyChange(change, { recordsDir: records });
    // Without the record (another machine's install), uninstall still leaves the user's text as it was.
    rmSync(records, { recursive: true, force: true });
    const removal = await planUninstall(gemini, { recordsDir: records });
    assert.equal(removal.status, 'remove');
    assert.equal(removal.after, commented);

    const codex = copy('codex-mcp-servers.toml', 'codex');
    const bare = 'model = "o3" # mine';
    writeFileSync(codex.path, bare);
    const added = await planInstall(codex, SERVER);
    assert.ok(added.after?.startsWith(`${bare}\n\n[mcp_servers.internalize]\n`));
    applyChange(added, { recordsDir: records });
    applyChange(await planUninstall(codex, { recordsDir: records }), { recordsDir: records });
    assert.equal(readFileSync(codex.path, 'utf8'), bare);
  });

  it('tells a picker whether each file has the server, and why one cannot be read', async () => {
    const json = copy('claude-code.mcp.json', 'claude-code');
    const toml = copy('codex-config.toml', 'codex');
    assert.deepEqual(await installState(json), { state: 'absent' });
    assert.deepEqual(await installState(locationForPath('cursor', join(root, 'nowhere', 'mcp.json'))), { state: 'no-file' });
    applyChange(await planInstall(json, SERVER), { recordsDir: records });
    applyChange(await planInstall(toml, SERVER), { recordsDir: records });
    assert.deepEqual(await installState(json), { state: 'installed' });
    assert.deepEqual(await installState(toml), { state: 'installed' });
    writeFileSync(json.path, '{ "mcpServers": ');
    const invalid = await installState(json);
    assert.equal(invalid.state, 'invalid');
    assert.match('message' in invalid ? invalid.message : '', /:1:\d+: not valid JSON/u);
  });

  it('knows where every agent keeps its file', () => {
    const ctx = { home: '/home/dev', cwd: '/work/project', platform: 'linux' as const, env: {} };
    assert.deepEqual(
      AGENTS.flatMap((a) => configLocations(a, ctx).map((l) => l.path)),
      [
        '/home/dev/.claude.json',
        '/work/project/.mcp.json',
        '/home/dev/.codex/config.toml',
        '/home/dev/.gemini/settings.json',
        '/home/dev/.config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json',
        '/home/dev/.cursor/mcp.json',
      ],
    );
    assert.equal(configLocations('codex', { ...ctx, env: { CODEX_HOME: '/srv/codex' } })[0]?.path, '/srv/codex/config.toml');
    assert.equal(configLocations('cline', { ...ctx, vscodeGlobalStorage: '/ud/User/globalStorage' })[0]?.path, '/ud/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json');
  });
});
