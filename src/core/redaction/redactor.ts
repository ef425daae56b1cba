/**
 * Secrets are replaced before anything is stored. The detectors (detect.ts): gitleaks' published
 * provider rules as data, keys and URLs that name a secret, and a high-entropy fallback; beside them
 * secretlint's recommended preset (but its Slack rule, see LEFT_OUT), a second maintained library
 * whose AWS, GCP and basic-auth rules read context differently. Each replacement leaves `[REDACTED:<rule>]` and is counted per rule on
 * the trajectory.
 */
import type { Observation, Step, ToolCall, Trajectory } from '../trajectory.js';
import { ASSIGNMENT_RULE, AUTH_HEADER_RULE, URL_CREDENTIAL_RULE } from './assignments.js';
import { createDetector, expandToToken, isNotSecret, type DetectOptions } from './detect.js';
import { HIGH_ENTROPY_RULE } from './entropy.js';
import type { Finding } from './finding.js';

/** A trajectory to redact, and the first step whose content is new (earlier steps were redacted before). */
export interface RedactionItem {
  readonly trajectory: Trajectory;
  readonly redactFrom: number;
}

const PLACEHOLDER = /^\[REDACTED:[\w-]+\]$/u;
const RULE_PREFIX = '@secretlint/secretlint-rule-';

type Lint = (content: string) => Promise<Finding[]>;

export interface RedactorOptions extends DetectOptions {
  /** secretlint beside the built-in detectors; off only to measure either side alone. */
  readonly secretlint?: boolean;
  /** The built-in detectors (rules, assignments, entropy); off only to measure secretlint alone. */
  readonly builtin?: boolean;
}

export interface Redactor {
  /** Returns the trajectories with secrets replaced in the steps from `redactFrom` on, and counts added. */
  redact(items: readonly RedactionItem[]): Promise<Trajectory[]>;
  /** The secret spans in each text, merged (what redact would replace), for measuring and tests. */
  scan(texts: readonly string[]): Promise<Finding[][]>;
}

// Only text holding one of these can match a recommended-preset rule (each rule keys on a literal
// prefix or keyword), so the library runs on those pieces alone. Case-sensitive on purpose: the rules are.
const SECRETLINT_HINT =
  /AKIA|ASIA|A3T|ABIA|ACCA|(?:SECRET|[Ss]ecret)_?(?:ACCESS|[Aa]ccess)|(?:ACCOUNT|[Aa]ccount)_?(?:ID|[Ii]d)|AIza|private_key|PRIVATE KEY|service_account|gh[pousr]_|github_pat_|xox|hooks\.slack\.com|sk-|T3BlbkFJ|npm_|_authToken|:\/\/[^\s/:@]+:[^\s/@]+@|SG\.|shp(?:at|ss|ca|pa)_|lin_api_|ops_/u;

// The preset's Slack rule takes any `xox?-word-word` (`xoxb-abcdef-abcdef`, a `2018-250-xoxo-…jpg`
// file name); gitleaks' eight Slack rules know each token kind's published shape and find every
// Slack token of both test sets, so that rule's findings are dropped. (secretlint 10 ignores
// `disabled` on a rule inside a preset, so it is filtered here rather than configured off.)
const LEFT_OUT = new Set([`${RULE_PREFIX}slack`]);

async function loadSecretlint(): Promise<Lint> {
  const [{ lintSource }, { creator }] = await Promise.all([import('@secretlint/core'), import('@secretlint/secretlint-rule-preset-recommend')]);
  const config = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: creator }] };
  return async (content: string) => {
    const result = await lintSource({ source: { filePath: 'trajectory.txt', content, contentType: 'text' }, options: { config, noPhysicFilePath: true } });
    return result.messages
      .filter((m) => !LEFT_OUT.has(m.ruleId))
      .map((m) => ({ start: m.range[0], end: m.range[1], rule: m.ruleId.startsWith(RULE_PREFIX) ? m.ruleId.slice(RULE_PREFIX.length) : m.ruleId }));
  };
}

// Rules that know a secret by where it stands, not by what it is: a provider rule names it better.
const GENERIC_RULES = new Set([ASSIGNMENT_RULE, URL_CREDENTIAL_RULE, AUTH_HEADER_RULE, 'generic-api-key', 'curl-auth-header', 'curl-auth-user', 'basicauth']);

/** How well a rule names what it found: a provider rule over a keyword rule over the entropy guess. */
function rank(rule: string): number {
  if (rule === HIGH_ENTROPY_RULE) return 0;
  if (GENERIC_RULES.has(rule)) return 1;
  return 2;
}

/**
 * Overlapping findings become one span covering their union, named by the best-ranked rule, so no
 * detector's narrower span leaves part of another's secret in place. Sorted by start.
 */
export function mergeFindings(findings: readonly Finding[]): Finding[] {
  const sorted = [...findings].filter((f) => f.end > f.start).sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: { start: number; end: number; rule: string }[] = [];
  for (const f of sorted) {
    const last = merged[merged.length - 1];
    if (last && f.start < last.end) {
      last.end = Math.max(last.end, f.end);
      if (rank(f.rule) > rank(last.rule)) last.rule = f.rule;
    } else merged.push({ ...f });
  }
  return merged;
}

/** Replaces findings in `text` (merged as mergeFindings does) and counts them per rule. */
export function applyFindings(text: string, findings: readonly Finding[], counts: Record<string, number>): string {
  if (findings.length === 0) return text;
  let out = '';
  let cursor = 0;
  for (const f of mergeFindings(findings)) {
    if (PLACEHOLDER.test(text.slice(f.start, f.end))) continue;
    out += text.slice(cursor, f.start) + `[REDACTED:${f.rule}]`;
    cursor = f.end;
    counts[f.rule] = (counts[f.rule] ?? 0) + 1;
  }
  return cursor === 0 ? text : out + text.slice(cursor);
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
  const detect = options.builtin === false ? undefined : createDetector(options);
  /** Every detector's findings per piece, by piece index (pieces without any are absent). */
  const findAll = async (pieces: readonly string[]): Promise<Map<number, Finding[]>> => {
    const findings = new Map<number, Finding[]>();
    const add = (index: number, f: Finding): void => {
      const list = findings.get(index);
      if (list) list.push(f);
      else findings.set(index, [f]);
    };
    if (detect) {
      pieces.forEach((text, i) => {
        for (const f of detect(text)) add(i, f);
      });
    }
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
          const piece = pieces[entry.index] ?? '';
          const start = f.start - entry.offset;
          const end = Math.min(f.end - entry.offset, piece.length);
          if (start < 0 || end <= start) continue;
          const widened = expandToToken(piece, { start, end, rule: f.rule });
          if (!isNotSecret(piece.slice(widened.start, widened.end))) add(entry.index, widened);
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
    return findings;
  };
  return {
    async scan(texts) {
      const findings = await findAll(texts);
      return texts.map((text, i) => mergeFindings(findings.get(i) ?? []).filter((f) => !PLACEHOLDER.test(text.slice(f.start, f.end))));
    },
    async redact(items) {
      // Pass 1: gather every string, find what each detector flags.
      const pieces: string[] = [];
      for (const item of items) {
        mapStrings(item, (text) => {
          pieces.push(text);
          return text;
        });
      }
      const findings = await findAll(pieces);
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
