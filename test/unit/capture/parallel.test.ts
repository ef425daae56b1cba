import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  captureInParallel,
  captureNow,
  createRedactor,
  importPaths,
  importPathsInParallel,
  Ingestor,
  scanLocations,
  type IngestReport,
  type SourceLocation,
} from '../../../src/core/capture/index.js';
import { openStore, type Store } from '../../../src/core/store/index.js';
import { fixture, FIXTURES, tempDir } from './helpers.js';

/** Everything stored about trajectories and sources, minus the import time. */
function contents(store: Store): string {
  const trajectories = store.db.prepare('SELECT * FROM trajectories ORDER BY id').all().map((r) => ({ ...(r as object), imported_at: undefined }));
  const steps = store.db.prepare('SELECT trajectory_id, idx, text, thought, tool_calls_json, observations_json, user_messages_json FROM steps ORDER BY trajectory_id, idx').all();
  const sources = store.db.prepare('SELECT path, format, offset, size, head_hash, state FROM sources ORDER BY path').all();
  return JSON.stringify({ trajectories, steps, sources });
}

function fileStore(t: { after: (fn: () => void) => void }, name: string): Store {
  const store = openStore(join(tempDir(t), `${name}.db`));
  t.after(() => {
    store.close();
  });
  return store;
}

describe('parallel import (parsing thread + writing thread)', () => {
  it('stores exactly what the one-thread import stores, and a second run changes nothing', async (t) => {
    const one = fileStore(t, 'one');
    const two = fileStore(t, 'two');
    const sequential = await importPaths(one, await createRedactor(), [FIXTURES]);
    const parallel = await importPathsInParallel(two, [FIXTURES], { flushChars: 4096 });
    assert.equal(parallel.trajectories, sequential.trajectories);
    assert.deepEqual(parallel.redactions, sequential.redactions);
    assert.equal(parallel.issues.length, sequential.issues.length);
    assert.deepEqual(parallel.errors.map((e) => e.code), sequential.errors.map((e) => e.code));
    assert.equal(contents(two), contents(one));
    two.db.prepare("INSERT INTO steps_fts(steps_fts, rank) VALUES ('integrity-check', 1)").run();
    const again = await importPathsInParallel(two, [FIXTURES]);
    assert.equal(again.trajectories, 0);
    assert.equal(contents(two), contents(one));
  });

  it('reports errors with their file and code, and forgets a vanished source through the writer', async (t) => {
    const dir = tempDir(t);
    const store = fileStore(t, 'errors');
    const log = join(dir, 'session.jsonl');
    copyFileSync(fixture('claude-code', 'agent-sessions-small.jsonl'), log);
    writeFileSync(join(dir, 'garbage.json'), Buffer.from([0, 1, 2, 3, 255, 254]));
    const first = await importPathsInParallel(store, [dir, join(dir, 'garbage.json')]);
    assert.equal(first.trajectories, 3);
    assert.deepEqual(first.errors.map((e) => [e.code, e.file]), [['unknown-format', join(dir, 'garbage.json')]]);
    assert.equal(store.sources.list().length, 1);
    unlinkSync(log);
    const second = await importPathsInParallel(store, [log]);
    assert.deepEqual(second.errors.map((e) => e.code), ['not-found']);
    assert.equal(store.sources.list().length, 0);
  });

  it('falls back to one thread for an in-memory store', async () => {
    const store = openStore(':memory:');
    const report = await importPathsInParallel(store, [fixture('claude-code', 'agent-sessions-small.jsonl')]);
    assert.equal(report.trajectories, 3);
    store.close();
  });
});

/** The fixture folders laid out as the agents' own locations, with the include patterns of defaultLocations. */
const FIXTURE_LOCATIONS: SourceLocation[] = [
  { source: 'claude-code', root: fixture('claude-code'), include: /\.jsonl$/u, depth: 5 },
  { source: 'codex', root: fixture('codex'), include: /rollout-[^/]*\.jsonl$/u, depth: 4 },
  { source: 'copilot-chat', root: fixture('copilot-chat', 'workspaceStorage'), include: /\/chatSessions\/[^/]+\.jsonl?$/u, depth: 3 },
  { source: 'cline', root: fixture('cline', 'saoudrizwan.claude-dev', 'tasks'), include: /\/api_conversation_history\.json$/u, depth: 2 },
  { source: 'roo', root: fixture('roo', 'rooveterinaryinc.roo-cline', 'tasks'), include: /\/api_conversation_history\.json$/u, depth: 2 },
  { source: 'gemini-cli', root: fixture('gemini-cli'), include: /\.jsonl?$/u, depth: 1 },
];

/** A report without its timings, errors as plain values: what two runs over the same data must share. */
function comparable(report: IngestReport): unknown {
  const { timings: _timings, errors, ...rest } = report;
  return { ...rest, errors: errors.map((e) => ({ file: e.file, code: e.code, message: e.message })) };
}

/** A store's view of how much a capture of these locations would read. */
async function newBytes(store: Store, locations: readonly SourceLocation[]): Promise<number> {
  return new Ingestor(store, await createRedactor()).newBytes(scanLocations(locations));
}

describe('parallel capture of locations', () => {
  it('stores and reports exactly what the one-thread capture does, and a second run reads nothing', async (t) => {
    const reference = fileStore(t, 'reference');
    const one = fileStore(t, 'one');
    const two = fileStore(t, 'two');
    const sequential = await captureNow(reference, await createRedactor(), FIXTURE_LOCATIONS);
    assert.ok(sequential.trajectories > 10);
    const below = await captureInParallel(one, FIXTURE_LOCATIONS, { minThreadBytes: Number.POSITIVE_INFINITY });
    const threaded = await captureInParallel(two, FIXTURE_LOCATIONS, { minThreadBytes: 0, flushChars: 4096 });
    assert.deepEqual(comparable(below), comparable(sequential));
    assert.deepEqual(comparable(threaded), comparable(sequential));
    assert.equal(contents(one), contents(reference));
    assert.equal(contents(two), contents(reference));

    const again = await captureInParallel(two, FIXTURE_LOCATIONS, { minThreadBytes: 0 });
    assert.equal(again.trajectories, 0);
    assert.equal(again.unchanged, again.files);
    assert.equal(contents(two), contents(reference));
  });

  it('estimates new bytes from stats against the committed offsets, and starts the thread only at the threshold', async (t) => {
    const dir = tempDir(t);
    const store = fileStore(t, 'threshold');
    const log = join(dir, 'session.jsonl');
    const document = join(dir, 'chats', 'session-1.json');
    copyFileSync(fixture('claude-code', 'agent-sessions-small.jsonl'), log);
    mkdirSync(join(dir, 'chats'));
    copyFileSync(fixture('gemini-cli', 'small.json'), document);
    const locations: SourceLocation[] = [
      { source: 'claude-code', root: dir, include: /\.jsonl$/u, depth: 1 },
      { source: 'gemini-cli', root: dir, include: /\/chats\/session-[^/]+\.json$/u, depth: 2 },
    ];
    const logBytes = statSync(log).size;
    const documentBytes = statSync(document).size;
    assert.equal(await newBytes(store, locations), logBytes + documentBytes);

    // A script that does not exist fails only if the thread is started.
    const missing = join(dir, 'no-such-parser.js');
    await assert.rejects(captureInParallel(store, locations, { script: missing, minThreadBytes: logBytes + documentBytes }), /no-such-parser/u);
    assert.equal(store.sources.list().length, 0);
    const first = await captureInParallel(store, locations, { script: missing, minThreadBytes: logBytes + documentBytes + 1 });
    assert.ok(first.trajectories > 3);
    assert.equal(await newBytes(store, locations), 0);

    // A line log that grew is read from its committed offset; a document that changed is read whole.
    const line = `${JSON.stringify({ type: 'user', sessionId: 'ses_stage0_small', uuid: 'appended-1', message: { role: 'user', content: 'one more' } })}\n`;
    appendFileSync(log, line);
    assert.equal(await newBytes(store, locations), Buffer.byteLength(line));
    appendFileSync(document, '\n');
    assert.equal(await newBytes(store, locations), Buffer.byteLength(line) + documentBytes + 1);
  });

  it('brings back errors from the parsing thread with their file and code', async (t) => {
    const dir = tempDir(t);
    const document = join(dir, 'chats', 'session-1.json');
    mkdirSync(join(dir, 'chats'));
    copyFileSync(fixture('gemini-cli', 'small.json'), document);
    symlinkSync(join(dir, 'chats', 'b.json'), join(dir, 'chats', 'a.json'));
    symlinkSync(join(dir, 'chats', 'a.json'), join(dir, 'chats', 'b.json'));
    const locations: SourceLocation[] = [{ source: 'gemini-cli', root: dir, include: /\/chats\/[^/]+\.json$/u, depth: 2 }];
    const options = { maxDocumentBytes: 100 };
    const expected = [
      ['symlink-loop', join(dir, 'chats', 'a.json')],
      ['symlink-loop', join(dir, 'chats', 'b.json')],
      ['too-large', document],
    ];
    const threaded = await captureInParallel(fileStore(t, 'two'), locations, { ...options, minThreadBytes: 0 });
    assert.deepEqual(threaded.errors.map((e) => [e.code, e.file]), expected);
    assert.match(threaded.errors[2]?.message ?? '', /parsed whole; split it or raise the limit/u);
    const sequential = await captureNow(fileStore(t, 'one'), await createRedactor(), locations, options);
    assert.deepEqual(comparable(threaded), comparable(sequential));
  });

  it('stays on one thread for an in-memory store, with the caller\'s redactor', async () => {
    const store = openStore(':memory:');
    let asked = 0;
    const redactor = await createRedactor();
    const locations: SourceLocation[] = [{ source: 'claude-code', root: fixture('claude-code'), include: /agent-sessions-small\.jsonl$/u, depth: 0 }];
    const report = await captureInParallel(store, locations, {
      minThreadBytes: 0,
      localRedactor: () => {
        asked++;
        return Promise.resolve(redactor);
      },
    });
    assert.equal(report.trajectories, 3);
    assert.equal(asked, 1);
    store.close();
  });
});
