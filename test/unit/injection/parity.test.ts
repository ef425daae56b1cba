import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/main.js';
import { createEmbedder } from '../../../src/core/embedding/resolve.js';
import { parseInjectionOptions } from '../../../src/core/injection/options.js';
import { openStore } from '../../../src/core/store/index.js';
import { planPreview } from '../../../src/extension/webviews/injectionModel.js';
import { POOL } from './helpers.js';

/**
 * The same trajectory and pool give the same plan from the command line (`internalize preview
 * <id> --json`) and from the extension's Injection Preview (planPreview, the function its panel
 * calls), with the embedder each resolves the same way: a real SWE-agent run, a pool with one
 * principle internalized for the target model, step-wise and global.
 */
const FIXTURE = join(__dirname, '..', '..', 'fixtures', 'swe-agent', '6e44b9__sweagenttestrepo-1c2844.traj');
const TARGET = 'smollm2-135m-instruct';

test('CLI preview --json and the extension plan a real trajectory identically', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-parity-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const db = join(dir, 'i.db');
  // The built-in MiniLM export when `npm test` has set it up (both sides then rank with ONNX), else both fall back to lexical.
  const models = join(__dirname, '..', '..', '..', '.cache', 'models');
  const env: Record<string, string> = existsSync(join(models, 'minilm')) ? { HOME: dir, INTERNALIZE_MODELS_DIR: models } : { HOME: dir };
  const cli = async (argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env, cwd: dir });
    return { code, out: out.join(''), err: err.join('') };
  };
  assert.equal((await cli(['import', '--db', db, FIXTURE])).code, 0);

  const store = openStore(db);
  t.after(() => {
    store.close();
  });
  store.transaction(() => {
    for (const p of POOL) store.principles.save(p);
  });
  // P2 is internalized for the target model: both sides must leave it out the same way.
  store.iterations.save({ number: 1, status: 'done', config: { model: TARGET } });
  store.scores.save(1, [{ principleId: 'P2', method: 'divergence', score: 0.9, internalized: true, detail: {} }]);
  const [summary] = store.trajectories.list({});
  assert.ok(summary !== undefined);
  const trajectory = store.trajectories.get(summary.id);
  assert.ok(trajectory !== undefined);

  const embedder = await createEmbedder({ env });
  t.after(() => embedder.dispose());
  for (const [flags, options] of [
    [['--k', '3'], { k: 3 }],
    [['--mode', 'global'], { mode: 'global' }],
    [['--persistence', 'cumulative', '--k', '8'], { persistence: 'cumulative', k: 8 }],
  ] as const) {
    const fromCli = await cli(['preview', summary.id, '--db', db, '--json', '--target-model', TARGET, ...flags]);
    assert.equal(fromCli.code, 0, fromCli.err);
    const planned = await planPreview({ store, trajectory, embedder, options: parseInjectionOptions({ ...options, targetModel: TARGET }) });
    if (planned.kind !== 'plan') throw new Error(`expected a plan, got ${planned.kind}`);
    const cliPlan: unknown = JSON.parse(fromCli.out);
    assert.deepEqual(cliPlan, JSON.parse(JSON.stringify(planned.plan)), `the plans for ${flags.join(' ')} differ`);
    console.log(`parity ${flags.join(' ')}: ${String(planned.plan.steps.length)} decision states equal (${planned.plan.embedder.id})`);
    // Equal, and about something: principles were chosen, and the internalized one never was.
    const chosen = planned.plan.options.mode === 'global' ? (planned.plan.globalSelected ?? []) : planned.plan.steps.flatMap((s) => s.selected);
    assert.ok(chosen.length > 0, `${flags.join(' ')}: some principle is injected`);
    assert.ok(chosen.every((p) => p.id !== 'P2'), 'the internalized principle is left out');
  }
});
