import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/context.js';
import { openStore } from '../../../src/core/store/index.js';
import { POOL_1, threeIterations } from '../distill/rollbackLedger.js';

function io(cwd: string): { out: string[]; err: string[]; io: CliIo } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t), env: { HOME: cwd }, cwd } };
}

async function cli(dir: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const run = io(dir);
  const code = await runCli(['iterations', '--db', 'internalize.db', ...argv], run.io);
  return { code, out: run.out.join(''), err: run.err.join('') };
}

/** A temp folder whose store holds the three-iteration ledger (adapters on disk), a score for iteration 1 and a failed fourth iteration. */
function ledgerDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-cli-iterations-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const store = threeIterations(join(dir, 'internalize.db'), dir);
  store.scores.save(1, [{ principleId: 'P1', method: 'divergence', score: 0.82, internalized: true, detail: { states: 6 } }]);
  const checkpoint = join(dir, 'iteration-4', 'checkpoint-interrupted-step7');
  mkdirSync(checkpoint, { recursive: true });
  writeFileSync(join(checkpoint, 'adapter_config.json'), '{}');
  const train = join(dir, 'iteration-4', 'train.jsonl');
  writeFileSync(train, '{}\n');
  store.iterations.save({
    number: 4,
    status: 'failed',
    config: { kind: 'own-data', model: 'smollm2-135m-instruct', regime: 'sft', injection: 'global', k: 3, targets: 'teacher-samples (divergence)', dataset: { train, heldout: join(dir, 'iteration-4', 'heldout.jsonl'), trainRecords: 1 } },
    verdict: { error: 'The training worker exited with status 137 (out of memory?).', checkpoint, logTail: ['Killed'] },
  });
  store.close();
  return dir;
}

test('a missing store is named, not created; an empty one says how to make the first iteration', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-cli-iterations-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  for (const argv of [[], ['--show', '1'], ['--roll-back', '1']]) {
    const missing = await cli(dir, ...argv);
    assert.equal(missing.code, 1, argv.join(' '));
    assert.equal(missing.err, `No Internalize store at ${join(dir, 'internalize.db')}: nothing has been captured or distilled there yet. Pass --db with the store you use (the editor's internalize.store.path), or set INTERNALIZE_DB.\n`);
    assert.equal(existsSync(join(dir, 'internalize.db')), false, 'reading the ledger creates no database');
  }
  openStore(join(dir, 'internalize.db')).close();
  const empty = await cli(dir);
  assert.equal(empty.code, 0);
  assert.equal(empty.out, 'No iterations yet: run `internalize distill …` (or Start Distillation Round in the editor) to train the first.\n');
  assert.equal((await cli(dir, '--json')).out, '[]\n');
  for (const argv of [['--show', '1'], ['--compare', '1'], ['--roll-back', '1']]) {
    const none = await cli(dir, ...argv);
    assert.equal(none.code, 1, argv.join(' '));
    assert.match(none.err, /^No iterations yet: run `internalize distill …`/u);
  }
});

test('the list is the table distill prints, for every iteration; --json gives the records', async (t) => {
  const dir = ledgerDir(t);
  const list = await cli(dir);
  assert.equal(list.code, 0, list.err);
  const lines = list.out.split('\n');
  assert.equal(lines[0], 'Iteration  Status     Targets                      Train/held-out  Final loss  Mean score  Judge score  Internalized  Action NLL base→student  Retention ×');
  assert.match(lines[1] ?? '', /^1 {9}done {7}recorded {21}– {15}– {11}0\.70 {8}– {12}– {13}– {24}1\.010$/u);
  assert.match(lines[3] ?? '', /^3 {9}collapsed {2}recorded .* 0\.40 .* 1\.080$/u);
  assert.match(lines[4] ?? '', /^4 {9}failed {5}teacher-samples \(divergence\)/u);
  assert.match(list.out, /\n {2}P1 {7}0\.82 {2}internalized {2}6 states\n/u);
  assert.match(list.out, /Iteration 3 collapsed, the loop stops: retention ×1\.080 past ×1\.050\./u);
  assert.match(list.out, /Iteration 4 failed: The training worker exited with status 137 \(out of memory\?\)\.\n {2}Its checkpoint is kept \(.*checkpoint-interrupted-step7\); continue with `internalize distill --resume 4`\./u);
  const json = await cli(dir, '--json');
  const records = JSON.parse(json.out) as { number: number; status: string }[];
  assert.deepEqual(records.map((r) => [r.number, r.status]), [[1, 'done'], [2, 'done'], [3, 'collapsed'], [4, 'failed']]);
});

test('--show N prints one iteration in full; a deleted adapter folder is said, a failed round gets its resume command', async (t) => {
  const dir = ledgerDir(t);
  const one = await cli(dir, '--show', '1');
  assert.equal(one.code, 0, one.err);
  assert.equal(
    one.out,
    [
      'Iteration 1: done',
      '  Kind:          own-data (your principles on your trajectories)',
      '  Model:         smollm2-135m-instruct',
      '  Regime:        off-policy',
      '  Injection:     stepwise-ephemeral',
      '  Targets:       recorded',
      '  Dataset:       none stored',
      `  Adapter:       ${join(dir, 'iteration-1', 'adapter')}`,
      '  Metrics:',
      '    Mean principle score (mean_score): 0.70',
      '    Retention NLL (×base) (retention_ratio): ×1.010',
      '  Principle scores:',
      '    P1       0.82  divergence internalized  6 states',
      '',
    ].join('\n'),
  );

  rmSync(join(dir, 'iteration-2'), { recursive: true });
  const two = await cli(dir, '--show', '2');
  assert.equal(two.code, 0, two.err);
  assert.match(two.out, new RegExp(`\\n {2}Adapter: {7}${join(dir, 'iteration-2', 'adapter').replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')} \\(no longer on disk: the folder was moved or deleted\\)\\n`, 'u'));

  const three = await cli(dir, '--show', '3');
  assert.match(three.out, /\n {2}Verdict:\n {4}Collapsed: retention ×1\.080 past ×1\.050\.\n/u);

  const four = await cli(dir, '--show', '4');
  assert.equal(four.code, 0, four.err);
  assert.match(four.out, /^Iteration 4: failed\n/u);
  assert.match(four.out, /\n {2}Regime: {8}sft\n {2}Injection: {5}global, k 3\n {2}Targets: {7}teacher-samples \(divergence\)\n/u);
  assert.match(four.out, /\n {2}Training set: {2}.*iteration-4\/train\.jsonl\n {2}Held-out set: {2}.*iteration-4\/heldout\.jsonl \(no longer on disk\)\n/u);
  assert.match(four.out, /\n {2}Adapter: {7}none\n {2}Metrics: {7}none recorded\n/u);
  assert.match(four.out, /\n {4}Reason: The training worker exited with status 137 \(out of memory\?\)\.\n {4}Worker log tail:\n {6}Killed\n/u);
  assert.match(four.out, /\n {2}Checkpoint: {4}.*checkpoint-interrupted-step7\n {2}Resume with: {3}internalize distill --resume 4 --db internalize\.db\n$/u);

  const json = await cli(dir, '--show', '4', '--json');
  const shown = JSON.parse(json.out) as { iteration: { number: number }; adapter?: unknown; dataset: { role: string; file: { exists: boolean } }[]; checkpoint: { exists: boolean }; resume: string; scores: unknown[] };
  assert.equal(shown.iteration.number, 4);
  assert.equal(shown.adapter, undefined);
  assert.deepEqual(shown.dataset.map((d) => [d.role, d.file.exists]), [['train', true], ['heldout', false]]);
  assert.equal(shown.checkpoint.exists, true);
  assert.equal(shown.resume, 'internalize distill --resume 4 --db internalize.db');
  const twoJson = JSON.parse((await cli(dir, '--show', '2', '--json')).out) as { adapter: { path: string; exists: boolean } };
  assert.deepEqual(twoJson.adapter, { path: join(dir, 'iteration-2', 'adapter'), exists: false });

  const unknown = await cli(dir, '--show', '9');
  assert.equal(unknown.code, 1);
  assert.equal(unknown.err, `There is no iteration 9 in ${join(dir, 'internalize.db')}; it has iterations 1, 2, 3, 4.\n`);
});

test('--compare N prints the metric deltas and the pool diff against the previous snapshot', async (t) => {
  const dir = ledgerDir(t);
  const two = await cli(dir, '--compare', '2');
  assert.equal(two.code, 0, two.err);
  assert.equal(
    two.out,
    [
      'Iteration 1 → 2: metrics',
      '  Mean principle score   0.70 → 0.50  −0.20 (worse)',
      '  Retention NLL (×base)  ×1.010 → ×1.030  +0.020 (worse)',
      '',
      'iteration 1 → iteration 2',
      'UPDATE P1     When a test fails, read [-its-] {+the whole+} log [-first.-]{+before editing.+}',
      'DELETE P2     When a command is slow, run it once.',
      '0 added, 1 updated, 0 merged, 1 deleted, 1 unchanged.',
      '',
    ].join('\n'),
  );
  const first = await cli(dir, '--compare', '1');
  assert.match(first.out, /^Iteration 1 against its base model\n {2}\(no metric to compare\)\nThe first iteration: each metric is compared with the base model measured in the same run\.\n\nempty pool → iteration 1\n/u);
  assert.match(first.out, /3 added, 0 updated, 0 merged, 0 deleted, 0 unchanged\.\n$/u);
  // Iteration 4 froze no pool: its diff is against the current pool, and the note says so.
  const four = await cli(dir, '--compare', '4');
  assert.match(four.out, /Iteration 4 has no metrics \(failed\)\. *\n/u);
  assert.match(four.out, /Iteration 4 froze no pool snapshot .* against the current pool\.\n\niteration 3 → current pool\n/u);
  const json = JSON.parse((await cli(dir, '--compare', '3', '--json')).out) as { title: string; deltas: { label: string }[]; pool: { from: string; to: string; entries: { kind: string }[] } };
  assert.equal(json.title, 'Iteration 2 → 3: metrics');
  assert.deepEqual(json.deltas.map((d) => d.label), ['Mean principle score', 'Retention NLL (×base)']);
  assert.deepEqual([json.pool.from, json.pool.to, json.pool.entries.map((e) => e.kind)], ['iteration 2', 'iteration 3', ['ADD']]);
});

test('--roll-back N applies the pool changes through the core and says so in the dialog\'s words; a second time has nothing left to do', async (t) => {
  const dir = ledgerDir(t);
  const back = await cli(dir, '--roll-back', '1');
  assert.equal(back.code, 0, back.err);
  assert.equal(
    back.out,
    [
      "The pool goes back to iteration 1's 3 principles through 3 recorded operations (1 restored, 1 reworded, 1 retired).",
      'Later iterations (2, 3, 4) are marked rolled back; their records and files stay.',
      `Its adapter (${join(dir, 'iteration-1', 'adapter')}) is again the latest finished iteration's: a round that continues from the previous student starts from it.`,
      'Rolled back to iteration 1; 3 pool changes applied.',
      '',
    ].join('\n'),
  );
  const store = openStore(join(dir, 'internalize.db'));
  try {
    assert.deepEqual(store.principles.list({ status: 'accepted' }).map((p) => p.text).sort(), [...POOL_1].sort());
    assert.deepEqual(store.iterations.list().map((it) => it.status), ['done', 'rolled-back', 'rolled-back', 'rolled-back']);
    assert.equal(store.iterations.get(4)?.verdict?.statusBefore, 'failed');
    assert.equal(store.runs.list().filter((r) => r.kind === 'rollback').length, 1);
  } finally {
    store.close();
  }
  const list = await cli(dir);
  // The status column widens by the one letter `rolled-back` needs; distill's own table keeps its width.
  assert.match(list.out, /^Iteration {2}Status {6}Targets {22}Train\/held-out/u);
  assert.match(list.out, /\n2 {9}rolled-back recorded {21}– /u);
  assert.match(list.out, /\nIteration 3 \(collapsed\) was rolled back to iteration 1\.\n/u);
  assert.match(list.out, /\nIteration 4 \(failed\) was rolled back to iteration 1\.\n/u);
  assert.match((await cli(dir, '--show', '2')).out, /^Iteration 2: rolled back\n[\s\S]*\n {4}Rolled back to iteration 1 at \d{4}-\d\d-\d\dT[\d:.]+Z; its status before was done\.\n/u);

  const again = await cli(dir, '--roll-back', '1');
  assert.equal(again.code, 0, again.err);
  assert.equal(again.out, `The pool already matches iteration 1's (3 principles).\nIts adapter (${join(dir, 'iteration-1', 'adapter')}) is again the latest finished iteration's: a round that continues from the previous student starts from it.\nRolled back to iteration 1.\n`);
});

test('--roll-back N --review proposes the pool changes for review; a running iteration is refused with the reason', async (t) => {
  const dir = ledgerDir(t);
  const store = openStore(join(dir, 'internalize.db'));
  store.iterations.save({ number: 5, status: 'running', config: { kind: 'own-data' }, startedAt: '2026-12-02T01:00:00.000Z' });
  store.close();
  const running = await cli(dir, '--roll-back', '5');
  assert.equal(running.code, 1);
  assert.equal(running.err, 'Iteration 5 is running; roll back to a finished iteration.\n');
  assert.match((await cli(dir)).out, /\nIteration 5 is running \(started 2026-12-02T01:00:00\.000Z\): it has no scores yet\.\n/u);

  const review = await cli(dir, '--roll-back', '2', '--review');
  assert.equal(review.code, 0, review.err);
  assert.match(review.out, /^The pool goes back to iteration 2's 2 principles through 1 recorded operation \(1 retired\)\.\nLater iterations \(3, 4\) are marked rolled back; their records and files stay\.\n/u);
  assert.match(review.out, /\nRolled back to iteration 2\. 1 pool change waits for your review \(operations \d+\): `internalize pool` lists them, `internalize pool --apply OPID` or `--reject OPID` decides one, or the Principles view in the editor\.\n$/u);
  const after = openStore(join(dir, 'internalize.db'));
  try {
    assert.equal(after.principles.list({ status: 'accepted' }).length, 3, 'nothing changes before the review');
    assert.deepEqual(after.poolOps.list({ status: 'proposed' }).map((o) => o.kind), ['DELETE']);
    assert.equal(after.iterations.get(5)?.status, 'running', 'a running iteration is never set aside');
  } finally {
    after.close();
  }
});

test('bad flags are usage errors that say what goes with what', async (t) => {
  const dir = ledgerDir(t);
  const cases: [string[], RegExp][] = [
    [['--show', 'two'], /--show takes an iteration number \(1, 2, …\), not "two"\./u],
    [['--roll-back', '0'], /--roll-back takes an iteration number \(1, 2, …\), not "0"\./u],
    [['--show', '1', '--compare', '2'], /--show and --compare cannot go together: choose one\./u],
    [['--review'], /--review goes with --roll-back N/u],
    [['--roll-back', '1', '--json'], /--json goes with the list, --show N or --compare N/u],
    [['3'], /iterations takes no positional arguments; got 3\./u],
    [['--rollback', '1'], /Unknown option --rollback \(did you mean --roll-back\?\)\./u],
  ];
  for (const [argv, expected] of cases) {
    const run = await cli(dir, ...argv);
    assert.equal(run.code, 2, argv.join(' '));
    assert.match(run.err, expected, argv.join(' '));
    assert.match(run.err, /Usage: internalize iterations /u);
  }
  const store = openStore(join(dir, 'internalize.db'));
  try {
    assert.equal(store.runs.list().length, 0, 'no usage error rolled anything back');
  } finally {
    store.close();
  }
});

test('a built-in round lists its world in the Targets column, not an own-data target source', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-cli-iterations-world-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const store = openStore(join(dir, 'internalize.db'));
  store.iterations.save({ number: 1, status: 'done', config: { kind: 'toy', world: 'toy', regime: 'off-policy' }, metrics: { accuracy_without_principles: 1 } });
  store.iterations.save({ number: 2, status: 'done', config: { kind: 'suite', world: 'suite', regime: 'off-policy' }, metrics: {} });
  store.close();
  const listed = await cli(dir);
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out, /\n1 +done +toy world \(built-in\) /u);
  assert.match(listed.out, /\n2 +done +principle suite \(built-in\) /u);
  assert.doesNotMatch(listed.out, /recorded/u);
});
