/**
 * The store the serving and MCP tests start from: a fresh database file in a folder of its own,
 * seeded with the injection tests' labelled pool (or none), closed and removed when the test ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Principle } from '../../../src/core/principle.js';
import { openStore, type Store } from '../../../src/core/store/index.js';
import { POOL } from '../injection/helpers.js';

export interface StoreFixture {
  readonly store: Store;
  /** The database file. */
  readonly db: string;
  /** The folder it lives in, for anything else the test writes (a HOME, agent logs, another store). */
  readonly dir: string;
}

/** A folder of its own for the test, removed when it ends (after any store opened in it is closed). */
export function testFolder(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-serving-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function seededStore(t: { after: (fn: () => void) => void }, principles: readonly Principle[] = POOL): StoreFixture {
  const dir = mkdtempSync(join(tmpdir(), 'internalize-serving-'));
  const db = join(dir, 'i.db');
  const store = openStore(db);
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  store.transaction(() => {
    for (const p of principles) store.principles.save(p);
  });
  return { store, db, dir };
}
