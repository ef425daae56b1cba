import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createRedactor, importPaths } from '../../../src/core/capture/index.js';
import { mine } from '../../../src/core/experience/miner.js';
import { checkSpecificity } from '../../../src/core/experience/specificity.js';
import { openStore } from '../../../src/core/store/index.js';
import type { Trajectory } from '../../../src/core/trajectory.js';

const RUNS = join(__dirname, '..', '..', '..', 'samples', 'agent-runs');

/** The demo's sample runs (samples/agent-runs), imported as `npm start` imports them. */
async function importSamples(t: { after: (fn: () => void) => void }): Promise<{ trajectories: Trajectory[]; report: Awaited<ReturnType<typeof importPaths>> }> {
  const store = openStore(':memory:');
  t.after(() => {
    store.close();
  });
  const report = await importPaths(store, await createRedactor(), [RUNS]);
  const trajectories = store.trajectories.list({ limit: 100 }).map((s) => store.trajectories.get(s.id)).filter((x): x is Trajectory => x !== undefined);
  return { trajectories, report };
}

describe('the demo sample runs', () => {
  it('import cleanly: ten runs of four agents about the sample project, with the outcome each story ends in', async (t) => {
    const { trajectories, report } = await importSamples(t);
    assert.deepEqual(report.errors, []);
    assert.deepEqual(report.issues, [], 'no skipped line or field');
    assert.deepEqual(report.empty, [], 'every file gave a run or belongs to one');
    assert.equal(trajectories.length, 10);
    const outcomes = new Map<string, string[]>();
    for (const run of trajectories) {
      assert.equal(run.workspace, '/home/dev/projects/tally', `${run.id} is about the sample project`);
      assert.ok(run.steps.length >= 4, `${run.id} has its steps`);
      outcomes.set(run.source, [...(outcomes.get(run.source) ?? []), run.outcome.label].sort());
    }
    // Every agent has a success beside a failure, so each lesson is shown both ways.
    assert.deepEqual(Object.fromEntries(outcomes), {
      'claude-code': ['failure', 'success', 'success'],
      codex: ['failure', 'success', 'success'],
      'gemini-cli': ['failure', 'success'],
      cline: ['failure', 'success'],
    });
  });

  it('the made-up API key written into a config file is redacted on import', async (t) => {
    const { trajectories, report } = await importSamples(t);
    const leaked = trajectories.find((run) => run.source === 'gemini-cli' && run.outcome.label === 'failure');
    assert.ok(leaked !== undefined);
    assert.ok(Object.values(report.redactions).reduce((a, b) => a + b, 0) >= 1, 'the import counts the redaction');
    assert.doesNotMatch(JSON.stringify(trajectories), /tk_live_4fQ9zR2mX7vB8nK3pL6wY1cD5hJ0sT/u);
  });

  it('the miner finds lessons that recur across agents and phrases each generally', async (t) => {
    const { trajectories } = await importSamples(t);
    const { patterns } = mine(trajectories, { minSupport: 2 });
    assert.ok(patterns.length >= 3, `the runs share at least three lessons; the miner found ${String(patterns.length)}`);
    const agents = (evidence: readonly { trajectoryId: string }[]): Set<string> => new Set(evidence.map((e) => e.trajectoryId.slice(0, e.trajectoryId.indexOf(':'))));
    assert.ok(patterns.some((p) => agents(p.evidence).size >= 2), 'some lesson is seen in runs of two agents or more');
    for (const p of patterns) assert.deepEqual(checkSpecificity(p.text), [], `"${p.text}" carries instance details`);
  });
});
