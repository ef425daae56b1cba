/**
 * The capture worker thread: parsing, redaction and storage of agent logs run here, so that a first
 * import of a large log folder never blocks the extension host. It is the only writer of captured
 * data (trajectories, steps, source offsets). An import, and a capture with enough new data, starts
 * one more thread from this same bundle for parsing and redaction (importPathsInParallel,
 * captureInParallel); that thread only reads.
 *
 * The extension host keeps its own connection for what the user does (an outcome override, pool
 * curation): two WAL writers on one file. That is safe: SQLite serializes write transactions with
 * one lock, every transaction here is short (one batch), and both connections wait up to the busy
 * timeout instead of failing; test/unit/store (two processes writing at once) and
 * test/unit/capture/bulkStore.test.ts (a connection opened before a bulk write keeps writing and
 * searching) hold that.
 */
import { parentPort } from 'node:worker_threads';
import { captureInParallel, createRedactor, importPathsInParallel, isParseWorker, type IngestReport, type Redactor } from '../../core/capture/index.js';
import { learnFromUse } from '../../core/serving/learn.js';
import { openStore, type Store } from '../../core/store/index.js';
import { deserializeLocation, type CaptureRequest, type CaptureResponse, type SerializedReport } from './messages.js';

let redactor: Promise<Redactor> | undefined;
let store: Store | undefined;

function storeFor(path: string): Store {
  if (store?.path !== path) {
    store?.close();
    store = openStore(path);
  }
  return store;
}

function serialize(report: IngestReport, seconds: number): SerializedReport {
  return { ...report, errors: report.errors.map((e) => ({ file: e.file, code: e.code, message: e.message })), seconds };
}

function isRequest(value: unknown): value is CaptureRequest {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (typeof v.id !== 'number' || typeof v.dbPath !== 'string') return false;
  if (v.type === 'capture') return Array.isArray(v.locations);
  if (v.type === 'import') return Array.isArray(v.paths) && v.paths.every((p) => typeof p === 'string');
  return false;
}

function validPolicy(p: CaptureRequest['deletePolicy']): p is NonNullable<CaptureRequest['deletePolicy']> {
  return p !== undefined && Number.isInteger(p.minHarmful) && p.minHarmful >= 1 && Number.isInteger(p.margin) && p.margin >= 1;
}

async function handle(request: CaptureRequest): Promise<CaptureResponse> {
  const started = performance.now();
  try {
    const s = storeFor(request.dbPath);
    // The watcher's small captures stay on this thread and reuse one redactor; large ones get the parsing thread.
    const report =
      request.type === 'capture'
        ? await captureInParallel(s, request.locations.map(deserializeLocation), { script: __filename, localRedactor: () => (redactor ??= createRedactor()) })
        : await importPathsInParallel(s, request.paths, { script: __filename });
    // Runs that called the MCP tool credit what it served, and principles that keep hurting are proposed
    // for deletion (the settings' threshold); a failure here must not fail the capture.
    if (report.trajectories > 0) {
      try {
        learnFromUse(s, validPolicy(request.deletePolicy) ? { deletePolicy: request.deletePolicy } : {});
      } catch {
        // The next capture tries again: nothing is linked until its transaction commits.
      }
    }
    return { type: 'done', id: request.id, report: serialize(report, (performance.now() - started) / 1000) };
  } catch (error) {
    return { type: 'failed', id: request.id, message: error instanceof Error ? error.message : String(error) };
  }
}

// Loaded as the parsing thread of an import, this bundle is that thread and nothing else.
if (!isParseWorker()) {
  parentPort?.on('message', (message: unknown) => {
    if (!isRequest(message)) {
      const id = typeof message === 'object' && message !== null && typeof (message as { id?: unknown }).id === 'number' ? (message as { id: number }).id : -1;
      parentPort?.postMessage({ type: 'failed', id, message: 'malformed capture request' } satisfies CaptureResponse);
      return;
    }
    void handle(message).then((response) => parentPort?.postMessage(response));
  });

  parentPort?.on('close', () => {
    store?.close();
  });
}
