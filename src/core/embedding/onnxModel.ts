/**
 * A sentence-transformers ONNX export (all-MiniLM-L6-v2 by default) loaded, checked and run in the
 * calling thread. The extension never calls this on its main thread: `onnx.ts` starts a worker thread
 * that owns one of these. Every way a model folder can be wrong becomes an EmbedderLoadError whose
 * message names the file and what to do, so the resolver can fall back to the lexical embedder and say why.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { EmbedderLoadError, type EmbedderVariant, type LoadFailure, type OnnxModelInfo } from './onnxProtocol.js';

export { EmbedderLoadError } from './onnxProtocol.js';
export type { EmbedderVariant, OnnxModelInfo } from './onnxProtocol.js';

export interface OnnxModelOptions {
  /** The model folder: `config.json`, `tokenizer.json`, and `onnx/model.onnx` (or `model.onnx`). */
  readonly dir: string;
  readonly variant: EmbedderVariant;
  /** onnxruntime's intra-op threads. */
  readonly threads: number;
  /** Most sequences in one run; batches are also capped by `maxBatchTokens`. */
  readonly batchSize?: number;
  /** Most padded tokens (sequences × longest) in one run, so a batch of long texts stays small. */
  readonly maxBatchTokens?: number;
}

/** The first of these that exists is the variant's file: our export's names first, then common Hugging Face ones. */
const FILES: Record<EmbedderVariant, readonly string[]> = {
  fp32: ['onnx/model.onnx', 'model.onnx'],
  int8: ['onnx/model_quantized.onnx', 'model_quantized.onnx', 'onnx/model_qint8_avx512.onnx', 'onnx/model_int8.onnx'],
};

/** Characters kept of a text before tokenization: a 5 MB observation must not cost a 5 MB tokenization. 32
 * characters per token is far above what real text needs (prose is about 4, indented code about 8), so the
 * model's window is always filled before the cut matters. */
const CHARS_PER_TOKEN_BOUND = 32;

/**
 * A batch stops growing once padding would make it cost more than this share above its real tokens, and
 * by more than PAD_ROWS_TOKENS tokens: a pass costs about its padded tokens, while each separate pass adds
 * a fixed cost of its own that a few padded tokens are cheaper than.
 */
const PAD_SLACK = 1.25;
const PAD_ROWS_TOKENS = 16;

const manifestSchema = z.object({
  model: z.string().optional(),
  dim: z.number().int().positive().optional(),
  max_length: z.number().int().positive().optional(),
  variants: z.record(z.string(), z.object({ file: z.string(), passes: z.boolean().optional(), min_cosine_vs_fp32: z.number().optional() })).optional(),
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/u)).optional(),
});
type Manifest = z.infer<typeof manifestSchema>;

const configSchema = z.object({ hidden_size: z.number().int().positive(), vocab_size: z.number().int().positive(), max_position_embeddings: z.number().int().positive().optional() });

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new EmbedderLoadError(`${what} at ${path} could not be read (${error instanceof Error ? error.message : String(error)})`, 'missing');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new EmbedderLoadError(`${what} at ${path} is not valid JSON (${error instanceof Error ? error.message : String(error)})`, what === 'tokenizer.json' ? 'tokenizer' : 'config');
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, path: string, kind: LoadFailure): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new EmbedderLoadError(`${path}: field ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}`, kind);
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Chooses the file of the requested variant; int8 only where the export's own check says it keeps cosine ≥ 0.99. */
function chooseFile(dir: string, variant: EmbedderVariant, manifest: Manifest | undefined): { file: string; variant: EmbedderVariant; note?: string } {
  const find = (v: EmbedderVariant): string | undefined => {
    const named = manifest?.variants?.[v]?.file;
    return [...(named === undefined ? [] : [named]), ...FILES[v]].find((f) => existsSync(join(dir, f)));
  };
  if (variant === 'int8') {
    const int8 = find('int8');
    const check = manifest?.variants?.int8;
    if (int8 !== undefined && check?.passes !== false) return { file: int8, variant: 'int8' };
    const fp32 = find('fp32');
    if (fp32 !== undefined) {
      const why =
        int8 === undefined
          ? 'no int8 file in the folder'
          : `the int8 file keeps only cosine ${check?.min_cosine_vs_fp32?.toFixed(4) ?? '?'} to fp32 (below 0.99)`;
      return { file: fp32, variant: 'fp32', note: `fp32 (${why})` };
    }
    if (int8 !== undefined) return { file: int8, variant: 'int8' };
  } else {
    const fp32 = find('fp32');
    if (fp32 !== undefined) return { file: fp32, variant: 'fp32' };
  }
  throw new EmbedderLoadError(`the ONNX model is missing at ${join(dir, FILES.fp32[0] ?? 'onnx/model.onnx')}`, 'missing');
}

/** What the embedder uses of @huggingface/tokenizers' Tokenizer (an ES module, loaded with import() from this CommonJS file). */
interface Tokenizer {
  encode(text: string): { ids: number[] };
  token_to_id(token: string): number | undefined;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
}

function vocabularySize(tokenizer: Tokenizer): number {
  let max = -1;
  for (const id of tokenizer.get_vocab(true).values()) max = Math.max(max, id);
  return max + 1;
}

/** Loads and checks a model folder; throws EmbedderLoadError naming the file and the fault. */
export async function loadOnnxModel(options: OnnxModelOptions): Promise<OnnxModel> {
  const { dir } = options;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new EmbedderLoadError(`the ONNX model is missing at ${dir}`, 'missing');
  const manifestPath = join(dir, 'manifest.json');
  const manifest = existsSync(manifestPath) ? parse(manifestSchema, readJson(manifestPath, 'manifest.json'), manifestPath, 'config') : undefined;
  const chosen = chooseFile(dir, options.variant, manifest);
  const modelPath = join(dir, chosen.file);
  for (const name of ['config.json', 'tokenizer.json']) {
    if (!existsSync(join(dir, name))) throw new EmbedderLoadError(`the model folder ${dir} has no ${name} (a sentence-transformers export keeps it beside the ONNX file)`, 'missing');
  }
  const config = parse(configSchema, readJson(join(dir, 'config.json'), 'config.json'), join(dir, 'config.json'), 'config');

  // The checksum is the embedder's identity in every cache key, so it is computed even without a manifest.
  const digest = await sha256(modelPath);
  const expected = manifest?.files?.[chosen.file];
  if (expected !== undefined && expected !== digest) {
    throw new EmbedderLoadError(`${modelPath} does not match its checksum in manifest.json (the file changed after the export; export it again with --force)`, 'checksum');
  }
  if (manifest?.dim !== undefined && manifest.dim !== config.hidden_size) {
    throw new EmbedderLoadError(`manifest.json says ${String(manifest.dim)} dimensions but config.json hidden_size is ${String(config.hidden_size)}`, 'dimension');
  }

  const tokenizerPath = join(dir, 'tokenizer.json');
  const tokenizerConfigPath = join(dir, 'tokenizer_config.json');
  const tokenizerConfig = existsSync(tokenizerConfigPath)
    ? parse(z.record(z.string(), z.unknown()), readJson(tokenizerConfigPath, 'tokenizer_config.json'), tokenizerConfigPath, 'tokenizer')
    : {};
  const tokenizerJson = parse(z.looseObject({ model: z.looseObject({ type: z.string().optional() }) }), readJson(tokenizerPath, 'tokenizer.json'), tokenizerPath, 'tokenizer');
  let tokenizer: Tokenizer;
  try {
    // The library is an ES module; this file is compiled to CommonJS, so it is imported, not required.
    const library = (await import('@huggingface/tokenizers')) as unknown as { Tokenizer: new (json: object, config: object) => Tokenizer };
    tokenizer = new library.Tokenizer(tokenizerJson, tokenizerConfig);
  } catch (error) {
    if (error instanceof EmbedderLoadError) throw error;
    throw new EmbedderLoadError(`tokenizer.json at ${tokenizerPath} is not a tokenizer this library reads (${error instanceof Error ? error.message : String(error)})`, 'tokenizer');
  }
  const vocab = vocabularySize(tokenizer);
  if (vocab !== config.vocab_size) {
    throw new EmbedderLoadError(
      `the tokenizer does not match the model: tokenizer.json has ${String(vocab)} tokens, config.json vocab_size is ${String(config.vocab_size)} (${tokenizerPath} belongs to another model)`,
      'tokenizer',
    );
  }

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: Math.max(1, Math.floor(options.threads)),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
    throw new EmbedderLoadError(`${modelPath} is not a readable ONNX model (${first})`, 'corrupt');
  }
  const inputs = session.inputNames;
  const unknown = inputs.filter((n) => !['input_ids', 'attention_mask', 'token_type_ids'].includes(n));
  if (!inputs.includes('input_ids') || !inputs.includes('attention_mask') || unknown.length > 0) {
    await session.release();
    throw new EmbedderLoadError(`${modelPath} takes inputs [${inputs.join(', ')}]; an encoder export takes input_ids, attention_mask and optionally token_type_ids`, 'inputs');
  }
  const output = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames.includes('token_embeddings') ? 'token_embeddings' : session.outputNames[0];
  if (output === undefined) {
    await session.release();
    throw new EmbedderLoadError(`${modelPath} has no outputs`, 'inputs');
  }

  const sentenceConfigPath = join(dir, 'sentence_bert_config.json');
  const sentenceMax = existsSync(sentenceConfigPath) ? (readJson(sentenceConfigPath, 'sentence_bert_config.json') as { max_seq_length?: unknown }).max_seq_length : undefined;
  const maxLength =
    typeof sentenceMax === 'number' && sentenceMax > 2 ? sentenceMax : (manifest?.max_length ?? Math.min(config.max_position_embeddings ?? 512, 512));

  const name = manifest?.model ?? basename(dir);
  const model = new OnnxModel(session, tokenizer, output, inputs.includes('token_type_ids'), {
    id: `onnx:${name}:${chosen.variant}:${digest.slice(0, 8)}`,
    dim: config.hidden_size,
    maxLength,
    variant: chosen.variant,
    file: modelPath,
    description: `onnx: ${name} (${chosen.note ?? chosen.variant}, ${String(config.hidden_size)} dimensions, ${String(options.threads)} thread${options.threads === 1 ? '' : 's'}) from ${dir}`,
  }, options);
  // A probe with the tokenizer's highest id: the output width must be the configured size, and a model
  // whose embedding table is smaller than the tokenizer's vocabulary fails here rather than on some later text.
  let probe: Float32Array;
  try {
    probe = await model.run([[tokenizer.token_to_id('[CLS]') ?? 0, vocab - 1]]);
  } catch (error) {
    await session.release();
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
    throw new EmbedderLoadError(`${modelPath} fails on token id ${String(vocab - 1)} of tokenizer.json (${first}): the tokenizer does not match the model's vocabulary`, 'tokenizer');
  }
  if (model.lastWidth !== config.hidden_size || probe.length !== config.hidden_size) {
    await session.release();
    throw new EmbedderLoadError(`wrong dimension: ${modelPath} gives ${String(model.lastWidth)}-dimensional vectors, config.json hidden_size is ${String(config.hidden_size)} (${String(model.lastWidth)}≠${String(config.hidden_size)})`, 'dimension');
  }
  return model;
}

/** A loaded, checked model: tokenizes, batches by length, runs, mean-pools with the attention mask and L2-normalizes. */
export class OnnxModel {
  /** Width of the last output seen (the probe checks it against the configuration). */
  lastWidth = 0;
  private readonly batchSize: number;
  private readonly maxBatchTokens: number;
  private readonly maxChars: number;
  private readonly sep: number | undefined;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly output: string,
    private readonly wantsTokenTypes: boolean,
    readonly info: OnnxModelInfo,
    options: OnnxModelOptions,
  ) {
    this.batchSize = Math.max(1, options.batchSize ?? 32);
    this.maxBatchTokens = Math.max(info.maxLength, options.maxBatchTokens ?? 8192);
    this.maxChars = info.maxLength * CHARS_PER_TOKEN_BOUND;
    this.sep = tokenizer.token_to_id('[SEP]') ?? tokenizer.token_to_id('</s>');
  }

  /** How many tokens the whole text has, special tokens included, before any cut (for callers that size texts to the window). */
  tokenCount(text: string): number {
    return this.tokenizer.encode(text).ids.length;
  }

  /**
   * Token ids of one text, cut to the model's window with the closing special token kept. With
   * `maxTokens` below the window the cut is from the middle: the first and the last tokens stay, as a
   * shortened command output keeps its command and its verdict.
   */
  tokenize(text: string, maxTokens?: number): number[] {
    let cut = text;
    if (cut.length > this.maxChars) {
      // Never split a surrogate pair: half an emoji would tokenize as garbage.
      const end = this.maxChars - (/[\uD800-\uDBFF]/u.test(cut.charAt(this.maxChars - 1)) ? 1 : 0);
      cut = cut.slice(0, end);
    }
    const ids = this.tokenizer.encode(cut).ids;
    const cap = maxTokens === undefined ? this.info.maxLength : Math.max(3, Math.min(this.info.maxLength, Math.floor(maxTokens)));
    if (ids.length <= cap) return ids;
    const last = ids[ids.length - 1];
    const close = last !== undefined && last === this.sep ? last : (this.sep ?? last ?? 0);
    if (cap === this.info.maxLength) {
      const head = ids.slice(0, cap - 1);
      head.push(close);
      return head;
    }
    // The opening special token, then the text's start and end around the cut, then the closing one.
    const inner = cap - 2;
    const head = Math.ceil(inner / 2);
    const tailEnd = last === close ? ids.length - 1 : ids.length;
    return [...ids.slice(0, 1 + head), ...ids.slice(tailEnd - (inner - head), tailEnd), close];
  }

  /** Embeddings of `texts`, row-major, L2-normalized; the order of `texts` is kept whatever the batching. */
  async embed(texts: readonly string[], maxTokens?: number): Promise<Float32Array> {
    const dim = this.info.dim;
    const out = new Float32Array(texts.length * dim);
    const tokens = texts.map((t) => this.tokenize(t, maxTokens));
    // Length buckets: sorted by length, each batch pads only to its own longest sequence.
    const order = tokens.map((_, i) => i).sort((a, b) => (tokens[a]?.length ?? 0) - (tokens[b]?.length ?? 0));
    const length = (k: number): number => tokens[order[k] ?? 0]?.length ?? 0;
    let start = 0;
    while (start < order.length) {
      let end = start + 1;
      let real = length(start);
      while (end < order.length && end - start < this.batchSize && (end - start + 1) * length(end) <= this.maxBatchTokens) {
        // A batch runs as long as its longest row times its rows; a much longer row is cheaper on its own than
        // padding every shorter one up to it (a short task and a long step in one call, say).
        const padded = (end - start + 1) * length(end);
        if (padded > PAD_SLACK * (real + length(end)) && padded - (real + length(end)) > PAD_ROWS_TOKENS) break;
        real += length(end);
        end++;
      }
      const batch = order.slice(start, end);
      const vectors = await this.run(batch.map((i) => tokens[i] ?? []));
      batch.forEach((row, k) => {
        out.set(vectors.subarray(k * dim, (k + 1) * dim), row * dim);
      });
      start = end;
    }
    return out;
  }

  /** One forward pass over token-id rows (padded here); returns their pooled, normalized vectors. */
  async run(rows: readonly (readonly number[])[]): Promise<Float32Array> {
    const batch = rows.length;
    const seq = Math.max(1, ...rows.map((r) => r.length));
    const ids = new BigInt64Array(batch * seq);
    const mask = new BigInt64Array(batch * seq);
    rows.forEach((row, b) => {
      row.forEach((id, t) => {
        ids[b * seq + t] = BigInt(id);
        mask[b * seq + t] = 1n;
      });
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [batch, seq]),
      attention_mask: new ort.Tensor('int64', mask, [batch, seq]),
    };
    if (this.wantsTokenTypes) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(batch * seq), [batch, seq]);
    const result = await this.session.run(feeds, [this.output]);
    const hidden = result[this.output];
    if (hidden === undefined || hidden.dims.length !== 3) throw new Error(`the model's output ${this.output} is not [batch, sequence, hidden]`);
    const width = hidden.dims[2] ?? 0;
    this.lastWidth = width;
    const data = hidden.data as Float32Array;
    const pooled = new Float32Array(batch * width);
    for (let b = 0; b < batch; b++) {
      const length = rows[b]?.length ?? 0;
      const row = pooled.subarray(b * width, (b + 1) * width);
      // Mean over the real tokens only: padding positions carry hidden states too, and must not count.
      for (let t = 0; t < length; t++) {
        const base = (b * seq + t) * width;
        for (let d = 0; d < width; d++) row[d] = (row[d] ?? 0) + (data[base + d] ?? 0);
      }
      let norm = 0;
      for (let d = 0; d < width; d++) norm += (row[d] ?? 0) * (row[d] ?? 0);
      // Dividing by the token count cancels in the normalization, so only the norm is applied.
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let d = 0; d < width; d++) row[d] = (row[d] ?? 0) * scale;
    }
    return pooled;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
