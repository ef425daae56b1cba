/**
 * CONTRACT: the OpenAI-compatible client of the LanguageModel port against a real llama.cpp server
 * (llama-cpp-python, pinned in scripts/setup-llama-server.sh) serving SmolLM2-135M-Instruct on
 * 127.0.0.1, started and stopped here: a whole answer, a streamed one, a timeout, a server killed
 * in the middle of a streamed answer, a model name the server does not serve, and structured output
 * (the server refuses OpenAI's json_schema format; the client falls back to its json_object form); and the
 * server helper the editor uses: started on demand, stopped with its process group when idle (the idle
 * time injected), a readiness timeout, a fixed port that is taken.
 * Skipped, with the reason, where scripts/setup-llama-server.sh has not run; INTERNALIZE_REQUIRE_LLAMA=1
 * turns that skip into a failure (for runs that did set it up).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { z } from 'zod';
import { openAiCompatibleModel } from '../../src/core/llm/openaiCompatible.js';
import { LanguageModelError } from '../../src/core/llm/languageModel.js';
import type { LanguageModel } from '../../src/core/llm/languageModel.js';
import { chatStructured } from '../../src/core/llm/structured.js';
import { LlamaServerError, OnDemandLlamaServer, onDemandModel, startLlamaServer as startServer } from '../../src/core/llm/llamaServer.js';
import { LLAMA_ALIAS, llamaEnvironment, startLlamaServer } from './llamaServer.js';
import { sseChunks, startReplayServer } from '../unit/llm/replayServer.js';
import type { LlamaEnvironment, LlamaServer } from './llamaServer.js';

const found = llamaEnvironment();
if (typeof found === 'string' && process.env.INTERNALIZE_REQUIRE_LLAMA === '1') throw new Error(`INTERNALIZE_REQUIRE_LLAMA=1 but ${found}`);
const skip = typeof found === 'string' ? `llama.cpp server tests skipped: ${found}` : false;
const env = found as LlamaEnvironment;

const noSleep = (): Promise<void> => Promise.resolve();
const capital = [{ role: 'user' as const, content: 'What is the capital of France? Answer in one sentence.' }];
// Greedy decoding answers this with more than 600 tokens (checked), several seconds of generation:
// no answer to it finishes within the timeouts and kill delays below.
const long = [{ role: 'user' as const, content: 'Write a long, detailed essay about the history of computing, from the abacus to the smartphone, in at least 1500 words.' }];

function client(server: LlamaServer, extra: Partial<Parameters<typeof openAiCompatibleModel>[0]> = {}): LanguageModel {
  return openAiCompatibleModel({ baseUrl: server.baseUrl, model: LLAMA_ALIAS, sleep: noSleep, ...extra });
}

describe('llama.cpp server (llama-cpp-python) with SmolLM2-135M-Instruct', { timeout: 120_000 }, () => {
  let server: LlamaServer;
  before(async () => {
    if (skip === false) server = await startLlamaServer(env);
  });
  after(async () => {
    if (skip === false) await server.stop();
  });

  test('a whole (non-streamed) answer: greedy text, finish reason and usage', { skip }, async () => {
    const answer = await client(server, { stream: false }).chat({ messages: capital, maxTokens: 32, temperature: 0 });
    assert.match(answer.text, /Paris/u);
    assert.equal(answer.finishReason, 'stop');
    assert.ok(answer.usage !== undefined && answer.usage.promptTokens > 0 && answer.usage.completionTokens > 0 && answer.usage.completionTokens <= 32, JSON.stringify(answer.usage));
  });

  test('a streamed answer arrives in pieces, and greedy decoding gives the same text as the whole answer', { skip }, async () => {
    const pieces: string[] = [];
    const streamed = await client(server).chat({ messages: capital, maxTokens: 32, temperature: 0, onText: (p) => pieces.push(p) });
    const whole = await client(server, { stream: false }).chat({ messages: capital, maxTokens: 32, temperature: 0 });
    assert.ok(pieces.length > 1, `several pieces, got ${String(pieces.length)}`);
    assert.equal(pieces.join(''), streamed.text);
    assert.equal(streamed.text, whole.text);
    assert.equal(streamed.finishReason, 'stop');
  });

  test('max tokens cuts the answer with finish reason "length", streamed and whole', { skip }, async () => {
    const whole = await client(server, { stream: false }).chat({ messages: long, maxTokens: 5, temperature: 0 });
    assert.equal(whole.finishReason, 'length');
    assert.equal(whole.usage?.completionTokens, 5);
    const streamed = await client(server).chat({ messages: long, maxTokens: 5, temperature: 0 });
    assert.equal(streamed.finishReason, 'length');
    assert.equal(streamed.text, whole.text);
  });

  test('a model name the server does not serve: llama-cpp-python answers with its only model, no error', { skip }, async () => {
    // llama-cpp-python's LlamaProxy maps any unknown `model` to its default alias (unlike Ollama's 404,
    // which the unit tests cover), so the client cannot tell a mistyped name; /v1/models shows what is served.
    const answer = await openAiCompatibleModel({ baseUrl: server.baseUrl, model: 'gpt-4o-does-not-exist', sleep: noSleep, stream: false }).chat({ messages: capital, maxTokens: 32, temperature: 0 });
    const served = await client(server, { stream: false }).chat({ messages: capital, maxTokens: 32, temperature: 0 });
    assert.equal(answer.text, served.text);
    const models = (await (await fetch(`${server.baseUrl}/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(models.data.map((m) => m.id), [LLAMA_ALIAS]);
  });

  test('structured output: the server refuses the json_schema format, the client falls back to a grammar-enforced json_object', { skip }, async () => {
    const Person = z.object({ name: z.string(), age: z.number().int() });
    const model = client(server, { maxRetries: 0 });
    const person = await chatStructured(model, [{ role: 'user', content: 'Describe a fictional person as JSON with a name and an age.' }], Person, { name: 'person', maxTokens: 64 });
    assert.equal(typeof person.name, 'string');
    assert.equal(typeof person.age, 'number');
    // The fallback is remembered: the next structured request goes straight to json_object (no refusal, so maxRetries 0 is enough).
    const streamed = await model.chat({ messages: [{ role: 'user', content: 'Give a JSON object with a name.' }], jsonSchema: { name: 'n', schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } }, maxTokens: 64, temperature: 0 });
    assert.equal(typeof (JSON.parse(streamed.text) as { name: unknown }).name, 'string');
  });

  test('a client-side timeout on a long answer ends in a timeout error, and the server keeps serving', { skip }, async () => {
    const model = client(server, { timeoutMs: 300, maxRetries: 1 });
    await assert.rejects(model.chat({ messages: long, maxTokens: 2000, temperature: 0 }), (e: unknown) => {
      assert.ok(e instanceof LanguageModelError, String(e));
      assert.equal(e.kind, 'timeout');
      assert.equal(e.attempts, 2);
      assert.match(e.message, /^No answer within 0\.3 s \(endpoint http:\/\/127\.0\.0\.1:\d+\/v1, model "smollm2-135m-instruct", after 2 attempts\)\. .*raise the timeout/u);
      return true;
    });
    // The abandoned streams do not wedge the server: the next request is answered.
    const next = await client(server, { stream: false }).chat({ messages: capital, maxTokens: 32, temperature: 0 });
    assert.match(next.text, /Paris/u);
  });
});

describe('llama.cpp server killed in the middle of a streamed answer', { timeout: 120_000 }, () => {
  test('with a streaming callback: an interrupted error at once, the text already passed on is not sent again', { skip }, async (t) => {
    const server = await startLlamaServer(env);
    t.after(() => server.stop());
    const pieces: string[] = [];
    const answer = client(server, { maxRetries: 3 }).chat({
      messages: long,
      maxTokens: 2000,
      temperature: 0,
      onText: (p) => {
        if (pieces.push(p) === 3) server.process.kill('SIGKILL');
      },
    });
    await assert.rejects(answer, (e: unknown) => {
      assert.ok(e instanceof LanguageModelError, String(e));
      assert.equal(e.kind, 'interrupted');
      assert.equal(e.attempts, 1);
      assert.match(e.message, /^The connection closed in the middle of the answer, after \d+ characters of it had been passed on \(not retried, so they are not repeated\)/u);
      return true;
    });
    assert.ok(pieces.length >= 3);
  });

  test('without one: retried, and the error says the server was lost mid-answer and is now unreachable', { skip }, async (t) => {
    const server = await startLlamaServer(env);
    t.after(() => server.stop());
    // The answer takes several seconds, so a kill one second in lands in the middle of it.
    const kill = setTimeout(() => server.process.kill('SIGKILL'), 1_000);
    t.after(() => { clearTimeout(kill); });
    // The backoff lasts until the process is gone, so the retry meets a closed port rather than a dying process.
    const gone = new Promise<void>((resolve) => server.process.once('exit', () => { resolve(); }));
    await assert.rejects(client(server, { maxRetries: 1, sleep: () => gone }).chat({ messages: long, maxTokens: 2000, temperature: 0 }), (e: unknown) => {
      assert.ok(e instanceof LanguageModelError, String(e));
      assert.equal(e.kind, 'unreachable');
      assert.equal(e.attempts, 2);
      assert.match(e.message, /^Could not connect \(ECONNREFUSED\) \(endpoint .*, after 2 attempts; the first attempt: The connection closed in the middle of the answer\)\. Check that the server is running/u);
      return true;
    });
  });
});

/** Whether any process of `pid`'s process group is still there (the server leads its own group). */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(server: LlamaServer): Promise<void> {
  if (server.process.exitCode === null && server.process.signalCode === null) await once(server.process, 'exit');
}

describe('the server helper\'s lifecycle (src/core/llm/llamaServer.ts), as the editor runs the Qwen summarizer', { timeout: 180_000 }, () => {
  test('on demand: started by the first request, stopped with its process group once idle, started again on another port by the next', { skip }, async (t) => {
    const started: LlamaServer[] = [];
    const events: string[] = [];
    // The editor waits five minutes; the same code with one second.
    const onDemand = new OnDemandLlamaServer({ start: async () => started[started.push(await startLlamaServer(env)) - 1] as LlamaServer, idleMs: 1_000, onEvent: (line) => events.push(line) });
    t.after(() => onDemand.stop());
    const model = onDemandModel(onDemand, { alias: LLAMA_ALIAS, timeoutMs: 60_000 });
    assert.equal(onDemand.current(), undefined);

    assert.match((await model.chat({ messages: capital, maxTokens: 32, temperature: 0 })).text, /Paris/u);
    const first = started[0] as LlamaServer;
    const pid = first.process.pid as number;
    await gone(first);
    assert.equal(groupAlive(pid), false, 'the idle stop ended the whole process group');
    assert.equal(onDemand.current(), undefined);
    assert.match(events.join('\n'), /stopping llama\.cpp's server after 1 s unused/u);

    assert.match((await model.chat({ messages: capital, maxTokens: 32, temperature: 0 })).text, /Paris/u);
    assert.equal(started.length, 2);
    assert.notEqual(started[1]?.baseUrl, first.baseUrl);
    await onDemand.stop();
    await gone(started[1] as LlamaServer);
  });

  test('a server that is not ready in time is stopped, and the error says so with the log\'s end', { skip }, async () => {
    // Loading the model alone takes longer than this.
    await assert.rejects(startLlamaServer(env, 50), (e: unknown) => {
      assert.ok(e instanceof LlamaServerError);
      assert.equal(e.kind, 'timeout');
      assert.match(e.message, /^llama\.cpp's server did not answer within 0\.05 s \(.*\); it was stopped/u);
      return true;
    });
  });

  test('a fixed port held by a stranger is refused; a free fixed port is used', { skip }, async (t) => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    await assert.rejects(startServer({ ...env, alias: LLAMA_ALIAS, port }), { kind: 'port-in-use' });
    await new Promise<void>((resolve) => holder.close(() => { resolve(); }));
    const server = await startServer({ ...env, alias: LLAMA_ALIAS, port });
    t.after(() => server.stop());
    assert.equal(server.baseUrl, `http://127.0.0.1:${String(port)}/v1`);
  });
});

// llama-cpp-python 0.3.36's answer to `response_format: {type: 'json_schema'}`, as the server above gives it.
const llamaRefusal = {
  error: {
    message: "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}",
    type: 'internal_server_error',
  },
};

test('the json_object fallback sends the schema in the form llama-cpp-python reads, once, without a retry counted', async (t) => {
  const server = await startReplayServer([{ status: 500, json: llamaRefusal }, { sse: sseChunks(['{"a":1}']) }, { sse: sseChunks(['{"a":2}']) }]);
  t.after(() => server.close());
  const model = openAiCompatibleModel({ baseUrl: server.baseUrl, model: 'm', maxRetries: 0, sleep: noSleep });
  const jsonSchema = { name: 'a', schema: { type: 'object', properties: { a: { type: 'number' } } } };
  assert.equal((await model.chat({ messages: capital, jsonSchema })).text, '{"a":1}');
  assert.equal((await model.chat({ messages: capital, jsonSchema })).text, '{"a":2}');
  assert.deepEqual(server.requests.map((r) => (r.body.response_format as { type: string }).type), ['json_schema', 'json_object', 'json_object']);
  assert.deepEqual(server.requests[1]?.body.response_format, { type: 'json_object', schema: jsonSchema.schema });
});

test('a 500 about something else is not taken for a refused format', async (t) => {
  const server = await startReplayServer([{ status: 500, json: { error: { message: 'CUDA out of memory' } } }]);
  t.after(() => server.close());
  const model = openAiCompatibleModel({ baseUrl: server.baseUrl, model: 'm', maxRetries: 0, sleep: noSleep });
  await assert.rejects(model.chat({ messages: capital, jsonSchema: { name: 'a', schema: { type: 'object' } } }), { kind: 'server', message: /CUDA out of memory/u });
  assert.equal(server.requests.length, 1);
});
