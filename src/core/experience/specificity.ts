/**
 * The specificity check: principle-level experience must stay general, so text that carries
 * details of one episode (paths, code identifiers, quoted literals, URLs, hashes, run numbers)
 * is flagged with the exact spans and why.
 */

import { wordCount } from '../principle.js';
import { TOOL_NAMES } from './roles.js';

export type SpecificityReason = 'url' | 'path' | 'tool' | 'identifier' | 'literal' | 'hash' | 'number';

/** The paper's pool entries are one sentence of at most this many words. */
export const MAX_SENTENCE_WORDS = 32;

export interface SpecificitySpan {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  readonly reason: SpecificityReason;
}

const PATTERNS: readonly (readonly [SpecificityReason, RegExp])[] = [
  ['url', /\bhttps?:\/\/[^\s)]+/gu],
  // An agent's tool name ties a principle to one agent; the role it plays ("edit", "run") does not.
  ['tool', new RegExp(`\\b(?:${[...TOOL_NAMES].sort((a, b) => b.length - a.length).join('|')})\\b`, 'gu')],
  ['literal', /(["'`])[^"'`\n]{1,200}\1/gu],
  ['path', /(?:~|\.{1,2})?(?:\/[\w.-]+){2,}\/?|\b[\w-]+\/[\w./-]*\.\w{1,5}\b|\b[\w-]+\.(?:ts|js|py|json|md|go|rs|java|tsx|jsx|yaml|yml|toml|sh)\b/gu],
  ['hash', /\b[0-9a-f]{7,40}\b/gu],
  ['identifier', /\b[a-z]+(?:[A-Z][a-z0-9]*)+\b|\b[A-Za-z]+_[A-Za-z0-9_]+\b|\b\w+\(\)/gu],
  ['number', /\b\d{3,}\b|\b\d+\.\d+(?:\.\d+)?\b/gu],
];

/** Spans of instance detail in `text`, in order, without overlaps (the first reason found wins). */
export function checkSpecificity(text: string): SpecificitySpan[] {
  const spans: SpecificitySpan[] = [];
  for (const [reason, re] of PATTERNS) {
    for (const m of text.matchAll(re)) {
      const start = m.index;
      const end = start + m[0].length;
      if (reason === 'hash' && !/\d/u.test(m[0])) continue;
      if (spans.some((s) => start < s.end && end > s.start)) continue;
      spans.push({ start, end, text: m[0], reason });
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}

export function isGeneral(text: string): boolean {
  return checkSpecificity(text).length === 0;
}

/** Why a text is not a usable principle: not "When …, …." form, too long, or instance details. */
export type PrincipleProblem =
  | { readonly kind: 'form' }
  | { readonly kind: 'length'; readonly words: number; readonly max: number }
  | { readonly kind: 'specific'; readonly spans: readonly SpecificitySpan[] };

/** One sentence opening with its situation and ending with its strategy. */
const FORM = /^When\s[^;]*?,\s[^;]*\S[.!]$/u;

/** Every problem of a principle-level text; empty when it can be proposed as is. */
export function checkPrinciple(text: string, maxWords = MAX_SENTENCE_WORDS): PrincipleProblem[] {
  const t = text.trim();
  const problems: PrincipleProblem[] = [];
  if (!FORM.test(t) || /[.!?]\s+\S/u.test(t)) problems.push({ kind: 'form' });
  const words = wordCount(t);
  if (words > maxWords) problems.push({ kind: 'length', words, max: maxWords });
  const spans = checkSpecificity(t);
  if (spans.length > 0) problems.push({ kind: 'specific', spans });
  return problems;
}

/** The problems in words, for a drop reason or a rewrite request. */
export function describeProblems(problems: readonly PrincipleProblem[]): string {
  return problems
    .map((p) => {
      if (p.kind === 'form') return 'not one sentence of the form "When [situation], [strategy]."';
      if (p.kind === 'length') return `${String(p.words)} words, more than ${String(p.max)}`;
      return `instance details: ${p.spans.map((s) => `${s.reason} "${s.text}"`).join(', ')}`;
    })
    .join('; ');
}
