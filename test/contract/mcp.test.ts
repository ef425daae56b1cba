/**
 * `internalize mcp` as an agent runs it: the bundled command line started as a subprocess, spoken to
 * over stdio by the MCP SDK's own client. The store holds a real SWE-agent run imported through the
 * capture core and principles added through curation; the decision state sent is that run's, before
 * the edit that fixed it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { build } from 'esbuild';
import { parse as parseJsonc } from 'jsonc-parser';
import { runCli } from '../../src/cli/main.js';
import { proposeOps } from '../../src/core/experience/curation.js';
import { applyChange, locationForPath, planInstall, serverCommand } from '../../src/core/serving/install.js';
import { openStore } from '../../src/core/store/index.js';
import { ServeCallRepository } from '../../src/core/store/serveCalls.js';
import type { Trajectory } from '../../src/core/trajectory.js';

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'swe-agent', '6e44b9__sweagenttestrepo-1c2844.traj');
/** Inside the repository, so the bundle finds better-sqlite3 and onnxruntime-node in node_modules as dist/ does. */
const BUILD = join(ROOT, '.cache', 'mcp-contract');
const MODELS = join(ROOT, '.cache', 'models');

const SYNTAX = 'When a Python script fails with a SyntaxError, read the line the traceback names and look for a missing colon or bracket before changing anything else.';
const PRINCIPLES = [
  'When tests fail, read the failing test output and the code under test before editing anything.',
  'When you have edited code, re-run the failing tests to confirm the fix before finishing.',
  'When a shell command is not found, install the missing tool or use an available alternative.',
  SYNTAX,
  'When a deploy hangs, check that the remote host is reachable before retrying.',
  'When searching a web page for a price, open the official page rather than trusting snippets.',
];

interface Served {
  principles: { id: string; text: string; score: number; why: string }[];
  callId: string;
  truncated: boolean;
  poolSize: number;
  message?: string;
}

let dir = '';
let db = '';
let cli = '';
let syntaxId = '';
let state: { task: string; steps: { tool: string; action: string; observation: string }[] } = { task: '', steps: [] };
const env: Record<string, string> = {};

/** The decision state before `stepIndex`, as an agent would send it: the task and the steps so far. */
function stateBefore(trajectory: Trajectory, stepIndex: number): typeof state {
  return {
    task: trajectory.task,
    steps: trajectory.steps
      .filter((s) => s.index < stepIndex)
      .map((s) => ({ tool: s.toolCalls[0]?.name ?? '', action: JSON.stringify(s.toolCalls[0]?.arguments ?? {}), observation: s.observations.map((o) => o.content).join('\n') })),
  };
}

async function connect(dbPath = db): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [cli, 'mcp', '--db', dbPath], env, stderr: 'pipe', cwd: dir });
  let err = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const client = new Client({ name: 'contract-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => err };
}

function served(result: Awaited<ReturnType<Client['callTool']>>): Served {
  assert.notEqual(result.isError, true, JSON.stringify(result.content));
  return result.structuredContent as Served;
}

function textOf(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = result.content as { type: string; text?: string }[];
  return content.map((c) => c.text ?? '').join('\n');
}

describe('internalize mcp over stdio', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'internalize-mcp-'));
    db = join(dir, 'i.db');
    mkdirSync(BUILD, { recursive: true });
    // The same bundles, with esbuild.js's Node options, that `npm run build` makes (dist/cli.js, dist/embeddingWorker.js), built here so the test runs before packaging.
    await build({
      bundle: true, platform: 'node', format: 'cjs', target: 'node20', external: ['vscode', 'better-sqlite3', 'onnxruntime-node'], mainFields: ['module', 'main'], logLevel: 'warning',
      entryPoints: { cli: join(ROOT, 'src', 'cli', 'main.ts'), embeddingWorker: join(ROOT, 'src', 'core', 'embedding', 'onnxWorker.ts') },
      outdir: BUILD,
    });
    cli = join(BUILD, 'cli.js');
    Object.assign(env, { HOME: dir, PATH: process.env.PATH ?? '' }, existsSync(join(MODELS, 'minilm')) ? { INTERNALIZE_MODELS_DIR: MODELS } : {});
    const io = { out: (): void => undefined, err: (s: string): void => assert.fail(s), env: { HOME: dir }, cwd: dir };
    assert.equal(await runCli(['import', '--db', db, FIXTURE], io), 0);
    const store = openStore(db);
    try {
      proposeOps(store, PRINCIPLES.map((text) => ({ kind: 'ADD' as const, text, rationale: 'contract test', evidence: [] })), { origin: 'manual', autoAccept: true });
      syntaxId = store.principles.list({ status: 'accepted' }).find((p) => p.text === SYNTAX)?.id ?? '';
      const [summary] = store.trajectories.list({});
      const trajectory = summary === undefined ? undefined : store.trajectories.get(summary.id);
      assert.ok(trajectory !== undefined);
      // Step 2 is the edit that added the colon: before it, the agent has read the traceback and opened the file.
      state = stateBefore(trajectory, 2);
    } finally {
      store.close();
    }
    assert.ok(syntaxId !== '');
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists its tools and the pool as resources, and serves the fitting principle first for a real run', async () => {
    const { client, stderr } = await connect();
    try {
      const tools = await client.listTools();
      assert.deepEqual(tools.tools.map((t) => t.name).sort(), ['principles_for_state', 'report_principle_outcome']);
      const principlesTool = tools.tools.find((t) => t.name === 'principles_for_state');
      assert.match(principlesTool?.description ?? '', /before running a destructive/u);
      const resources = await client.listResources();
      const uris = resources.resources.map((r) => r.uri);
      assert.ok(uris.includes('internalize://principles'));
      assert.ok(uris.includes(`internalize://principles/${syntaxId}`), uris.join(' '));
      const pool = await client.readResource({ uri: 'internalize://principles' });
      const listed = JSON.parse((pool.contents[0] as { text: string }).text) as { principles: { id: string }[] };
      assert.equal(listed.principles.length, PRINCIPLES.length);
      const one = await client.readResource({ uri: `internalize://principles/${syntaxId}` });
      assert.match((one.contents[0] as { text: string }).text, /SyntaxError/u);

      const result = await client.callTool({ name: 'principles_for_state', arguments: { ...state, k: 3 } });
      const answer = served(result);
      assert.equal(answer.principles[0]?.id, syntaxId, `${JSON.stringify(answer.principles.map((p) => [p.id, p.score]))}\n${stderr()}`);
      assert.match(textOf(result), new RegExp(`1\\. \\[${syntaxId}\\] When a Python script fails`, 'u'));
      assert.match(textOf(result), new RegExp(`callId ${answer.callId}`, 'u'));
      console.log(`served ${answer.principles.map((p) => `${p.id} ${p.score.toFixed(3)}`).join(', ')}; ${stderr().trim().split('\n').find((l) => l.includes('embedder')) ?? ''}`);
    } finally {
      await client.close();
    }
  });

  it('answers malformed arguments with a schema error and keeps serving', async () => {
    const { client } = await connect();
    try {
      const bad = await client.callTool({ name: 'principles_for_state', arguments: { task: 42, steps: 'not a list' } });
      assert.equal(bad.isError, true);
      assert.match(textOf(bad), /Input validation error.*task/su);
      const badK = await client.callTool({ name: 'principles_for_state', arguments: { text: 'tests fail', k: 50 } });
      assert.equal(badK.isError, true);
      assert.match(textOf(badK), /k/u);
      const empty = await client.callTool({ name: 'principles_for_state', arguments: {} });
      assert.equal(empty.isError, true);
      assert.match(textOf(empty), /decision state is empty/u);
      const badVerdict = await client.callTool({ name: 'report_principle_outcome', arguments: { id: syntaxId, verdict: 'great' } });
      assert.equal(badVerdict.isError, true);
      assert.match(textOf(badVerdict), /verdict/u);
      assert.equal(served(await client.callTool({ name: 'principles_for_state', arguments: { ...state, k: 3 } })).principles[0]?.id, syntaxId);
    } finally {
      await client.close();
    }
  });

  it('serves four clients at once while the store is being written', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map(() => connect()));
    const writer = openStore(db);
    try {
      const before = new ServeCallRepository(writer.db).count();
      // The extension writing meanwhile: a write transaction is held while the calls start; readers go on, the call log waits for it.
      writer.db.exec('BEGIN IMMEDIATE');
      // Half a write: 50 principles accepted in one transaction are seen all together or not at all.
      const model = writer.principles.get(syntaxId);
      assert.ok(model !== undefined);
      for (let i = 0; i < 50; i++) writer.principles.save({ ...model, id: `P${String(900 + i)}`, text: `When deploy stage ${String(i)} is rolled back, read its rollback log before deploying again.` });
      const calls = clients.map(({ client }, i) => client.callTool({ name: 'principles_for_state', arguments: { ...state, k: 2, model: `agent-${String(i)}` } }));
      setTimeout(() => writer.db.exec('COMMIT'), 300);
      const answers = (await Promise.all(calls)).map(served);
      for (const a of answers) {
        assert.equal(a.principles[0]?.id, syntaxId);
        // Read before the commit or after it (the reads do not wait for the writer), never in between.
        assert.ok(a.poolSize === PRINCIPLES.length || a.poolSize === PRINCIPLES.length + 50, `pool of ${String(a.poolSize)}`);
      }
      assert.equal(new Set(answers.map((a) => a.callId)).size, 4);
      assert.equal(new ServeCallRepository(writer.db).count(), before + 4);
      const afterCommit = served(await clients[0]?.client.callTool({ name: 'principles_for_state', arguments: { text: 'deploy stage 7 was rolled back' } }) ?? assert.fail('no client'));
      assert.equal(afterCommit.poolSize, PRINCIPLES.length + 50, 'committed: served from the next call on');
      assert.match(afterCommit.principles[0]?.text ?? '', /^When deploy stage \d+ is rolled back/u);
    } finally {
      if (writer.db.inTransaction) writer.db.exec('COMMIT');
      writer.close();
      await Promise.all(clients.map(({ client }) => client.close()));
    }
  });

  it('records feedback by id, refuses an unknown id by name, and cuts a 1 MB state instead of refusing it', async () => {
    const { client } = await connect();
    try {
      const big = `Traceback (most recent call last):\n${'  File "missing_colon.py", line 4\n'.repeat(30_000)}SyntaxError: invalid syntax`;
      assert.ok(big.length > 1_000_000);
      const answer = served(await client.callTool({ name: 'principles_for_state', arguments: { task: state.task, steps: [{ tool: 'bash', action: 'python3 missing_colon.py', observation: big }] } }));
      assert.equal(answer.truncated, true);
      assert.equal(answer.principles[0]?.id, syntaxId);
      const ok = await client.callTool({ name: 'report_principle_outcome', arguments: { id: syntaxId, verdict: 'helpful', note: 'found the colon', callId: answer.callId } });
      assert.notEqual(ok.isError, true, textOf(ok));
      assert.match(textOf(ok), new RegExp(`Recorded: ${syntaxId} helpful \\(now helpful 1, harmful 0\\)`, 'u'));
      const unknown = await client.callTool({ name: 'report_principle_outcome', arguments: { id: 'P999', verdict: 'harmful' } });
      assert.equal(unknown.isError, true);
      assert.match(textOf(unknown), /No principle "P999"/u);
      assert.equal(served(await client.callTool({ name: 'principles_for_state', arguments: { text: 'SyntaxError: invalid syntax in a Python script' } })).principles[0]?.id, syntaxId);
    } finally {
      await client.close();
    }
  });

  it('starts from the entry the installer wrote into an agent\'s file, as an agent outside the editor starts it', async () => {
    // Installed from the editor's Electron, the entry runs the editor's executable as Node; here this
    // test's Node plays that executable (it ignores ELECTRON_RUN_AS_NODE), so the whole entry is exercised.
    const config = join(dir, 'cursor-mcp.json');
    copyFileSync(join(ROOT, 'test', 'fixtures', 'mcp-config', 'cursor-mcp.json'), config);
    const server = serverCommand(cli, db, { execPath: process.execPath, electron: 'editor' });
    applyChange(await planInstall(locationForPath('cursor', config), server), { recordsDir: join(dir, 'install-records') });
    const entry = (parseJsonc(readFileSync(config, 'utf8')) as { mcpServers: Record<string, { command: string; args: string[]; env?: Record<string, string> }> }).mcpServers.internalize;
    assert.ok(entry !== undefined);
    assert.deepEqual(entry.env, { ELECTRON_RUN_AS_NODE: '1' });
    const transport = new StdioClientTransport({ command: entry.command, args: entry.args, env: { ...env, ...entry.env }, stderr: 'pipe', cwd: dir });
    const client = new Client({ name: 'agent-outside-the-editor', version: '1.0.0' });
    await client.connect(transport);
    try {
      const answer = served(await client.callTool({ name: 'principles_for_state', arguments: { ...state, k: 3 } }));
      assert.equal(answer.principles[0]?.id, syntaxId);
    } finally {
      await client.close();
    }
  });

  it('says what to do with an empty or a missing store, without crashing', async () => {
    const emptyDb = join(dir, 'empty.db');
    openStore(emptyDb).close();
    for (const path of [emptyDb, join(dir, 'nowhere', 'missing.db')]) {
      const { client } = await connect(path);
      try {
        const answer = served(await client.callTool({ name: 'principles_for_state', arguments: { text: 'tests fail' } }));
        assert.deepEqual(answer.principles, []);
        assert.match(answer.message ?? '', path === emptyDb ? /no accepted principles yet/u : /No Internalize store at .*missing\.db/u);
        const pool = await client.readResource({ uri: 'internalize://principles' });
        assert.match((pool.contents[0] as { text: string }).text, /"principles": \[\]/u);
        assert.ok((await client.listTools()).tools.length === 2, 'still serving');
      } finally {
        await client.close();
      }
    }
    assert.equal(existsSync(join(dir, 'nowhere')), false, 'a missing store is not created');
  });
});
