import { join } from 'node:path';
import { createRedactor, importPaths } from '../../../src/core/capture/index.js';
import { proposeOps } from '../../../src/core/experience/curation.js';
import { openStore, type Store } from '../../../src/core/store/index.js';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures');

/**
 * Principles a reader of the fixture trajectories would write: general strategies ("When …, …")
 * about what those runs do (run the tests, read a file before editing it, check a command's output).
 */
export const FIXTURE_PRINCIPLES = [
  'When a test or build fails, read the failing output before editing any file.',
  'When editing a file, read its current content first and change only the lines the task needs.',
  'When a shell command reports an error, check its exit status and message before running the next command.',
  'When the task asks for a new function, write a test for it and run the tests before finishing.',
  'When a tool result is long, search it for the relevant lines instead of reading it all.',
];

/** A store holding every real fixture trajectory (capture's own import path) and an accepted pool. */
export async function fixtureStore(path = ':memory:'): Promise<Store> {
  const store = openStore(path);
  await importPaths(store, await createRedactor({ secretlint: false }), [FIXTURES]);
  proposeOps(
    store,
    FIXTURE_PRINCIPLES.map((text) => ({ kind: 'ADD' as const, text, rationale: 'written for the test from the fixtures', evidence: [] })),
    { origin: 'manual', autoAccept: true },
  );
  return store;
}
