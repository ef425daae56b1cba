/**
 * Extracts gitleaks' own per-rule examples into test data: the rule generator
 * (cmd/generate/config/rules/*.go, MIT) validates each rule against `tps` (text it must find) and
 * `fps` (text it must not). Those lists were written by gitleaks' maintainers and contributors, not
 * alongside our detectors, so they give an independent measure of the redactor.
 *
 *   node --import tsx scripts/convert-gitleaks-examples.ts <gitleaks checkout> --commit <sha> --version <tag>
 *
 * Go is not run: the lists are evaluated statically by a small interpreter of the expressions they
 * use (string literals, `+`, `[]string{…}`, `append`, `fmt.Sprintf`, local and package variables,
 * and utils.GenerateSampleSecret(s), whose templates are read from utils/generate.go). Anything it
 * cannot know — `secrets.NewSecret(regex)`, which draws a random string, and helpers such as
 * base64 encoding — makes the example "generated": it is left out and counted per rule, never guessed.
 * Each true positive carries the secret gitleaks would report, computed with the rule's own pattern
 * (rules/gitleaks.json, converted from the same commit): every match's secret group, else its first
 * non-empty group, else the whole match, with the rule's entropy floor.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// ---------------------------------------------------------------------------------------------
// Tokens (Go's lexical grammar, as much as the rule files use), with automatic semicolons.

type Token =
  | { readonly kind: 'str'; readonly value: string; readonly line: number }
  | { readonly kind: 'int'; readonly value: number; readonly line: number }
  | { readonly kind: 'ident' | 'op'; readonly value: string; readonly line: number };

/** Thrown for Go text the tokenizer or the interpreter cannot read; names the file and line. */
export class GoSyntaxError extends Error {}

const OPS = ['...', ':=', '+=', '==', '!=', '<=', '>=', '&&', '||', '++', '--', '<-'];
const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"' };

function unquote(body: string, file: string, line: number): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? '';
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i] ?? '';
    const simple = ESCAPES[e];
    if (simple !== undefined) out += simple;
    else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!/^[0-9a-fA-F]+$/u.test(hex) || hex.length !== n) throw new GoSyntaxError(`${file}:${String(line)}: bad \\${e} escape`);
      out += e === 'x' ? String.fromCharCode(parseInt(hex, 16)) : String.fromCodePoint(parseInt(hex, 16));
      i += n;
    } else if (/[0-7]/u.test(e)) {
      out += String.fromCharCode(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else throw new GoSyntaxError(`${file}:${String(line)}: unknown escape \\${e}`);
  }
  return out;
}

/** Go tokens of `source`, with the semicolons Go inserts at line ends. */
export function tokenize(source: string, file = '<go>'): Token[] {
  const out: Token[] = [];
  let line = 1;
  const endsStatement = (): boolean => {
    const last = out[out.length - 1];
    if (!last) return false;
    // After any name (keywords included: return, break…) or literal, as Go's specification says.
    if (last.kind !== 'op') return true;
    return [')', ']', '}', '++', '--'].includes(last.value);
  };
  for (let i = 0; i < source.length; ) {
    const c = source[i] ?? '';
    if (c === '\n') {
      if (endsStatement()) out.push({ kind: 'op', value: ';', line });
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') i++;
    else if (source.startsWith('//', i)) {
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) throw new GoSyntaxError(`${file}:${String(line)}: unterminated comment`);
      const body = source.slice(i, end + 2);
      const newlines = body.split('\n').length - 1;
      if (newlines > 0 && endsStatement()) out.push({ kind: 'op', value: ';', line });
      line += newlines;
      i = end + 2;
    } else if (c === '`') {
      const end = source.indexOf('`', i + 1);
      if (end < 0) throw new GoSyntaxError(`${file}:${String(line)}: unterminated raw string`);
      // Go drops carriage returns from raw strings.
      const value = source.slice(i + 1, end).replace(/\r/gu, '');
      out.push({ kind: 'str', value, line });
      line += value.split('\n').length - 1;
      i = end + 1;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c) {
        if (source[j] === '\n') throw new GoSyntaxError(`${file}:${String(line)}: newline in string`);
        j += source[j] === '\\' ? 2 : 1;
      }
      const value = unquote(source.slice(i + 1, j), file, line);
      // A rune literal is its code point in Go; only strings matter here, so it stays a one-character string.
      out.push({ kind: 'str', value, line });
      i = j + 1;
    } else if (/[0-9]/u.test(c)) {
      const m = /^(?:0[xX][0-9a-fA-F_]+|[0-9_]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)/u.exec(source.slice(i, i + 40));
      const text = m?.[0] ?? c;
      out.push({ kind: 'int', value: Number(text.replace(/_/gu, '')), line });
      i += text.length;
    } else if (/[A-Za-z_]/u.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/u.exec(source.slice(i, i + 200));
      const text = m?.[0] ?? c;
      out.push({ kind: 'ident', value: text, line });
      i += text.length;
    } else {
      const op = OPS.find((o) => source.startsWith(o, i)) ?? c;
      out.push({ kind: 'op', value: op, line });
      i += op.length;
    }
  }
  if (endsStatement()) out.push({ kind: 'op', value: ';', line });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Values and expressions.

/** What an expression is known to be. `unknown` stands for `count` strings the interpreter could not compute. */
export type Value =
  | { readonly kind: 'str'; readonly value: string; readonly line?: number }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'list'; readonly items: readonly Value[] }
  | { readonly kind: 'struct'; readonly fields: ReadonlyMap<string, Value> }
  | { readonly kind: 'unknown'; readonly count: number; readonly why: string };

type Scope = Map<string, Value>;

/** The Go helpers the rule files call, given as functions over values. */
export interface Helpers {
  /** utils.GenerateSampleSecrets' templates ({i}, {I}, {s}), in source order. */
  readonly sampleTemplates: readonly string[];
}

const unknown = (why: string, count = 1): Value => ({ kind: 'unknown', count, why });

function sprintf(format: string, args: readonly Value[]): Value {
  let k = 0;
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%') {
      out += c ?? '';
      continue;
    }
    const verb = format[++i];
    if (verb === '%') {
      out += '%';
      continue;
    }
    const arg = args[k++];
    if (verb === undefined || !['s', 'v', 'd'].includes(verb) || arg === undefined) return unknown(`fmt.Sprintf verb %${verb ?? ''}`);
    if (arg.kind === 'str' || arg.kind === 'int') out += String(arg.value);
    else return unknown(arg.kind === 'unknown' ? arg.why : 'fmt.Sprintf of a non-string');
  }
  return { kind: 'str', value: out };
}

function sampleSecrets(helpers: Helpers, id: Value, secret: Value): Value {
  const n = helpers.sampleTemplates.length;
  if (id.kind !== 'str' || secret.kind !== 'str') {
    const why = secret.kind === 'unknown' ? secret.why : id.kind === 'unknown' ? id.why : 'GenerateSampleSecrets of a non-string';
    return unknown(why, n);
  }
  const fill = (t: string): string => t.replace(/\{[iIs]\}/gu, (p) => (p === '{i}' ? id.value : p === '{I}' ? id.value.toUpperCase() : secret.value));
  return { kind: 'list', items: helpers.sampleTemplates.map((t) => ({ kind: 'str', value: fill(t) })) };
}

/** A parser-interpreter over one token stream; `pos` moves as expressions are read. */
class Reader {
  pos = 0;
  constructor(
    readonly tokens: readonly Token[],
    readonly file: string,
    readonly helpers: Helpers,
  ) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.pos + offset];
  }

  is(value: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t !== undefined && (t.kind === 'op' || t.kind === 'ident') && t.value === value;
  }

  expect(value: string): void {
    if (!this.is(value)) throw this.error(`expected '${value}'`);
    this.pos++;
  }

  error(message: string): GoSyntaxError {
    const t = this.peek();
    return new GoSyntaxError(`${this.file}:${String(t?.line ?? '?')}: ${message}, found '${t === undefined ? 'end of file' : String(t.value)}'`);
  }

  /** Skips one balanced bracket group starting at the current `(`, `[` or `{`. */
  skipGroup(): void {
    let depth = 0;
    do {
      const t = this.peek();
      if (!t) throw this.error('unbalanced brackets');
      if (t.kind === 'op' && ['(', '[', '{'].includes(t.value)) depth++;
      if (t.kind === 'op' && [')', ']', '}'].includes(t.value)) depth--;
      this.pos++;
    } while (depth > 0);
  }

  /** Skips to the end of the statement (a `;` outside brackets), leaving the `;` unread. */
  skipStatement(): void {
    while (this.peek() && !this.is(';') && !this.is('}')) {
      if (this.is('(') || this.is('[') || this.is('{')) this.skipGroup();
      else this.pos++;
    }
  }

  expression(scope: Scope): Value {
    let left = this.unary(scope);
    for (;;) {
      if (this.is('+')) {
        this.pos++;
        const right = this.unary(scope);
        left = concat(left, right);
      } else if (this.peek()?.kind === 'op' && ['-', '*', '/', '%', '|', '&', '^', '==', '!=', '<', '>', '<=', '>=', '&&', '||'].includes(String(this.peek()?.value))) {
        this.pos++;
        this.unary(scope);
        left = unknown('an operator other than +');
      } else return left;
    }
  }

  unary(scope: Scope): Value {
    if (this.is('&') || this.is('*') || this.is('-') || this.is('!')) {
      const op = String(this.peek()?.value);
      this.pos++;
      const v = this.unary(scope);
      return op === '&' || op === '*' ? v : unknown(`unary ${op}`);
    }
    return this.postfix(scope);
  }

  /** A type in front of a composite literal: `[]string`, `map[string]string`, `[]*config.Allowlist`, `config.Rule`. */
  compositeType(): boolean {
    const start = this.pos;
    if (this.is('[')) {
      this.skipGroup();
      while (this.is('*')) this.pos++;
      this.qualifiedName();
      return this.is('{') || ((this.pos = start), false);
    }
    if (this.is('map')) {
      this.pos++;
      this.skipGroup();
      this.qualifiedName();
      return this.is('{') || ((this.pos = start), false);
    }
    return false;
  }

  qualifiedName(): string {
    const t = this.peek();
    if (t?.kind !== 'ident') throw this.error('expected a name');
    let name = t.value;
    this.pos++;
    while (this.is('.') && this.peek(1)?.kind === 'ident') {
      name += `.${String(this.peek(1)?.value)}`;
      this.pos += 2;
    }
    return name;
  }

  /** `{ a, b }` or `{ Key: v, … }` (struct or map): list of values, or struct of named fields. */
  compositeBody(scope: Scope): Value {
    this.expect('{');
    const items: Value[] = [];
    const fields = new Map<string, Value>();
    while (!this.is('}')) {
      if (this.is(';')) {
        this.pos++;
        continue;
      }
      const isField = this.peek()?.kind === 'ident' && this.is(':', 1);
      if (isField) {
        const key = String(this.peek()?.value);
        this.pos += 2;
        fields.set(key, this.element(scope));
      } else {
        const v = this.element(scope);
        if (this.is(':')) {
          // A map entry: the key (a file path in ValidateWithPaths) is dropped, the value kept.
          this.pos++;
          items.push(this.element(scope));
        } else items.push(v);
      }
      if (this.is(',')) this.pos++;
      else if (!this.is('}') && !this.is(';')) throw this.error("expected ',' or '}' in a composite literal");
    }
    this.pos++;
    return fields.size > 0 ? { kind: 'struct', fields } : { kind: 'list', items };
  }

  /** An element of a composite literal, which may itself be a bare `{…}`. */
  element(scope: Scope): Value {
    return this.is('{') ? this.compositeBody(scope) : this.expression(scope);
  }

  postfix(scope: Scope): Value {
    const t = this.peek();
    if (!t) throw this.error('expected an expression');
    if (t.kind === 'str' || t.kind === 'int') {
      this.pos++;
      return t.kind === 'str' ? { kind: 'str', value: t.value, line: t.line } : { kind: 'int', value: t.value };
    }
    if (this.is('(')) {
      this.pos++;
      const v = this.expression(scope);
      this.expect(')');
      return v;
    }
    if (this.is('[') || this.is('map')) {
      if (!this.compositeType()) throw this.error('expected a composite literal');
      return this.compositeBody(scope);
    }
    if (this.is('func')) {
      // A function literal: its value is code, not a string.
      this.pos++;
      this.skipGroup();
      while (!this.is('{')) this.pos++;
      this.skipGroup();
      return unknown('a function literal');
    }
    if (t.kind !== 'ident') throw this.error('expected an expression');
    const name = this.qualifiedName();
    if (this.is('{') && /^[A-Za-z_.]+$/u.test(name) && /(?:^|\.)[A-Z]/u.test(name)) return this.compositeBody(scope);
    if (this.is('(')) {
      this.pos++;
      const args: Value[] = [];
      let spread = false;
      while (!this.is(')')) {
        if (this.is(';')) {
          this.pos++;
          continue;
        }
        args.push(this.expression(scope));
        if (this.is('...')) {
          spread = true;
          this.pos++;
        }
        if (this.is(',')) this.pos++;
      }
      this.pos++;
      const v = this.call(name, args, spread);
      // A string a helper built is located at the call, for the example's provenance.
      if (v.kind === 'str' && v.line === undefined) return { ...v, line: t.line };
      if (v.kind === 'list') return { kind: 'list', items: v.items.map((x) => (x.kind === 'str' && x.line === undefined ? { ...x, line: t.line } : x)) };
      return v;
    }
    if (this.is('[')) {
      this.skipGroup();
      return unknown('an index expression');
    }
    if (name === 'nil') return { kind: 'list', items: [] };
    const v = scope.get(name);
    return v ?? unknown(`the value of ${name}`);
  }

  call(name: string, args: readonly Value[], spread: boolean): Value {
    const str = (v: Value | undefined): string | undefined => (v?.kind === 'str' ? v.value : undefined);
    switch (name) {
      case 'append': {
        const [base, ...rest] = args;
        const items = base?.kind === 'list' ? [...base.items] : [base ?? unknown('append of nothing')];
        for (const v of rest) {
          if (spread && v === rest[rest.length - 1] && v.kind === 'list') items.push(...v.items);
          else items.push(v);
        }
        return { kind: 'list', items };
      }
      case 'utils.GenerateSampleSecrets':
        return sampleSecrets(this.helpers, args[0] ?? unknown('no identifier'), args[1] ?? unknown('no secret'));
      case 'utils.GenerateSampleSecret': {
        const [id, secret] = [str(args[0]), str(args[1])];
        if (id === undefined || secret === undefined) return unknown(args[1]?.kind === 'unknown' ? args[1].why : 'GenerateSampleSecret of a non-string');
        return { kind: 'str', value: `${id}_api_token = "${secret}"` };
      }
      case 'fmt.Sprintf': {
        const format = str(args[0]);
        return format === undefined ? unknown('a computed format') : sprintf(format, args.slice(1));
      }
      case 'strings.Repeat': {
        const [s, n] = [str(args[0]), args[1]?.kind === 'int' ? args[1].value : undefined];
        return s === undefined || n === undefined ? unknown('strings.Repeat of an unknown') : { kind: 'str', value: s.repeat(n) };
      }
      case 'strings.ToUpper':
      case 'strings.ToLower': {
        const s = str(args[0]);
        if (s === undefined) return unknown(`${name} of an unknown`);
        return { kind: 'str', value: name.endsWith('Upper') ? s.toUpperCase() : s.toLowerCase() };
      }
      case 'secrets.NewSecret':
        return unknown('secrets.NewSecret draws a random string from a pattern');
      default:
        return unknown(`a call to ${name}`);
    }
  }
}

function concat(a: Value, b: Value): Value {
  if ((a.kind === 'str' || a.kind === 'int') && (b.kind === 'str' || b.kind === 'int')) {
    const line = a.kind === 'str' ? a.line : b.kind === 'str' ? b.line : undefined;
    return line === undefined ? { kind: 'str', value: String(a.value) + String(b.value) } : { kind: 'str', value: String(a.value) + String(b.value), line };
  }
  const u = a.kind === 'unknown' ? a : b.kind === 'unknown' ? b : undefined;
  return unknown(u?.kind === 'unknown' ? u.why : 'a concatenation of non-strings');
}

/** One rule's validation as the generator states it. */
export interface RuleExamples {
  readonly rule: string;
  readonly file: string;
  readonly line: number;
  readonly tps: readonly Value[];
  readonly fps: readonly Value[];
}

/**
 * Reads a statement list until the closing `}` of a block (or the end), binding `x := e`, `x = e`,
 * `var x = e` and `var ( … )` in `scope`, and reporting each `return utils.Validate(r, tps, fps)`.
 */
function statements(reader: Reader, scope: Scope, found: RuleExamples[]): void {
  while (reader.peek() && !reader.is('}')) {
    if (reader.is(';')) {
      reader.pos++;
      continue;
    }
    const start = reader.pos;
    try {
      statement(reader, scope, found);
    } catch (error) {
      if (!(error instanceof GoSyntaxError)) throw error;
      // A statement this interpreter cannot read (a loop, a type switch) binds nothing it knows;
      // whatever it assigns becomes unknown through the lookup that follows.
      reader.pos = start;
      reader.skipStatement();
    }
  }
}

function bind(reader: Reader, scope: Scope, names: readonly string[]): void {
  const values: Value[] = [];
  do {
    if (reader.is(',')) reader.pos++;
    values.push(reader.expression(scope));
  } while (reader.is(','));
  names.forEach((n, i) => {
    if (n !== '_') scope.set(n, values[i] ?? unknown(`a multi-value assignment to ${n}`));
  });
}

function statement(reader: Reader, scope: Scope, found: RuleExamples[]): void {
  if (reader.is('var') || reader.is('const')) {
    reader.pos++;
    const one = (): void => {
      const names = [reader.qualifiedName()];
      while (reader.is(',')) {
        reader.pos++;
        names.push(reader.qualifiedName());
      }
      while (!reader.is('=') && !reader.is(';') && !reader.is(')')) {
        if (reader.is('[') || reader.is('(') || reader.is('{')) reader.skipGroup();
        else reader.pos++;
      }
      if (reader.is('=')) {
        reader.pos++;
        bind(reader, scope, names);
      } else for (const n of names) scope.set(n, unknown(`${n} declared without a value`));
    };
    if (reader.is('(')) {
      reader.pos++;
      while (!reader.is(')')) {
        if (reader.is(';')) reader.pos++;
        else one();
      }
      reader.pos++;
    } else one();
    return;
  }
  if (reader.is('return')) {
    reader.pos++;
    const t = reader.peek();
    if (t?.kind === 'ident' && (t.value === 'utils' || t.value === 'Validate') && (reader.is('Validate', 2) || reader.is('ValidateWithPaths', 2))) {
      const line = t.line;
      reader.qualifiedName();
      reader.expect('(');
      const args: Value[] = [];
      while (!reader.is(')')) {
        args.push(reader.expression(scope));
        if (reader.is(',')) reader.pos++;
      }
      reader.pos++;
      const [rule, tps, fps] = args;
      const id = rule?.kind === 'struct' ? rule.fields.get('RuleID') : undefined;
      if (id?.kind !== 'str') throw new GoSyntaxError(`${reader.file}:${String(line)}: the rule passed to Validate has no literal RuleID`);
      const list = (v: Value | undefined): readonly Value[] => (v === undefined ? [] : v.kind === 'list' ? v.items : [v]);
      found.push({ rule: id.value, file: reader.file, line, tps: list(tps), fps: list(fps) });
      return;
    }
    reader.skipStatement();
    return;
  }
  if (reader.is('if') || reader.is('for') || reader.is('switch')) {
    // Control flow is not evaluated: skip the header and the block. A list built inside stays as
    // it was before the block, which the rule files never rely on for tps/fps.
    reader.pos++;
    while (!reader.is('{')) {
      if (reader.is('(') || reader.is('[')) reader.skipGroup();
      else reader.pos++;
    }
    reader.skipGroup();
    if (reader.is('else')) reader.skipStatement();
    return;
  }
  const t = reader.peek();
  if (t?.kind === 'ident') {
    const names = [t.value];
    let k = 1;
    while (reader.is(',', k) && reader.peek(k + 1)?.kind === 'ident') {
      names.push(String(reader.peek(k + 1)?.value));
      k += 2;
    }
    if (reader.is(':=', k) || reader.is('=', k)) {
      reader.pos += k + 1;
      bind(reader, scope, names);
      return;
    }
    if (reader.is('+=', 1)) {
      reader.pos += 2;
      const v = reader.expression(scope);
      scope.set(t.value, concat(scope.get(t.value) ?? unknown(`the value of ${t.value}`), v));
      return;
    }
  }
  reader.skipStatement();
}

/** Every `func … { … }` body of a file, with package-level declarations bound in `globals`. */
export function rulesOf(source: string, file: string, helpers: Helpers, globals: Scope): RuleExamples[] {
  const reader = new Reader(tokenize(source, file), file, helpers);
  const found: RuleExamples[] = [];
  while (reader.peek()) {
    if (reader.is('func')) {
      reader.pos++;
      while (!reader.is('{')) {
        if (reader.is('(') || reader.is('[')) reader.skipGroup();
        else reader.pos++;
      }
      reader.pos++;
      statements(reader, new Map(globals), found);
      reader.expect('}');
    } else if (reader.is('var') || reader.is('const')) {
      statement(reader, globals, found);
    } else if (reader.is('(') || reader.is('[') || reader.is('{')) reader.skipGroup();
    else reader.pos++;
  }
  return found;
}

/** The templates of utils.GenerateSampleSecrets, read from its `samples := map[string]string{…}`. */
export function sampleTemplates(generateGo: string, file = 'utils/generate.go'): string[] {
  const tokens = tokenize(generateGo, file);
  const at = tokens.findIndex((t, i) => t.value === 'GenerateSampleSecrets' && tokens[i - 1]?.value === 'func');
  const samples = tokens.findIndex((t, i) => i > at && t.value === 'samples' && tokens[i + 1]?.value === ':=');
  if (at < 0 || samples < 0) throw new GoSyntaxError(`${file}: no GenerateSampleSecrets with a samples map; the generator changed shape`);
  const reader = new Reader(tokens, file, { sampleTemplates: [] });
  reader.pos = samples + 2;
  const v = reader.expression(new Map());
  if (v.kind !== 'list' || v.items.some((x) => x.kind !== 'str')) throw new GoSyntaxError(`${file}: the samples map is not all literal strings`);
  return v.items.map((x) => (x.kind === 'str' ? x.value : ''));
}

// ---------------------------------------------------------------------------------------------
// The secrets gitleaks reports for a true positive, from the converted rule's own pattern.

interface ConvertedAllowlist {
  readonly target: 'secret' | 'match' | 'line';
  readonly condition: 'or' | 'and';
  readonly regexes: readonly string[];
  readonly stopwords: readonly string[];
}

export interface ConvertedRule {
  readonly id: string;
  readonly regex: string;
  readonly secretGroup?: number;
  readonly entropy?: number;
  readonly keywords: readonly string[];
  readonly allowlists: readonly ConvertedAllowlist[];
}

function shannon(text: string): number {
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    h -= p * Math.log2(p);
  }
  return h;
}

function allowedBy(a: ConvertedAllowlist, secret: string, match: string, line: string): boolean {
  const subject = a.target === 'match' ? match : a.target === 'line' ? line : secret;
  const checks: boolean[] = [];
  if (a.regexes.length > 0) checks.push(a.regexes.some((r) => new RegExp(r).test(subject)));
  if (a.stopwords.length > 0) checks.push(a.stopwords.some((w) => secret.toLowerCase().includes(w)));
  return a.condition === 'and' ? checks.every(Boolean) : checks.some(Boolean);
}

/**
 * What gitleaks reports in `text` for `rule`, following its detect.go: the rule runs only when one
 * of its keywords is in the text; for each match (newlines trimmed) the secret is the secret group,
 * else the first non-empty group, else the match; it must pass the entropy floor, and neither the
 * rule's allowlists nor the global one may apply.
 */
export function reportedSecrets(rule: ConvertedRule, text: string, global?: ConvertedAllowlist): string[] {
  const lower = text.toLowerCase();
  if (rule.keywords.length > 0 && !rule.keywords.some((k) => lower.includes(k.toLowerCase()))) return [];
  const out: string[] = [];
  for (const m of text.matchAll(new RegExp(rule.regex, 'g'))) {
    const match = m[0].replace(/^\n+|\n+$/gu, '');
    if (match.length === 0) continue;
    // gitleaks re-runs the pattern on the trimmed match to find the groups.
    const groups: readonly (string | undefined)[] = new RegExp(rule.regex).exec(match) ?? [match];
    const secret = rule.secretGroup !== undefined ? (groups[rule.secretGroup] ?? '') : (groups.slice(1).find((g) => g !== undefined && g.length > 0) ?? match);
    if (secret.length === 0) continue;
    if (rule.entropy !== undefined && rule.entropy > 0 && shannon(secret) <= rule.entropy) continue;
    const lineStart = text.lastIndexOf('\n', m.index - 1) + 1;
    const lineEnd = text.indexOf('\n', m.index + m[0].length);
    const line = text.slice(lineStart, lineEnd < 0 ? text.length : lineEnd);
    if ([...(global ? [global] : []), ...rule.allowlists].some((a) => allowedBy(a, secret, match, line))) continue;
    out.push(secret);
  }
  return out;
}

/**
 * Cuts a string into pieces inside every long token run, so that the data file holds no whole
 * credential-shaped string for a push-protection scanner to flag; the test joins the pieces.
 */
export function pieces(text: string, run = 12): string[] {
  const out: string[] = [];
  let current = '';
  let length = 0;
  for (const c of text) {
    length = /[\w+/=.-]/u.test(c) ? length + 1 : 0;
    current += c;
    if (length >= run) {
      out.push(current);
      current = '';
      length = 0;
    }
  }
  if (current.length > 0 || out.length === 0) out.push(current);
  return out;
}

// ---------------------------------------------------------------------------------------------

interface Example {
  readonly rule: string;
  readonly kind: 'tp' | 'fp';
  readonly at: string;
  readonly text: string[];
  readonly secrets?: string[][];
  /** For a false positive: the other rules of gitleaks' configuration that report a secret in it. */
  readonly reportedBy?: { rule: string; secret: string[] }[];
}

function main(): void {
  const args = process.argv.slice(2);
  const root = args[0];
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const commit = flag('--commit');
  const version = flag('--version');
  if (root === undefined || commit === undefined || version === undefined) {
    console.error('usage: node --import tsx scripts/convert-gitleaks-examples.ts <gitleaks checkout> --commit <sha> --version <tag>');
    process.exit(2);
  }
  const here = join(__dirname, '..');
  const rulesFile = JSON.parse(readFileSync(join(here, 'src/core/redaction/rules/gitleaks.json'), 'utf8')) as {
    source: { commit: string };
    globalAllowlist: ConvertedAllowlist | null;
    rules: ConvertedRule[];
    skipped: { id: string; reason: string }[];
  };
  if (rulesFile.source.commit !== commit) {
    console.error(`rules/gitleaks.json was converted from ${rulesFile.source.commit}, not ${commit}: convert both from the same commit.`);
    process.exit(2);
  }
  const rules = new Map(rulesFile.rules.map((r) => [r.id, r]));
  const global = rulesFile.globalAllowlist ?? undefined;
  const skippedRules = new Map(rulesFile.skipped.map((r) => [r.id, r.reason]));
  const helpers: Helpers = { sampleTemplates: sampleTemplates(readFileSync(join(root, 'cmd/generate/config/utils/generate.go'), 'utf8')) };
  const dir = join(root, 'cmd/generate/config/rules');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))
    .sort();
  // Package-level variables are shared by every file of the package: bind them all first.
  const globals: Scope = new Map();
  const sources = files.map((f) => [f, readFileSync(join(dir, f), 'utf8')] as const);
  for (const [f, src] of sources) rulesOf(src.replace(/\nfunc [\s\S]*/u, '\n'), `rules/${f}`, helpers, globals);
  const found = sources.flatMap(([f, src]) => rulesOf(src, `rules/${f}`, helpers, globals));

  const examples: Example[] = [];
  const generated: { rule: string; kind: 'tp' | 'fp'; count: number; why: string }[] = [];
  const leftOut: { rule: string; kind: 'tp' | 'fp'; count: number; why: string }[] = [];
  const unmatched: { rule: string; kind: 'tp' | 'fp'; at: string; text: string[] }[] = [];
  for (const r of found) {
    for (const [kind, values] of [
      ['tp', r.tps],
      ['fp', r.fps],
    ] as const) {
      for (const v of values) {
        if (v.kind === 'unknown') {
          const last = generated.find((g) => g.rule === r.rule && g.kind === kind && g.why === v.why);
          if (last) last.count += v.count;
          else generated.push({ rule: r.rule, kind, count: v.count, why: v.why });
          continue;
        }
        if (v.kind !== 'str') throw new Error(`${r.file}:${String(r.line)}: ${r.rule} has a ${v.kind} among its ${kind}s`);
        const skip = skippedRules.get(r.rule);
        const rule = rules.get(r.rule);
        if (skip !== undefined || rule === undefined) {
          leftOut.push({ rule: r.rule, kind, count: 1, why: skip ?? "not in gitleaks' published configuration (config/gitleaks.toml), so not in rules/gitleaks.json" });
          continue;
        }
        const at = `${r.file}:${String(v.line ?? r.line)}`;
        if (kind === 'fp') {
          // gitleaks checks an fp against its own rule only; another rule may well report it (the
          // Cloudflare rules list each other's keys as fps). Those are secrets, not look-alikes.
          const own = reportedSecrets(rule, v.value, global);
          if (own.length > 0) unmatched.push({ rule: r.rule, kind, at, text: pieces(v.value) });
          const reportedBy = rulesFile.rules.flatMap((o) => (o.id === r.rule ? [] : reportedSecrets(o, v.value, global).map((secret) => ({ rule: o.id, secret: pieces(secret) }))));
          examples.push({ rule: r.rule, kind, at, text: pieces(v.value), ...(reportedBy.length > 0 ? { reportedBy } : {}) });
          continue;
        }
        const secrets = reportedSecrets(rule, v.value, global);
        // gitleaks' own validation passed, so a true positive the translated pattern does not find
        // (or a false positive it does) is a translation fault: listed, for the rule converter to fix.
        if (secrets.length === 0) unmatched.push({ rule: r.rule, kind, at, text: pieces(v.value) });
        else examples.push({ rule: r.rule, kind, at, text: pieces(v.value), secrets: secrets.map((s) => pieces(s)) });
      }
    }
  }
  const count = (kind: 'tp' | 'fp', list: readonly { kind: string; count?: number }[]): number => list.filter((x) => x.kind === kind).reduce((a, x) => a + (x.count ?? 1), 0);
  const out = {
    source: {
      project: 'gitleaks',
      repository: 'https://github.com/gitleaks/gitleaks',
      files: 'cmd/generate/config/rules/*.go (tps and fps passed to utils.Validate), cmd/generate/config/utils/generate.go (sample templates)',
      version,
      commit,
      license: 'MIT',
      licenseFile: 'src/core/redaction/rules/LICENSE-gitleaks',
    },
    note: 'Generated by scripts/convert-gitleaks-examples.ts; do not edit. Strings are stored in pieces (join them) so the file holds no whole credential-shaped string.',
    counts: {
      rules: found.length,
      truePositives: count('tp', examples),
      falsePositives: count('fp', examples),
      generatedTruePositives: count('tp', generated),
      generatedFalsePositives: count('fp', generated),
      leftOutTruePositives: count('tp', leftOut),
      leftOutFalsePositives: count('fp', leftOut),
      unmatchedTruePositives: count('tp', unmatched),
      unmatchedFalsePositives: count('fp', unmatched),
      falsePositivesReportedByAnotherRule: examples.filter((e) => e.reportedBy !== undefined).length,
    },
    examples,
    unmatched,
    generated,
    leftOut,
  };
  const target = join(here, 'test/fixtures/secrets/gitleaks-examples.json');
  // One example per line: the file stays reviewable in a diff without a line per string piece.
  const lines = (list: readonly unknown[]): string => (list.length === 0 ? '[]' : `[\n${list.map((x) => `  ${JSON.stringify(x)}`).join(',\n')}\n ]`);
  const head = JSON.stringify({ source: out.source, note: out.note, counts: out.counts }, null, 1).slice(0, -2);
  writeFileSync(target, `${head},\n "examples": ${lines(examples)},\n "unmatched": ${lines(unmatched)},\n "generated": ${lines(generated)},\n "leftOut": ${lines(leftOut)}\n}\n`);
  console.log(`${target}: ${JSON.stringify(out.counts)}`);
}

// Run as a script; imported (by its test), it only exports the interpreter.
if (require.main === module) main();
