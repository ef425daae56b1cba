import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDistillCommand } from '../../../src/cli/commands/distill.js';
import { runCli } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/context.js';
import { lexicalTextEmbedder } from '../../../src/core/embedding/lexical.js';
import { fixtureStore } from '../distill/helpers.js';

const command = makeDistillCommand(() => Promise.resolve(lexicalTextEmbedder()));

function io(cwd: string): { out: string[]; err: string[]; io: CliIo } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t), env: { HOME: cwd }, cwd } };
}

async function storeDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-cli-distill-'));
  (await fixtureStore(join(dir, 'internalize.db'))).close();
  return dir;
}

test('--dry-run on a temp store estimates records, tokens and time, and trains nothing', async () => {
  const dir = await storeDir();
  const run = io(dir);
  const code = await command.run(['--db', 'internalize.db', '--dry-run', '--context-tokens', '512', '--k', '3', '--injection', 'cumulative'], run.io);
  assert.equal(code, 0, run.err.join(''));
  const text = run.out.join('');
  assert.match(text, /A round on smollm2-135m-instruct \(off-policy, step-wise cumulative, k 3\) would train on \d+ states and score on \d+ held-out states, from 7 trajectories/u);
  assert.match(text, /About \d+ tokens per epoch, 2 epochs; \d+ states cut to 512 tokens/u);
  assert.match(text, /Estimated time: about \d+ min for the first iteration \(general answers \(once per model\) \d+ s, training \d+ (s|min), scoring \d+ (s|min)\), \d+ min for 1 iteration, training at 55 tokens\/s \(assumed for a ~135M model on CPU/u);
  const { openStore } = await import('../../../src/core/store/index.js');
  const store = openStore(join(dir, 'internalize.db'));
  assert.deepEqual(store.iterations.list(), [], 'a dry run writes no iteration');
  store.close();
});

test('--dry-run --export-dataset writes the dataset the round would train and score on, and trains nothing', async () => {
  const dir = await storeDir();
  const run = io(dir);
  const code = await command.run(['--db', 'internalize.db', '--dry-run', '--context-tokens', '512', '--iterations', '3', '--export-dataset', 'planned.jsonl'], run.io);
  assert.equal(code, 0, run.err.join(''));
  const text = run.out.join('');
  assert.match(text, /, \d+ min for 3 iterations, /u);
  const written = /Wrote the planned dataset, (\d+) training and (\d+) held-out records .* to (.+)\.\n/u.exec(text);
  assert.ok(written !== null, text);
  const { readJsonl } = await import('../../../src/core/distill/dataset.js');
  const records = readJsonl(join(dir, 'planned.jsonl'));
  assert.equal(records.filter((r) => r.meta.split === 'train').length, Number(written[1]));
  assert.equal(records.filter((r) => r.meta.split === 'heldout').length, Number(written[2]));
  const stats = /would train on (\d+) states and score on (\d+) held-out states/u.exec(text);
  assert.deepEqual([Number(written[1]), Number(written[2])], [Number(stats?.[1]), Number(stats?.[2])], 'the file is the dataset the estimate counted');
  const { openStore } = await import('../../../src/core/store/index.js');
  const store = openStore(join(dir, 'internalize.db'));
  assert.deepEqual(store.iterations.list(), [], 'nothing trained, no iteration written');
  store.close();
});

test('bad options are usage errors that name the option; an empty selection names its filter', async () => {
  const dir = await storeDir();
  const cases: [string[], RegExp][] = [
    [['--device', 'tpu'], /device: Invalid option: expected one of "auto"\|"cpu"\|"cuda"/u],
    [['--injection', 'sideways'], /--injection must be stepwise, cumulative or global, not "sideways"/u],
    [['--k', '9'], /--k must be a whole number from 1 to 8, not "9"/u],
    [['--lora-rank', 'big'], /--lora-rank must be a whole number from 1 to 256/u],
    [['--since', 'yesterday'], /--since: must be a date like 2026-01-31/u],
    [['--since', '2026-02-01', '--until', '2026-01-01'], /--since \(2026-02-01\) is after --until \(2026-01-01\)/u],
    [['--iteration', '2'], /--iteration N goes with --export-dataset FILE/u],
    [['--regim', 'sft'], /Unknown option --regim \(did you mean --regime\?\)/u],
    [['--size', 'tiny'], /--size must be quick or full, not "tiny"/u],
  ];
  for (const [argv, expected] of cases) {
    const run = io(dir);
    assert.equal(await runCli(['distill', '--db', 'internalize.db', ...argv], run.io), 2, argv.join(' '));
    assert.match(run.err.join(''), expected, argv.join(' '));
  }
  const empty = io(dir);
  assert.equal(await command.run(['--db', 'internalize.db', '--dry-run', '--source', 'codex'], empty.io), 1);
  assert.match(empty.err.join(''), /the filter "source codex" left none \(38 stored, then 7 with outcome success, then 0 with source codex\)/u);
});

test('--export-dataset --iteration N refuses an iteration that was not a round on your data', async () => {
  const dir = await storeDir();
  const { openStore } = await import('../../../src/core/store/index.js');
  const store = openStore(join(dir, 'internalize.db'));
  store.iterations.save({ number: 1, status: 'done', config: { world: 'toy' } });
  store.close();
  const run = io(dir);
  assert.equal(await command.run(['--db', 'internalize.db', '--export-dataset', 'out.jsonl', '--iteration', '1'], run.io), 1);
  assert.match(run.err.join(''), /Iteration 1 was not a round on your data: it has no stored dataset/u);
  assert.equal(existsSync(join(dir, 'out.jsonl')), false);
  const missing = io(dir);
  assert.equal(await command.run(['--db', 'internalize.db', '--export-dataset', 'out.jsonl', '--iteration', '7'], missing.io), 1);
  assert.match(missing.err.join(''), /There is no iteration 7/u);
});

test('--size quick is the editor\'s Quick check: capped states, 512-token contexts, one epoch; an explicit --epochs still wins', async () => {
  const dir = await storeDir();
  const run = io(dir);
  assert.equal(await command.run(['--db', 'internalize.db', '--dry-run', '--size', 'quick'], run.io), 0, run.err.join(''));
  const text = run.out.join('');
  assert.match(text, /would train on 12 states and score on \d+ held-out states/u);
  assert.match(text, /About \d+ tokens per epoch, 1 epoch; \d+ states cut to 512 tokens/u);
  const { configFrom } = await import('../../../src/cli/commands/distill.js');
  const { parseArgs } = await import('../../../src/cli/args.js');
  const config = configFrom(parseArgs(['--size', 'quick', '--epochs', '3'], { values: ['size', 'epochs'], flags: [] }), dir);
  assert.deepEqual([config.epochs, config.contextTokens, config.maxTrainRecords, config.maxHeldoutRecords, config.generalPrompts], [3, 512, 12, 6, 6]);
});
