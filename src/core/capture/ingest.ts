/**
 * Reads sources into the store: detects each file's format, reads only what is new since the last
 * committed offset, redacts, and writes trajectories together with the new offset in one
 * transaction, so a crash never leaves an offset ahead of the data it stands for.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { toRows, type SourceRecord, type Store, type TrajectoryRows } from '../store/index.js';
import type { Trajectory } from '../trajectory.js';
import { readLines } from './lineReader.js';
import type { SourceLocation } from './locations.js';
import type { Redactor } from '../redaction/index.js';
import { adapterFor, detectFormat, FORMAT_NAMES } from './registry.js';
import { scanLocations, walk, type Candidate, type WalkResult } from './scan.js';
import { CaptureError, type Adapter, type ChangedTrajectory, type FileContext, type FormatId, type ParseIssue } from './types.js';
import { asRecord, num } from './values.js';

export interface IngestOptions {
  /** Lines longer than this are skipped and reported (bounds memory on corrupt or hostile files). */
  readonly maxLineBytes?: number;
  /** Whole-document formats larger than this are refused with a message, since they must be parsed at once. */
  readonly maxDocumentBytes?: number;
  /** Restricts detection to these formats. */
  readonly formats?: readonly FormatId[];
  /** Called after each chunk a line reader takes; tests use it to change the file mid-read. */
  readonly onChunk?: (path: string, position: number) => void;
  /** Pending text (in characters) after which redaction and storage run, bounding memory across many files. */
  readonly flushChars?: number;
}

export interface IngestReport {
  /** Files (or event folders) looked at. */
  files: number;
  /** Files skipped because nothing changed since the last read. */
  unchanged: number;
  /** Files read from the start again because they were truncated or replaced. */
  reread: number;
  /** Trajectories written (created or updated). */
  trajectories: number;
  /** Secrets replaced in this run, by rule. */
  redactions: Record<string, number>;
  /** Skipped lines and fields, each naming its file and line. */
  issues: ParseIssue[];
  /** Files that could not be read at all. */
  errors: CaptureError[];
  /** Where the time went, in milliseconds: reading and parsing, redaction, and writing to the store. */
  timings: { parseMs: number; redactMs: number; storeMs: number };
}

export function emptyReport(): IngestReport {
  return { files: 0, unchanged: 0, reread: 0, trajectories: 0, redactions: {}, issues: [], errors: [], timings: { parseMs: 0, redactMs: 0, storeMs: 0 } };
}

/** What one flush hands to the writer: redacted trajectories and the source offsets they cover. */
export interface IngestBatch {
  /** Already serialized into rows on the parsing side, so the writer only binds strings. */
  readonly rows: TrajectoryRows[];
  readonly sources: Omit<SourceRecord, 'updatedAt'>[];
  /** Source records to forget (files that vanished). */
  readonly removed: string[];
}

/** Writes one batch in one transaction, so an offset is never ahead of the data it stands for; returns the milliseconds spent. */
export function writeBatch(store: Store, batch: IngestBatch): number {
  const started = performance.now();
  store.transaction(() => {
    store.trajectories.upsertRows(batch.rows);
    for (const source of batch.sources) store.sources.upsert(source);
    for (const path of batch.removed) store.sources.remove(path);
  });
  return performance.now() - started;
}

const HEAD_BYTES = 4096;
const DETECT_BYTES = 65536;

interface LineState {
  readonly adapter: unknown;
  readonly line: number;
  readonly skippingTail: boolean;
}

interface Pending {
  readonly items: ChangedTrajectory[];
  readonly source: Omit<SourceRecord, 'updatedAt'>;
  /** Rebuilt from scratch over data stored before: an outcome the user set must survive the rewrite. */
  readonly rebuilt: boolean;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/** Turns a file-system failure into a message that says what to do. */
export function explainFsError(path: string, error: unknown): CaptureError {
  const code = errorCode(error);
  switch (code) {
    case 'ENOENT':
      return new CaptureError(`${path}: the file disappeared while it was being read; it will be picked up again if it comes back.`, path, 'vanished');
    case 'EACCES':
    case 'EPERM':
      return new CaptureError(`${path}: permission denied; make the file readable by this user or remove it from the capture paths.`, path, 'unreadable');
    case 'EISDIR':
      return new CaptureError(`${path}: is a folder where a file was expected.`, path, 'not-a-file');
    case 'ELOOP':
      return new CaptureError(`${path}: symbolic link loop; fix or remove the link.`, path, 'symlink-loop');
    default:
      return new CaptureError(`${path}: cannot be read (${code ?? (error instanceof Error ? error.message : String(error))}).`, path, 'unreadable');
  }
}

function readHead(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const read = readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

function hashHead(path: string, bytes: number): string {
  return createHash('sha256').update(readHead(path, Math.min(bytes, HEAD_BYTES))).digest('hex');
}

function fileContext(path: string): FileContext {
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

function isEventFolder(path: string, stats: Stats): boolean {
  return stats.isDirectory() && /[\\/]events$/u.test(path);
}

/** OpenHands keeps one event per file: reads them in numeric order as one array. */
function readEventFolder(path: string): { text: string; size: number; mtimeMs: number } {
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

function folderSignature(path: string): { size: number; mtimeMs: number } {
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

/**
 * One ingest run over a store. Files are parsed one after another; their trajectories are redacted
 * and written in batches, each batch in one transaction with the offsets of the files it covers.
 */
export class Ingestor {
  readonly report: IngestReport = emptyReport();
  private readonly pending: Pending[] = [];
  private readonly removed: string[] = [];
  private pendingChars = 0;
  private readonly known = new Map<string, SourceRecord>();
  private readonly maxLineBytes: number;
  private readonly maxDocumentBytes: number;
  private readonly flushChars: number;

  /**
   * `store` is read (source records, trajectories to resume); batches go to `sink` when given (the
   * parallel import's parsing thread hands them to the writing thread), else are written to `store`.
   */
  constructor(
    private readonly store: Store,
    private readonly redactor: Redactor,
    private readonly options: IngestOptions = {},
    private readonly sink?: (batch: IngestBatch) => Promise<void>,
  ) {
    this.maxLineBytes = options.maxLineBytes ?? 64 << 20;
    this.maxDocumentBytes = options.maxDocumentBytes ?? 256 << 20;
    this.flushChars = options.flushChars ?? 8 << 20;
    // One query for all source records makes a re-scan of unchanged files a stat per file.
    for (const record of store.sources.list()) this.known.set(record.path, record);
  }

  /** Stats a path; a failure is reported, and a vanished file is forgotten so it is read anew if it returns. */
  private stat(path: string): Stats | undefined {
    try {
      return statSync(path);
    } catch (error) {
      this.report.errors.push(explainFsError(path, error));
      if (errorCode(error) === 'ENOENT' && this.known.has(path)) this.forget(path);
      return undefined;
    }
  }

  /** Reads one file (or OpenHands event folder) if it changed; `explicit` makes an unknown format an error rather than a skip. */
  async file(path: string, explicit: boolean, formats?: readonly FormatId[]): Promise<void> {
    this.report.files++;
    const stats = this.stat(path);
    if (stats === undefined) return;
    if (isEventFolder(path, stats)) {
      await this.eventFolder(path);
      return;
    }
    if (!stats.isFile()) {
      this.report.errors.push(new CaptureError(`${path}: is not a regular file (a folder or device) and was skipped.`, path, 'not-a-file'));
      return;
    }
    const record = this.known.get(path);
    if (record && record.size === stats.size && record.mtimeMs === stats.mtimeMs) {
      this.report.unchanged++;
      return;
    }
    if (stats.size === 0) {
      if (explicit) this.report.issues.push({ file: path, message: 'empty file; nothing to import yet' });
      return;
    }
    try {
      let adapter = record ? adapterFor(record.format) : undefined;
      if (!adapter) {
        const detection = detectFormat(path, readHead(path, DETECT_BYTES), formats ?? this.options.formats);
        if (!detection.adapter) {
          if (explicit) {
            const why = detection.reason === 'binary' ? 'it looks like binary data, not a text log' : 'no format recognised its content';
            this.report.errors.push(new CaptureError(`${path}: unknown format (${why}); formats tried: ${FORMAT_NAMES.join(', ')}.`, path, 'unknown-format'));
          }
          return;
        }
        adapter = detection.adapter;
      }
      const parseStart = performance.now();
      if (adapter.kind === 'lines') this.lines(path, stats, adapter, record);
      else this.document(path, stats, adapter);
      this.report.timings.parseMs += performance.now() - parseStart;
    } catch (error) {
      this.report.errors.push(error instanceof CaptureError ? error : explainFsError(path, error));
      return;
    }
    if (this.pendingChars >= this.flushChars) await this.flush();
  }

  /** Imports a file or every trajectory file under a folder. */
  async path(target: string): Promise<void> {
    const path = resolve(target);
    const stats = this.stat(path);
    if (stats === undefined) return;
    if (stats.isDirectory() && !isEventFolder(path, stats)) {
      const { files, errors } = walk(path, { include: /(\.jsonl?|\.traj|\/events|\/\.aider\.chat\.history\.md)$/u, depth: 12 });
      this.report.errors.push(...errors);
      for (const candidate of files) await this.file(candidate.path, false);
    } else {
      await this.file(path, true);
    }
  }

  /**
   * Reads everything new under the given locations (the watcher's and `import --auto`'s entry point);
   * `scan` is their walk when the caller already made it (to estimate the work with newBytes).
   */
  async locations(locations: readonly SourceLocation[], scan: WalkResult = scanLocations(locations)): Promise<void> {
    this.report.errors.push(...scan.errors);
    for (const candidate of scan.files) await this.candidate(candidate);
  }

  /**
   * About how many bytes reading the walked files would parse, from stats alone against the committed
   * sources: nothing for an unchanged file, the bytes past the committed offset for a line log that
   * grew, the whole file for a document, a new file or one that shrank. Opens no file and reports
   * nothing; the read itself reports what cannot be read.
   */
  newBytes(scan: WalkResult): number {
    let total = 0;
    for (const { path } of scan.files) {
      let signature: { size: number; mtimeMs: number };
      try {
        const stats = statSync(path);
        signature = isEventFolder(path, stats) ? folderSignature(path) : stats;
      } catch {
        continue;
      }
      const { size, mtimeMs } = signature;
      const record = this.known.get(path);
      if (record && record.size === size && record.mtimeMs === mtimeMs) continue;
      const resumes = record !== undefined && adapterFor(record.format)?.kind === 'lines' && record.offset <= size;
      total += resumes ? size - record.offset : size;
    }
    return total;
  }

  /** Redacts and writes whatever is still pending. Call once at the end of a run. */
  async flush(): Promise<void> {
    const batch = await this.prepare();
    if (batch === undefined) return;
    if (this.sink) await this.sink(batch);
    else this.report.timings.storeMs += writeBatch(this.store, batch);
    this.report.trajectories += batch.rows.length;
  }

  /** Redacts what is pending and turns it into one batch for the writer (undefined when there is nothing). */
  private async prepare(): Promise<IngestBatch | undefined> {
    if (this.pending.length === 0 && this.removed.length === 0) return undefined;
    const batch = this.pending.splice(0);
    const removed = this.removed.splice(0);
    this.pendingChars = 0;
    const all = batch.flatMap((p) => p.items);
    const redactStart = performance.now();
    const redacted = await this.redactor.redact(all);
    this.report.timings.redactMs += performance.now() - redactStart;
    const before = new Map(all.map((item) => [item.trajectory.id, item.trajectory.redactions ?? {}]));
    // A session can appear twice in one batch (two reads of a growing file): the last build wins.
    const latest = new Map<string, Trajectory>();
    for (const t of redacted) latest.set(t.id, t);
    const rebuilt = new Set(batch.filter((p) => p.rebuilt).flatMap((p) => p.items.map((i) => i.trajectory.id)));
    for (const id of rebuilt) {
      const prior = this.store.trajectories.get(id);
      const current = latest.get(id);
      if (prior && current && prior.outcome.evidence.some((e) => e.kind === 'user-verdict')) latest.set(id, { ...current, outcome: prior.outcome });
    }
    for (const t of redacted) {
      const old = before.get(t.id) ?? {};
      for (const [rule, n] of Object.entries(t.redactions ?? {})) {
        const added = n - (old[rule] ?? 0);
        if (added > 0) this.report.redactions[rule] = (this.report.redactions[rule] ?? 0) + added;
      }
    }
    return { rows: [...latest.values()].map(toRows), sources: batch.map((p) => p.source), removed };
  }

  private async candidate(candidate: Candidate): Promise<void> {
    const formats = candidate.location ? FORMATS_OF_SOURCE[candidate.location.source] : undefined;
    await this.file(candidate.path, false, formats);
  }

  /** The removal is written with the next batch, so that the parsing side never writes. */
  private forget(path: string): void {
    this.removed.push(path);
    this.known.delete(path);
  }

  private load(id: string): Trajectory | undefined {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const hit = this.pending[i]?.items.find((item) => item.trajectory.id === id);
      if (hit) return hit.trajectory;
    }
    return this.store.trajectories.get(id);
  }

  private queue(items: ChangedTrajectory[], source: Omit<SourceRecord, 'updatedAt'>, rebuilt: boolean): void {
    this.pending.push({ items, source, rebuilt });
    this.known.set(source.path, { ...source, updatedAt: '' });
    for (const item of items) {
      for (const step of item.trajectory.steps.slice(item.redactFrom)) {
        this.pendingChars += (step.text?.length ?? 0) + (step.thought?.length ?? 0);
        for (const o of step.observations) this.pendingChars += o.content.length;
        this.pendingChars += 64 * step.toolCalls.length;
      }
    }
  }

  private lines(path: string, stats: Stats, adapter: Adapter & { kind: 'lines' }, record: SourceRecord | undefined): void {
    let from = 0;
    let state: LineState | undefined;
    // Read once up front: the file may be gone by the time its lines are parsed.
    const head = readHead(path, HEAD_BYTES);
    const headHash = (offset: number): string => createHash('sha256').update(head.subarray(0, Math.min(offset, head.length))).digest('hex');
    if (record && record.format === adapter.format && record.offset <= stats.size && record.offset > 0) {
      if (headHash(record.offset) === record.headHash) {
        from = record.offset;
        const saved = asRecord(record.state ? (JSON.parse(record.state) as unknown) : undefined);
        state = { adapter: saved?.adapter, line: num(saved?.line) ?? 1, skippingTail: saved?.skippingTail === true };
      } else this.report.reread++;
    } else if (record && record.offset > stats.size) this.report.reread++;
    const issues = this.report.issues;
    const session = adapter.open(fileContext(path), state?.adapter, (id) => (state ? this.load(id) : undefined), issues);
    const generator = readLines(
      path,
      { from, firstLine: state?.line ?? 1, maxLineBytes: this.maxLineBytes, until: stats.size, skippingTail: state?.skippingTail },
      ({ line, bytes }) => issues.push({ file: path, line, message: `line of ${String(bytes)} bytes exceeds the ${String(this.maxLineBytes)}-byte limit; skipped` }),
    );
    let result = generator.next();
    let lastPosition = from;
    while (result.done !== true) {
      const { text, line, end } = result.value;
      if (this.options.onChunk && end - lastPosition >= 1 << 16) {
        this.options.onChunk(path, end);
        lastPosition = end;
      }
      if (text.trim() !== '') {
        let value: unknown;
        let ok = true;
        try {
          value = JSON.parse(text) as unknown;
        } catch (error) {
          ok = false;
          issues.push({ file: path, line, message: `malformed JSON (${(error as Error).message}); line skipped` });
        }
        if (ok) session.push({ value, line });
      }
      result = generator.next();
    }
    const endState = result.value;
    const items = session.takeChanged();
    this.queue(items, {
      path,
      format: adapter.format,
      offset: endState.resumeAt,
      size: stats.size,
      mtimeMs: stats.mtimeMs,
      headHash: headHash(endState.resumeAt),
      state: JSON.stringify({ adapter: session.saveState(), line: endState.nextLine, skippingTail: endState.skippingTail }),
    }, record !== undefined && state === undefined);
  }

  private document(path: string, stats: Stats, adapter: Adapter & { kind: 'document' }): void {
    if (stats.size > this.maxDocumentBytes) {
      throw new CaptureError(
        `${path}: ${String(stats.size)} bytes is more than the ${String(this.maxDocumentBytes)}-byte limit for a ${adapter.format} document, which must be parsed whole; split it or raise the limit.`,
        path,
        'too-large',
      );
    }
    const text = readFileSync(path, 'utf8').replace(/^\uFEFF/u, '');
    const issues: ParseIssue[] = [];
    const trajectories = adapter.parse(fileContext(path), text, issues);
    this.report.issues.push(...issues);
    this.queue(
      trajectories.map((trajectory) => ({ trajectory, redactFrom: 0 })),
      { path, format: adapter.format, offset: stats.size, size: stats.size, mtimeMs: stats.mtimeMs, headHash: hashHead(path, stats.size) },
      this.known.has(path),
    );
  }

  private async eventFolder(path: string): Promise<void> {
    const signature = folderSignature(path);
    const record = this.known.get(path);
    if (record && record.size === signature.size && record.mtimeMs === signature.mtimeMs) {
      this.report.unchanged++;
      return;
    }
    const adapter = adapterFor('openhands');
    if (adapter?.kind !== 'document') return;
    const { text, size, mtimeMs } = readEventFolder(path);
    const issues: ParseIssue[] = [];
    const trajectories = adapter.parse(fileContext(path), text, issues);
    this.report.issues.push(...issues);
    this.queue(
      trajectories.map((trajectory) => ({ trajectory: { ...trajectory, sourcePath: path }, redactFrom: 0 })),
      { path, format: 'openhands', offset: size, size, mtimeMs, headHash: '' },
      record !== undefined,
    );
    if (this.pendingChars >= this.flushChars) await this.flush();
  }
}

const FORMATS_OF_SOURCE: Readonly<Record<string, readonly FormatId[]>> = {
  'claude-code': ['claude-code'],
  codex: ['codex'],
  'copilot-chat': ['copilot-chat'],
  cline: ['cline'],
  roo: ['roo'],
  'gemini-cli': ['gemini-cli'],
  openhands: ['openhands'],
  'swe-agent': ['swe-agent'],
  atif: ['atif'],
  'openai-messages': ['openai-messages'],
  aider: ['aider'],
};

/** Imports files or folders given by the user (the CLI's `import <path>` and the editor's import command). */
export async function importPaths(store: Store, redactor: Redactor, paths: readonly string[], options: IngestOptions = {}): Promise<IngestReport> {
  const ingestor = new Ingestor(store, redactor, options);
  for (const path of paths) await ingestor.path(path);
  await ingestor.flush();
  return ingestor.report;
}

/** Reads what is new in the default (or configured) locations: `import --auto`, and the watcher's debounced callback. */
export async function captureNow(store: Store, redactor: Redactor, locations: readonly SourceLocation[], options: IngestOptions = {}): Promise<IngestReport> {
  const ingestor = new Ingestor(store, redactor, options);
  await ingestor.locations(locations);
  await ingestor.flush();
  return ingestor.report;
}
