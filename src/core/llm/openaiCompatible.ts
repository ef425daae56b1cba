/**
 * A client for any OpenAI-compatible `/chat/completions` endpoint (Ollama, vLLM, LM Studio,
 * llama.cpp server). The caller passes the key (the extension keeps it in SecretStorage).
 * Retries with exponential backoff on 429, 5xx, connection failures, timeouts and answers cut off
 * mid-stream; never on other 4xx, and never once streamed text has reached the caller's onText.
 * Structured output asks for OpenAI's `json_schema` format and falls back, once per client, to
 * `json_object` with a schema where the server refuses it (llama-cpp-python's server).
 */
import { z } from 'zod';
import type { ChatRequest, ChatResponse, LanguageModel, LanguageModelErrorKind } from './languageModel.js';
import { LanguageModelError, estimateTokens } from './languageModel.js';

export interface OpenAiCompatibleOptions {
  /** e.g. `http://127.0.0.1:11434/v1`; `/chat/completions` is appended. */
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey?: string;
  /** Per attempt. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt. */
  readonly maxRetries?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly stream?: boolean;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

const Usage = z.object({ prompt_tokens: z.number(), completion_tokens: z.number() }).partial().nullish();
const Completion = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: Usage,
});
const Chunk = z.object({
  choices: z
    .array(
      z.object({
        delta: z.object({ content: z.string().nullish(), refusal: z.string().nullish() }).partial().nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .default([]),
  usage: Usage,
});
const ErrorBody = z.object({ error: z.union([z.string(), z.object({ message: z.string() }).loose()]) }).loose();

class Attempt extends Error {
  constructor(
    message: string,
    readonly kind: LanguageModelErrorKind,
    readonly retryable: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export function openAiCompatibleModel(options: OpenAiCompatibleOptions): LanguageModel {
  const endpoint = options.baseUrl.replace(/\/+$/u, '');
  const url = `${endpoint}/chat/completions`;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const maxRetries = options.maxRetries ?? 3;
  const initial = options.initialBackoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 20_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const stream = options.stream ?? true;
  // OpenAI's `json_schema` response format, until the server refuses it; then the older
  // `{type: 'json_object', schema}` form that llama-cpp-python's server (which accepts only 'text'
  // and 'json_object', and answers anything else with HTTP 500) enforces with a grammar.
  let schemaForm: 'json_schema' | 'json_object' = 'json_schema';

  function responseFormat(format: NonNullable<ChatRequest['jsonSchema']>): Record<string, unknown> {
    return schemaForm === 'json_schema'
      ? { type: 'json_schema', json_schema: { name: format.name, schema: format.schema, strict: true } }
      : { type: 'json_object', schema: format.schema };
  }

  async function once(request: ChatRequest): Promise<ChatResponse> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.signal === undefined ? timeout : AbortSignal.any([request.signal, timeout]);
    const body: Record<string, unknown> = {
      model: options.model,
      messages: request.messages,
      stream,
      ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.jsonSchema === undefined ? {} : { response_format: responseFormat(request.jsonSchema) }),
    };
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' };
    if (options.apiKey !== undefined && options.apiKey !== '') headers.authorization = `Bearer ${options.apiKey}`;
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal });
    } catch (error) {
      throw classifyThrown(error, request.signal, timeoutMs);
    }
    if (!response.ok) {
      const failure = await httpFailure(response);
      if (request.jsonSchema !== undefined && schemaForm === 'json_schema' && refusesJsonSchema(failure)) {
        schemaForm = 'json_object';
        return once(request);
      }
      throw failure;
    }
    // Text already handed to onText cannot be taken back: a retry would hand it over a second time.
    let passedOn = 0;
    const onText = request.onText;
    const counted: ChatRequest = onText === undefined ? request : { ...request, onText: (piece) => { passedOn += piece.length; onText(piece); } };
    try {
      return stream && (response.headers.get('content-type') ?? '').includes('text/event-stream') ? await readStream(response, counted) : await readJson(response, counted);
    } catch (error) {
      const failure = error instanceof Attempt ? error : classifyThrown(error, request.signal, timeoutMs, true);
      if (passedOn === 0 || !failure.retryable) throw failure;
      throw new Attempt(`${failure.message}, after ${String(passedOn)} characters of it had been passed on (not retried, so they are not repeated)`, failure.kind, false, failure.status);
    }
  }

  return {
    model: options.model,
    endpoint,
    estimateTokens,
    async chat(request) {
      let attempt = 0;
      let first: Attempt | undefined;
      for (;;) {
        attempt++;
        try {
          return await once(request);
        } catch (error) {
          const failure = error instanceof Attempt ? error : new Attempt(String(error), 'protocol', false);
          first ??= failure;
          if (!failure.retryable || attempt > maxRetries || request.signal?.aborted === true) {
            // A server that dies mid-answer is refused on the retries; the first failure says what happened.
            const before = first.kind === failure.kind ? '' : `; the first attempt: ${first.message}`;
            throw new LanguageModelError(
              `${describe(failure)} (endpoint ${endpoint}, model "${options.model}"${attempt > 1 ? `, after ${String(attempt)} attempts${before}` : ''}). ${advice(failure.kind)}`,
              failure.kind,
              endpoint,
              options.model,
              failure.status,
              attempt,
            );
          }
          const backoff = Math.min(maxBackoff, initial * 2 ** (attempt - 1));
          await sleep(Math.max(backoff, Math.min(failure.retryAfterMs ?? 0, maxBackoff)));
        }
      }
    },
  };
}

function classifyThrown(error: unknown, caller: AbortSignal | undefined, timeoutMs: number, midAnswer = false): Attempt {
  if (caller?.aborted === true) return new Attempt('The request was cancelled', 'aborted', false);
  const e = error as { name?: string; cause?: { code?: string } } | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
    return new Attempt(`No answer within ${String(timeoutMs / 1000)} s`, 'timeout', true);
  }
  const code = e?.cause?.code ?? '';
  // A socket closed after connecting is a server dying mid-answer, not an address problem.
  if (midAnswer || code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') return new Attempt('The connection closed in the middle of the answer', 'interrupted', true);
  return new Attempt(`Could not connect${code === '' ? '' : ` (${code})`}`, 'unreachable', true);
}

/** A 400, 422 or 500 whose message is about the response format: the server does not know `json_schema`. */
function refusesJsonSchema(failure: Attempt): boolean {
  return (failure.status === 400 || failure.status === 422 || failure.status === 500) && /response_format|json_schema/u.test(failure.message);
}

async function httpFailure(response: Response): Promise<Attempt> {
  const text = await response.text().catch(() => '');
  let detail = text.slice(0, 300);
  try {
    const parsed = ErrorBody.safeParse(JSON.parse(text));
    if (parsed.success) detail = typeof parsed.data.error === 'string' ? parsed.data.error : parsed.data.error.message;
  } catch {
    // Not JSON: keep the raw start of the body.
  }
  const s = response.status;
  const suffix = detail === '' ? '' : `: ${detail}`;
  if (s === 429) {
    const after = Number(response.headers.get('retry-after'));
    return new Attempt(`Rate limited (HTTP 429)${suffix}`, 'rate-limited', true, s, Number.isFinite(after) && after > 0 ? after * 1000 : undefined);
  }
  if (s >= 500) return new Attempt(`The server failed (HTTP ${String(s)})${suffix}`, 'server', true, s);
  if (s === 404) return new Attempt(`Not found (HTTP 404)${suffix}`, 'not-found', false, s);
  if (s === 401 || s === 403) return new Attempt(`Not authorized (HTTP ${String(s)})${suffix}`, 'auth', false, s);
  return new Attempt(`The request was refused (HTTP ${String(s)})${suffix}`, 'http', false, s);
}

async function readJson(response: Response, request: ChatRequest): Promise<ChatResponse> {
  const raw: unknown = await response.json().catch(() => {
    throw new Attempt('The answer was not JSON', 'protocol', false);
  });
  const parsed = Completion.safeParse(raw);
  if (!parsed.success) throw new Attempt(`The answer did not have the chat-completion shape: ${parsed.error.issues[0]?.message ?? ''}`, 'protocol', false);
  const choice = parsed.data.choices[0];
  if (choice === undefined) throw new Attempt('The answer had no choices', 'protocol', false);
  if (typeof choice.message.refusal === 'string' && choice.message.refusal !== '') throw new Attempt(`The model refused: ${choice.message.refusal}`, 'refusal', false);
  const text = choice.message.content ?? '';
  request.onText?.(text);
  return { text, finishReason: choice.finish_reason ?? undefined, usage: usageOf(parsed.data.usage) };
}

async function readStream(response: Response, request: ChatRequest): Promise<ChatResponse> {
  if (response.body === null) throw new Attempt('The answer had no body', 'protocol', false);
  const decoder = new TextDecoder();
  let buffer = '';
  let text = '';
  let refusal = '';
  let finishReason: string | undefined;
  let usage: ChatResponse['usage'];
  const state = { done: false };
  const handle = (line: string): void => {
    if (!line.startsWith('data:')) return;
    const data = line.slice(5).trim();
    if (data === '[DONE]') {
      state.done = true;
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      throw new Attempt('A streamed chunk was not JSON', 'protocol', false);
    }
    const err = ErrorBody.safeParse(json);
    if (err.success) throw new Attempt(`The server reported an error mid-answer: ${typeof err.data.error === 'string' ? err.data.error : err.data.error.message}`, 'server', true);
    const chunk = Chunk.safeParse(json);
    if (!chunk.success) throw new Attempt('A streamed chunk did not have the chat-completion shape', 'protocol', false);
    for (const c of chunk.data.choices) {
      const piece = c.delta?.content ?? '';
      if (piece !== '') {
        text += piece;
        request.onText?.(piece);
      }
      refusal += c.delta?.refusal ?? '';
      if (c.finish_reason !== undefined && c.finish_reason !== null) finishReason = c.finish_reason;
    }
    usage = usageOf(chunk.data.usage) ?? usage;
  };
  const reader = response.body.getReader();
  for (;;) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    buffer += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      handle(buffer.slice(0, nl).replace(/\r$/u, ''));
      buffer = buffer.slice(nl + 1);
    }
  }
  if (buffer.trim() !== '') handle(buffer.trim());
  if (refusal !== '') throw new Attempt(`The model refused: ${refusal}`, 'refusal', false);
  if (!state.done && finishReason === undefined) throw new Attempt('The connection closed in the middle of the answer', 'interrupted', true);
  return { text, finishReason, usage };
}

function usageOf(u: z.infer<typeof Usage>): ChatResponse['usage'] {
  return u?.prompt_tokens === undefined || u.completion_tokens === undefined ? undefined : { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
}

function describe(a: Attempt): string {
  return a.message;
}

function advice(kind: LanguageModelErrorKind): string {
  switch (kind) {
    case 'unreachable':
      return 'Check that the server is running and the base URL is right.';
    case 'timeout':
      return 'The server may be overloaded or the model too slow; raise the timeout or try a smaller model.';
    case 'rate-limited':
      return 'Wait a while or lower the request rate.';
    case 'server':
    case 'interrupted':
      return 'The server failed; look at its log and try again.';
    case 'not-found':
      return 'Check the model name (the server does not know it) and that the base URL ends in /v1.';
    case 'auth':
      return 'Check the API key.';
    case 'refusal':
      return 'The model declined this request; nothing was changed. Try another model or a smaller batch.';
    case 'aborted':
      return 'Nothing was changed.';
    case 'http':
    case 'protocol':
      return 'The endpoint may not be OpenAI-compatible; nothing was changed.';
  }
}
