/**
 * Converts gitleaks' published rule set (config/gitleaks.toml, MIT) into the JSON data file the
 * redactor loads: src/core/redaction/rules/gitleaks.json. Every rule is translated from Go RE2
 * syntax to a JavaScript RegExp or reported with the reason it was left out; the report is part
 * of the output file, so what the product does not cover is visible in the repository.
 *
 *   node --import tsx scripts/convert-gitleaks-rules.ts <gitleaks.toml> --commit <sha> --version <tag>
 *
 * Reading TOML goes through Python's standard tomllib (3.11+), so that a dev-time script adds no
 * npm dependency; the translation itself is here.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface TomlAllowlist {
  readonly description?: string;
  readonly condition?: string;
  readonly regexTarget?: string;
  readonly regexes?: readonly string[];
  readonly stopwords?: readonly string[];
  readonly paths?: readonly string[];
  readonly commits?: readonly string[];
}

interface TomlRule {
  readonly id: string;
  readonly description?: string;
  readonly regex?: string;
  readonly path?: string;
  readonly entropy?: number;
  readonly secretGroup?: number;
  readonly keywords?: readonly string[];
  readonly allowlists?: readonly TomlAllowlist[];
}

interface TomlConfig {
  readonly allowlist?: TomlAllowlist;
  readonly rules: readonly TomlRule[];
}

/** Thrown for RE2 constructs with no faithful JavaScript equivalent; the rule is reported, not guessed. */
export class Untranslatable extends Error {}

const POSIX_CLASSES: Record<string, string> = {
  alnum: 'a-zA-Z0-9',
  alpha: 'a-zA-Z',
  digit: '0-9',
  lower: 'a-z',
  upper: 'A-Z',
  space: '\\t\\n\\v\\f\\r ',
  xdigit: '0-9A-Fa-f',
  word: '\\w',
  punct: '!-\\/:-@\\[-`{-~',
};

function isLetter(c: string): boolean {
  return /^[A-Za-z]$/u.test(c);
}

function otherCase(c: string): string {
  return c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase();
}

/**
 * Translates a bracket expression starting at `pattern[start] === '['`. Under case folding every
 * letter or letter range gains its other case, since JavaScript (before ES2025's modifiers, which
 * Node 20 lacks) cannot switch `i` on for part of a pattern.
 */
function translateClass(pattern: string, start: number, fold: boolean): { out: string; end: number } {
  let i = start + 1;
  let negate = '';
  let body = '';
  const extra: string[] = [];
  if (pattern[i] === '^') {
    negate = '^';
    i++;
  }
  let first = true;
  while (i < pattern.length) {
    const c = pattern[i] ?? '';
    if (c === ']' && !first) // The added cases go first: after a trailing `-` they would turn it into a range.
      return { out: `[${negate}${extra.join('')}${body}]`, end: i + 1 };
    first = false;
    if (c === '[' && pattern[i + 1] === ':') {
      const close = pattern.indexOf(':]', i + 2);
      if (close < 0) throw new Untranslatable('unterminated POSIX class');
      const name = pattern.slice(i + 2, close);
      const replacement = POSIX_CLASSES[name];
      if (replacement === undefined) throw new Untranslatable(`POSIX class [:${name}:]`);
      body += replacement;
      i = close + 2;
      continue;
    }
    let lo: string;
    let loText: string;
    if (c === '\\') {
      const e = pattern[i + 1] ?? '';
      if (e === 'p' || e === 'P') throw new Untranslatable('Unicode class \\p');
      if (e === 'x' && pattern[i + 2] === '{') throw new Untranslatable('\\x{…} escape');
      loText = e === 'x' ? pattern.slice(i, i + 4) : `\\${e}`;
      lo = e === 'x' ? String.fromCharCode(parseInt(pattern.slice(i + 2, i + 4), 16)) : /[dDwWsStnrfv]/u.test(e) ? '' : e;
      i += loText.length;
    } else if (c === '[') {
      loText = '\\[';
      lo = '[';
      i++;
    } else {
      loText = c;
      lo = c;
      i++;
    }
    if (pattern[i] === '-' && pattern[i + 1] !== ']' && pattern[i + 1] !== undefined && lo !== '') {
      let hiText: string;
      let hi: string;
      if (pattern[i + 1] === '\\') {
        const e = pattern[i + 2] ?? '';
        hiText = e === 'x' ? pattern.slice(i + 1, i + 5) : `\\${e}`;
        hi = e === 'x' ? String.fromCharCode(parseInt(pattern.slice(i + 3, i + 5), 16)) : e;
      } else {
        hiText = pattern[i + 1] ?? '';
        hi = hiText;
      }
      i += 1 + hiText.length;
      body += `${loText}-${hiText}`;
      if (fold) extra.push(...foldRange(lo.charCodeAt(0), hi.charCodeAt(0)));
      continue;
    }
    body += loText;
    if (fold && isLetter(lo)) extra.push(otherCase(lo));
  }
  throw new Untranslatable('unterminated character class');
}

/** The other-case counterparts of the letters inside the code point range lo..hi. */
function foldRange(lo: number, hi: number): string[] {
  const out: string[] = [];
  const overlap = (a: number, b: number, shift: number): void => {
    const s = Math.max(lo, a);
    const e = Math.min(hi, b);
    if (s <= e) out.push(`${String.fromCharCode(s + shift)}-${String.fromCharCode(e + shift)}`);
  };
  overlap(97, 122, -32);
  overlap(65, 90, 32);
  return out;
}

interface Flags {
  fold: boolean;
  dotAll: boolean;
}

function applyFlagText(flags: Flags, text: string): Flags {
  const next = { ...flags };
  let on = true;
  for (const f of text) {
    if (f === '-') on = false;
    else if (f === 'i') next.fold = on;
    else if (f === 's') next.dotAll = on;
    else throw new Untranslatable(`inline flag ${f}`);
  }
  return next;
}

/** Translates one RE2 pattern to JavaScript source with the same meaning and no inline flags. */
export function translateRe2(pattern: string): string {
  let out = '';
  // One entry per open group: the flags in force outside it, restored at its `)`.
  const stack: Flags[] = [];
  let flags: Flags = { fold: false, dotAll: false };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] ?? '';
    if (c === '\\') {
      const e = pattern[i + 1] ?? '';
      if (e === 'z') out += '(?![\\s\\S])';
      else if (e === 'A') out += '(?<![\\s\\S])';
      else if (e === 'Q' || e === 'C' || e === 'p' || e === 'P') throw new Untranslatable(`\\${e} escape`);
      else if (e === 'x' && pattern[i + 2] === '{') throw new Untranslatable('\\x{…} escape');
      else if (e === 'x') {
        out += pattern.slice(i, i + 4);
        i += 4;
        continue;
      } else if (flags.fold && isLetter(e) && !/[dDwWsSbBtnrfv]/u.test(e)) throw new Untranslatable(`\\${e} under case folding`);
      else out += `\\${e}`;
      i += 2;
      continue;
    }
    if (c === '[') {
      const cls = translateClass(pattern, i, flags.fold);
      out += cls.out;
      i = cls.end;
      continue;
    }
    if (c === '(') {
      if (pattern[i + 1] === '?') {
        const rest = pattern.slice(i + 2);
        const setOnly = /^([-is]+)\)/u.exec(rest);
        if (setOnly) {
          flags = applyFlagText(flags, setOnly[1] ?? '');
          i += 2 + setOnly[0].length;
          continue;
        }
        const scoped = /^([-is]*):/u.exec(rest);
        if (scoped) {
          stack.push(flags);
          flags = applyFlagText(flags, scoped[1] ?? '');
          out += '(?:';
          i += 2 + scoped[0].length;
          continue;
        }
        const named = /^P?<([A-Za-z_]\w*)>/u.exec(rest);
        if (named) {
          stack.push(flags);
          out += `(?<${named[1] ?? ''}>`;
          i += 2 + named[0].length;
          continue;
        }
        throw new Untranslatable(`group syntax (?${rest.slice(0, 3)}`);
      }
      stack.push(flags);
      out += '(';
      i++;
      continue;
    }
    if (c === ')') {
      const outer = stack.pop();
      if (outer === undefined) throw new Untranslatable('unbalanced )');
      flags = outer;
      out += ')';
      i++;
      continue;
    }
    if (c === '.') {
      // RE2's `.` excludes only \n; JavaScript's also excludes \r and the Unicode line separators.
      out += flags.dotAll ? '[\\s\\S]' : '[^\\n]';
      i++;
      continue;
    }
    if (c === '{') {
      // A quantifier copies as is; RE2 treats a brace that is not one as a literal, which JavaScript (without u) does too.
      const q = /^\{\d*(?:,\d*)?\}/u.exec(pattern.slice(i));
      out += q ? q[0] : '\\{';
      i += q ? q[0].length : 1;
      continue;
    }
    if (flags.fold && isLetter(c)) out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
    else out += c;
    i++;
  }
  if (stack.length > 0) throw new Untranslatable('unbalanced (');
  return out;
}

interface ConvertedAllowlist {
  readonly target: 'secret' | 'match' | 'line';
  readonly condition: 'or' | 'and';
  readonly regexes: readonly string[];
  readonly stopwords: readonly string[];
}

interface ConvertedRule {
  readonly id: string;
  readonly description: string;
  readonly regex: string;
  readonly secretGroup?: number;
  readonly entropy?: number;
  readonly keywords: readonly string[];
  readonly allowlists: readonly ConvertedAllowlist[];
}

function checkCompiles(source: string): void {
  try {
    new RegExp(source, 'dg');
  } catch (error) {
    throw new Untranslatable(`JavaScript rejects the translation: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** An allowlist as data, or undefined when it can never apply here (it needs a file path or commit, which a trajectory lacks). */
function convertAllowlist(a: TomlAllowlist): ConvertedAllowlist | undefined {
  const condition = a.condition?.toLowerCase() === 'and' ? 'and' : 'or';
  const needsPath = (a.paths?.length ?? 0) > 0 || (a.commits?.length ?? 0) > 0;
  if (needsPath && condition === 'and') return undefined;
  const regexes = (a.regexes ?? []).map((r) => {
    const js = translateRe2(r);
    checkCompiles(js);
    return js;
  });
  const stopwords = (a.stopwords ?? []).map((w) => w.toLowerCase());
  if (regexes.length === 0 && stopwords.length === 0) return undefined;
  const target = a.regexTarget === 'match' || a.regexTarget === 'line' ? a.regexTarget : 'secret';
  return { target, condition, regexes, stopwords };
}

function main(): void {
  const args = process.argv.slice(2);
  const tomlPath = args[0];
  const option = (name: string): string | undefined => {
    const at = args.indexOf(`--${name}`);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const commit = option('commit');
  const version = option('version');
  if (tomlPath === undefined || commit === undefined || version === undefined) {
    process.stderr.write('Usage: node --import tsx scripts/convert-gitleaks-rules.ts <gitleaks.toml> --commit <sha> --version <tag>\n');
    process.exit(2);
  }
  const parsed = spawnSync('python3', ['-c', 'import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))))', tomlPath], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (parsed.status !== 0) {
    process.stderr.write(`Could not read ${tomlPath} as TOML (python3 with tomllib, 3.11+, is needed): ${parsed.stderr}\n`);
    process.exit(1);
  }
  const config = JSON.parse(parsed.stdout) as TomlConfig;
  const rules: ConvertedRule[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const rule of config.rules) {
    if (rule.regex === undefined) {
      skipped.push({ id: rule.id, reason: 'matches file paths only; a trajectory has no file to name' });
      continue;
    }
    if (rule.path !== undefined) {
      skipped.push({ id: rule.id, reason: `applies only to files whose path matches ${rule.path}; captured text has no file path` });
      continue;
    }
    try {
      const regex = translateRe2(rule.regex);
      checkCompiles(regex);
      const allowlists = (rule.allowlists ?? []).map(convertAllowlist).filter((a): a is ConvertedAllowlist => a !== undefined);
      rules.push({
        id: rule.id,
        description: rule.description ?? '',
        regex,
        ...(rule.secretGroup !== undefined ? { secretGroup: rule.secretGroup } : {}),
        ...(rule.entropy !== undefined ? { entropy: rule.entropy } : {}),
        keywords: (rule.keywords ?? []).map((k) => k.toLowerCase()),
        allowlists,
      });
    } catch (error) {
      if (!(error instanceof Untranslatable)) throw error;
      skipped.push({ id: rule.id, reason: error.message });
    }
  }
  const global = config.allowlist === undefined ? undefined : convertAllowlist({ ...config.allowlist, paths: [], commits: [] });
  const out = {
    source: { project: 'gitleaks', repository: 'https://github.com/gitleaks/gitleaks', file: 'config/gitleaks.toml', version, commit, license: 'MIT' },
    generatedBy: 'scripts/convert-gitleaks-rules.ts',
    globalAllowlist: global ?? null,
    rules,
    skipped,
  };
  const target = join(__dirname, '..', 'src', 'core', 'redaction', 'rules', 'gitleaks.json');
  writeFileSync(target, `${JSON.stringify(out, null, 1)}\n`);
  process.stdout.write(`${String(rules.length)} rules converted, ${String(skipped.length)} left out:\n`);
  for (const s of skipped) process.stdout.write(`  ${s.id}: ${s.reason}\n`);
}

// Run as a script; imported (by its test), it only exports the translation.
if (require.main === module) main();
