/**
 * The fallback for secrets no rule knows: long tokens that look random. Random is judged per
 * segment (between `-`, `_`, `/`, `.`, `+`, `=`), so a base64url key full of `-` and `_` still counts
 * while identifiers and paths built from words do not; tokens inside URLs, data: URIs and
 * lockfile integrity hashes are left alone, since their randomness is not a secret.
 */
import { shannon, type Finding } from './finding.js';

export const HIGH_ENTROPY_RULE = 'high-entropy';

const MAX_TOKEN = 512;

function isEdgeSeparator(c: number): boolean {
  return c === 45 || c === 47 || c === 95 || c === 43;
}

// Segments a person would write: words, acronyms, camelCase, numbers, version-like suffixes.
const WORDLIKE = /^(?:[a-z]+|[A-Z][a-z]+|[A-Z]+|\d+|[a-z]+\d{1,3}|[vV]\d+|[a-z]+(?:[A-Z][a-z]+)+\d{0,3}|(?:[A-Z][a-z]+)+\d{0,3}|[A-Z]+(?:[A-Z][a-z]+)+|[A-Z]{2,}\d{1,3})$/u;

// Capitalised words of four letters or more inside a segment (`SponsoredProductsRemoteRHFSearch`):
// a random base62 string holds few, an identifier is mostly made of them.
const INNER_WORD = /[A-Z][a-z]{3,}/gu;

/**
 * Characters of the token in segments that are not word-like: the part that looks random. A
 * single-case hex segment is a digest (a file's MD5 in its name), which the whole-token hex test
 * already lets through; the words inside a camelCase identifier do not count either.
 */
function randomChars(token: string): number {
  let n = 0;
  for (const segment of token.split(/[-_/.+=]/u)) {
    if (segment.length === 0 || WORDLIKE.test(segment) || /^(?:[0-9a-f]+|[0-9A-F]+)$/u.test(segment)) continue;
    let words = 0;
    for (const w of segment.matchAll(INNER_WORD)) words += w[0].length;
    n += segment.length - words;
  }
  return n;
}

/** The whitespace- or quote-delimited chunk before `start` (bounded), where URL and data: prefixes live. */
function chunkBefore(text: string, start: number): string {
  let s = start;
  const limit = Math.max(0, start - 2048);
  while (s > limit) {
    const c = text.charCodeAt(s - 1);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 34 || c === 39 || c === 96 || c === 60 || c === 62) break;
    s--;
  }
  return text.slice(s, start);
}

/** PEM blocks of a text that are not private keys (certificates, public keys), as [begin, end) spans. */
function publicPemBlocks(text: string): [number, number][] {
  const out: [number, number][] = [];
  for (let begin = text.indexOf('-----BEGIN '); begin >= 0; begin = text.indexOf('-----BEGIN ', begin + 11)) {
    const labelEnd = text.indexOf('-----', begin + 11);
    if (labelEnd < 0) break;
    if (text.slice(begin + 11, labelEnd).includes('PRIVATE')) continue;
    const end = text.indexOf('-----END ', labelEnd);
    out.push([begin, end < 0 ? text.length : end]);
  }
  return out;
}

/**
 * Public keys and certificates look random but are published on purpose: an OpenSSH public key
 * line, base64 inside a PEM block that is not a private key (private keys are the rules' job), or a
 * value assigned to a name that calls it public.
 */
function isPublicMaterial(text: string, start: number, pem: () => [number, number][]): boolean {
  const lead = text.slice(Math.max(0, start - 40), start);
  if (/(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)\s+$/u.test(lead)) return true;
  // Assigned to a name that says so: public_key = "…", publishableKey: '…'.
  if (/(?:^|[^A-Za-z])(?:public|publishable)[\w-]*["']?\s*(?:=>|:=|[:=])\s*["'`]?$/iu.test(lead)) return true;
  return pem().some(([b, e]) => b < start && start < e);
}

const HASH_PREFIX = /^(?:sha(?:1|224|256|384|512)|md5)-/iu;
// Ids that agents' logs are full of: API response, message, tool-call and request ids; and Stripe's
// publishable keys (pk_live_, pk_test_), which are meant to ship in web pages.
const ID_PREFIX = /^(?:chatcmpl|cmpl|msg|toolu|srvtoolu|req|call|run|thread|asst|file|batch|resp|fc|rs|evt|ch|pi|cus|sub|in|pk_live|pk_test)[-_]/u;

// Runs of token characters (A-Z a-z 0-9 + / _ -; '=' only as trailing padding, so `NAME=value`
// splits at the '='). Found by the regular-expression engine, which scans a character class faster
// than a hand-written loop; `minLength` is checked on each run.
const RUN = /[A-Za-z0-9+/_-]+/gu;

/**
 * Long tokens that mix upper case, lower case and digits with high entropy: API keys, session tokens.
 * Cheap tests first; entropy and context only for runs that pass them.
 */
export function highEntropyFindings(text: string, minLength = 32, threshold = 4.3): Finding[] {
  const out: Finding[] = [];
  // Found once per text, and only when a candidate needs it: a backward search per token was quadratic.
  let blocks: [number, number][] | undefined;
  const pem = (): [number, number][] => (blocks ??= text.includes('-----BEGIN ') ? publicPemBlocks(text) : []);
  RUN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = RUN.exec(text)) !== null) {
    const run = m[0];
    if (run.length < minLength || run.length > MAX_TOKEN) continue;
    if (!/[A-Z]/u.test(run) || !/[a-z]/u.test(run) || !/\d/u.test(run)) continue;
    let s = m.index;
    let e = m.index + run.length;
    const i = e;
    while (s < e && isEdgeSeparator(text.charCodeAt(s))) s++;
    while (e > s && isEdgeSeparator(text.charCodeAt(e - 1))) e--;
    if (e - s < minLength) continue;
    const token = text.slice(s, e);
    if (HASH_PREFIX.test(token) || ID_PREFIX.test(token) || /^[0-9a-fA-F-]+$/u.test(token)) continue;
    const random = randomChars(token);
    if (random < 16 || random * 2 < token.length) continue;
    if (shannon(token) < threshold) continue;
    if (isPublicMaterial(text, s, pem)) continue;
    const before = chunkBefore(text, s);
    // In a URL the randomness is an id or a signature the keyword rules judge by its parameter name.
    if (before.includes('://') || before.includes(';base64,') || before.endsWith('h1:') || before.startsWith('data:')) continue;
    // Base64 padding belongs to the secret.
    if (e === i) while (text.charCodeAt(e) === 61 && e - i < 2) e++;
    out.push({ start: s, end: e, rule: HIGH_ENTROPY_RULE });
  }
  return out;
}
