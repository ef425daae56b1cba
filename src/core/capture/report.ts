/** What an ingest run tells its caller: counts, skipped lines, unreadable files, and files that gave nothing, each with why. */
import { CaptureError, type ParseIssue } from './types.js';

/** A file that was read and holds no trajectory, with the reason in words. */
export interface EmptyFile {
  readonly file: string;
  readonly reason: string;
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
  /**
   * Files that were read (or, when named or walked again, read before) and hold no trajectory, with
   * why: an empty file, only snapshot or summary records, a format's side file without its main file,
   * an unknown format, a document that does not parse. Files in `errors` are not repeated here.
   */
  empty: EmptyFile[];
  /** Paths named explicitly (a file, or a folder walked) from which no trajectory came at all. */
  emptyTargets: string[];
  /** Where the time went, in milliseconds: reading and parsing, redaction, and writing to the store. */
  timings: { parseMs: number; redactMs: number; storeMs: number };
}

export function emptyReport(): IngestReport {
  return { files: 0, unchanged: 0, reread: 0, trajectories: 0, redactions: {}, issues: [], errors: [], empty: [], emptyTargets: [], timings: { parseMs: 0, redactMs: 0, storeMs: 0 } };
}

export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/**
 * Turns a file-system failure into a message that says what to do. `named` is for a path the user
 * gave: its absence means a wrong path, not a file that went away during the read.
 */
export function explainFsError(path: string, error: unknown, named = false): CaptureError {
  const code = errorCode(error);
  switch (code) {
    case 'ENOENT':
      return named
        ? new CaptureError(`${path}: no such file or folder; check the path.`, path, 'not-found')
        : new CaptureError(`${path}: the file disappeared while it was being read; it will be picked up again if it comes back.`, path, 'vanished');
    case 'ENOTDIR':
      return new CaptureError(`${path}: no such file or folder (a part of the path is a file, not a folder); check the path.`, path, 'not-found');
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

/** What a read of a line log saw, to say why it gave nothing. */
export interface LineTally {
  records: number;
  malformed: number;
  firstMalformed?: number;
  /** Values of the records' `type` field, counted: most agents tag every record. */
  readonly types: Map<string, number>;
}

export function newTally(): LineTally {
  return { records: 0, malformed: 0, types: new Map() };
}

function firstIssue(issues: readonly ParseIssue[]): string | undefined {
  const issue = issues[0];
  if (issue === undefined) return undefined;
  const where = [issue.line !== undefined ? `line ${String(issue.line)}` : undefined, issue.field !== undefined ? `field ${issue.field}` : undefined].filter((w) => w !== undefined);
  return `${issue.message}${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
}

/** Why a line log holds no trajectory, from what its read saw. */
export function whyLinesGaveNothing(tally: LineTally, drafts: number, issues: readonly ParseIssue[]): string {
  if (drafts > 0) return `${String(drafts)} session${drafts === 1 ? '' : 's'} with a task but no step yet`;
  if (tally.records === 0 && tally.malformed > 0) return `no valid JSON line (${String(tally.malformed)} malformed, the first at line ${String(tally.firstMalformed ?? 1)})`;
  if (tally.records === 0) return 'no complete record (a last line without its newline waits until the file is complete)';
  const types = [...tally.types].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([type, n]) => `${type} ×${String(n)}`);
  const detail = types.length > 0 ? `; record types: ${types.join(', ')}` : '';
  const issue = firstIssue(issues);
  return `${String(tally.records)} record${tally.records === 1 ? '' : 's'}, none of them a conversation step${detail}${issue !== undefined ? `; ${issue}` : ''}`;
}

/** Why a whole document holds no trajectory. */
export function whyDocumentGaveNothing(issues: readonly ParseIssue[], drafts: number): string {
  return firstIssue(issues) ?? (drafts > 0 ? 'a task but no step' : 'no conversation steps in the document');
}
