/**
 * Every detector over one text, in one place: gitleaks' provider rules (keyword-gated), secrets
 * named by their key or URL, and the high-entropy fallback. A detector's span is widened to the
 * whole token it sits in, so a rule that matches part of a secret never leaves the rest stored.
 */
import { assignmentFindings, urlCredentialFindings } from './assignments.js';
import { highEntropyFindings } from './entropy.js';
import type { Finding } from './finding.js';
import { isPlaceholder } from './placeholder.js';
import { loadRuleSet, type RuleSet } from './rules.js';

export interface DetectOptions {
  /** Minimum length of a token the entropy detector considers. */
  readonly minTokenLength?: number;
  /** Shannon entropy (bits per character) above which a random-looking token counts as a secret. */
  readonly entropyThreshold?: number;
}

export type Detect = (text: string) => Finding[];

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * Widens a span to the token's natural boundaries: over letters and digits always, and over the
 * punctuation the secret itself contains (`+`, `/` of base64; `-`, `_` of base64url), then over
 * base64 padding. A span already bounded by other characters stays as it is.
 */
export function expandToToken(text: string, f: Finding): Finding {
  const inner = text.slice(f.start, f.end);
  const extra = new Set<number>();
  for (const ch of '+/-_') if (inner.includes(ch)) extra.add(ch.charCodeAt(0));
  const part = (c: number): boolean => isAlnum(c) || extra.has(c);
  let s = f.start;
  let e = f.end;
  while (s > 0 && part(text.charCodeAt(s - 1))) s--;
  while (e < text.length && part(text.charCodeAt(e))) e++;
  if (extra.has(43) || extra.has(47) || (e - s) % 4 !== 0) while (e < text.length && text.charCodeAt(e) === 61 && e - f.end < 2) e++;
  return s === f.start && e === f.end ? f : { start: s, end: e, rule: f.rule };
}

let shared: RuleSet | undefined;

/** The provider rule set, compiled once per process (about 220 regular expressions). */
export function ruleSet(): RuleSet {
  shared ??= loadRuleSet();
  return shared;
}

/**
 * Whether a span holds no secret: a placeholder, or what gitleaks' global allowlist lets through.
 * Applied to the context and entropy detectors and to secretlint, whose rules have no entropy floor.
 */
export function isNotSecret(span: string): boolean {
  return isPlaceholder(span) || ruleSet().globallyAllowed(span);
}

/** A detector over plain text with the given entropy settings. */
export function createDetector(options: DetectOptions = {}): Detect {
  const rules = ruleSet();
  const minLength = options.minTokenLength ?? 32;
  const threshold = options.entropyThreshold ?? 4.3;
  return (text) => {
    if (text.length < 8) return [];
    // A provider rule's own entropy floor and allowlists stand (gitleaks counts the all-zero
    // `AGE-SECRET-KEY-1QQQ…` as a key); the placeholder check is for the detectors that know a
    // secret only by where it stands or by how random it looks.
    const out = rules.find(text).map((f) => expandToToken(text, f));
    const byContext = [...assignmentFindings(text), ...urlCredentialFindings(text)];
    if (text.length >= minLength) byContext.push(...highEntropyFindings(text, minLength, threshold));
    for (const f of byContext) if (!isNotSecret(text.slice(f.start, f.end))) out.push(f);
    return out;
  };
}
