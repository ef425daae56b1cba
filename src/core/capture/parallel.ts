/**
 * Import on two cores: a worker thread reads, parses, normalizes and redacts (with a read-only
 * store connection for what it must look up), and hands each batch to the thread that owns the
 * store, which writes it while the worker goes on with the next. At most one batch waits for the
 * writer, so memory stays bounded by the batch size. The store keeps one writer: the calling thread.
 *
 * The worker runs this same module (or the bundle that contains it): loading it in a thread whose
 * `workerData.role` is PARSE_ROLE starts the parsing side.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { openStore, type Store } from '../store/index.js';
import { emptyReport, importPaths, Ingestor, writeBatch, type IngestBatch, type IngestOptions, type IngestReport } from './ingest.js';
import { createRedactor, type RedactorOptions } from './redaction.js';
import { CaptureError } from './types.js';

export const PARSE_ROLE = 'internalize-capture-parse';

/** Batches handed over and not yet written: with one, the writer stores batch N while the parser builds N + 1. */
const IN_FLIGHT = 1;

type SerializableOptions = Omit<IngestOptions, 'onChunk'>;

interface ParseJob {
  readonly role: typeof PARSE_ROLE;
  readonly dbPath: string;
  readonly paths: readonly string[];
  readonly options: SerializableOptions;
  readonly redactor: RedactorOptions;
}

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
  const job: ParseJob = { role: PARSE_ROLE, dbPath: store.path, paths: [...paths], options: ingest, redactor: redactorOptions };
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
            storeMs += writeBatch(store, message.batch);
            written += message.batch.rows.length;
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

/** The parsing side: everything importPaths does except writing, which it hands back batch by batch. */
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
    for (const path of job.paths) await ingestor.path(path);
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

/** True in a thread started by importPathsInParallel (a bundle that also has another entry point checks this first). */
export function isParseWorker(): boolean {
  return !isMainThread && (workerData as Partial<ParseJob> | null)?.role === PARSE_ROLE;
}

if (isParseWorker()) void runParser(workerData as ParseJob);
