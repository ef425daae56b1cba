// Stopping a process together with everything below it. code-server forks a server, which forks the
// extension host, the pty host and file watchers, and the extension starts Python workers and a
// llama.cpp server: some of those leave the process group, so the tree is read from the process table.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** pid → parent pid for every process, from /proc where there is one, else from `ps`. */
function parents() {
  const map = new Map();
  if (existsSync('/proc/self/stat')) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/u.test(name)) continue;
      try {
        // The command name (2nd field) may hold spaces and parentheses: fields after the last ')' are safe.
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (fields[0] !== 'Z') map.set(Number(name), Number(fields[1]));
      } catch {
        // exited while we read
      }
    }
    return map;
  }
  const ps = spawnSync('ps', ['-A', '-o', 'pid=,ppid=,stat='], { encoding: 'utf8' });
  for (const line of ps.stdout.split('\n')) {
    const [pid, ppid, state] = line.trim().split(/\s+/u);
    if (pid !== undefined && ppid !== undefined && !state?.startsWith('Z')) map.set(Number(pid), Number(ppid));
  }
  return map;
}

/** The pids of every live process below `pid`, children before grandchildren. */
export function descendants(pid, table = parents()) {
  const out = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [child, ppid] of table) {
      if (ppid === parent && !out.includes(child)) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

function signal(pid, name) {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/**
 * SIGTERM to `pid` and every process below it (the tree is read first: a child whose parent exits is
 * re-parented and could no longer be found), then SIGKILL to whatever is left after `graceMs`.
 * Resolves to how many processes there were and how many needed SIGKILL.
 */
export async function stopTree(pid, graceMs = 5000) {
  const tree = [pid, ...descendants(pid)];
  for (const p of tree) signal(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let table = parents();
  let left = tree.filter((p) => table.has(p));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    table = parents();
    // Processes started while the tree was stopping are stopped too.
    for (const p of left.flatMap((q) => descendants(q, table))) {
      if (!tree.includes(p)) {
        tree.push(p);
        signal(p, 'SIGTERM');
      }
    }
    left = tree.filter((p) => table.has(p));
  }
  for (const p of left) signal(p, 'SIGKILL');
  return { processes: tree.length, killed: left.length };
}
