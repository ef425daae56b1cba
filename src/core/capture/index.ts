/** Capture: reading coding agents' logs into normalized, redacted trajectories. */
export { ADAPTERS, adapterFor, detectFormat, FORMAT_NAMES } from './registry.js';
export { captureNow, COMPLETE_AFTER_IDLE_MS, emptyReport, importPaths, Ingestor, writeBatch, type EmptyFile, type IngestBatch, type IngestOptions, type IngestReport } from './ingest.js';
export { mergeParts, type SessionPart } from './sessions.js';
export { configureLocations, currentEnvironment, defaultLocations, watchRoots, type Environment, type SourceLocation } from './locations.js';
export { createRedactor, type Redactor, type RedactorOptions } from '../redaction/index.js';
export { captureInParallel, importPathsInParallel, isParseWorker, PARSE_ROLE, PARSE_THREAD_MIN_BYTES, type ParallelCaptureOptions, type ParallelImportOptions } from './parallel.js';
export { scanLocations, walk } from './scan.js';
export { CaptureError, FORMAT_IDS, type Adapter, type FormatId, type ParseIssue } from './types.js';
