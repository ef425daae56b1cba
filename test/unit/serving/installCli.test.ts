import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseJsonc } from 'jsonc-parser';
import { runCli } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/context.js';

const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'mcp-config');

let home: string;
before(() => {
  home = mkdtempSync(join(tmpdir(), 'internalize-mcp-install-cli-'));
});
after(() => {
  rmSync(home, { recursive: true, force: true });
});

function io(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env: { HOME: home },
    cwd: home,
    stdout: () => out,
    stderr: () => err,
  };
}

describe('internalize mcp install | uninstall', () => {
  it('--dry-run prints the exact change and writes nothing; install then uninstall gives the file back', async () => {
    const cursor = join(home, '.cursor', 'mcp.json');
    mkdirSync(join(home, '.cursor'), { recursive: true });
    copyFileSync(join(FIXTURES, 'cursor-mcp.json'), cursor);
    const original = readFileSync(cursor, 'utf8');

    const dry = io();
    assert.equal(await runCli(['mcp', 'install', '--agent', 'cursor', '--db', 'store.db', '--dry-run'], dry), 0);
    assert.match(dry.stdout(), /^Add the "internalize" server to .*mcp\.json \(Cursor\)/u);
    assert.match(dry.stdout(), /^\+\t\t"internalize": \{$/mu);
    assert.match(dry.stdout(), /Dry run: nothing was written\./u);
    assert.equal(readFileSync(cursor, 'utf8'), original);

    const run = io();
    assert.equal(await runCli(['mcp', 'install', '--agent', 'cursor', '--db', 'store.db'], run), 0, run.stderr());
    const written = parseJsonc(readFileSync(cursor, 'utf8')) as { mcpServers: Record<string, { command: string; args: string[] }> };
    assert.deepEqual(written.mcpServers.internalize, { command: 'node', args: [resolve(__dirname, '..', '..', '..', 'dist', 'cli.js'), 'mcp', '--db', join(home, 'store.db')] });
    assert.deepEqual(Object.keys(written.mcpServers), ['eslint', 'context7', 'internalize']);

    const again = io();
    assert.equal(await runCli(['mcp', 'install', '--agent', 'cursor', '--db', 'store.db'], again), 0);
    assert.match(again.stdout(), /already starts the Internalize server/u);

    const removal = io();
    assert.equal(await runCli(['mcp', 'uninstall', '--agent', 'cursor'], removal), 0, removal.stderr());
    assert.match(removal.stdout(), /Restore .* exactly as it was before the install/u);
    assert.equal(readFileSync(cursor, 'utf8'), original);
  });

  it('--config names another file (a Claude Code project .mcp.json), in TOML for Codex by its name', async () => {
    const project = join(home, 'project');
    mkdirSync(project, { recursive: true });
    const toml = join(project, 'codex.toml');
    copyFileSync(join(FIXTURES, 'codex-mcp-servers.toml'), toml);
    const run = io();
    assert.equal(await runCli(['mcp', 'install', '--agent', 'codex', '--config', toml], run), 0, run.stderr());
    assert.match(readFileSync(toml, 'utf8'), /\n\n\[mcp_servers\.internalize\]\ncommand = "node"\nargs = \[".*cli\.js", "mcp", "--db", ".*internalize\.db"\]\n$/u);
    assert.equal(await runCli(['mcp', 'uninstall', '--agent', 'codex', '--config', toml], io()), 0);
    assert.equal(readFileSync(toml, 'utf8'), readFileSync(join(FIXTURES, 'codex-mcp-servers.toml'), 'utf8'));
  });

  it('a file that is not valid JSON: exit 1, the place named, the file untouched', async () => {
    const gemini = join(home, '.gemini', 'settings.json');
    mkdirSync(join(home, '.gemini'), { recursive: true });
    writeFileSync(gemini, '{\n  "theme": "GitHub",\n  "mcpServers": {\n');
    const run = io();
    assert.equal(await runCli(['mcp', 'install', '--agent', 'gemini-cli'], run), 1);
    assert.match(run.stderr(), /settings\.json:4:1: not valid JSON .*left untouched/u);
    assert.equal(readFileSync(gemini, 'utf8'), '{\n  "theme": "GitHub",\n  "mcpServers": {\n');
  });

  it('usage errors name what is wrong: a missing or unknown agent, --db on uninstall', async () => {
    const missing = io();
    assert.equal(await runCli(['mcp', 'install'], missing), 2);
    assert.match(missing.stderr(), /--agent is required: one of claude-code, codex, gemini-cli, cline, cursor/u);
    const unknown = io();
    assert.equal(await runCli(['mcp', 'install', '--agent', 'aider'], unknown), 2);
    assert.match(unknown.stderr(), /--agent must be one of .*; got "aider"/u);
    const db = io();
    assert.equal(await runCli(['mcp', 'uninstall', '--agent', 'cursor', '--db', 'x.db'], db), 2);
    assert.match(db.stderr(), /--db is for install/u);
  });
});
