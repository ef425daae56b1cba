/**
 * One read of a file in a line format (JSONL): from the committed offset when the file only grew,
 * from the start when it was truncated or replaced. A file in a line format that is in fact one
 * JSON document (a `json.dump` without its newline, pretty-printed JSON, an array of records) is
 * read as a document: its records are fed to the same adapter, and any change reads it whole again.
 */
import type { Stats } from 'node:fs';
import { readFileSync } from 'node:fs';
import type { SourceRecord } from '../store/index.js';
import type { Trajectory } from '../trajectory.js';
import { DETECT_BYTES, fileContext, HEAD_BYTES, hashHead, readHead } from './files.js';
import { readLines } from './lineReader.js';
import { newTally, type LineTally } from './report.js';
import { CaptureError, type ChangedTrajectory, type LineAdapter, type LineRecord, type ParseIssue } from './types.js';
import { asArray, asRecord, num, str } from './values.js';

/** What a line log's source record keeps between reads (serialized as JSON in `state`). */
export interface LineFileState {
  readonly adapter?: unknown;
  readonly line: number;
  readonly skippingTail: boolean;
  /** The file is one JSON document: any change reads it whole again. */
  readonly document?: boolean;
  /** The last read ended in a line without newline that was not a whole record; it is retried when the file changes. */
  readonly tailRejected?: boolean;
  /**
   * Sessions that have a task but no step yet: never stored as trajectories (a trajectory has steps),
   * kept here so that the read that brings their first step still knows their task. Redacted.
   */
  readonly drafts?: readonly Trajectory[];
}

export function parseLineState(text: string | undefined): LineFileState | undefined {
  if (text === undefined) return undefined;
  let saved: ReturnType<typeof asRecord>;
  try {
    saved = asRecord(JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
  if (saved === undefined) return undefined;
  return {
    adapter: saved.adapter,
    line: num(saved.line) ?? 1,
    skippingTail: saved.skippingTail === true,
    document: saved.document === true,
    tailRejected: saved.tailRejected === true,
    drafts: asArray(saved.drafts).filter((d): d is Trajectory => typeof asRecord(d)?.id === 'string' && Array.isArray(asRecord(d)?.steps)),
  };
}

export interface LineReadOptions {
  readonly maxLineBytes: number;
  readonly maxDocumentBytes: number;
  /** The file is complete (named explicitly, or idle): a last line without newline is read if it is a whole record. */
  readonly final: boolean;
  readonly issues: ParseIssue[];
  readonly onChunk?: (path: string, position: number) => void;
  /** What is already stored (or pending) of a session from this file, for a read that resumes. */
  readonly stored: (id: string) => Trajectory | undefined;
}

export interface LineFileRead {
  readonly items: ChangedTrajectory[];
  readonly source: Omit<SourceRecord, 'updatedAt'>;
  /** The state to save, without the drafts (they are added once redacted). */
  readonly state: LineFileState;
  /** Drafts of earlier reads that this read did not touch. */
  readonly carried: readonly Trajectory[];
  readonly tally: LineTally;
  /** Continued from the committed offset (false: read from the start). */
  readonly resumed: boolean;
  /** Read from the start again because the file was truncated or replaced. */
  readonly reread: boolean;
}

type Shape = 'lines' | 'document' | 'maybe-document';

/**
 * Whether a file in a line format is one JSON document, from its first bytes. An array, or a first
 * line that opens an object without closing it, is a document. One line without a newline may be a
 * whole `json.dump` or a record still being written: only a parse of the whole file tells.
 */
function shapeOf(head: Buffer, size: number): Shape {
  const text = head.toString('utf8').replace(/^\uFEFF/u, '');
  const start = text.search(/\S/u);
  if (start === -1) return 'lines';
  if (text[start] === '[') return 'document';
  if (text[start] !== '{') return 'lines';
  const newline = text.indexOf('\n', start);
  if (newline === -1) return head.length >= size ? 'maybe-document' : 'lines';
  const first = text.slice(start, newline).trim();
  if (first === '{') return 'document';
  try {
    JSON.parse(first);
    return 'lines';
  } catch {
    return 'maybe-document';
  }
}

/** The 1-based line on which each element of a top-level JSON array starts (the text is known to be valid JSON). */
function elementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let expecting = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 92) escaped = true;
      else if (c === 34) inString = false;
      continue;
    }
    if (depth === 1 && expecting && c > 32 && c !== 44 && c !== 93) {
      lines.push(line);
      expecting = false;
    }
    if (c === 34) inString = true;
    else if (c === 91 || c === 123) {
      if (depth === 0 && c === 91) expecting = true;
      depth++;
    } else if (c === 93 || c === 125) depth--;
    else if (c === 44 && depth === 1) expecting = true;
  }
  return lines;
}

function tallyRecord(tally: LineTally, value: unknown): void {
  tally.records++;
  const type = str(asRecord(value)?.type);
  if (type !== undefined) tally.types.set(type, (tally.types.get(type) ?? 0) + 1);
}

/** Parses the whole file as one document; undefined (with an issue) when it is not valid JSON. */
function documentRecords(path: string, size: number, limit: number, adapter: LineAdapter, issues: ParseIssue[]): LineRecord[] | undefined {
  if (size > limit) {
    throw new CaptureError(
      `${path}: ${String(size)} bytes is more than the ${String(limit)}-byte limit for a ${adapter.format} file written as one JSON document, which must be parsed whole; split it into one record per line or raise the limit.`,
      path,
      'too-large',
    );
  }
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/u, '');
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    issues.push({ file: path, message: `not valid JSON: ${error instanceof Error ? error.message : String(error)}; it is read again when it changes` });
    return undefined;
  }
  if (!Array.isArray(value)) return [{ value, line: 1 }];
  const lines = elementLines(text);
  return (value as unknown[]).map((element, i) => ({ value: element, line: lines[i] ?? 1 }));
}

/** Reads what is new in one line log and returns the changed sessions and the source record that covers them. */
export function readLineFile(path: string, stats: Stats, adapter: LineAdapter, record: SourceRecord | undefined, options: LineReadOptions): LineFileRead {
  const { issues } = options;
  const saved = record?.format === adapter.format ? parseLineState(record.state) : undefined;
  // Read once up front: the file may be gone by the time its lines are parsed.
  const head = readHead(path, HEAD_BYTES);
  let resume: LineFileState | undefined;
  let reread = false;
  if (record && record.format === adapter.format && saved?.document !== true && record.offset <= stats.size && record.offset > 0) {
    if (hashHead(head, record.offset) === record.headHash) resume = saved;
    else reread = true;
  } else if (record && record.offset > stats.size) reread = true;
  const drafts = new Map((resume?.drafts ?? []).map((d) => [d.id, d]));
  const load = (id: string): Trajectory | undefined => (resume ? (drafts.get(id) ?? options.stored(id)) : undefined);
  const session = adapter.open(fileContext(path), resume?.adapter, load, issues);
  const tally = newTally();
  const finish = (state: LineFileState, offset: number): LineFileRead => {
    const items = session.takeChanged();
    const touched = new Set(items.map((i) => i.trajectory.id));
    const carried = [...drafts.values()].filter((d) => !touched.has(d.id));
    const source = { path, format: adapter.format, offset, size: stats.size, mtimeMs: stats.mtimeMs, headHash: hashHead(head, offset) };
    return { items, source, state: { ...state, adapter: session.saveState() }, carried, tally, resumed: resume !== undefined, reread };
  };

  if (resume === undefined) {
    let shape = shapeOf(head, stats.size);
    // A first line longer than the head: look further before calling it a log (most logs end their first line early).
    if (shape === 'lines' && head.length < stats.size && !head.includes(0x0a) && /^\s*\{/u.test(head.toString('utf8'))) shape = shapeOf(readHead(path, DETECT_BYTES), stats.size);
    // A large file whose first line does not parse is a log with a damaged first line, not a document.
    if (shape === 'maybe-document' && stats.size > options.maxDocumentBytes) shape = 'lines';
    if (shape !== 'lines') {
      const records = documentRecords(path, stats.size, options.maxDocumentBytes, adapter, shape === 'document' ? issues : []);
      if (records !== undefined || shape === 'document') {
        for (const r of records ?? []) {
          tallyRecord(tally, r.value);
          session.push(r);
        }
        return finish({ line: 1, skippingTail: false, document: true }, stats.size);
      }
    }
  }

  const from = resume ? (record?.offset ?? 0) : 0;
  const generator = readLines(
    path,
    { from, firstLine: resume?.line ?? 1, maxLineBytes: options.maxLineBytes, until: stats.size, skippingTail: resume?.skippingTail, final: options.final },
    ({ line, bytes }) => issues.push({ file: path, line, message: `line of ${String(bytes)} bytes exceeds the ${String(options.maxLineBytes)}-byte limit; skipped` }),
  );
  let result = generator.next();
  let lastPosition = from;
  let tail: { end: number; line: number } | undefined;
  let tailRejected = false;
  while (result.done !== true) {
    const { text, line, end, unterminated } = result.value;
    if (options.onChunk && end - lastPosition >= 1 << 16) {
      options.onChunk(path, end);
      lastPosition = end;
    }
    if (text.trim() !== '') {
      let value: unknown;
      let ok = true;
      try {
        value = JSON.parse(text) as unknown;
      } catch (error) {
        ok = false;
        if (unterminated === true) {
          tailRejected = true;
          issues.push({ file: path, line, message: 'the file ends inside this line (no newline, and not a whole JSON record); it is read again when the file changes' });
        } else {
          tally.malformed++;
          tally.firstMalformed ??= line;
          issues.push({ file: path, line, message: `malformed JSON (${(error as Error).message}); line skipped` });
        }
      }
      if (ok) {
        tallyRecord(tally, value);
        session.push({ value, line });
        // A whole record that only lacks its newline: a writer that appends later starts a new line.
        // Its line number stays: the newline that may follow ends this same line.
        if (unterminated === true) tail = { end, line };
      }
    }
    result = generator.next();
  }
  const endState = result.value;
  const state: LineFileState = tail
    ? { line: tail.line, skippingTail: false }
    : { line: endState.nextLine, skippingTail: endState.skippingTail, ...(tailRejected ? { tailRejected } : {}) };
  return finish(state, tail?.end ?? endState.resumeAt);
}
