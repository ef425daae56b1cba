/** Types for scripts/process-tree.mjs (plain JavaScript, so `npm start` runs it without a build). */
export function descendants(pid: number, table?: Map<number, number>): number[];
export function stopTree(pid: number, graceMs?: number): Promise<{ processes: number; killed: number }>;
