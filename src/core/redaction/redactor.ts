/**
 * Secrets are replaced before anything is stored. Two detectors: secretlint's recommended preset
 * (a maintained library of provider-specific rules: AWS, GCP, GitHub, Slack, OpenAI, Anthropic,
 * private keys, basic-auth URLs, …) and a high-entropy token detector for secrets no rule knows.
 * Each replacement leaves `[REDACTED:<rule>]` and is counted per rule on the trajectory.
 */
import type { Observation, Step, ToolCall, Trajectory } from '../trajectory.js';

/** A trajectory to redact, and the first step whose content is new (earlier steps were redacted before). */
export interface RedactionItem {
  readonly trajectory: Trajectory;
  readonly redactFrom: number;
}

export const HIGH_ENTROPY_RULE = 'high-entropy';
const PLACEHOLDER = /^\[REDACTED:[\w-]+\]$/u;
const RULE_PREFIX = '@secretlint/secretlint-rule-';

interface Finding {
  readonly start: number;
  readonly end: number;
  readonly rule: string;
}

type Lint = (content: string) => Promise<Finding[]>;

export interface RedactorOptions {
  /** Minimum length of a token the entropy detector considers. */
  readonly minTokenLength?: number;
  /** Shannon entropy (bits per character) above which a mixed-case alphanumeric token counts as a secret. */
  readonly entropyThreshold?: number;
  /** Off only for measuring the cost of the library detector; never off in product code. */
  readonly secretlint?: boolean;
}

export interface Redactor {
  /** Returns the trajectories with secrets replaced in the steps from `redactFrom` on, and counts added. */
  redact(items: readonly RedactionItem[]): Promise<Trajectory[]>;
}

function shannon(token: string): number {
  const counts = new Map<string, number>();
  for (const ch of token) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / token.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

function isTokenChar(c: number): boolean {
  // A-Z a-z 0-9 + / _ - ('=' only as trailing padding, so `NAME=value` splits at the '=').
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47 || c === 95 || c === 45;
}

function isEdgeSeparator(c: number): boolean {
  return c === 45 || c === 47 || c === 95;
}

/**
 * Long tokens that mix upper case, lower case and digits with high entropy: API keys, session tokens.
 * A hand-written scan rather than a regular expression, since it runs over every stored character:
 * it is about twice as fast and computes entropy only for runs that pass the cheap tests.
 */
export function highEntropyFindings(text: string, minLength = 32, threshold = 4.3): Finding[] {
  const out: Finding[] = [];
  let start = -1;
  let upper = false;
  let lower = false;
  let digit = false;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (isTokenChar(c)) {
      if (start < 0) {
        start = i;
        upper = false;
        lower = false;
        digit = false;
      }
      if (c >= 48 && c <= 57) digit = true;
      else if (c >= 65 && c <= 90) upper = true;
      else if (c >= 97 && c <= 122) lower = true;
      continue;
    }
    if (start < 0) continue;
    let s = start;
    let e = i;
    start = -1;
    if (e - s < minLength || e - s > 512 || !upper || !lower || !digit) continue;
    while (s < e && isEdgeSeparator(text.charCodeAt(s))) s++;
    while (e > s && isEdgeSeparator(text.charCodeAt(e - 1))) e--;
    if (e - s < minLength) continue;
    const token = text.slice(s, e);
    // Paths and identifiers joined by separators have low per-segment entropy.
    if ((token.match(/\//gu)?.length ?? 0) > 2 || (token.match(/[-_]/gu)?.length ?? 0) > 4) continue;
    if (shannon(token) < threshold) continue;
    // Base64 padding belongs to the secret.
    if (e === i) while (text.charCodeAt(e) === 61 && e - i < 2) e++;
    out.push({ start: s, end: e, rule: HIGH_ENTROPY_RULE });
  }
  return out;
}

// Only text holding one of these can match a recommended-preset rule (each rule keys on a literal
// prefix or keyword), so the library runs on those pieces alone. Case-sensitive on purpose: the rules are.
const SECRETLINT_HINT =
  /AKIA|ASIA|A3T|ABIA|ACCA|(?:SECRET|[Ss]ecret)_?(?:ACCESS|[Aa]ccess)|(?:ACCOUNT|[Aa]ccount)_?(?:ID|[Ii]d)|AIza|private_key|PRIVATE KEY|service_account|gh[pousr]_|github_pat_|xox|hooks\.slack\.com|sk-|T3BlbkFJ|npm_|_authToken|:\/\/[^\s/:@]+:[^\s/@]+@|SG\.|shp(?:at|ss|ca|pa)_|lin_api_|ops_/u;

async function loadSecretlint(): Promise<Lint> {
  const [{ lintSource }, { creator }] = await Promise.all([import('@secretlint/core'), import('@secretlint/secretlint-rule-preset-recommend')]);
  const config = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: creator }] };
  return async (content: string) => {
    const result = await lintSource({ source: { filePath: 'trajectory.txt', content, contentType: 'text' }, options: { config, noPhysicFilePath: true } });
    return result.messages.map((m) => ({ start: m.range[0], end: m.range[1], rule: m.ruleId.startsWith(RULE_PREFIX) ? m.ruleId.slice(RULE_PREFIX.length) : m.ruleId }));
  };
}

/** Replaces findings in `text`, longest-first on overlaps, and counts them per rule. */
export function applyFindings(text: string, findings: readonly Finding[], counts: Record<string, number>): string {
  if (findings.length === 0) return text;
  // A library rule names the secret better than the entropy detector: entropy findings overlapping one are dropped.
  const named = findings.filter((f) => f.rule !== HIGH_ENTROPY_RULE);
  const kept = findings.filter((f) => f.rule !== HIGH_ENTROPY_RULE || !named.some((n) => n.start < f.end && f.start < n.end));
  const sorted = [...kept].sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let cursor = 0;
  for (const f of sorted) {
    if (f.start < cursor || f.end <= f.start) continue;
    const secret = text.slice(f.start, f.end);
    if (PLACEHOLDER.test(secret)) continue;
    out += text.slice(cursor, f.start) + `[REDACTED:${f.rule}]`;
    cursor = f.end;
    counts[f.rule] = (counts[f.rule] ?? 0) + 1;
  }
  return out + text.slice(cursor);
}

/** Visits every string in a trajectory's changed part in a fixed order, optionally replacing it. */
function mapStrings(item: RedactionItem, fn: (text: string) => string): Trajectory {
  const t = item.trajectory;
  const deep = (value: unknown): unknown => {
    if (typeof value === 'string') return fn(value);
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      let changed = false;
      for (const v of value as unknown[]) {
        const n = deep(v);
        if (n !== v) changed = true;
        out.push(n);
      }
      return changed ? out : value;
    }
    if (typeof value === 'object' && value !== null) {
      let changed = false;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const n = deep(v);
        if (n !== v) changed = true;
        out[k] = n;
      }
      return changed ? out : value;
    }
    return value;
  };
  const task = fn(t.task);
  const systemPrompt = t.systemPrompt === undefined ? undefined : fn(t.systemPrompt);
  const steps = t.steps.map((step, i): Step => {
    if (i < item.redactFrom) return step;
    const text = step.text === undefined ? undefined : fn(step.text);
    const thought = step.thought === undefined ? undefined : fn(step.thought);
    const toolCalls = step.toolCalls.map((c): ToolCall => {
      const args = deep(c.arguments) as ToolCall['arguments'];
      return args === c.arguments ? c : { ...c, arguments: args };
    });
    const observations = step.observations.map((o): Observation => {
      const content = fn(o.content);
      return content === o.content ? o : { ...o, content };
    });
    const userMessages = step.userMessages?.map(fn);
    const same =
      text === step.text &&
      thought === step.thought &&
      toolCalls.every((c, j) => c === step.toolCalls[j]) &&
      observations.every((o, j) => o === step.observations[j]) &&
      (userMessages ?? []).every((u, j) => u === step.userMessages?.[j]);
    if (same) return step;
    const out: { -readonly [K in keyof Step]: Step[K] } = { ...step, toolCalls, observations };
    if (text !== undefined) out.text = text;
    if (thought !== undefined) out.thought = thought;
    if (userMessages !== undefined) out.userMessages = userMessages;
    return out;
  });
  const out: { -readonly [K in keyof Trajectory]: Trajectory[K] } = { ...t, task, steps };
  if (systemPrompt !== undefined) out.systemPrompt = systemPrompt;
  return out;
}

// Secretlint is called on batches this large: one call per string costs more than the scan.
const BATCH_CHARS = 4 << 20;
const SEPARATOR = '\n\u0000\n';

export async function createRedactor(options: RedactorOptions = {}): Promise<Redactor> {
  const lint = options.secretlint === false ? undefined : await loadSecretlint();
  const minLength = options.minTokenLength ?? 32;
  const threshold = options.entropyThreshold ?? 4.3;
  return {
    async redact(items) {
      // Pass 1: gather every string, find what each detector flags.
      const pieces: string[] = [];
      for (const item of items) {
        mapStrings(item, (text) => {
          pieces.push(text);
          return text;
        });
      }
      const findings = new Map<number, Finding[]>();
      const add = (index: number, f: Finding): void => {
        const list = findings.get(index);
        if (list) list.push(f);
        else findings.set(index, [f]);
      };
      pieces.forEach((text, i) => {
        if (text.length >= minLength) for (const f of highEntropyFindings(text, minLength, threshold)) add(i, f);
      });
      if (lint) {
        let batch: { index: number; offset: number }[] = [];
        let parts: string[] = [];
        let length = 0;
        const flush = async (): Promise<void> => {
          if (parts.length === 0) return;
          const joined = parts.join(SEPARATOR);
          const found = await lint(joined);
          for (const f of found) {
            // Map the offset back to its piece (binary search over piece starts).
            let lo = 0;
            let hi = batch.length - 1;
            while (lo < hi) {
              const mid = (lo + hi + 1) >> 1;
              if ((batch[mid]?.offset ?? 0) <= f.start) lo = mid;
              else hi = mid - 1;
            }
            const entry = batch[lo];
            if (!entry) continue;
            const pieceLength = pieces[entry.index]?.length ?? 0;
            const start = f.start - entry.offset;
            const end = Math.min(f.end - entry.offset, pieceLength);
            if (start >= 0 && end > start) add(entry.index, { start, end, rule: f.rule });
          }
          batch = [];
          parts = [];
          length = 0;
        };
        for (let i = 0; i < pieces.length; i++) {
          const text = pieces[i] ?? '';
          if (text.length < 8 || !SECRETLINT_HINT.test(text)) continue;
          batch.push({ index: i, offset: length });
          parts.push(text);
          length += text.length + SEPARATOR.length;
          if (length >= BATCH_CHARS) await flush();
        }
        await flush();
      }
      // Pass 2: rebuild only what changed, in the same visiting order.
      let index = 0;
      return items.map((item) => {
        const counts: Record<string, number> = {};
        const redacted = mapStrings(item, (text) => {
          const f = findings.get(index++);
          return f ? applyFindings(text, f, counts) : text;
        });
        if (Object.keys(counts).length === 0) return redacted;
        const merged: Record<string, number> = { ...(redacted.redactions ?? {}) };
        for (const [rule, n] of Object.entries(counts)) merged[rule] = (merged[rule] ?? 0) + n;
        return { ...redacted, redactions: merged };
      });
    },
  };
}
