/**
 * The llama.cpp server helper without llama.cpp: its start errors against real processes that are not a
 * llama.cpp server, and the on-demand lifecycle (first use, idle stop, restart, crash) over real HTTP
 * servers and real child processes, with the idle clock injected. test/contract/llamaServer.test.ts runs
 * the same helper against the real server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exitError, llamaServerArgs, llamaThreads, LlamaServerError, OnDemandLlamaServer, onDemandModel, startLlamaServer, type LlamaServer, type Schedule } from '../../../src/core/llm/llamaServer.js';
import { completion, startReplayServer } from './replayServer.js';

function modelFile(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'llama-'));
  t.after(() => { rmSync(dir, { recursive: true, force: true }); });
  const gguf = join(dir, 'model.gguf');
  writeFileSync(gguf, 'GGUF');
  return gguf;
}

test('the command line: the alias, 127.0.0.1, the port, context and the same thread count for generation and prompt', () => {
  const args = llamaServerArgs({ python: 'py', gguf: '/m.gguf', alias: 'qwen', contextTokens: 8192, threads: 3, seed: 0 }, 4567);
  assert.deepEqual(args, ['-m', 'llama_cpp.server', '--model', '/m.gguf', '--model_alias', 'qwen', '--host', '127.0.0.1', '--port', '4567', '--n_ctx', '8192', '--n_threads', '3', '--n_threads_batch', '3', '--seed', '0']);
  assert.deepEqual(llamaServerArgs({ python: 'py', gguf: '/m.gguf', alias: 'a' }, 1).slice(-6), ['--n_ctx', '2048', '--n_threads', '1', '--n_threads_batch', '1']);
  // One core stays with the editor; never fewer than one thread, never more than eight.
  assert.deepEqual([1, 2, 4, 64].map(llamaThreads), [1, 1, 3, 8]);
});

test('a missing interpreter or model file is refused before anything starts, naming the path', async (t) => {
  const gguf = modelFile(t);
  await assert.rejects(startLlamaServer({ python: '/nowhere/python', gguf, alias: 'a' }), (e: unknown) => {
    assert.ok(e instanceof LlamaServerError);
    assert.equal(e.kind, 'binary-missing');
    assert.match(e.message, /no interpreter at \/nowhere\/python.*setup-llama-server\.sh/u);
    return true;
  });
  await assert.rejects(startLlamaServer({ python: process.execPath, gguf: '/nowhere/model.gguf', alias: 'a' }), { kind: 'model-missing', message: /no model file at \/nowhere\/model\.gguf/u });
  // A file that is there but cannot be run (no execute permission): the spawn itself fails.
  await assert.rejects(startLlamaServer({ python: gguf, gguf, alias: 'a' }), { kind: 'binary-missing', message: /^could not run .*model\.gguf \(spawn .*EACCES\); point to an interpreter with llama-cpp-python\[server\]/u });
});

const systemPython = '/usr/bin/python3';
const hasLlama = spawnSync(systemPython, ['-c', 'import llama_cpp'], { stdio: 'ignore' }).status === 0;

test('an interpreter without llama-cpp-python is told apart from a crash, with its own words', { skip: hasLlama && `${systemPython} has llama_cpp` }, async (t) => {
  await assert.rejects(startLlamaServer({ python: systemPython, gguf: modelFile(t), alias: 'a' }), (e: unknown) => {
    assert.ok(e instanceof LlamaServerError);
    assert.equal(e.kind, 'binary-missing');
    assert.match(e.message, /^\/usr\/bin\/python3 has no llama-cpp-python server \(.*No module named 'llama_cpp'.*\); install llama-cpp-python\[server\]/u);
    return true;
  });
});

test('a process that exits before it is ready: a crash, with the code and the end of its log', async (t) => {
  // Node, given Python's `-m`, refuses the option and exits: a real process that dies at once.
  await assert.rejects(startLlamaServer({ python: process.execPath, gguf: modelFile(t), alias: 'a' }), (e: unknown) => {
    assert.ok(e instanceof LlamaServerError);
    assert.equal(e.kind, 'crashed');
    assert.match(e.message, /^llama\.cpp's server exited with code \d+ before it was ready, serving .*model\.gguf: .*bad option: -m/u);
    assert.match(e.logTail, /bad option/u);
    return true;
  });
});

test('a fixed port that is taken is refused before the model is loaded', async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.after(() => holder.close());
  const { port } = holder.address() as AddressInfo;
  // Were it spawned, node would crash on `-m`: the port check comes first.
  await assert.rejects(startLlamaServer({ python: process.execPath, gguf: modelFile(t), alias: 'a', port }), { kind: 'port-in-use', message: new RegExp(`port ${String(port)} on 127\\.0\\.0\\.1 is already in use`, 'u') });
});

test('an exit is read from the log: the bind failure llama-cpp-python 0.3.36 prints, and a missing module', () => {
  // As uvicorn printed it when the port was taken between the probe and the bind (recorded here).
  const bind = "INFO:     Application startup complete.\nERROR:    [Errno 98] error while attempting to bind on address ('127.0.0.1', 45165): address already in use\nINFO:     Waiting for application shutdown.\n";
  const options = { python: '/venv/bin/python', gguf: '/m.gguf', alias: 'a' };
  assert.equal(exitError(options, 45165, bind, 3, null).kind, 'port-in-use');
  const missing = "/usr/bin/python3: Error while finding module specification for 'llama_cpp.server' (ModuleNotFoundError: No module named 'llama_cpp')\n";
  assert.equal(exitError(options, 1, missing, 1, null).kind, 'binary-missing');
  const killed = exitError(options, 1, '', null, 'SIGSEGV');
  assert.equal(killed.kind, 'crashed');
  assert.match(killed.message, /exited on SIGSEGV before it was ready, serving \/m\.gguf: it wrote nothing/u);
});

/** Timers that fire only when the test says so. */
function manualClock(): { schedule: Schedule; pending: () => number[]; fire: () => void } {
  const timers = new Map<number, { run: () => void; ms: number }>();
  let next = 0;
  return {
    schedule: (run, ms) => {
      const id = next++;
      timers.set(id, { run, ms });
      return () => timers.delete(id);
    },
    pending: () => [...timers.values()].map((timer) => timer.ms),
    fire: () => {
      const due = [...timers.values()];
      timers.clear();
      for (const timer of due) timer.run();
    },
  };
}

/** A stand-in server: a real OpenAI-compatible HTTP server that answers with its own address, and a real process. */
async function standIn(started: LlamaServer[]): Promise<LlamaServer> {
  let baseUrl = '';
  const http = await startReplayServer(() => ({ json: completion(`served by ${baseUrl}`) }));
  baseUrl = http.baseUrl;
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
  await once(child, 'spawn');
  // The HTTP side goes with the process, as a real server's port does when it dies.
  const closed = once(child, 'exit').then(() => http.close());
  const server: LlamaServer = {
    baseUrl,
    process: child,
    log: () => '',
    async stop() {
      child.kill('SIGTERM');
      await closed;
    },
  };
  started.push(server);
  return server;
}

const alive = (server: LlamaServer | undefined): boolean => server !== undefined && server.process.exitCode === null && server.process.signalCode === null;

async function exited(server: LlamaServer | undefined): Promise<void> {
  assert.ok(server !== undefined);
  if (alive(server)) await once(server.process, 'exit');
}
const ask = { messages: [{ role: 'user' as const, content: 'hi' }] };

test('on demand: started by the first request only, kept while requests run, stopped once idle, started again by the next', async (t) => {
  const clock = manualClock();
  const started: LlamaServer[] = [];
  const events: string[] = [];
  const server = new OnDemandLlamaServer({ start: () => standIn(started), idleMs: 300_000, schedule: clock.schedule, onEvent: (line) => events.push(line) });
  t.after(() => server.stop());
  const model = onDemandModel(server, { alias: 'qwen', timeoutMs: 5_000 });
  assert.equal(started.length, 0, 'nothing starts before it is used');

  // Two requests at once share one server, and no idle timer runs while either is in flight.
  const [a, b] = await Promise.all([model.chat(ask), model.chat(ask)]);
  assert.equal(started.length, 1);
  assert.equal(a.text, `served by ${started[0]?.baseUrl ?? ''}`);
  assert.equal(b.text, a.text);
  assert.deepEqual(clock.pending(), [300_000], 'one idle timer, armed when the last request ended');

  clock.fire();
  await exited(started[0]);
  assert.equal(alive(started[0]), false, 'the idle server was stopped');
  assert.equal(server.current(), undefined);
  assert.match(events.join('\n'), /stopping llama\.cpp's server after 300 s unused/u);

  // The next request starts a new server, on its own port, and the client follows it there.
  const c = await model.chat(ask);
  assert.equal(started.length, 2);
  assert.equal(c.text, `served by ${started[1]?.baseUrl ?? ''}`);
  assert.notEqual(started[1]?.baseUrl, started[0]?.baseUrl);
  assert.ok(alive(started[1]));
});

test('on demand: a request while the idle timer runs cancels it; warm arms it; a crashed server is replaced', async (t) => {
  const clock = manualClock();
  const started: LlamaServer[] = [];
  const server = new OnDemandLlamaServer({ start: () => standIn(started), idleMs: 1_000, schedule: clock.schedule });
  t.after(() => server.stop());
  const model = onDemandModel(server, { alias: 'qwen', timeoutMs: 5_000 });

  await server.warm();
  assert.equal(started.length, 1);
  assert.deepEqual(clock.pending(), [1_000], 'a warmed server that nobody uses still stops');
  await model.chat(ask);
  assert.deepEqual(clock.pending(), [1_000], 'the request replaced the timer instead of adding one');

  started[0]?.process.kill('SIGKILL');
  await exited(started[0]);
  assert.equal(server.current(), undefined, 'a server that died is forgotten');
  await model.chat(ask);
  assert.equal(started.length, 2);
  assert.ok(alive(started[1]));
});

test('on demand: a failed start is reported and the next request tries again; stop during a start stops what it started', async (t) => {
  const clock = manualClock();
  const started: LlamaServer[] = [];
  let fail = true;
  const server = new OnDemandLlamaServer({
    start: () => (fail ? Promise.reject(new LlamaServerError('no model file at /m.gguf', 'model-missing')) : standIn(started)),
    idleMs: 1_000,
    schedule: clock.schedule,
  });
  t.after(() => server.stop());
  const model = onDemandModel(server, { alias: 'qwen', timeoutMs: 5_000 });
  await assert.rejects(model.chat(ask), { kind: 'model-missing' });
  assert.deepEqual(clock.pending(), [], 'nothing to stop after a failed start');

  fail = false;
  const warming = server.warm();
  await server.stop();
  await warming;
  assert.equal(started.length, 1);
  // stop() waited for the start, then stopped that server.
  if (alive(started[0])) await exited(started[0]);
  assert.equal(alive(started[0]), false);
});
