/** Reading source files: heads, hashes, sibling files, and OpenHands' one-file-per-event folders. */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FileContext } from './types.js';

/** Bytes whose hash tells a grown file from a replaced one. */
export const HEAD_BYTES = 4096;
/** Bytes format detection looks at. */
export const DETECT_BYTES = 65536;

export function readHead(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const read = readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

export function hashHead(head: Buffer, upTo: number): string {
  return createHash('sha256').update(head.subarray(0, Math.min(upTo, head.length, HEAD_BYTES))).digest('hex');
}

export function fileContext(path: string): FileContext {
  return {
    path,
    readSibling: (relativePath) => {
      try {
        const target = join(dirname(path), relativePath);
        const stats = statSync(target);
        // Siblings are small metadata files; anything large is not what the adapter meant.
        return stats.isFile() && stats.size < 16 << 20 ? readFileSync(target, 'utf8') : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export function isEventFolder(path: string, stats: Stats): boolean {
  return stats.isDirectory() && /[\\/]events$/u.test(path);
}

/** OpenHands keeps one event per file: reads them in numeric order as one array. */
export function readEventFolder(path: string): { text: string; size: number; mtimeMs: number } {
  const names = readdirSync(path)
    .filter((n) => /^\d+\.json$/u.test(n))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  let size = 0;
  let mtimeMs = 0;
  const parts: string[] = [];
  for (const name of names) {
    const file = join(path, name);
    const stats = statSync(file);
    size += stats.size;
    mtimeMs = Math.max(mtimeMs, stats.mtimeMs);
    parts.push(readFileSync(file, 'utf8'));
  }
  return { text: `[${parts.join(',')}]`, size, mtimeMs };
}

/** Size and newest mtime of an event folder's events: what tells a changed folder from an unchanged one. */
export function folderSignature(path: string): { size: number; mtimeMs: number } {
  let size = 0;
  let mtimeMs = statSync(path).mtimeMs;
  for (const name of readdirSync(path)) {
    if (!/^\d+\.json$/u.test(name)) continue;
    const stats = statSync(join(path, name));
    size += stats.size;
    mtimeMs = Math.max(mtimeMs, stats.mtimeMs);
  }
  return { size, mtimeMs };
}
