/**
 * The MCP server in-process (the SDK's in-memory transport, a test embedder): what it answers for
 * each tool and resource. test/contract/mcp.test.ts runs the bundled command over stdio with the
 * real embedder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { openStore } from '../../../src/core/store/index.js';
import { ServeCallRepository } from '../../../src/core/store/serveCalls.js';
import { createServer, POOL_URI } from '../../../src/mcp/server.js';
import { hashedEmbedder, POOL } from '../injection/helpers.js';
import { seededStore, testFolder } from '../serving/storeFixture.js';

async function connected(t: { after: (fn: () => Promise<void> | void) => void }, dbPath: string): Promise<{ client: Client; logs: string[] }> {
  const logs: string[] = [];
  const server = createServer({ dbPath, resolveEmbedder: () => Promise.resolve(hashedEmbedder()), log: (l) => logs.push(l) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'unit-agent', version: '0' });
  await client.connect(clientSide);
  t.after(async () => {
    await client.close();
    await server.close();
  });
  return { client, logs };
}

function text(result: Awaited<ReturnType<Client['callTool']>>): string {
  return (result.content as { text?: string }[]).map((c) => c.text ?? '').join('\n');
}

test('the tools answer from the store: principles with ids and reasons, feedback, the pool as resources', async (t) => {
  const { store, db } = seededStore(t);
  const { client } = await connected(t, db);

  const result = await client.callTool({
    name: 'principles_for_state',
    arguments: { task: 'Fix the failing test in the orders module', steps: [{ tool: 'Bash', action: 'pytest tests/test_orders.py', observation: 'FAILED tests/test_orders.py::test_total', isError: true }], k: 3 },
  });
  assert.notEqual(result.isError, true, text(result));
  const answer = result.structuredContent as { principles: { id: string }[]; callId: string };
  assert.equal(answer.principles[0]?.id, 'P1');
  assert.match(text(result), /^Principles for this state \(callId [0-9a-f-]{36}\):\n1\. \[P1\] When tests fail/mu);
  // The client's name from the MCP handshake is what the log records.
  assert.equal(new ServeCallRepository(store.db).get(answer.callId)?.client, 'unit-agent');

  const reported = await client.callTool({ name: 'report_principle_outcome', arguments: { id: 'P1', verdict: 'harmful', note: 'it sent me to the wrong file', callId: answer.callId } });
  assert.match(text(reported), /Recorded: P1 harmful \(now helpful 0, harmful 1\)/u);
  assert.equal(store.principles.get('P1')?.harmful, 1);
  const unknownCall = await client.callTool({ name: 'report_principle_outcome', arguments: { id: 'P1', verdict: 'helpful', callId: 'not-a-call' } });
  assert.equal(unknownCall.isError, true);
  assert.match(text(unknownCall), /No principles_for_state call "not-a-call"/u);

  const listed = await client.listResources();
  assert.deepEqual(listed.resources.map((r) => r.uri).sort(), [POOL_URI, ...POOL.map((p) => `${POOL_URI}/${p.id}`)].sort());
  const one = await client.readResource({ uri: `${POOL_URI}/P1` });
  assert.match((one.contents[0] as { text: string }).text, /^# P1\n\nWhen tests fail.*\n- helpful: 0, harmful: 1$/su);
  await assert.rejects(client.readResource({ uri: `${POOL_URI}/P404` }), /No accepted principle "P404"/u);
});

test('a store that appears after the server started is served from the next call on', async (t) => {
  const db = join(testFolder(t), 'later.db');
  const { client } = await connected(t, db);
  const before = await client.callTool({ name: 'principles_for_state', arguments: { text: 'tests fail' } });
  assert.match(text(before), /No Internalize store at .*later\.db yet/u);
  const reported = await client.callTool({ name: 'report_principle_outcome', arguments: { id: 'P1', verdict: 'helpful' } });
  assert.equal(reported.isError, true);
  const store = openStore(db);
  store.transaction(() => {
    for (const p of POOL) store.principles.save(p);
  });
  store.close();
  const after = await client.callTool({ name: 'principles_for_state', arguments: { text: 'When tests fail, read the failing test output' } });
  assert.equal((after.structuredContent as { principles: { id: string }[] }).principles[0]?.id, 'P1');
});
