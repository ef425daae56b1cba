/**
 * Provider rules as data: gitleaks' published rule set (rules/gitleaks.json, converted from its
 * config/gitleaks.toml by scripts/convert-gitleaks-rules.ts; MIT, rules/LICENSE-gitleaks) and the
 * few shapes it lacks (rules/extra.json). Matching follows gitleaks: a rule runs only on text that
 * holds one of its keywords, its secret is the rule's secret group (else the first non-empty
 * group, else the whole match), and entropy floors and allowlists drop what is not a secret.
 */
import { z } from 'zod';
import gitleaksJson from './rules/gitleaks.json';
import extraJson from './rules/extra.json';
import { shannon, type Finding } from './finding.js';

const allowlistSchema = z.object({
  target: z.enum(['secret', 'match', 'line']),
  condition: z.enum(['or', 'and']),
  regexes: z.array(z.string()),
  stopwords: z.array(z.string()),
});

const ruleFileSchema = z.object({
  source: z.record(z.string(), z.string()),
  globalAllowlist: allowlistSchema.nullable(),
  rules: z.array(
    z.object({
      id: z.string().min(1),
      description: z.string(),
      regex: z.string().min(1),
      secretGroup: z.number().int().positive().optional(),
      entropy: z.number().nonnegative().optional(),
      keywords: z.array(z.string().min(1)),
      allowlists: z.array(allowlistSchema),
    }),
  ),
  skipped: z.array(z.object({ id: z.string(), reason: z.string() })),
});

type RuleFile = z.infer<typeof ruleFileSchema>;

interface Allowlist {
  readonly target: 'secret' | 'match' | 'line';
  readonly and: boolean;
  readonly regexes: readonly RegExp[];
  readonly stopwords: readonly string[];
}

interface CompiledRule {
  readonly id: string;
  readonly regex: RegExp;
  /** The leading `[\w.-]{0,50}?` gitleaks puts before a keyword was taken off (see LAZY_PREFIX); 0 when there was none. */
  readonly leftContext: number;
  /** Runs over bounded windows of a long text (see UNBOUNDED). */
  readonly windowed: boolean;
  readonly secretGroup?: number;
  readonly entropy?: number;
  readonly allowlists: readonly Allowlist[];
}

/** A rule file that does not parse is a bug in the shipped data: the error names the file, rule and field. */
function parseRuleFile(name: string, data: unknown): RuleFile {
  const parsed = ruleFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Redaction rules ${name}: invalid at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'unknown'}. Regenerate it with scripts/convert-gitleaks-rules.ts.`);
  }
  return parsed.data;
}

function compile(file: string, id: string, source: string, flags: string): RegExp {
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new Error(`Redaction rules ${file}: rule ${id} does not compile: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function compileAllowlist(file: string, id: string, a: z.infer<typeof allowlistSchema>): Allowlist {
  return { target: a.target, and: a.condition === 'and', regexes: a.regexes.map((r) => compile(file, id, r, '')), stopwords: a.stopwords };
}

function allowed(a: Allowlist, secret: string, match: string, line: string): boolean {
  const subject = a.target === 'match' ? match : a.target === 'line' ? line : secret;
  const checks: boolean[] = [];
  if (a.regexes.length > 0) checks.push(a.regexes.some((r) => r.test(subject)));
  if (a.stopwords.length > 0) {
    const lower = secret.toLowerCase();
    checks.push(a.stopwords.some((w) => lower.includes(w)));
  }
  return a.and ? checks.every(Boolean) : checks.some(Boolean);
}

function lineAround(text: string, start: number, end: number): string {
  const s = text.lastIndexOf('\n', start - 1) + 1;
  const e = text.indexOf('\n', end);
  return text.slice(s, e < 0 ? text.length : e);
}

/**
 * Many gitleaks rules open with a lazy `[\w.-]{0,50}?` so that the reported match shows the whole
 * variable name. In V8 that prefix is tried at every position of the text and made these rules
 * 10–20× slower than the rest; the secret group does not depend on it. It is taken off, and the
 * name is found again by scanning left when an allowlist looks at the match.
 */
const LAZY_PREFIX = '[\\w.-]{0,50}?';

/**
 * A pattern with an unbounded run over a whole line (`[^\n]*`, the curl rules) is linear in Go's
 * RE2 but quadratic in V8's backtracking engine: one 300 KB line holding "curl" thousands of
 * times took 17 s. Such rules run over overlapping windows of a long text instead, which bounds
 * the work per character; a match longer than the overlap (far longer than a curl command's
 * credential) could be cut, the price of never stalling capture.
 */
const UNBOUNDED = /\[\^\\n\][*+]|\[\\s\\S\][*+]/u;
const WINDOW = 4096;
const OVERLAP = 1024;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&');
}

/** The loaded rule set: run `find` on any text. */
export interface RuleSet {
  readonly size: number;
  /** Rule ids left out of the data with the reason (path-only rules, say), for reports. */
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  find(text: string): Finding[];
  /** Whether gitleaks' global allowlist lets this secret through (`true`, `${VAR}`, `{{ x }}`, a path…), whichever detector found it. */
  globallyAllowed(secret: string): boolean;
}

export function loadRuleSet(): RuleSet {
  const files: [string, RuleFile][] = [
    ['rules/gitleaks.json', parseRuleFile('rules/gitleaks.json', gitleaksJson)],
    ['rules/extra.json', parseRuleFile('rules/extra.json', extraJson)],
  ];
  const rules: CompiledRule[] = [];
  const globals: Allowlist[] = [];
  // Keyword → indexes of the rules it wakes; rules without keywords run on everything.
  const byKeyword = new Map<string, number[]>();
  const always: number[] = [];
  for (const [name, file] of files) {
    if (file.globalAllowlist) globals.push(compileAllowlist(name, 'global allowlist', file.globalAllowlist));
    for (const rule of file.rules) {
      const index = rules.length;
      const lazy = rule.regex.startsWith(LAZY_PREFIX);
      rules.push({
        id: rule.id,
        regex: compile(name, rule.id, lazy ? rule.regex.slice(LAZY_PREFIX.length) : rule.regex, 'dg'),
        leftContext: lazy ? 50 : 0,
        windowed: UNBOUNDED.test(rule.regex),
        secretGroup: rule.secretGroup,
        entropy: rule.entropy,
        allowlists: rule.allowlists.map((a) => compileAllowlist(name, rule.id, a)),
      });
      if (rule.keywords.length === 0) always.push(index);
      for (const k of rule.keywords) {
        const key = k.toLowerCase();
        const list = byKeyword.get(key);
        if (list) list.push(index);
        else byKeyword.set(key, [index]);
      }
    }
  }
  // One case-insensitive pass finds every keyword present, as gitleaks' Aho-Corasick prefilter
  // does; longer keywords first so that a short one does not hide a longer one at the same place.
  const keywords = [...byKeyword.keys()].sort((a, b) => b.length - a.length);
  // A keyword found wakes the rules of every keyword inside it too (`sk` inside `sk_live`), since
  // the alternation reports only the longest at a place.
  const wakes = new Map<string, number[]>();
  for (const key of keywords) {
    const list = new Set<number>();
    for (const [k, rulesOf] of byKeyword) if (key.includes(k)) for (const i of rulesOf) list.add(i);
    wakes.set(key, [...list]);
  }
  // On a lower-cased copy: V8 runs a plain alternation several times faster than a case-insensitive one.
  const keywordPattern = new RegExp(keywords.map(escapeRegExp).join('|'), 'g');
  const skipped = files.flatMap(([, f]) => f.skipped);

  const secretGlobals = globals.filter((a) => a.target === 'secret');
  return {
    size: rules.length,
    skipped,
    globallyAllowed: (secret) => secretGlobals.some((a) => allowed(a, secret, secret, secret)),
    find(text) {
      const wake = new Set<number>(always);
      const lower = text.toLowerCase();
      keywordPattern.lastIndex = 0;
      let hit: RegExpExecArray | null;
      const seen = new Set<string>();
      while ((hit = keywordPattern.exec(lower)) !== null) {
        const key = hit[0];
        if (seen.has(key)) continue;
        seen.add(key);
        for (const i of wakes.get(key) ?? []) wake.add(i);
      }
      const out: Finding[] = [];
      for (const index of wake) {
        const rule = rules[index];
        if (rule) matchRule(rule, text, globals, out);
      }
      return out;
    },
  };
}

function matchRule(rule: CompiledRule, text: string, globals: readonly Allowlist[], out: Finding[]): void {
  if (!rule.windowed || text.length <= WINDOW) {
    matchWithin(rule, text, 0, text.length, globals, out);
    return;
  }
  const seen = new Set<string>();
  const found: Finding[] = [];
  for (let start = 0; start < text.length; start += WINDOW - OVERLAP) {
    matchWithin(rule, text, start, Math.min(text.length, start + WINDOW), globals, found);
    if (start + WINDOW >= text.length) break;
  }
  for (const f of found) {
    const key = `${String(f.start)}:${String(f.end)}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(f);
    }
  }
}

/** Runs one rule over text[from, to), reporting spans in the coordinates of the whole text. */
function matchWithin(rule: CompiledRule, whole: string, from: number, to: number, globals: readonly Allowlist[], out: Finding[]): void {
  const text = from === 0 && to === whole.length ? whole : whole.slice(from, to);
  const regex = rule.regex;
  regex.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = regex.exec(text)) !== null) {
    if (m[0].length === 0) {
      regex.lastIndex++;
      continue;
    }
    let start = m.index;
    let end = m.index + m[0].length;
    const groups = m.indices ?? [];
    if (rule.secretGroup !== undefined) {
      const g = groups[rule.secretGroup];
      if (g === undefined) continue;
      [start, end] = g;
    } else {
      for (let i = 1; i < groups.length; i++) {
        const g = groups[i];
        if (g !== undefined && g[1] > g[0]) {
          [start, end] = g;
          break;
        }
      }
    }
    // gitleaks trims newlines the pattern's trailing context picked up.
    while (end > start && text.charCodeAt(end - 1) === 10) end--;
    while (start < end && text.charCodeAt(start) === 10) start++;
    if (end <= start) continue;
    const secret = text.slice(start, end);
    if (rule.entropy !== undefined && shannon(secret) <= rule.entropy) continue;
    let matchStart = m.index;
    const floor = Math.max(0, m.index - rule.leftContext);
    while (matchStart > floor && /[\w.-]/u.test(text[matchStart - 1] ?? ' ')) matchStart--;
    const match = text.slice(matchStart, m.index + m[0].length);
    const line = lineAround(text, matchStart, m.index + m[0].length);
    if (globals.some((a) => allowed(a, secret, match, line))) continue;
    if (rule.allowlists.some((a) => allowed(a, secret, match, line))) continue;
    out.push({ start: start + from, end: end + from, rule: rule.id });
  }
}
