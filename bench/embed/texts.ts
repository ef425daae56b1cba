/**
 * The benchmark's texts, generated from a fixed seed: sentences of 10–50 words in the register of
 * principles and agent notes, and decision states (task, recent tool calls and their output) of about
 * 256 tokens, the model's window.
 */

/** mulberry32: a small, well-known seeded generator, so every run embeds the same texts. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'when a test fails read the log before editing any code run command again check exit status install missing package ' +
  'pin dependency version upgrade build break bisect commit branch merge review pull request agent tool call step result ' +
  'output error warning file function class method type annotation parameter return value import module path folder ' +
  'network timeout retry backoff cache invalidate stale config setting environment variable secret key token redact ' +
  'parse json yaml schema validate input edge case empty null undefined array index bound loop recursion stack overflow ' +
  'memory leak profile benchmark measure compare baseline regression flaky test isolate reproduce minimal example ' +
  'document explain why comment rename refactor extract small pure helper keep interface stable deprecate remove dead ' +
  'always never first then after before until unless only every each other same different new old large small fast slow'
).split(' ');

const TOOLS = ['run_command', 'read_file', 'edit_file', 'search', 'list_dir', 'apply_patch'];
const FILES = ['src/parser.ts', 'src/server/routes.py', 'lib/cache.go', 'tests/test_api.py', 'package.json', 'Cargo.toml', 'src/util/strings.rs'];
const OUTPUTS = [
  'FAIL src/parser.test.ts ● parses nested arrays expected 3 received 2 at Object.<anonymous> (src/parser.test.ts:41:7)',
  'Traceback (most recent call last): File "app.py", line 12, in <module> KeyError: \'DATABASE_URL\'',
  'error[E0308]: mismatched types expected `usize`, found `i32` --> src/util/strings.rs:88:17',
  'npm ERR! code ERESOLVE unable to resolve dependency tree while resolving react@18.2.0',
  '3 passed, 1 failed, 2 skipped in 4.21s',
  'fatal: not a git repository (or any of the parent directories): .git',
];

function pick<T>(rng: () => number, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)] as T;
}

export function sentences(count = 2000, seed = 15): string[] {
  const rng = random(seed);
  return Array.from({ length: count }, () => {
    const n = 10 + Math.floor(rng() * 41);
    const words = Array.from({ length: n }, () => pick(rng, WORDS));
    const text = words.join(' ');
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
  });
}

/**
 * Decision states: a task and recent steps, grown until `countTokens` reaches `tokens` and cut back to
 * it, so both embedders see the same tokens (none truncates them differently).
 */
export function decisionStates(countTokens: (text: string) => number, count = 500, tokens = 256, seed = 16): string[] {
  const rng = random(seed);
  return Array.from({ length: count }, () => {
    const parts = [`Task: ${sentences(1, Math.floor(rng() * 1e9))[0] ?? ''}`];
    let step = 1;
    while (countTokens(parts.join('\n')) < tokens) {
      const tool = pick(rng, TOOLS);
      parts.push(`Step ${String(step++)}: ${tool}({"path": "${pick(rng, FILES)}", "reason": "${sentences(1, Math.floor(rng() * 1e9))[0] ?? ''}"})`);
      parts.push(`Observation: ${pick(rng, OUTPUTS)}`);
    }
    let text = parts.join('\n');
    while (countTokens(text) > tokens) text = text.slice(0, text.lastIndexOf(' '));
    return text;
  });
}
