/**
 * Reads sources into the store: detects each file's format, reads only what is new since the last
 * committed offset, redacts, and writes trajectories together with the new offset in one
 * transaction, so a crash never leaves an offset ahead of the data it stands for. Every file read
 * either yields a trajectory or is reported with why it gave none.
 */
import { existsSync, readFileSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Redactor } from '../redaction/index.js';
import { toRows, type SourceRecord, type Store } from '../store/index.js';
import type { Trajectory } from '../trajectory.js';
import { DETECT_BYTES, fileContext, folderSignature, hashHead, isEventFolder, readEventFolder, readHead } from './files.js';
import { parseLineState, readLineFile, type LineFileState } from './lineFile.js';
import type { SourceLocation } from './locations.js';
import { adapterFor, detectFormat, FORMAT_NAMES, mainFileOf } from './registry.js';
import { emptyReport, errorCode, explainFsError, whyDocumentGaveNothing, whyLinesGaveNothing, type IngestReport } from './report.js';
import { scanLocations, walk, type Candidate, type WalkResult } from './scan.js';
import { CaptureError, type Adapter, type ChangedTrajectory, type FormatId, type ParseIssue } from './types.js';
import { writeBatch, type IngestBatch } from './write.js';

export { emptyReport, explainFsError, type EmptyFile, type IngestReport } from './report.js';
export { writeBatch, type FilePart, type IngestBatch, type WriteResult } from './write.js';

/**
 * How long a file must be left unchanged before a last line without its newline is taken as the end
 * of the file rather than a record still being written. Agents append each record with its newline
 * in one write, so a partial line lasts milliseconds; a minute of silence means the writer is done
 * (a `json.dump` without a final newline, a log cut short).
 */
export const COMPLETE_AFTER_IDLE_MS = 60_000;

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
  /** Unchanged for this long, a file is complete: its last line is read even without a newline. COMPLETE_AFTER_IDLE_MS by default. */
  readonly idleMs?: number;
}

interface Pending {
  readonly file: string;
  readonly items: ChangedTrajectory[];
  readonly source: Omit<SourceRecord, 'updatedAt'>;
  /** For a line log: the state to save, which takes the sessions that have no step yet once they are redacted. */
  readonly lineState?: { readonly state: LineFileState; readonly carried: readonly Trajectory[] };
}

/** How a file came to be read: named by the user, found in a folder the user named, or found in an agent's location. */
interface Reading {
  /** Named by the user: an unknown format is an error, and the file is complete (its last line is read). */
  readonly explicit: boolean;
  /** Named or under a named folder: a file unchanged since it gave nothing is listed again. */
  readonly listUnchanged: boolean;
  readonly formats?: readonly FormatId[];
}

function pendingChars(items: readonly ChangedTrajectory[]): number {
  let chars = 0;
  for (const item of items) {
    chars += item.trajectory.task.length;
    for (const step of item.trajectory.steps.slice(item.redactFrom)) {
      chars += (step.text?.length ?? 0) + (step.thought?.length ?? 0);
      for (const o of step.observations) chars += o.content.length;
      chars += 64 * step.toolCalls.length;
    }
  }
  return chars;
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
  private readonly idleMs: number;

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
    this.idleMs = options.idleMs ?? COMPLETE_AFTER_IDLE_MS;
    // One query for all source records makes a re-scan of unchanged files a stat per file.
    for (const record of store.sources.list()) this.known.set(record.path, record);
  }

  /** Imports a file or every trajectory file under a folder; a path from which no trajectory comes is listed in emptyTargets. */
  async path(target: string): Promise<void> {
    const path = resolve(target);
    const stats = this.stat(path, true);
    let any = false;
    if (stats?.isDirectory() === true && !isEventFolder(path, stats)) {
      const { files, errors } = walk(path, { include: /(\.jsonl?|\.traj|\/events|\/\.aider\.chat\.history\.md)$/u, depth: 12 });
      this.report.errors.push(...errors);
      for (const candidate of files) any = (await this.read(candidate.path, { explicit: false, listUnchanged: true })) || any;
    } else if (stats !== undefined) {
      any = await this.read(path, { explicit: true, listUnchanged: true }, stats);
    }
    if (!any) this.report.emptyTargets.push(path);
  }

  /** Reads one file (or OpenHands event folder) if it changed; `explicit` makes an unknown format an error rather than a skip. */
  async file(path: string, explicit: boolean, formats?: readonly FormatId[]): Promise<void> {
    await this.read(path, { explicit, listUnchanged: explicit, formats });
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
    if (this.sink) {
      await this.sink(batch);
      this.report.trajectories += new Set(batch.parts.map((p) => p.rows.trajectory.id)).size;
    } else {
      const written = writeBatch(this.store, batch);
      this.report.timings.storeMs += written.storeMs;
      this.report.trajectories += written.trajectories;
    }
  }

  /** Stats a path; a failure is reported, and a vanished file is forgotten so it is read anew if it returns. */
  private stat(path: string, named: boolean): Stats | undefined {
    try {
      return statSync(path);
    } catch (error) {
      this.report.errors.push(explainFsError(path, error, named));
      if (errorCode(error) === 'ENOENT' && this.known.has(path)) this.forget(path);
      return undefined;
    }
  }

  /** Lists a file that holds no trajectory, unless it is already listed as an error. */
  private nothing(file: string, reason: string): void {
    if (!this.report.errors.some((e) => e.file === file)) this.report.empty.push({ file, reason });
  }

  /** Reads one file if it changed; true when the file holds a trajectory (now, or from an earlier read). */
  private async read(path: string, how: Reading, known?: Stats): Promise<boolean> {
    this.report.files++;
    const stats = known ?? this.stat(path, false);
    if (stats === undefined) return false;
    if (isEventFolder(path, stats)) return this.eventFolder(path, how);
    if (!stats.isFile()) {
      this.report.errors.push(new CaptureError(`${path}: is not a regular file (a folder or device) and was skipped.`, path, 'not-a-file'));
      return false;
    }
    const record = this.known.get(path);
    const final = how.explicit || Date.now() - stats.mtimeMs >= this.idleMs;
    if (record && record.size === stats.size && record.mtimeMs === stats.mtimeMs && !this.tailWaits(record, final, how.explicit)) {
      this.report.unchanged++;
      if (record.lastError !== undefined && how.listUnchanged) this.nothing(path, record.lastError);
      return record.lastError === undefined;
    }
    if (stats.size === 0) {
      this.nothing(path, 'empty file');
      return false;
    }
    const issuesBefore = this.report.issues.length;
    let yielded: boolean;
    try {
      const adapter = this.adapterOf(path, record, how);
      if (adapter === undefined) return false;
      const parseStart = performance.now();
      yielded = adapter.kind === 'lines' ? this.lines(path, stats, adapter, record, final, issuesBefore) : this.document(path, stats, adapter, issuesBefore);
      this.report.timings.parseMs += performance.now() - parseStart;
    } catch (error) {
      this.report.errors.push(error instanceof CaptureError ? error : explainFsError(path, error));
      return false;
    }
    if (this.pendingChars >= this.flushChars) await this.flush();
    return yielded;
  }

  /** True when an unchanged line log still holds back a last line that this read may take. */
  private tailWaits(record: SourceRecord, final: boolean, explicit: boolean): boolean {
    if (!final || record.offset >= record.size || adapterFor(record.format)?.kind !== 'lines') return false;
    // A tail already found not to be a record is tried again only when the user names the file.
    return explicit || parseLineState(record.state)?.tailRejected !== true;
  }

  /** The adapter for a file: the one that read it before, else the one detection picks; undefined (reported) when none fits. */
  private adapterOf(path: string, record: SourceRecord | undefined, how: Reading): Adapter | undefined {
    const previous = record ? adapterFor(record.format) : undefined;
    if (previous) return previous;
    const detection = detectFormat(path, readHead(path, DETECT_BYTES), how.formats ?? this.options.formats);
    if (detection.adapter) return detection.adapter;
    const main = mainFileOf(path);
    if (main !== undefined) {
      // A side file is read together with its main file; alone, it holds no conversation.
      if (!existsSync(join(dirname(path), main))) this.nothing(path, `${basename(path)} is read together with ${main} in the same folder, which is missing: the conversation itself is in that file`);
      return undefined;
    }
    const why = detection.reason === 'binary' ? 'it looks like binary data, not a text log' : 'no format recognised its content';
    const message = `unknown format (${why}); formats tried: ${FORMAT_NAMES.join(', ')}`;
    if (how.explicit) this.report.errors.push(new CaptureError(`${path}: ${message}.`, path, 'unknown-format'));
    else this.nothing(path, message);
    return undefined;
  }

  /** Redacts what is pending and turns it into one batch for the writer (undefined when there is nothing). */
  private async prepare(): Promise<IngestBatch | undefined> {
    if (this.pending.length === 0 && this.removed.length === 0) return undefined;
    const batch = this.pending.splice(0);
    const removed = this.removed.splice(0);
    this.pendingChars = 0;
    // A file read twice before a flush: its later build holds the earlier one's steps unredacted.
    const firstDirty = new Map<string, number>();
    for (const p of batch) {
      for (const item of p.items) {
        const key = `${p.file}\u0000${item.trajectory.id}`;
        firstDirty.set(key, Math.min(firstDirty.get(key) ?? item.redactFrom, item.redactFrom));
      }
    }
    const all = batch.flatMap((p) => p.items.map((item) => ({ ...item, redactFrom: firstDirty.get(`${p.file}\u0000${item.trajectory.id}`) ?? item.redactFrom })));
    const redactStart = performance.now();
    const redacted = await this.redactor.redact(all);
    this.report.timings.redactMs += performance.now() - redactStart;
    redacted.forEach((t, i) => {
      const old = all[i]?.trajectory.redactions ?? {};
      for (const [rule, n] of Object.entries(t.redactions ?? {})) {
        const added = n - (old[rule] ?? 0);
        if (added > 0) this.report.redactions[rule] = (this.report.redactions[rule] ?? 0) + added;
      }
    });
    const parts: IngestBatch['parts'] = [];
    const sources: IngestBatch['sources'] = [];
    let at = 0;
    for (const p of batch) {
      const mine = redacted.slice(at, at + p.items.length);
      at += p.items.length;
      for (const t of mine) if (t.steps.length > 0) parts.push({ file: p.file, rows: toRows(t) });
      if (p.lineState === undefined) {
        sources.push(p.source);
        continue;
      }
      const drafts = [...p.lineState.carried, ...mine.filter((t) => t.steps.length === 0)];
      sources.push({ ...p.source, state: JSON.stringify(drafts.length > 0 ? { ...p.lineState.state, drafts } : p.lineState.state) });
    }
    return { parts, sources, removed };
  }

  private async candidate(candidate: Candidate): Promise<void> {
    const formats = candidate.location ? FORMATS_OF_SOURCE[candidate.location.source] : undefined;
    await this.read(candidate.path, { explicit: false, listUnchanged: false, formats });
  }

  /** The removal is written with the next batch, so that the parsing side never writes. */
  private forget(path: string): void {
    this.removed.push(path);
    this.known.delete(path);
  }

  /** What this file holds of a session: a build still pending in this run, else what the store keeps from it. */
  private fromFile(id: string, path: string): Trajectory | undefined {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const p = this.pending[i];
      if (p?.file !== path) continue;
      const hit = p.items.find((item) => item.trajectory.id === id);
      if (hit) return hit.trajectory;
    }
    return this.store.trajectories.fromFile(id, path);
  }

  private queue(pending: Pending): void {
    this.pending.push(pending);
    this.known.set(pending.source.path, { ...pending.source, updatedAt: '' });
    this.pendingChars += pendingChars(pending.items);
  }

  /** Reads a line log; true when it holds a trajectory. */
  private lines(path: string, stats: Stats, adapter: Adapter & { kind: 'lines' }, record: SourceRecord | undefined, final: boolean, issuesBefore: number): boolean {
    const read = readLineFile(path, stats, adapter, record, {
      maxLineBytes: this.maxLineBytes,
      maxDocumentBytes: this.maxDocumentBytes,
      final,
      issues: this.report.issues,
      onChunk: this.options.onChunk,
      stored: (id) => this.fromFile(id, path),
    });
    if (read.reread) this.report.reread++;
    const yielded = read.items.some((i) => i.trajectory.steps.length > 0) || (read.resumed && record?.lastError === undefined);
    let lastError: string | undefined;
    if (!yielded) {
      const drafts = read.carried.length + read.items.filter((i) => i.trajectory.steps.length === 0).length;
      const nothingNew = read.resumed && read.tally.records === 0 && read.tally.malformed === 0;
      lastError = nothingNew && record?.lastError !== undefined ? record.lastError : whyLinesGaveNothing(read.tally, drafts, this.report.issues.slice(issuesBefore));
      this.nothing(path, lastError);
    }
    this.queue({ file: path, items: read.items, source: { ...read.source, lastError }, lineState: { state: read.state, carried: read.carried } });
    return yielded;
  }

  /** Reads a whole-document log; true when it holds a trajectory. */
  private document(path: string, stats: Stats, adapter: Adapter & { kind: 'document' }, issuesBefore: number): boolean {
    if (stats.size > this.maxDocumentBytes) {
      throw new CaptureError(
        `${path}: ${String(stats.size)} bytes is more than the ${String(this.maxDocumentBytes)}-byte limit for a ${adapter.format} document, which must be parsed whole; split it or raise the limit.`,
        path,
        'too-large',
      );
    }
    const bytes = readFileSync(path);
    const issues: ParseIssue[] = [];
    const trajectories = adapter.parse(fileContext(path), bytes.toString('utf8').replace(/^\uFEFF/u, ''), issues);
    this.report.issues.push(...issues);
    return this.queueDocument(path, adapter.format, trajectories, { size: stats.size, mtimeMs: stats.mtimeMs, headHash: hashHead(bytes, stats.size) }, issuesBefore);
  }

  private queueDocument(path: string, format: FormatId, trajectories: readonly Trajectory[], signature: { size: number; mtimeMs: number; headHash: string }, issuesBefore: number): boolean {
    // A trajectory has steps: a document with a task and nothing else holds none yet.
    const kept = trajectories.filter((t) => t.steps.length > 0);
    const lastError = kept.length > 0 ? undefined : whyDocumentGaveNothing(this.report.issues.slice(issuesBefore), trajectories.length);
    if (lastError !== undefined) this.nothing(path, lastError);
    this.queue({
      file: path,
      items: kept.map((trajectory) => ({ trajectory: { ...trajectory, sourcePath: trajectory.sourcePath ?? path }, redactFrom: 0 })),
      source: { path, format, offset: signature.size, ...signature, lastError },
    });
    return kept.length > 0;
  }

  private async eventFolder(path: string, how: Reading): Promise<boolean> {
    const signature = folderSignature(path);
    const record = this.known.get(path);
    if (record && record.size === signature.size && record.mtimeMs === signature.mtimeMs) {
      this.report.unchanged++;
      if (record.lastError !== undefined && how.listUnchanged) this.nothing(path, record.lastError);
      return record.lastError === undefined;
    }
    const adapter = adapterFor('openhands');
    if (adapter?.kind !== 'document') return false;
    const issuesBefore = this.report.issues.length;
    const { text, size, mtimeMs } = readEventFolder(path);
    const issues: ParseIssue[] = [];
    const trajectories = adapter.parse(fileContext(path), text, issues);
    this.report.issues.push(...issues);
    const yielded = this.queueDocument(path, 'openhands', trajectories.map((t) => ({ ...t, sourcePath: path })), { size, mtimeMs, headHash: '' }, issuesBefore);
    if (this.pendingChars >= this.flushChars) await this.flush();
    return yielded;
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
