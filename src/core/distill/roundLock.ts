/**
 * One round at a time per database: a lock file beside it, created exclusively, holding the owner's
 * process id. The extension and the CLI both take it, so two windows or a terminal never write two
 * iterations at once. A lock whose process is gone (a crash, a killed editor) is stale and is taken
 * over; the iteration it was running is reported so the caller can mark it failed.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';

export class RoundBusyError extends Error {
  override readonly name = 'RoundBusyError';
}

interface LockBody {
  readonly pid: number;
  readonly iteration: number;
  readonly startedAt: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockBody | undefined {
  try {
    const body = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockBody>;
    return typeof body.pid === 'number' && typeof body.iteration === 'number' ? { pid: body.pid, iteration: body.iteration, startedAt: body.startedAt ?? '' } : undefined;
  } catch {
    return undefined;
  }
}

export interface HeldLock {
  /** The iteration a stale lock was taken over from (its process ended without finishing it). */
  readonly staleIteration?: number;
  release(): void;
}

/** Takes the lock for `iteration` or throws RoundBusyError naming the round that holds it. */
export function acquireRoundLock(path: string, iteration: number): HeldLock {
  let staleIteration: number | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = readLock(path);
      if (held !== undefined && held.pid !== process.pid && alive(held.pid)) {
        throw new RoundBusyError(`Iteration ${String(held.iteration)} is still running (process ${String(held.pid)}, since ${held.startedAt}); stop it or wait for it: never two rounds on one database.`);
      }
      if (held !== undefined && held.pid === process.pid) {
        throw new RoundBusyError(`Iteration ${String(held.iteration)} is still running in this window; stop it first.`);
      }
      staleIteration = held?.iteration;
      unlinkSync(path);
      continue;
    }
    const body: LockBody = { pid: process.pid, iteration, startedAt: new Date().toISOString() };
    writeSync(fd, JSON.stringify(body));
    closeSync(fd);
    return {
      staleIteration,
      release: () => {
        const now = readLock(path);
        if (now?.pid === process.pid && now.iteration === iteration) unlinkSync(path);
      },
    };
  }
  throw new RoundBusyError(`Another round took the lock ${path} at the same moment; try again.`);
}
