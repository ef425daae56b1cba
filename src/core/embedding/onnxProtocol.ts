/**
 * What the ONNX embedder's worker thread and its host in the extension share: the messages, and the
 * load error. Kept apart from onnxModel.ts so that the host side never loads onnxruntime-node or the
 * tokenizer on the thread that runs the editor.
 */

export type EmbedderVariant = 'int8' | 'fp32';

export type LoadFailure = 'missing' | 'corrupt' | 'checksum' | 'dimension' | 'tokenizer' | 'inputs' | 'config' | 'worker';

/** A model folder that cannot serve: the message names the file and the fault, for the fallback's description. */
export class EmbedderLoadError extends Error {
  constructor(
    message: string,
    readonly kind: LoadFailure,
  ) {
    super(message);
    this.name = 'EmbedderLoadError';
  }
}

/** What the loaded model is, for the TextEmbedder port and its description. */
export interface OnnxModelInfo {
  readonly id: string;
  readonly dim: number;
  readonly maxLength: number;
  readonly variant: EmbedderVariant;
  readonly file: string;
  readonly description: string;
}

/** workerData's role tag, so a bundle that holds other thread entry points knows this one is meant. */
export const EMBEDDER_ROLE = 'internalize-onnx-embedder';

export type ToWorker = { readonly type: 'embed'; readonly id: number; readonly texts: readonly string[]; readonly maxTokens?: number } | { readonly type: 'dispose' };

export type FromWorker =
  | { readonly type: 'ready'; readonly info: OnnxModelInfo }
  | { readonly type: 'failed'; readonly message: string; readonly kind: LoadFailure }
  | { readonly type: 'vectors'; readonly id: number; readonly data: Float32Array }
  | { readonly type: 'error'; readonly id: number; readonly message: string }
  | { readonly type: 'disposed' };
