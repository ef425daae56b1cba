import { TRAJECTORY_SOURCES, type Trajectory, type TrajectorySource } from '../trajectory.js';

/** Something in a source file that was skipped; the rest of the file is kept. */
export interface ParseIssue {
  readonly file: string;
  /** 1-based line for line formats; undefined for whole-document formats. */
  readonly line?: number;
  readonly field?: string;
  readonly message: string;
}

/** A trajectory to store, and the first step whose content is new (earlier steps were redacted when stored). */
export interface ChangedTrajectory {
  readonly trajectory: Trajectory;
  readonly redactFrom: number;
}

/** A parsed JSON line handed to a line adapter. */
export interface LineRecord {
  readonly value: unknown;
  readonly line: number;
}

/** What a line adapter knows about the file it reads, so it can name sessions after it. */
export interface FileContext {
  readonly path: string;
  /** Reads a small sibling file (e.g. VS Code's workspace.json) when an adapter needs it; undefined when absent. */
  readonly readSibling?: (relativePath: string) => string | undefined;
}

/**
 * A format whose file grows by appending lines (JSONL). It is fed new lines only; its state
 * survives between reads (serialized into the source record) together with the trajectories
 * already in the store.
 */
export interface LineSession {
  push(record: LineRecord): void;
  /** Trajectories changed by the pushed lines, complete (all steps, not only the new ones). */
  takeChanged(): ChangedTrajectory[];
  /** Small JSON-serializable state to resume with after the last pushed line. */
  saveState(): unknown;
}

export interface LineAdapter {
  readonly kind: 'lines';
  readonly format: FormatId;
  readonly source: TrajectorySource;
  /** Confidence 0..1 that the file is this format, from its path and its first bytes. */
  detect(path: string, head: string): number;
  /**
   * Starts (or resumes) reading one file. `load` fetches a trajectory already stored, so a resumed
   * session continues where the last read stopped without keeping its steps in the state.
   */
  open(file: FileContext, state: unknown, load: (id: string) => Trajectory | undefined, issues: ParseIssue[]): LineSession;
}

/** A format whose file is rewritten whole (one JSON document): re-read entirely when it changes. */
export interface DocumentAdapter {
  readonly kind: 'document';
  readonly format: FormatId;
  readonly source: TrajectorySource;
  detect(path: string, head: string): number;
  parse(file: FileContext, text: string, issues: ParseIssue[]): Trajectory[];
  /**
   * For a side file the format reads together with its main file (Cline's `ui_messages.json` beside
   * `api_conversation_history.json`): the main file's name in the same folder. Undefined for others.
   */
  mainFileOf?(path: string): string | undefined;
}

export type Adapter = LineAdapter | DocumentAdapter;

/** One format per source today; kept as its own name so a source can gain a second format later. */
export const FORMAT_IDS = TRAJECTORY_SOURCES;

export type FormatId = TrajectorySource;

/** A failure the user can act on: what happened, to which file, and what to do. */
export class CaptureError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly code: 'unknown-format' | 'unreadable' | 'not-a-file' | 'not-found' | 'too-large' | 'vanished' | 'symlink-loop' | 'invalid',
  ) {
    super(message);
    this.name = 'CaptureError';
  }
}
