import type { TextEmbedder } from '../../../src/core/embedding/embedder.js';
import type { Principle, PrincipleScope } from '../../../src/core/principle.js';
import type { Step, Trajectory } from '../../../src/core/trajectory.js';

/**
 * A small deterministic TextEmbedder for tests: hashed bag of words (Unicode letters and digits,
 * lower-cased, FNV-1a into `dim` buckets with a sign bit), L2-normalized. It records every text it
 * was asked to embed, so tests can check what reached the embedder.
 */
export function hashedEmbedder(dim = 256): TextEmbedder & { readonly seen: string[] } {
  const seen: string[] = [];
  return {
    id: `test:hashed-${String(dim)}`,
    dim,
    description: 'test: hashed bag of words',
    seen,
    embed(texts) {
      const out = new Float32Array(texts.length * dim);
      texts.forEach((text, row) => {
        seen.push(text);
        for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
          let h = 0x811c9dc5;
          for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193) >>> 0;
          const bucket = h % dim;
          out[row * dim + bucket] = (out[row * dim + bucket] ?? 0) + ((h >>> 31) === 1 ? -1 : 1);
        }
        let norm = 0;
        for (let d = 0; d < dim; d++) norm += (out[row * dim + d] ?? 0) ** 2;
        norm = Math.sqrt(norm) || 1;
        for (let d = 0; d < dim; d++) out[row * dim + d] = (out[row * dim + d] ?? 0) / norm;
      });
      return Promise.resolve(out);
    },
    dispose: () => Promise.resolve(),
  };
}

export function principle(id: string, text: string, scope: PrincipleScope = 'global', extra: Partial<Principle> = {}): Principle {
  return {
    id,
    text,
    when: '',
    scope,
    granularity: 'principle',
    status: 'accepted',
    origin: 'manual',
    evidence: [],
    helpful: 0,
    harmful: 0,
    createdIteration: 0,
    updatedIteration: 0,
    ...extra,
  };
}

export function step(index: number, call: { name: string; args?: Record<string, unknown> } | undefined, result?: string, extra: Partial<Step> = {}): Step {
  return {
    index,
    toolCalls: call === undefined ? [] : [{ id: `c${String(index)}`, name: call.name, arguments: call.args ?? {} }],
    observations: result === undefined ? [] : [{ callId: call === undefined ? undefined : `c${String(index)}`, content: result, isError: false }],
    ...extra,
  };
}

export function trajectory(steps: readonly Step[], extra: Partial<Trajectory> = {}): Trajectory {
  return {
    id: 'openai-messages:00000000000000aa',
    source: 'openai-messages',
    sessionId: 's1',
    task: 'Fix the failing test in the orders module',
    outcome: { label: 'unknown', evidence: [] },
    steps,
    ...extra,
  };
}

/** A small coding run: tests fail, the agent reads the log, edits, re-runs. */
export function codingRun(): Trajectory {
  return trajectory(
    [
      step(0, { name: 'Bash', args: { command: 'pytest tests/test_orders.py' } }, 'FAILED tests/test_orders.py::test_total - AssertionError: expected 10 got 12', { text: 'Run the tests first.' }),
      step(1, { name: 'Read', args: { file_path: 'src/orders.py' } }, 'def total(items):\n    return sum(i.price for i in items) + 2'),
      step(2, { name: 'Edit', args: { file_path: 'src/orders.py', old_string: '+ 2', new_string: '' } }, 'The file src/orders.py has been updated.'),
      step(3, { name: 'Bash', args: { command: 'pytest tests/test_orders.py' } }, '1 passed in 0.02s'),
    ],
    { workspace: '/home/dev/shop' },
  );
}

export const POOL: readonly Principle[] = [
  principle('P1', 'When tests fail, read the failing test output and the code under test before editing anything.'),
  principle('P2', 'When you have edited code, re-run the failing tests to confirm the fix before finishing.'),
  principle('P3', 'When a shell command is not found, install the missing tool or use an available alternative.'),
  principle('P4', 'When writing Python functions, annotate every parameter and the return type.', 'language:python'),
  principle('P5', 'When using the Bash tool for long outputs, pipe through tail to keep the context small.', 'tool:bash'),
  principle('P6', 'When searching a web page for a price, open the official page rather than trusting snippets.'),
  principle('P7', 'When in this repository, run the linter with npm run lint before committing.', 'workspace', { evidence: [{ trajectoryId: 'other:1' }] }),
  principle('P8', 'When a Rust build fails on borrow errors, read the compiler note that names the conflicting borrow.', 'language:rust'),
];
