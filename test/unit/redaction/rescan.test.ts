import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../../../src/cli/main.js';
import { createRedactor } from '../../../src/core/redaction/index.js';
import { openStore } from '../../../src/core/store/index.js';
import { rescanSecrets } from '../../../src/core/store/rescan.js';
import type { Trajectory } from '../../../src/core/trajectory.js';

// Assembled from parts so that this file holds no whole secret.
const ANTHROPIC = ['sk-ant-', 'oat01-', 'Qx7vT2mLk9PzR4wNc8YbF1sHj6GdA3uE5', '_aKx0oVi-Zq8vR2mXk4LpT9wNc7YbF3sHj6GdQ1uE5aKx0oVi_Zq8vR2mXk4LpT9wNc7YbF3sHj', 'AA'].join('');
const AWS_ID = ['AK', 'IA', 'Q2V7HZL4RX6MN3KD'].join('');
const DB_PASSWORD = 'Tr0ub4dor-Blue-77';

/** A trajectory as an old store holds it: captured before the detectors knew these secrets. */
function leaky(id: string): Trajectory {
  return {
    id,
    source: 'claude-code',
    sessionId: id,
    task: `deploy with ${AWS_ID}`,
    systemPrompt: 'You are a careful engineer.',
    outcome: { label: 'success', evidence: [] },
    redactions: { 'github-pat': 1 },
    steps: [
      { index: 0, text: 'Checking the environment', toolCalls: [{ id: 'c1', name: 'Bash', arguments: { command: `export ANTHROPIC_API_KEY=${ANTHROPIC}` } }], observations: [{ callId: 'c1', content: 'ok', isError: false }] },
      { index: 1, thought: 'the database next', toolCalls: [], observations: [{ callId: 'c2', content: `DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app`, isError: false }] },
      { index: 2, toolCalls: [], observations: [{ callId: 'c3', content: 'pytest passed: zebrafish', isError: false }], userMessages: ['thanks'] },
    ],
  };
}

function tempDb(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-rescan-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return join(dir, 'store.db');
}

describe('re-scan of a store for secrets', () => {
  it('redacts what slipped through in every stored field, counts by rule, and keeps the search index in step', async (t) => {
    const store = openStore(':memory:');
    t.after(() => {
      store.close();
    });
    store.trajectories.upsertMany([leaky('claude-code:a'), leaky('claude-code:b'), { ...leaky('claude-code:c'), task: 'nothing secret', steps: [] }]);
    assert.equal(store.trajectories.search('zebrafish').length, 2);
    const progress: number[] = [];
    const report = await rescanSecrets(store, await createRedactor(), { batchSize: 2, onProgress: (done) => progress.push(done) });
    assert.deepEqual(progress, [2, 3]);
    assert.equal(report.trajectories, 3);
    assert.equal(report.changedTrajectories, 2);
    assert.equal(report.changedSteps, 4, 'steps 0 and 1 of the two leaky trajectories');
    assert.deepEqual(report.redactions, { 'aws-access-token': 2, 'anthropic-key': 2, 'url-credentials': 2 });
    assert.deepEqual(report.skipped, []);

    const a = store.trajectories.get('claude-code:a');
    assert.ok(a);
    const stored = JSON.stringify(a);
    for (const secret of [ANTHROPIC, AWS_ID, DB_PASSWORD]) assert.ok(!stored.includes(secret), 'secret left in the store');
    assert.equal(a.task, 'deploy with [REDACTED:aws-access-token]');
    const database = a.steps[1];
    assert.ok(database);
    assert.equal(database.observations[0]?.content, 'DATABASE_URL=postgres://app:[REDACTED:url-credentials]@db:5432/app');
    assert.equal(database.thought, 'the database next');
    assert.deepEqual(a.steps[2]?.userMessages, ['thanks']);
    assert.deepEqual(a.redactions, { 'github-pat': 1, 'aws-access-token': 1, 'anthropic-key': 1, 'url-credentials': 1 });
    assert.equal(store.trajectories.summary('claude-code:a')?.redactionCount, 4);
    // The full-text index follows the rewritten rows: the secret is gone from it, the rest is still found.
    assert.equal(store.trajectories.search(DB_PASSWORD).length, 0);
    assert.equal(store.trajectories.search('postgres').length, 2);
    assert.equal(store.trajectories.search('zebrafish').length, 2);
    assert.equal(store.trajectories.search('environment').length, 2);
    store.db.exec("INSERT INTO steps_fts(steps_fts, rank) VALUES ('integrity-check', 1)");

    const again = await rescanSecrets(store, await createRedactor());
    assert.equal(again.changedTrajectories, 0);
    assert.deepEqual(again.redactions, {});
  });

  it('leaves a trajectory that another writer changed meanwhile, and says so', async (t) => {
    const store = openStore(':memory:');
    t.after(() => {
      store.close();
    });
    store.trajectories.upsert(leaky('claude-code:a'));
    const inner = await createRedactor();
    // Capture rewrites the trajectory while the re-scan is redacting it.
    const racing = {
      scan: (texts: readonly string[]) => inner.scan(texts),
      async redact(items: Parameters<typeof inner.redact>[0]) {
        const out = await inner.redact(items);
        store.trajectories.upsert({ ...leaky('claude-code:a'), task: 'rewritten by capture' });
        return out;
      },
    };
    const report = await rescanSecrets(store, racing);
    assert.deepEqual(report.skipped, ['claude-code:a']);
    assert.equal(report.changedTrajectories, 0);
    assert.equal(store.trajectories.get('claude-code:a')?.task, 'rewritten by capture');
  });

  it('runs as `internalize rescan-secrets`, listed in --help, reporting the count by rule', async (t) => {
    const db = tempDb(t);
    const store = openStore(db);
    store.trajectories.upsert(leaky('claude-code:a'));
    store.close();
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s), env: {}, cwd: '/' };
    assert.equal(await runCli(['--help'], io), 0);
    assert.match(out.join(''), /internalize rescan-secrets \[--db PATH\] \[--json\]\n\s+Re-scan every stored trajectory/u);
    out.length = 0;
    assert.equal(await runCli(['rescan-secrets', '--db', db], io), 0, err.join(''));
    assert.match(out.join(''), /Re-scanned 1 trajectories \(3 steps\) in [\d.]+ s; 3 secrets redacted in 1 trajectories \(2 steps\)\.\n {2}redactions by rule: .*anthropic-key 1/u);
    out.length = 0;
    assert.equal(await runCli(['rescan-secrets', '--db', db, '--json'], io), 0);
    const json = JSON.parse(out.join('')) as { secretsRedacted: number; trajectories: number };
    assert.equal(json.secretsRedacted, 0);
    assert.equal(json.trajectories, 1);
  });
});
