import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

const linux = existsSync('/proc/self/stat');

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** A shell that starts `count` grandchildren and reports their pids on stdout, one a line. */
async function shellTree(script: string, count: number): Promise<{ root: number; children: number[] }> {
  const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const children: number[] = [];
  let buffered = '';
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n').filter((l) => l !== '');
      if (lines.length >= count) {
        children.push(...lines.map(Number));
        resolve();
      }
    });
  });
  return { root: child.pid ?? -1, children };
}

test('stopTree ends a process, its children and a child in a session of its own', { skip: !linux && 'reads /proc' }, async () => {
  const { descendants, stopTree } = await import('../../../scripts/process-tree.mjs');
  const { root, children } = await shellTree('sleep 60 & echo $!; setsid sleep 60 & echo $!; wait', 2);
  assert.deepEqual(new Set(descendants(root)), new Set(children));
  const { processes, killed } = await stopTree(root, 5_000);
  assert.equal(processes, 3);
  assert.equal(killed, 0);
  assert.deepEqual([root, ...children].filter(alive), []);
});

test('stopTree kills what ignores SIGTERM once the grace period is over', { skip: !linux && 'reads /proc' }, async () => {
  const { stopTree } = await import('../../../scripts/process-tree.mjs');
  // An ignored signal stays ignored across exec: the sleep cannot be ended by SIGTERM.
  const { root, children } = await shellTree('trap "" TERM; sleep 60 & echo $!; wait', 1);
  const { processes, killed } = await stopTree(root, 300);
  assert.equal(processes, 2);
  assert.equal(killed, 2);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual([root, ...children].filter(alive), []);
});
