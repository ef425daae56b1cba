import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRedactor, importPaths, Ingestor, type Redactor } from '../../../src/core/capture/index.js';
import { openStore, type Store } from '../../../src/core/store/index.js';
import { trajectoryId } from '../../../src/core/trajectory.js';
import { fixture, parseFixture, tempDir } from './helpers.js';

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

/** Claude Code records of one session: a prompt, then tool calls (odd i) and their results (even i). */
function claudeLine(i: number, session = 's-1'): string {
  const base = { sessionId: session, cwd: '/w', timestamp: `2026-01-01T00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`, uuid: `u${String(i)}` };
  if (i === 0) return JSON.stringify({ ...base, type: 'user', message: { role: 'user', content: 'Fix the build' } });
  if (i % 2 === 1) {
    return JSON.stringify({ ...base, type: 'assistant', message: { id: `m${String(i)}`, role: 'assistant', model: 'claude-x', content: [{ type: 'tool_use', id: `toolu_${String(i)}`, name: 'Bash', input: { command: `make step${String(i)}` } }], usage: { input_tokens: 10, output_tokens: 5 } } });
  }
  return JSON.stringify({ ...base, type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${String(i - 1)}`, content: `ok ${String(i)}` }] } });
}

const lines = (from: number, to: number, session?: string): string => `${Array.from({ length: to - from }, (_, k) => claudeLine(from + k, session)).join('\n')}\n`;

function commands(store: Store, id: string): string[] {
  return (store.trajectories.get(id)?.steps ?? []).map((s) => String(s.toolCalls[0]?.arguments.command));
}

describe('a session that spans files', () => {
  const id = trajectoryId('claude-code', 's-1');
  const all = Array.from({ length: 9 }, (_, i) => i).filter((i) => i % 2 === 1).map((i) => `make step${String(i)}`);

  it('keeps every step of a session continued in a second file, in either order, and a re-read of one file drops nothing', async (t) => {
    for (const order of [['a', 'b'], ['b', 'a']]) {
      const dir = tempDir(t);
      writeFileSync(join(dir, 'a.jsonl'), lines(0, 5));
      writeFileSync(join(dir, 'b.jsonl'), lines(5, 9));
      const store = memoryStore(t);
      for (const name of order) await importPaths(store, await redactor(), [join(dir, `${name}.jsonl`)]);
      assert.deepEqual(commands(store, id), all, `order ${order.join(',')}`);
      assert.deepEqual(store.trajectories.get(id)!.steps.map((s) => s.observations.length), [1, 1, 1, 1]);
      assert.equal(store.trajectories.get(id)!.task, 'Fix the build');
      // The first file is rewritten (rotated): only its own part is replaced.
      writeFileSync(join(dir, 'a.jsonl'), lines(0, 3));
      await importPaths(store, await redactor(), [join(dir, 'a.jsonl')]);
      assert.deepEqual(commands(store, id), ['make step1', 'make step5', 'make step7']);
    }
  });

  it('keeps a resumed session whose new file repeats the earlier records once, with the richer copy of a step cut short', async (t) => {
    const dir = tempDir(t);
    // The first file stops after a call whose result never arrived there; the resumed file has it all.
    writeFileSync(join(dir, 'first.jsonl'), lines(0, 4));
    writeFileSync(join(dir, 'resumed.jsonl'), lines(0, 9));
    const store = memoryStore(t);
    await importPaths(store, await redactor(), [join(dir, 'first.jsonl'), join(dir, 'resumed.jsonl')]);
    const saved = store.trajectories.get(id)!;
    assert.deepEqual(commands(store, id), all);
    assert.ok(saved.steps.every((s, i) => s.index === i && s.observations.length === 1));
    // Usage is counted once per step, not once per copy.
    assert.deepEqual(saved.usage, { inputTokens: 40, outputTokens: 20, cacheReadTokens: 0, cacheWriteTokens: 0 });
    assert.deepEqual(store.trajectories.files(id).map((f) => f.path), [join(dir, 'first.jsonl'), join(dir, 'resumed.jsonl')]);
  });

  it('keeps a copied project folder as one trajectory, identical to the original', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'copy'));
    writeFileSync(join(dir, 's-1.jsonl'), lines(0, 9));
    copyFileSync(join(dir, 's-1.jsonl'), join(dir, 'copy', 's-1.jsonl'));
    const one = memoryStore(t);
    await importPaths(one, await redactor(), [join(dir, 's-1.jsonl')]);
    const both = memoryStore(t);
    await importPaths(both, await redactor(), [dir]);
    assert.deepEqual(both.trajectories.get(id)!.steps, one.trajectories.get(id)!.steps);
  });

  it('keeps the outcome the user set when a second file joins the session', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.jsonl'), lines(0, 5));
    writeFileSync(join(dir, 'b.jsonl'), lines(5, 9));
    const store = memoryStore(t);
    await importPaths(store, await redactor(), [join(dir, 'a.jsonl')]);
    const verdict = { label: 'failure' as const, evidence: [{ kind: 'user-verdict' as const, detail: 'reverted' }] };
    store.trajectories.setOutcome(id, verdict);
    await importPaths(store, await redactor(), [join(dir, 'b.jsonl')]);
    assert.deepEqual(store.trajectories.get(id)!.outcome, verdict);
    assert.equal(store.trajectories.get(id)!.steps.length, 4);
  });
});

describe('reading a file to its end', () => {
  it('imports an unterminated last line from a named file, and the next append continues after it', async (t) => {
    const path = join(tempDir(t), 's-1.jsonl');
    // The last record is the result of the second call, without its newline.
    writeFileSync(path, lines(0, 5).trimEnd());
    const store = memoryStore(t);
    const report = await importPaths(store, await redactor(), [path]);
    assert.equal(report.issues.length, 0);
    const id = trajectoryId('claude-code', 's-1');
    assert.deepEqual(store.trajectories.get(id)!.steps.map((s) => s.observations.length), [1, 1]);
    assert.equal(store.sources.get(path)!.offset, Buffer.byteLength(lines(0, 5).trimEnd()));
    appendFileSync(path, `\n${lines(5, 9)}`);
    const next = await importPaths(store, await redactor(), [path]);
    assert.equal(next.issues.length, 0);
    assert.equal(next.reread, 0);
    assert.equal(store.trajectories.get(id)!.steps.length, 4);
  });

  it('holds back the partial line of a file being written, and reads it once the file is idle', async (t) => {
    const path = join(tempDir(t), 's-1.jsonl');
    writeFileSync(path, lines(0, 5).trimEnd());
    const store = memoryStore(t);
    const id = trajectoryId('claude-code', 's-1');
    const watcher = async (): Promise<void> => {
      const ingestor = new Ingestor(store, await redactor());
      await ingestor.file(path, false);
      await ingestor.flush();
    };
    await watcher();
    assert.deepEqual(store.trajectories.get(id)!.steps.map((s) => s.observations.length), [1, 0]);
    assert.equal(store.sources.get(path)!.offset, Buffer.byteLength(lines(0, 4)));
    // Nothing changed, but the file has now been quiet for longer than the threshold.
    const past = new Date(Date.now() - 10 * 60_000);
    utimesSync(path, past, past);
    await watcher();
    assert.deepEqual(store.trajectories.get(id)!.steps.map((s) => s.observations.length), [1, 1]);
  });

  it('does not take a cut-off last line for a record, says so, and reads it when it is completed', async (t) => {
    const path = join(tempDir(t), 's-1.jsonl');
    const cut = claudeLine(4).slice(0, 40);
    writeFileSync(path, `${lines(0, 4)}${cut}`);
    const store = memoryStore(t);
    const report = await importPaths(store, await redactor(), [path]);
    assert.equal(report.issues.length, 1);
    assert.equal(report.issues[0]!.line, 5);
    assert.match(report.issues[0]!.message, /ends inside this line/u);
    writeFileSync(path, lines(0, 9));
    await importPaths(store, await redactor(), [path]);
    assert.equal(store.trajectories.get(trajectoryId('claude-code', 's-1'))!.steps.length, 4);
  });
});

describe('a file in a line format written as one JSON document', () => {
  const rollout = JSON.parse(readFileSync(fixture('openai-messages', 'rollout-step11-head4.jsonl'), 'utf8').split('\n')[0]!) as Record<string, unknown>;

  for (const [shape, text] of [
    ['json.dump without a final newline', JSON.stringify(rollout)],
    ['pretty-printed', JSON.stringify(rollout, null, 2)],
    ['a pretty-printed array of records', JSON.stringify([rollout, { ...rollout, id: 'second' }], null, 2)],
  ] as const) {
    it(`reads ${shape}, and reads it whole again when it is rewritten`, async (t) => {
      const path = join(tempDir(t), 'rollout.jsonl');
      writeFileSync(path, text);
      const store = memoryStore(t);
      // The watcher's path: not named, just written; a whole document needs no idle wait.
      const ingestor = new Ingestor(store, await redactor());
      await ingestor.file(path, false);
      await ingestor.flush();
      const expected = shape.includes('array') ? 2 : 1;
      assert.equal(ingestor.report.trajectories, expected);
      assert.deepEqual(ingestor.report.issues, []);
      assert.deepEqual(ingestor.report.empty, []);
      const first = store.trajectories.list()[0]!;
      assert.ok(first.stepCount > 0);
      writeFileSync(path, `${text}\n`);
      const again = await importPaths(store, await redactor(), [path]);
      assert.equal(again.trajectories, expected);
      assert.equal(store.trajectories.count(), expected);
    });
  }

  it('names the line of each record of an array, and refuses a broken document in one issue', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'rollouts.jsonl');
    writeFileSync(path, JSON.stringify([rollout, { nothing: true }], null, 2));
    const report = await importPaths(memoryStore(t), await redactor(), [path]);
    const issue = report.issues.find((i) => i.field === 'messages')!;
    assert.equal(issue.line, JSON.stringify([rollout, { nothing: true }], null, 2).split('\n').findIndex((l) => l.includes('"nothing"')));
    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, JSON.stringify(rollout, null, 2).slice(0, -20));
    const bad = await importPaths(memoryStore(t), await redactor(), [broken]);
    assert.equal(bad.issues.length, 1);
    assert.match(bad.issues[0]!.message, /not valid JSON/u);
    assert.deepEqual(bad.emptyTargets, [broken]);
  });
});

describe('files that give nothing', () => {
  it('lists every one with why, and a folder that also gave trajectories is not a failure', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'empty.jsonl'), '');
    writeFileSync(join(dir, 'snapshots.jsonl'), `${JSON.stringify({ type: 'file-history-snapshot', messageId: 'm', snapshot: {}, isSnapshotUpdate: false })}\n${JSON.stringify({ type: 'summary', summary: 'Build fix', leafUuid: 'u9' })}\n`);
    writeFileSync(join(dir, 'notes.json'), '{"editor.fontSize": 14}\n');
    writeFileSync(join(dir, 'garbled.jsonl'), '{"type": "user", "sessionId": "s-9", oops\n{"type": "assistant", "sessionId": "s-9"\n');
    const task = join(dir, 'saoudrizwan.claude-dev', 'tasks', '1759400100000');
    mkdirSync(task, { recursive: true });
    copyFileSync(fixture('cline', 'saoudrizwan.claude-dev', 'tasks', '1759400100000', 'ui_messages.json'), join(task, 'ui_messages.json'));
    writeFileSync(join(dir, 's-1.jsonl'), lines(0, 5));
    const store = memoryStore(t);
    const report = await importPaths(store, await redactor(), [dir]);
    assert.equal(report.trajectories, 1);
    assert.deepEqual(report.emptyTargets, []);
    const why = new Map(report.empty.map((e) => [e.file.slice(dir.length + 1), e.reason]));
    assert.equal(why.size, 5);
    assert.equal(why.get('empty.jsonl'), 'empty file');
    assert.match(why.get('snapshots.jsonl') ?? '', /^2 records, none of them a conversation step; record types: file-history-snapshot ×1, summary ×1/u);
    assert.match(why.get('notes.json') ?? '', /^unknown format/u);
    assert.match(why.get('garbled.jsonl') ?? '', /^no valid JSON line \(2 malformed, the first at line 1\)/u);
    assert.match(why.get('saoudrizwan.claude-dev/tasks/1759400100000/ui_messages.json') ?? '', /read together with api_conversation_history\.json in the same folder, which is missing/u);
    // A side file beside its main file is part of the task, not a file that gave nothing.
    copyFileSync(fixture('cline', 'saoudrizwan.claude-dev', 'tasks', '1759400100000', 'api_conversation_history.json'), join(task, 'api_conversation_history.json'));
    const again = await importPaths(store, await redactor(), [dir]);
    assert.ok(!again.empty.some((e) => e.file.endsWith('ui_messages.json')));
    assert.equal(again.trajectories, 1);
  });

  it('creates no trajectory without steps, and keeps the task of a session whose first step comes in a later read', async (t) => {
    const path = join(tempDir(t), 's-1.jsonl');
    writeFileSync(path, `${claudeLine(0)}\n`);
    const store = memoryStore(t);
    const first = await importPaths(store, await redactor(), [path]);
    assert.equal(store.trajectories.count(), 0);
    assert.deepEqual(first.empty.map((e) => e.reason), ['1 session with a task but no step yet']);
    appendFileSync(path, lines(1, 3));
    const second = await importPaths(store, await redactor(), [path]);
    assert.deepEqual(second.empty, []);
    const saved = store.trajectories.get(trajectoryId('claude-code', 's-1'))!;
    assert.equal(saved.task, 'Fix the build');
    assert.equal(saved.steps.length, 1);
  });
});

describe('sweAgent adapter on the issues the real files raised', () => {
  const real = JSON.parse(readFileSync(fixture('swe-agent', '6e44b9__sweagenttestrepo-1c2844.traj'), 'utf8')) as { history: Record<string, unknown>[]; info: Record<string, unknown>; trajectory?: unknown[]; replay_config?: unknown };
  const issue = String(real.history[1]!.content);
  const demo = { role: 'user', content: 'Here is a demonstration of how to correctly accomplish this task.\nISSUE: TimeDelta serialization precision', agent: 'main', is_demo: true, message_type: 'demonstration' };

  function write(t: { after: (fn: () => void) => void }, doc: unknown): string {
    const path = join(tempDir(t), 'run.traj');
    writeFileSync(path, JSON.stringify(doc));
    return path;
  }

  it('takes the task from the issue, not from a demonstration before it', async (t) => {
    const { replay_config: _replay, ...rest } = real;
    const path = write(t, { ...rest, history: [real.history[0], demo, ...real.history.slice(1)] });
    const store = memoryStore(t);
    await importPaths(store, await redactor(), [path]);
    const saved = store.trajectories.get(store.trajectories.list()[0]!.id)!;
    assert.equal(saved.task, issue);
    assert.equal(saved.steps[0]!.toolCalls[0]!.id, 'call_fJuazlMUN5fQDQ73G6XSpYpx');
  });

  it('reads a .traj that has only the history of a function-calling agent', async (t) => {
    const { trajectory: _steps, ...rest } = real;
    const path = write(t, { ...rest, history: [real.history[0], demo, ...real.history.slice(1)] });
    const store = memoryStore(t);
    const report = await importPaths(store, await redactor(), [path]);
    assert.deepEqual(report.empty, []);
    const saved = store.trajectories.get(store.trajectories.list()[0]!.id)!;
    const fromArray = parseFixture('swe-agent', 'swe-agent', '6e44b9__sweagenttestrepo-1c2844.traj').trajectories[0]!;
    // This run's history ends before its final `submit`, which only the trajectory array records.
    assert.equal(saved.steps.length, 4);
    assert.deepEqual(saved.steps.map((s) => s.toolCalls.map((c) => [c.name, c.id])), fromArray.steps.slice(0, 4).map((s) => s.toolCalls.map((c) => [c.name, c.id])));
    // The history's observations are what the model saw: the tool output, then SWE-agent's state lines.
    saved.steps.forEach((s, i) => {
      assert.equal(s.observations.length, 1);
      assert.ok(s.observations[0]!.content.startsWith(fromArray.steps[i]!.observations[0]!.content), `step ${String(i)}`);
    });
    assert.equal(saved.task, fromArray.task);
  });

  it('counts a submission as success only with evidence: resolved, a reward', async (t) => {
    const read = async (info: Record<string, unknown>): Promise<string> => {
      const store = memoryStore(t);
      await importPaths(store, await redactor(), [write(t, { ...real, info: { ...real.info, ...info } })]);
      return store.trajectories.list()[0]!.outcome;
    };
    assert.equal(await read({}), 'unknown');
    assert.equal(await read({ resolved: true }), 'success');
    assert.equal(await read({ resolved: false }), 'failure');
    assert.equal(await read({ reward: 1 }), 'success');
    assert.equal(await read({ exit_status: 'exit_cost' }), 'failure');
  });
});

describe('claudeCode inline sub-agents', () => {
  it('keeps one inline sub-agent as one trajectory though its first records carry no agent id', () => {
    const { trajectories } = parseFixture('claude-code', 'claude-code', 'sidechain_integrated.jsonl');
    const side = trajectories.filter((t) => t.parentSessionId !== undefined);
    assert.equal(side.length, 1);
    // Its text and its call (one streamed message) and the call's result, all in the one sub-agent.
    assert.equal(side[0]!.steps.flatMap((s) => s.toolCalls).length, 1);
    assert.equal(side[0]!.steps.flatMap((s) => s.observations).length, 1);
  });
});
