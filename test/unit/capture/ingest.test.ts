import assert from 'node:assert/strict';
import { appendFileSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRedactor, Ingestor, importPaths, type Redactor } from '../../../src/core/capture/index.js';
import { explainFsError } from '../../../src/core/capture/ingest.js';
import { openStore, type Store } from '../../../src/core/store/index.js';
import { fixture, FIXTURES, tempDir } from './helpers.js';

let shared: Redactor | undefined;
async function redactor(): Promise<Redactor> {
  shared ??= await createRedactor();
  return shared;
}

function memoryStore(t: { after: (fn: () => void) => void }): Store {
  const store = openStore(':memory:');
  t.after(() => {
    store.close();
  });
  return store;
}

function claudeLine(i: number, extra: Record<string, unknown> = {}): string {
  const base = { sessionId: 's-1', cwd: '/w', timestamp: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`, uuid: `u${String(i)}` };
  if (i === 0) return JSON.stringify({ ...base, type: 'user', message: { role: 'user', content: 'Fix the build' }, ...extra });
  if (i % 2 === 1) {
    return JSON.stringify({ ...base, type: 'assistant', message: { id: `m${String(i)}`, role: 'assistant', model: 'claude-x', content: [{ type: 'tool_use', id: `t${String(i)}`, name: 'Bash', input: { command: `make step${String(i)}` } }], usage: { input_tokens: 10, output_tokens: 5 } }, ...extra });
  }
  return JSON.stringify({ ...base, type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: `t${String(i - 1)}`, content: `ok ${String(i)}` }] }, ...extra });
}

function stored(store: Store): string {
  return JSON.stringify(store.trajectories.list({ limit: 1000 }).map((s) => store.trajectories.get(s.id)));
}

describe('ingest', () => {
  it('imports every fixture and changes nothing when the same data is imported again', async (t) => {
    const store = memoryStore(t);
    const first = await importPaths(store, await redactor(), [FIXTURES]);
    assert.equal(first.errors.length, 0);
    assert.ok(first.trajectories >= 30, `imported ${String(first.trajectories)}`);
    const snapshot = stored(store);
    const second = await importPaths(store, await redactor(), [FIXTURES]);
    assert.equal(second.trajectories, 0);
    assert.ok(second.unchanged >= 24);
    assert.equal(stored(store), snapshot);
  });

  it('reads only appended bytes, leaves a partial last line for later, and ends where a one-shot import ends', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 's-1.jsonl');
    const lines = Array.from({ length: 9 }, (_, i) => claudeLine(i));
    const full = `${lines.join('\n')}\n`;
    writeFileSync(path, `${lines.slice(0, 4).join('\n')}\n${lines[4]!.slice(0, 30)}`);
    const store = memoryStore(t);
    await importPaths(store, await redactor(), [path]);
    const partial = store.trajectories.get(store.trajectories.list()[0]!.id)!;
    assert.equal(partial.steps.length, 2);
    const record = store.sources.get(path)!;
    assert.equal(record.offset, Buffer.byteLength(`${lines.slice(0, 4).join('\n')}\n`));
    writeFileSync(path, full);
    const report = await importPaths(store, await redactor(), [path]);
    assert.equal(report.reread, 0);
    assert.equal(report.issues.length, 0);
    const oneShot = memoryStore(t);
    const copy = join(dir, 'copy', 's-1.jsonl');
    mkdirSync(join(dir, 'copy'));
    copyFileSync(path, copy);
    await importPaths(oneShot, await redactor(), [copy]);
    const a = store.trajectories.get(partial.id)!;
    const b = oneShot.trajectories.get(partial.id)!;
    assert.deepEqual(a.steps, b.steps);
    assert.deepEqual(a.usage, b.usage);
    assert.equal(a.steps.length, 4);
  });

  it('detects a truncated or replaced file by its head hash and reads it again from the start', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 's-1.jsonl');
    writeFileSync(path, `${[0, 1, 2, 3].map((i) => claudeLine(i)).join('\n')}\n`);
    const store = memoryStore(t);
    await importPaths(store, await redactor(), [path]);
    // Rotation: same session, different (longer) content from the first byte.
    writeFileSync(path, `${[0, 1, 2, 3, 4, 5].map((i) => claudeLine(i, { cwd: '/other' })).join('\n')}\n`);
    const rotated = await importPaths(store, await redactor(), [path]);
    assert.equal(rotated.reread, 1);
    const t1 = store.trajectories.get(store.trajectories.list()[0]!.id)!;
    assert.equal(t1.workspace, '/other');
    assert.equal(t1.steps.length, 3);
    // Truncation: shorter than the committed offset.
    writeFileSync(path, `${claudeLine(0)}\n${claudeLine(1)}\n`);
    const truncated = await importPaths(store, await redactor(), [path]);
    assert.equal(truncated.reread, 1);
    assert.equal(store.trajectories.get(t1.id)!.steps.length, 1);
  });

  it('skips malformed lines, naming file and line, and keeps the rest', async (t) => {
    const path = join(tempDir(t), 's-1.jsonl');
    writeFileSync(path, `${claudeLine(0)}\n${claudeLine(1)}\n{"type": "user", oops\n${claudeLine(2)}\n\n${claudeLine(3)}\n`);
    const store = memoryStore(t);
    const report = await importPaths(store, await redactor(), [path]);
    assert.equal(report.issues.length, 1);
    assert.equal(report.issues[0]!.file, path);
    assert.equal(report.issues[0]!.line, 3);
    assert.match(report.issues[0]!.message, /malformed JSON/u);
    assert.equal(store.trajectories.get(store.trajectories.list()[0]!.id)!.steps.length, 2);
  });

  it('treats an empty file as nothing to import yet, and says so', async (t) => {
    const path = join(tempDir(t), 'empty.jsonl');
    writeFileSync(path, '');
    const store = memoryStore(t);
    const report = await importPaths(store, await redactor(), [path]);
    assert.equal(report.errors.length, 0);
    assert.deepEqual(report.empty, [{ file: path, reason: 'empty file' }]);
    assert.deepEqual(report.emptyTargets, [path]);
    assert.equal(store.sources.get(path), undefined);
  });

  it('rejects binary garbage and unknown formats with the file and the formats tried', async (t) => {
    const dir = tempDir(t);
    const binary = join(dir, 'garbage.jsonl');
    writeFileSync(binary, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    const unknown = join(dir, 'settings.json');
    writeFileSync(unknown, '{"editor.fontSize": 14}\n');
    const store = memoryStore(t);
    const report = await importPaths(store, await redactor(), [binary, unknown]);
    assert.equal(report.errors.length, 2);
    assert.match(report.errors[0]!.message, /garbage\.jsonl: unknown format \(it looks like binary data/u);
    assert.match(report.errors[1]!.message, /settings\.json: unknown format .*formats tried: atif, claude-code, codex/u);
    assert.equal(report.errors[1]!.code, 'unknown-format');
  });

  it('reports an unreadable source (a folder where a file is expected, a permission error) and goes on', async (t) => {
    const dir = tempDir(t);
    const folder = join(dir, 'session.jsonl');
    mkdirSync(folder);
    const store = memoryStore(t);
    const ingestor = new Ingestor(store, await redactor());
    await ingestor.file(folder, true);
    await ingestor.file(fixture('codex', 'rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl'), true);
    await ingestor.flush();
    assert.equal(ingestor.report.errors[0]!.code, 'not-a-file');
    assert.equal(ingestor.report.trajectories, 1);
    // Tests run as root, where chmod 000 still reads: the error the file system would raise is injected.
    const denied = explainFsError('/logs/a.jsonl', Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }));
    assert.equal(denied.code, 'unreadable');
    assert.match(denied.message, /\/logs\/a\.jsonl: permission denied; make the file readable/u);
  });

  it('survives a file deleted or truncated mid-read and forgets a file that is gone', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 's-1.jsonl');
    const body = `${Array.from({ length: 400 }, (_, i) => claudeLine(i, { pad: 'p'.repeat(600) })).join('\n')}\n`;
    writeFileSync(path, body);
    const store = memoryStore(t);
    let deleted = false;
    const report = await importPaths(store, await redactor(), [path], {
      onChunk: () => {
        if (!deleted) {
          unlinkSync(path);
          deleted = true;
        }
      },
    });
    // The open descriptor still reads the unlinked file: what was there is kept.
    assert.equal(report.errors.length, 0);
    assert.ok(deleted);
    assert.ok(store.sources.get(path));
    const gone = await importPaths(store, await redactor(), [path]);
    // Named on the command line, a missing file is a wrong path, not one that vanished mid-read.
    assert.equal(gone.errors[0]!.code, 'not-found');
    assert.match(gone.errors[0]!.message, /no such file or folder; check the path/u);
    assert.equal(store.sources.get(path), undefined);
    // Truncated while being read: only complete lines up to the cut are committed; the next read starts over.
    writeFileSync(path, body);
    const store2 = memoryStore(t);
    await importPaths(store2, await redactor(), [path], {
      onChunk: () => {
        truncateSync(path, 1000);
      },
    });
    const offset = store2.sources.get(path)!.offset;
    assert.ok(offset <= Buffer.byteLength(body));
    const after = await importPaths(store2, await redactor(), [path]);
    assert.equal(after.reread, 1);
  });

  it('ends on a symlink loop and reports it', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'logs'));
    copyFileSync(fixture('codex', 'rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl'), join(dir, 'logs', 'rollout-x.jsonl'));
    symlinkSync(join(dir, 'logs'), join(dir, 'logs', 'again'));
    symlinkSync(join(dir, 'a.jsonl'), join(dir, 'b.jsonl'));
    symlinkSync(join(dir, 'b.jsonl'), join(dir, 'a.jsonl'));
    const store = memoryStore(t);
    const report = await importPaths(store, await redactor(), [dir]);
    assert.equal(report.trajectories, 1);
    assert.ok(report.errors.some((e) => e.code === 'symlink-loop'));
  });

  it('reads a 2 GB file in bounded memory', async (t) => {
    const path = join(tempDir(t), 's-1.jsonl');
    writeFileSync(path, `${claudeLine(0)}\n${claudeLine(1)}\n`);
    // A sparse 2 GB file: two real lines, then a hole of NUL bytes without a newline.
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, 2 * 1024 ** 3);
    closeSync(fd);
    const store = memoryStore(t);
    const before = process.memoryUsage().rss;
    const report = await importPaths(store, await redactor(), [path], { maxLineBytes: 8 << 20 });
    const grew = process.memoryUsage().rss - before;
    assert.ok(grew < 256 * 1024 * 1024, `RSS grew by ${String(grew)} bytes`);
    assert.equal(report.trajectories, 1);
    assert.match(report.issues[0]!.message, /exceeds the 8388608-byte limit/u);
    // The overlong tail is not read again on the next scan.
    appendFileSync(path, `\n${claudeLine(2)}\n`);
    const next = await importPaths(store, await redactor(), [path], { maxLineBytes: 8 << 20 });
    assert.equal(next.issues.length, 0);
    assert.equal(store.trajectories.get(store.trajectories.list()[0]!.id)!.steps[0]!.observations.length, 1);
    truncateSync(path, 0);
  });

  it('reads an OpenHands session kept as one file per event, once', async (t) => {
    const events = join(tempDir(t), 'sessions', 'abc123', 'events');
    mkdirSync(events, { recursive: true });
    const all = JSON.parse(readFileSync(fixture('openhands', 'basic_interactions.json'), 'utf8')) as unknown[];
    all.forEach((event, i) => {
      writeFileSync(join(events, `${String(i)}.json`), JSON.stringify(event));
    });
    const store = memoryStore(t);
    const first = await importPaths(store, await redactor(), [join(events, '..', '..')]);
    assert.equal(first.trajectories, 1);
    const saved = store.trajectories.get(store.trajectories.list()[0]!.id)!;
    assert.equal(saved.sessionId, 'abc123');
    assert.equal(saved.task, "what's 1+1?");
    const second = await importPaths(store, await redactor(), [join(events, '..', '..')]);
    assert.equal(second.trajectories, 0);
    assert.equal(second.unchanged, 1);
  });

  it('keeps an outcome the user set when the source is read again', async (t) => {
    const dir = tempDir(t);
    const traj = join(dir, 'run.traj');
    copyFileSync(fixture('swe-agent', '6e44b9__sweagenttestrepo-1c2844.traj'), traj);
    const session = join(dir, 's-1.jsonl');
    writeFileSync(session, `${[0, 1, 2].map((i) => claudeLine(i)).join('\n')}\n`);
    const store = memoryStore(t);
    await importPaths(store, await redactor(), [traj, session]);
    const verdict = { label: 'failure' as const, evidence: [{ kind: 'user-verdict' as const, detail: 'the patch broke another test' }] };
    const ids = store.trajectories.list().map((s) => s.id);
    for (const id of ids) store.trajectories.setOutcome(id, verdict);
    // A rewritten document and an appended session are both read again.
    writeFileSync(traj, `${readFileSync(traj, 'utf8')}\n`);
    appendFileSync(session, `${claudeLine(3)}\n`);
    const report = await importPaths(store, await redactor(), [traj, session]);
    assert.equal(report.trajectories, 2);
    for (const id of ids) assert.deepEqual(store.trajectories.get(id)!.outcome, verdict);
  });

  it('redacts secrets before storing and records counts per rule', async (t) => {
    const path = join(tempDir(t), 's-1.jsonl');
    const token = ['ghp', 'wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx'].join('_');
    writeFileSync(path, `${claudeLine(0)}\n${JSON.stringify({ sessionId: 's-1', type: 'assistant', message: { id: 'm1', role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: `git push https://${token}@github.com/o/r` } }] } })}\n`);
    const store = memoryStore(t);
    const report = await importPaths(store, await redactor(), [path]);
    const saved = store.trajectories.get(store.trajectories.list()[0]!.id)!;
    const command = String(saved.steps[0]!.toolCalls[0]!.arguments.command);
    assert.ok(!command.includes(token));
    const rule = /\[REDACTED:(github[\w-]*)\]/u.exec(command)?.[1];
    assert.ok(rule !== undefined, command);
    assert.equal(saved.redactions?.[rule], 1);
    assert.equal(report.redactions[rule], 1);
    assert.ok(!readFileSync(path, 'utf8').includes('REDACTED'), 'the source file is never touched');
  });
});
