import { closeSync, openSync, readSync } from 'node:fs';

export interface LineChunk {
  /** The line without its newline (and without a trailing carriage return). */
  readonly text: string;
  /** 1-based line number in the file. */
  readonly line: number;
  /** Byte offset just past this line's newline: where the next read may resume. */
  readonly end: number;
  /** The file's last line, read without its newline (only with `final`); `end` is then the end of the file. */
  readonly unterminated?: boolean;
}

export interface OverlongLine {
  readonly line: number;
  readonly bytes: number;
}

export interface LineReadOptions {
  /** Byte offset to start at; must be the start of a line. */
  readonly from: number;
  /** Line number of the line starting at `from` (1-based). */
  readonly firstLine: number;
  /** Lines longer than this are skipped (reported, not buffered), so memory stays bounded. */
  readonly maxLineBytes: number;
  readonly chunkBytes?: number;
  /** Stop reading at this offset (the size observed when the read began); bytes written later wait for the next read. */
  readonly until: number;
  /** The previous read stopped inside an overlong line: discard bytes up to the next newline. */
  readonly skippingTail?: boolean;
  /** The file is complete (named explicitly, or idle): a last line without its newline is returned too. */
  readonly final?: boolean;
}

/** Where the next read resumes. */
export interface LineReadEnd {
  readonly resumeAt: number;
  readonly nextLine: number;
  /** True when the read ended inside an overlong line, already reported, whose rest must be skipped. */
  readonly skippingTail: boolean;
}

const NEWLINE = 0x0a;

/**
 * Reads complete lines from `path`, starting at a line boundary. A last line without its newline
 * is not returned unless `final`: it may still be being written, so it waits for the next read.
 * With `final` it is returned marked `unterminated`, and the returned end still stops before it: the
 * caller decides whether it was a whole record. Memory stays bounded by `chunkBytes + maxLineBytes`
 * whatever the file's size.
 */
export function* readLines(path: string, options: LineReadOptions, onOverlong: (line: OverlongLine) => void): Generator<LineChunk, LineReadEnd> {
  const chunkBytes = options.chunkBytes ?? 1 << 20;
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    let position = options.from;
    let line = options.firstLine;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let skipping = options.skippingTail === true;
    let reported = skipping;
    let lineStart = options.from;
    while (position < options.until) {
      const want = Math.min(chunkBytes, options.until - position);
      const read = readSync(fd, buffer, 0, want, position);
      if (read === 0) break;
      let start = 0;
      while (start < read) {
        const nl = buffer.indexOf(NEWLINE, start);
        const stop = nl === -1 || nl >= read ? read : nl;
        const length = stop - start;
        if (!skipping) {
          if (pendingBytes + length > options.maxLineBytes) {
            skipping = true;
            pending = [];
          } else if (length > 0) {
            pending.push(Buffer.from(buffer.subarray(start, stop)));
          }
        }
        pendingBytes += length;
        if (stop === read) break;
        // A complete line ends at `nl`.
        const end = position + nl + 1;
        if (skipping) {
          if (!reported) onOverlong({ line, bytes: pendingBytes });
        } else {
          let text = pending.length === 1 ? (pending[0] ?? Buffer.alloc(0)).toString('utf8') : Buffer.concat(pending, pendingBytes).toString('utf8');
          if (text.endsWith('\r')) text = text.slice(0, -1);
          yield { text, line, end };
        }
        line++;
        lineStart = end;
        pending = [];
        pendingBytes = 0;
        skipping = false;
        reported = false;
        start = nl + 1;
      }
      position += read;
    }
    if (options.final === true && !skipping && pendingBytes > 0) {
      let text = Buffer.concat(pending, pendingBytes).toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      yield { text, line, end: position, unterminated: true };
    }
    if (skipping && lineStart < position) {
      // An overlong line still without its newline is reported now and its bytes are not read again.
      if (!reported) onOverlong({ line, bytes: pendingBytes });
      return { resumeAt: position, nextLine: line, skippingTail: true };
    }
    return { resumeAt: lineStart, nextLine: line, skippingTail: false };
  } finally {
    closeSync(fd);
  }
}
