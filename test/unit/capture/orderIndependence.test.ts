import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createRedactor, importPaths, importPathsInParallel, type Redactor } from '../../../src/core/capture/index.js';
import { openStore, type Store } from '../../../src/core/store/index.js';
import { trajectoryId } from '../../../src/core/trajectory.js';
import { fixture, tempDir } from './helpers.js';

let shared: Redactor | undefined;
async function redactor(): Promise<Redactor> {
  shared ??= await createRedactor();
  return shared;
}

function claudeLine(i: number): string {
  const base = { sessionId: 'span', cwd: '/w', timestamp: `2026-01-01T00:00:${String(i).padStart(2, '0')}Z`, uuid: `u${String(i)}` };
  if (i === 0) return JSON.stringify({ ...base, type: 'user', message: { role: 'user', content: 'Fix the build' } });
  if (i % 2 === 1) return JSON.stringify({ ...base, type: 'assistant', message: { id: `m${String(i)}`, role: 'assistant', content: [{ type: 'tool_use', id: `toolu_${String(i)}`, name: 'Bash', input: { command: `make ${String(i)}` } }], usage: { input_tokens: 3, output_tokens: 2 } } });
  return JSON.stringify({ ...base, type: 'user', message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: `toolu_${String(i - 1)}`, content: `ok ${String(i)}` }] } });
}

const lines = (from: number, to: number): string => `${Array.from({ length: to - from }, (_, k) => claudeLine(from + k)).join('\n')}\n`;

/**
 * A folder as users have them: one session in three files (its start, its continuation, and a
 * resumed copy that repeats the start), real logs of several agents, and files that give nothing.
 */
function folder(root: string): string[] {
  mkdirSync(join(root, 'resumed'));
  writeFileSync(join(root, 'start.jsonl'), lines(0, 5));
  writeFileSync(join(root, 'continued.jsonl'), lines(5, 11));
  writeFileSync(join(root, 'resumed', 'copy.jsonl'), lines(0, 8));
  writeFileSync(join(root, 'empty.jsonl'), '');
  copyFileSync(fixture('claude-code', 'representative_messages.jsonl'), join(root, 'representative_messages.jsonl'));
  copyFileSync(fixture('claude-code', 'sidechain_integrated.jsonl'), join(root, 'sidechain_integrated.jsonl'));
  copyFileSync(fixture('codex', 'rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl'), join(root, 'rollout-2026-01-02T03-04-05-11111111-1111-4111-8111-111111111111.jsonl'));
  copyFileSync(fixture('swe-agent', '6e44b9__sweagenttestrepo-1c2844.traj'), join(root, '6e44b9__sweagenttestrepo-1c2844.traj'));
  copyFileSync(fixture('openai-messages', 'rollout-step11-head4.jsonl'), join(root, 'rollout-step11-head4.jsonl'));
  const files: string[] = [];
  const visit = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) visit(path);
      else files.push(path);
    }
  };
  visit(root);
  return files;
}

/** The stored trajectories (with their steps and files), minus the import time. */
function contents(store: Store): string {
  const trajectories = store.db.prepare('SELECT * FROM trajectories ORDER BY id').all().map((r) => ({ ...(r as object), imported_at: undefined }));
  const steps = store.db.prepare('SELECT trajectory_id, idx, text, thought, tool_calls_json, observations_json, user_messages_json, started_at, usage_json FROM steps ORDER BY trajectory_id, idx').all();
  const files = store.db.prepare('SELECT trajectory_id, path, part_json FROM trajectory_files ORDER BY trajectory_id, path').all();
  return JSON.stringify({ trajectories, steps, files });
}

describe('import order', () => {
  it('any permutation of a folder\'s files, imported in any number of runs, gives the store of one import', async (t) => {
    const root = tempDir(t);
    const files = folder(root);
    const once = openStore(':memory:');
    t.after(() => {
      once.close();
    });
    await importPaths(once, await redactor(), [root]);
    const expected = contents(once);
    assert.ok(once.trajectories.count() >= 8);
    const span = trajectoryId('claude-code', 'span');
    assert.equal(once.trajectories.files(span).filter((f) => f.part !== undefined).length, 3);
    assert.deepEqual(once.trajectories.get(span)!.steps.map((s) => s.toolCalls[0]!.arguments.command), ['make 1', 'make 3', 'make 5', 'make 7', 'make 9']);
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray(files, { minLength: files.length, maxLength: files.length }), fc.array(fc.nat({ max: files.length }), { maxLength: 4 }), async (order, cuts) => {
        const store = openStore(':memory:');
        try {
          const bounds = [...new Set([0, ...cuts, files.length])].sort((a, b) => a - b);
          for (let i = 1; i < bounds.length; i++) {
            const run = order.slice(bounds[i - 1], bounds[i]);
            if (run.length > 0) await importPaths(store, await redactor(), run);
          }
          assert.equal(contents(store), expected);
          // And importing everything again changes nothing.
          const again = await importPaths(store, await redactor(), [root]);
          assert.equal(again.trajectories, 0);
          assert.equal(contents(store), expected);
        } finally {
          store.close();
        }
      }),
      { numRuns: 25 },
    );
  });

  it('the two-thread import stores the same multi-file sessions as the one-thread import', async (t) => {
    const root = tempDir(t);
    folder(root);
    const one = openStore(join(tempDir(t), 'one.db'));
    const two = openStore(join(tempDir(t), 'two.db'));
    t.after(() => {
      one.close();
      two.close();
    });
    const a = await importPaths(one, await redactor(), [root]);
    const b = await importPathsInParallel(two, [root]);
    assert.equal(contents(two), contents(one));
    assert.equal(b.trajectories, a.trajectories);
    assert.deepEqual(b.empty, a.empty);
    assert.deepEqual(b.emptyTargets, a.emptyTargets);
  });
});
