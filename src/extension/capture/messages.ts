import type { IngestReport } from '../../core/capture/ingest.js';
import type { SourceLocation } from '../../core/capture/locations.js';

/**
 * Messages between the extension host and its capture worker thread. Both sides are our own code in
 * one process, but the worker still validates the request shape before touching the database.
 */
export interface SerializedLocation {
  readonly source: SourceLocation['source'];
  readonly root: string;
  readonly include: { readonly pattern: string; readonly flags: string };
  readonly depth: number;
}

/** The settings' DELETE threshold, for the proposals made when a capture credits served principles. */
export interface DeletePolicyMessage {
  readonly minHarmful: number;
  readonly margin: number;
}

export type CaptureRequest =
  | { readonly type: 'capture'; readonly id: number; readonly dbPath: string; readonly locations: readonly SerializedLocation[]; readonly deletePolicy?: DeletePolicyMessage }
  | { readonly type: 'import'; readonly id: number; readonly dbPath: string; readonly paths: readonly string[]; readonly deletePolicy?: DeletePolicyMessage };

export interface SerializedReport extends Omit<IngestReport, 'errors'> {
  readonly errors: readonly { readonly file: string; readonly code: string; readonly message: string }[];
  readonly seconds: number;
}

export type CaptureResponse =
  | { readonly type: 'done'; readonly id: number; readonly report: SerializedReport }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };

export function serializeLocation(location: SourceLocation): SerializedLocation {
  return { source: location.source, root: location.root, include: { pattern: location.include.source, flags: location.include.flags }, depth: location.depth };
}

export function deserializeLocation(location: SerializedLocation): SourceLocation {
  return { source: location.source, root: location.root, include: new RegExp(location.include.pattern, location.include.flags), depth: location.depth };
}
