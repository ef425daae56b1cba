/**
 * Secrets named by their surroundings rather than their shape: a value assigned to a key that
 * names a secret (`password = "…"`, `api_key: …`, `.env` and `export X_TOKEN=…` lines, JSON
 * `"secret": "…"`, `--token …` flags, `?access_token=…` parameters), the credential of an
 * `Authorization` header, and the password of a `scheme://user:pass@host` URL (the user name stays).
 * Work starts only at a keyword hit, so text without one costs a single search.
 */
import type { Finding } from './finding.js';

export const ASSIGNMENT_RULE = 'secret-assignment';
export const URL_CREDENTIAL_RULE = 'url-credentials';
export const AUTH_HEADER_RULE = 'authorization-header';

// Where a key that may name a secret can be: found case-insensitively, then judged by its whole name.
const KEYWORD = /pass|pwd|secret|token|key|credential|auth|bearer|sig|cookie/giu;

// The last word of a key that names a secret.
const SECRET_WORD = /^(?:password|passwd|passphrase|pass|pwd|pw|secret|secrets|token|apikey|accesskey|secretkey|privatekey|accountkey|sharedaccesskey|masterkey|credential|credentials|auth|authorization|sig|signature|cookie|sessionid|dsn)$/u;
// Words before `key` that make it a secret key (api_key, ACCESS_KEY, signing-key), not a lookup key.
const KEY_QUALIFIER = /^(?:api|secret|access|private|auth|client|encryption|signing|master|app|account|service|license|subscription|shared|storage|session|webhook|admin|deploy|ssh|gpg|pgp|hmac|jwt|consumer|partner|integration|sas|primary|secondary|x)$/u;
// Last words that name something about a secret rather than the secret itself.
const NOT_SECRET_WORD = /^(?:tokens|type|name|id|ids|length|count|limit|file|path|url|uri|endpoint|header|field|env|var|prefix|hash|hashed|expiry|expires|ttl|timeout|policy|mode|method|required|enabled|format|provider|scheme|kind|version|usage|budget|max|min|index|len|size|ref|store|manager|helper|label|description|hint|prompt|placeholder|input|regex|pattern|rule|rules)$/u;

/** Splits `fooBarBaz`, `FOO_BAR`, `foo-bar.baz` into lower-case words. */
function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/gu, '$1 $2')
    .split(/[^A-Za-z0-9]+/u)
    .filter((w) => w.length > 0)
    .map((w) => w.toLowerCase());
}

/** Whether a key names a secret: its last word does (password, token), or it is a qualified key (api_key). */
export function isSecretKey(key: string): boolean {
  const w = words(key);
  const last = w[w.length - 1];
  if (last === undefined || NOT_SECRET_WORD.test(last)) return false;
  // public_key, publicToken, publishableKey: published on purpose.
  if (w.some((x) => x === 'public' || x === 'publishable')) return false;
  if (SECRET_WORD.test(last)) return true;
  if (last === 'key' || last === 'keys') return w.length >= 2 && KEY_QUALIFIER.test(w[w.length - 2] ?? '');
  // secret_key_base, password_confirmation: a secret word anywhere, and the last word not about it.
  if (w.some((x) => /^(?:secret|password|passwd|passphrase)$/u.test(x))) return true;
  // Run-together names: APIKEY, SECRETKEY, PGPASSWORD, GITHUBTOKEN, clientsecret.
  return /(?:password|passwd|secret|token|apikey|accesskey|secretkey|privatekey|accountkey)$/u.test(last);
}

const PLACEHOLDER = [
  /^\$/u, // $VAR, ${VAR}, $(command)
  /^%[^%]+%$/u,
  /^\{\{.*\}\}$/u,
  /^<[^>]*>$/u,
  /^\{[\w.]*[}(]/u, // {SumoAccessKey}, {base64(user:password)}: a template, not its value
  /^\[REDACTED/u,
  /^(.)\1*$/u, // xxxxxx, ******
  /^(?:null|none|nil|true|false|undefined|empty|required|optional|string|str|bytes|redacted|hidden|masked|secret|password|token|changeme|example)$/iu,
  /(?:^|[^a-z])your[-_ ]?(?:api[-_ ]?)?(?:key|token|secret|password)/iu,
  /^(?:process\.env|os\.environ|os\.getenv|env\.|ENV\[|getenv|secrets\.|vault:|ref\+|!Ref|arn:)/u,
  /(?:\.\.\.|…)$/u,
];

/** Whether an assigned value is a credential rather than a reference to one, a type, a path or prose. */
function isSecretValue(value: string, quoted: boolean): boolean {
  if (value.length < 4 || value.length > 512) return false;
  if (/\s/u.test(value)) return false;
  if (PLACEHOLDER.some((p) => p.test(value))) return false;
  if (/^(?:\/|\.\.?\/|~\/|[A-Za-z]:\\|https?:\/\/)/u.test(value)) return false;
  if (/^\d{1,5}$/u.test(value)) return false;
  // A package and its version (`jjwt-jackson-0.11.2`, as in io.jsonwebtoken:jjwt-jackson-0.11.2).
  if (/^[a-z][a-z0-9]*(?:[-_.][a-z][a-z0-9]*)*[-_@]v?\d+(?:\.\d+)+(?:[-.+][0-9A-Za-z.]+)?$/u.test(value)) return false;
  if (!quoted) {
    // Code, not a literal: identifiers, member access, calls, subscripts, type names.
    if (/^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)*(?:\(.*|\[.*)?$/u.test(value) && !/\d/u.test(value)) return false;
    if (/[()[\]{}]/u.test(value)) return false;
  } else if (/^[a-z]+(?:[-_.][a-z]+)*$/u.test(value) && value.length <= 16) {
    // A lower-case word in quotes is a name (`"token": "access_token"`), not a credential.
    return false;
  }
  return true;
}

function isKeyChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45 || c === 46;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}

/**
 * Reads the value at `i`: quoted (to its closing quote on the same line; a quote escaped as in
 * JSON-inside-JSON counts as the quote) or bare (to whitespace, or for `toEnd` values of `.env`
 * lines, only to whitespace); undefined when there is none.
 */
function readValue(text: string, i: number, toEnd = false): { start: number; end: number; quoted: boolean } | undefined {
  const escaped = text[i] === '\\' && (text[i + 1] === '"' || text[i + 1] === "'");
  const q = escaped ? text[i + 1] : text[i];
  if (q === '"' || q === "'" || q === '`') {
    const open = escaped ? i + 2 : i + 1;
    let j = open;
    while (j < text.length) {
      const c = text[j];
      if (escaped && c === '\\' && text[j + 1] === q) break;
      if (c === '\\') {
        j += 2;
        continue;
      }
      if (c === q || c === '\n') break;
      j++;
    }
    if (escaped ? text[j] !== '\\' : text[j] !== q) return undefined;
    return { start: open, end: j, quoted: true };
  }
  let j = i;
  const stop = toEnd ? /\s/u : /[\s'"`,;&)}\]<>]/u;
  // In JSON-encoded text (a tool's output inside a log line) `\n`, `\r` and `\t` are the line's
  // whitespace: `signature: scroll_up\n\nscroll_down:` ends at the first `\n`.
  while (j < text.length && !stop.test(text[j] ?? ' ') && !(text[j] === '\\' && /[nrt]/u.test(text[j + 1] ?? ''))) j++;
  // A trailing escaped newline or quote from JSON-escaped text is not part of the value.
  while (j > i && text[j - 1] === '\\') j--;
  if (j === i) return undefined;
  return { start: i, end: j, quoted: false };
}

/** After a key ending at `i`: the assignment operator, returning where the value starts; undefined when there is none. */
function afterOperator(text: string, i: number, flag: boolean): number | undefined {
  let j = i;
  while (isSpace(text.charCodeAt(j))) j++;
  const c = text[j];
  const n = text[j + 1];
  let k: number | undefined;
  if (c === '=' && n === '>') k = j + 2;
  else if (c === '=' && n !== '=' && n !== '~') k = j + 1;
  else if (c === ':' && n === '=') k = j + 2;
  else if ((c === '?' || c === '+') && n === '=') k = j + 2;
  else if (c === ':' && n !== ':' && n !== '/') k = j + 1;
  else if (flag && j > i) k = j; // --token VALUE
  if (k === undefined) return undefined;
  while (isSpace(text.charCodeAt(k))) k++;
  return k;
}

function authorizationValue(text: string, i: number): Finding | undefined {
  const value = readValue(text, i);
  if (!value) return undefined;
  let s = value.start;
  let e = value.end;
  if (value.quoted) {
    // "Bearer abc" inside quotes: the credential is after the scheme.
    const inner = text.slice(s, e);
    const scheme = /^(?:Bearer|Basic|Token|Digest|Bot|ApiKey|SSWS|Key)\s+/iu.exec(inner);
    if (scheme) s += scheme[0].length;
    while (e > s && /\s/u.test(text[e - 1] ?? '')) e--;
  } else if (/^(?:Bearer|Basic|Token|Digest|Bot|ApiKey|SSWS|Key)$/iu.test(text.slice(s, e))) {
    let k = e;
    while (isSpace(text.charCodeAt(k))) k++;
    const cred = readValue(text, k);
    if (!cred) return undefined;
    s = cred.start;
    e = cred.end;
  }
  const secret = text.slice(s, e);
  if (/\s/u.test(secret) || !isSecretValue(secret, true) || secret.length < 8) return undefined;
  return { start: s, end: e, rule: AUTH_HEADER_RULE };
}

/** Whether only blanks, or `export `, stand between the start of the line and `at` (a look bounded to a few characters). */
function startsLine(text: string, at: number): boolean {
  let i = at;
  while (i > 0 && isSpace(text.charCodeAt(i - 1))) i--;
  if (i >= 6 && text.slice(i - 6, i) === 'export' && i < at) {
    i -= 6;
    while (i > 0 && isSpace(text.charCodeAt(i - 1))) i--;
  }
  return i === 0 || text[i - 1] === '\n';
}

/** Values assigned to secret-naming keys, Authorization credentials and bare `Bearer` tokens. */
export function assignmentFindings(text: string): Finding[] {
  const out: Finding[] = [];
  const visited = new Set<number>();
  KEYWORD.lastIndex = 0;
  let hit: RegExpExecArray | null;
  while ((hit = KEYWORD.exec(text)) !== null) {
    let ks = hit.index;
    let ke = hit.index + hit[0].length;
    while (ks > 0 && isKeyChar(text.charCodeAt(ks - 1))) ks--;
    while (ke < text.length && isKeyChar(text.charCodeAt(ke))) ke++;
    KEYWORD.lastIndex = ke;
    if (visited.has(ks)) continue;
    visited.add(ks);
    // Leading dashes are a command-line flag (--password VALUE), not part of the name.
    let nameStart = ks;
    while (text[nameStart] === '-') nameStart++;
    const flag = nameStart > ks;
    const key = text.slice(nameStart, ke).replace(/\.+$/u, '');
    if (key === '') continue;
    if (/^bearer$/iu.test(key)) {
      let k = ke;
      if (!isSpace(text.charCodeAt(k))) continue;
      while (isSpace(text.charCodeAt(k))) k++;
      const found = authorizationValue(text, k);
      if (found) out.push({ ...found, rule: AUTH_HEADER_RULE });
      continue;
    }
    if (!isSecretKey(key)) continue;
    // A quoted key ("password": …) closes its quote before the operator.
    let after = ke;
    const open = text[ks - 1];
    if ((open === '"' || open === "'") && text[after] === open) after++;
    else if ((open === '"' || open === "'") && text[after] === '\\' && text[after + 1] === open) after += 2;
    let valueAt = afterOperator(text, after, flag);
    if (valueAt === undefined) continue;
    if (/^(?:proxy-)?authorization$/iu.test(key)) {
      const found = authorizationValue(text, valueAt);
      if (found) out.push(found);
      continue;
    }
    // `KEY=value` at the start of a line (.env, shell) runs to the end of the word, brackets and all.
    const envLine = text[valueAt - 1] === '=' && startsLine(text, ks);
    let value = readValue(text, valueAt, envLine);
    if (!value) continue;
    // A type annotation (`apiKey: string = "…"`) comes before the value.
    if (!value.quoted && /^[A-Za-z_][\w.<>[\]|]*$/u.test(text.slice(value.start, value.end))) {
      let k = value.end;
      while (isSpace(text.charCodeAt(k))) k++;
      if (text[k] === '=' && text[k + 1] !== '=' && text[k + 1] !== '>') {
        valueAt = k + 1;
        while (isSpace(text.charCodeAt(valueAt))) valueAt++;
        value = readValue(text, valueAt);
        if (!value) continue;
      }
    }
    const secret = text.slice(value.start, value.end);
        if (isSecretValue(secret, value.quoted || envLine)) out.push({ start: value.start, end: value.end, rule: ASSIGNMENT_RULE });
  }
  // `Authorization: Bearer x` is reached from both keywords; one finding is enough.
  const seen = new Set<string>();
  return out.filter((f) => {
    const key = `${String(f.start)}:${String(f.end)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Passwords in `scheme://user:password@host` URLs; the user name and host stay readable. */
export function urlCredentialFindings(text: string): Finding[] {
  const out: Finding[] = [];
  let at = text.indexOf('://');
  while (at >= 0) {
    const start = at + 3;
    let end = start;
    while (end < text.length && !/[\s/?#'"`<>\\]/u.test(text[end] ?? ' ')) end++;
    const authority = text.slice(start, end);
    const userEnd = authority.lastIndexOf('@');
    // A user part already replaced (`[REDACTED:github-pat]@host`) has a colon that is not a password's.
    if (userEnd > 0 && !authority.includes('[REDACTED:')) {
      const colon = authority.indexOf(':');
      if (colon >= 0 && colon < userEnd - 1) {
        const password = authority.slice(colon + 1, userEnd);
        if (!PLACEHOLDER.some((p) => p.test(password))) out.push({ start: start + colon + 1, end: start + userEnd, rule: URL_CREDENTIAL_RULE });
      }
    }
    at = text.indexOf('://', Math.max(end, start));
  }
  return out;
}
