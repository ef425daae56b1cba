import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { lexicalTextEmbedder } from '../../../src/core/embedding/lexical.js';
import { createServer } from '../../../src/mcp/server.js';
import { parseOutcomeInput, parsePrinciplesInput, ToolInputError } from '../../../src/extension/serving/toolInput.js';

interface ToolContribution {
  readonly name: string;
  readonly modelDescription: string;
  readonly inputSchema: Record<string, unknown>;
  readonly canBeReferencedInPrompt?: boolean;
  readonly toolReferenceName?: string;
}

const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { contributes: { languageModelTools: ToolContribution[] } };
const contributed = new Map(pkg.contributes.languageModelTools.map((t) => [t.name, t]));

describe('the language-model tools have the MCP tools’ contract', () => {
  it('declares input schemas identical to the MCP server’s tools', async () => {
    const server = createServer({
      dbPath: join(__dirname, 'no-such-store.db'),
      resolveEmbedder: () => Promise.resolve(lexicalTextEmbedder()),
    });
    const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'contract-test', version: '1' });
    await client.connect(clientSide);
    try {
      const { tools } = await client.listTools();
      for (const [mcpName, lmName] of [
        ['principles_for_state', 'internalize_principles_for_state'],
        ['report_principle_outcome', 'internalize_report_principle_outcome'],
      ] as const) {
        const mcp = tools.find((t) => t.name === mcpName);
        assert.ok(mcp, `the MCP server lists ${mcpName}`);
        const { $schema: _dialect, ...schema } = mcp.inputSchema as Record<string, unknown>;
        const lm = contributed.get(lmName);
        assert.ok(lm, `package.json contributes ${lmName}`);
        assert.deepEqual(lm.inputSchema, schema, `${lmName} takes what ${mcpName} takes`);
        assert.equal(lm.canBeReferencedInPrompt, true);
        assert.ok(lm.toolReferenceName !== undefined && lm.toolReferenceName !== '');
      }
      const principles = contributed.get('internalize_principles_for_state');
      assert.match(principles?.modelDescription ?? '', /Call it at decision points/u);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

describe('principles tool input', () => {
  it('maps a full input onto the serving request, trimming the model and workspace', () => {
    const request = parsePrinciplesInput({
      task: 'Fix the failing date parser test',
      steps: [{ action: 'npm test', observation: 'FAIL parse.test.ts', tool: 'Bash', isError: true }],
      k: 3,
      model: '  qwen2.5-coder-1.5b  ',
      workspace: ' /work/app ',
    });
    assert.deepEqual(request, {
      state: { task: 'Fix the failing date parser test', steps: [{ action: 'npm test', observation: 'FAIL parse.test.ts', tool: 'Bash', isError: true }] },
      k: 3,
      model: 'qwen2.5-coder-1.5b',
      workspace: '/work/app',
    });
  });

  it('accepts a free-text situation alone and leaves blank optional fields out', () => {
    assert.deepEqual(parsePrinciplesInput({ text: 'about to force-push', model: '   ', workspace: '' }), { state: { text: 'about to force-push' } });
  });

  it('keeps a 1 MB observation whole for the serving core to cut', () => {
    const observation = 'x'.repeat(1024 * 1024);
    const request = parsePrinciplesInput({ steps: [{ observation }] });
    assert.equal(request.state.steps?.[0]?.observation?.length, observation.length);
  });

  for (const [input, field] of [
    [{ k: 0 }, /k: Too small/u],
    [{ k: 9 }, /k: Too big/u],
    [{ k: 2.5 }, /k: .*expected int/u],
    [{ steps: 'npm test' }, /steps: .*array/u],
    [{ steps: [{ isError: 'yes' }] }, /steps\.0\.isError: .*boolean/u],
    [{ task: 42 }, /task: .*string/u],
    ['just text', /\(input\): .*object/u],
  ] as const) {
    it(`rejects ${JSON.stringify(input)} naming the field`, () => {
      assert.throws(
        () => parsePrinciplesInput(input),
        (error: unknown) => {
          assert.ok(error instanceof ToolInputError);
          assert.match(error.message, /^internalize_principles_for_state: invalid input — /u);
          assert.match(error.message, field);
          assert.match(error.message, /call it again/u);
          return true;
        },
      );
    });
  }
});

describe('outcome tool input', () => {
  it('maps the MCP field names onto recordOutcome’s', () => {
    assert.deepEqual(parseOutcomeInput({ id: ' P12 ', verdict: 'harmful', note: 'it made me skip the tests', callId: 'c-1' }), { principleId: 'P12', verdict: 'harmful', note: 'it made me skip the tests', callId: 'c-1' });
    assert.deepEqual(parseOutcomeInput({ id: 'P3', verdict: 'helpful' }), { principleId: 'P3', verdict: 'helpful' });
  });

  for (const [input, field] of [
    [{ verdict: 'helpful' }, /id: /u],
    [{ id: '', verdict: 'helpful' }, /id: Too small/u],
    [{ id: 'P1', verdict: 'great' }, /verdict: /u],
    [{ id: 'P1', verdict: 'helpful', note: 'n'.repeat(2001) }, /note: Too big/u],
  ] as const) {
    it(`rejects ${JSON.stringify(input).slice(0, 60)} naming the field`, () => {
      assert.throws(() => parseOutcomeInput(input), (error: unknown) => error instanceof ToolInputError && field.test(error.message) && error.message.startsWith('internalize_report_principle_outcome: invalid input'));
    });
  }
});
