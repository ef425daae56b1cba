/**
 * Import and capture on two cores: a worker thread reads, parses, normalizes and redacts (with a
 * read-only store connection for what it must look up), and hands each batch to the thread that owns
 * the store, which writes it while the worker goes on with the next. At most one batch waits for the
 * writer, so memory stays bounded by the batch size. The store keeps one writer: the calling thread.
 *
 * The worker runs this same module (or the bundle that contains it): loading it in a thread whose
 * `workerData.role` is PARSE_ROLE starts the parsing side.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { openStore, type Store } from '../store/index.js';
import { emptyReport, importPaths, Ingestor, writeBatch, type IngestBatch, type IngestOptions, type IngestReport } from './ingest.js';
import type { SourceLocation } from './locations.js';
import { createRedactor, type Redactor, type RedactorOptions } from '../redaction/index.js';
import { scanLocations } from './scan.js';
import { CaptureError } from './types.js';

export const PARSE_ROLE = 'internalize-capture-parse';

/** Batches handed over and not yet written: with one, the writer stores batch N while the parser builds N + 1. */
const IN_FLIGHT = 1;

/**
 * New bytes (by stat) from which a capture of locations starts the parsing thread; below, it stays
 * on the calling thread (the watcher's small increments). Measured on the 2-core container, Node 20,
 * a bundle of this module, 5 runs: an empty capture costs 42–55 ms on two threads (start the thread,
 * load the bundle, create the redactor, open the store read-only) and 0.1–0.3 ms on one that keeps
 * its redactor; the new thread's cold JIT adds ~25 ms (1 MB of Claude Code fixtures parsed in 37 ms
 * there, 11 ms on the warm caller). The overlap saves ~8 ms per MB when a core is free
 * (bench/ingest/RESULTS.md, 200 MB: parse + redact ≈ 2.2 s beside store ≈ 2.1 s, less ~0.5 s of
 * hand-off), so ~70 ms of start is repaid near 9 MB. Nothing overlaps within the first batch
 * (flushChars, 8 M characters), hence twice that. With no free core (these measurements ran at load
 * average ~4) two threads are slower at any size, as for importPathsInParallel.
 */
export const PARSE_THREAD_MIN_BYTES = 16 << 20;

type SerializableOptions = Omit<IngestOptions, 'onChunk'>;

/** What the parsing thread reads: files and folders given by the user, or the agents' locations (RegExp survives the structured clone). */
type ParseJob = {
  readonly role: typeof PARSE_ROLE;
  readonly dbPath: string;
  readonly options: SerializableOptions;
  readonly redactor: RedactorOptions;
} & ({ readonly paths: readonly string[] } | { readonly locations: readonly SourceLocation[] });

type FromParser =
  | { readonly type: 'batch'; readonly batch: IngestBatch }
  | { readonly type: 'done'; readonly report: IngestReport; readonly errors: { message: string; file: string; code: CaptureError['code'] }[] }
  | { readonly type: 'failed'; readonly message: string };

export interface ParallelImportOptions extends SerializableOptions {
  readonly redactor?: RedactorOptions;
  /** The script the worker thread loads: this module's file by default, the bundle's own file in a bundle. */
  readonly script?: string;
}

/**
 * Imports files or folders like importPaths, with parsing and redaction on a second thread. Falls
 * back to one thread for an in-memory store (a second connection cannot see it).
 */
export async function importPathsInParallel(store: Store, paths: readonly string[], options: ParallelImportOptions = {}): Promise<IngestReport> {
  const { redactor: redactorOptions = {}, script = __filename, ...ingest } = options;
  if (store.path === ':memory:') return importPaths(store, await createRedactor(redactorOptions), paths, ingest);
  return runParseThread(store, { role: PARSE_ROLE, dbPath: store.path, paths: [...paths], options: ingest, redactor: redactorOptions }, script);
}

export interface ParallelCaptureOptions extends ParallelImportOptions {
  /** New bytes from which the parsing thread is started; PARSE_THREAD_MIN_BYTES by default. */
  readonly minThreadBytes?: number;
  /**
   * The redactor for a capture that stays on this thread, asked for only then; a caller that captures
   * often keeps one. By default one is created from `redactor`.
   */
  readonly localRedactor?: () => Promise<Redactor>;
}

/**
 * Reads what is new in the locations like captureNow. When the files' stats promise at least
 * `minThreadBytes` new bytes, parsing and redaction run on a second thread as in importPathsInParallel;
 * below that (and for an in-memory store) the capture stays on this thread, since starting the
 * thread would cost more than it saves.
 */
export async function captureInParallel(store: Store, locations: readonly SourceLocation[], options: ParallelCaptureOptions = {}): Promise<IngestReport> {
  const { redactor: redactorOptions = {}, script = __filename, minThreadBytes = PARSE_THREAD_MIN_BYTES, localRedactor, ...ingest } = options;
  let local: Promise<Redactor> | undefined;
  // Created on first use, so a capture that goes to the thread never builds a redactor here.
  const lazy = (): Promise<Redactor> => (local ??= localRedactor?.() ?? createRedactor(redactorOptions));
  const redactor: Redactor = { redact: async (items) => (await lazy()).redact(items), scan: async (texts) => (await lazy()).scan(texts) };
  const ingestor = new Ingestor(store, redactor, ingest);
  const scan = scanLocations(locations);
  if (store.path === ':memory:' || ingestor.newBytes(scan) < minThreadBytes) {
    await ingestor.locations(locations, scan);
    await ingestor.flush();
    return ingestor.report;
  }
  return runParseThread(store, { role: PARSE_ROLE, dbPath: store.path, locations: [...locations], options: ingest, redactor: redactorOptions }, script);
}

/** Starts the parsing thread on a job and writes each batch it hands back; resolves with the thread's report. */
async function runParseThread(store: Store, job: ParseJob, script: string): Promise<IngestReport> {
  // Sources run through tsx (tests, benchmarks) start their thread with tsx's require hook.
  const worker = script.endsWith('.ts')
    ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, { eval: true, workerData: job })
    : new Worker(script, { workerData: job });
  let storeMs = 0;
  let written = 0;
  try {
    return await new Promise<IngestReport>((resolve, reject) => {
      let settled = false;
      worker.on('message', (message: FromParser) => {
        try {
          if (message.type === 'batch') {
            const result = writeBatch(store, message.batch);
            storeMs += result.storeMs;
            written += result.trajectories;
            worker.postMessage('ack');
          } else if (message.type === 'done') {
            settled = true;
            const report: IngestReport = { ...message.report, errors: message.errors.map((e) => new CaptureError(e.message, e.file, e.code)), trajectories: written };
            report.timings.storeMs = storeMs;
            resolve(report);
          } else {
            settled = true;
            reject(new Error(message.message));
          }
        } catch (error) {
          settled = true;
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      worker.on('error', (error) => {
        settled = true;
        reject(error);
      });
      worker.on('exit', (code) => {
        if (!settled) reject(new Error(`the capture parsing thread stopped (exit code ${String(code)}) before it finished`));
      });
    });
  } finally {
    await worker.terminate();
  }
}

/** The parsing side: everything importPaths or captureNow does except writing, which it hands back batch by batch. */
async function runParser(job: ParseJob): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const reader = openStore(job.dbPath, { readonly: true });
  try {
    const redactor = await createRedactor(job.redactor);
    let inFlight = 0;
    const waiting: (() => void)[] = [];
    port.on('message', () => {
      inFlight--;
      waiting.shift()?.();
    });
    const drained = async (limit: number): Promise<void> => {
      while (inFlight > limit) await new Promise<void>((resolve) => waiting.push(resolve));
    };
    const ingestor = new Ingestor(reader, redactor, job.options, async (batch) => {
      await drained(IN_FLIGHT - 1);
      inFlight++;
      port.postMessage({ type: 'batch', batch } satisfies FromParser);
    });
    if ('locations' in job) await ingestor.locations(job.locations);
    else for (const path of job.paths) await ingestor.path(path);
    await ingestor.flush();
    await drained(0);
    const { errors, ...rest } = ingestor.report;
    port.postMessage({ type: 'done', report: { ...emptyReport(), ...rest, errors: [] }, errors: errors.map((e) => ({ message: e.message, file: e.file, code: e.code })) } satisfies FromParser);
  } catch (error) {
    port.postMessage({ type: 'failed', message: error instanceof Error ? error.message : String(error) } satisfies FromParser);
  } finally {
    reader.close();
  }
}

/** True in a thread started by importPathsInParallel or captureInParallel (a bundle that also has another entry point checks this first). */
export function isParseWorker(): boolean {
  return !isMainThread && (workerData as Partial<ParseJob> | null)?.role === PARSE_ROLE;
}

if (isParseWorker()) void runParser(workerData as ParseJob);
