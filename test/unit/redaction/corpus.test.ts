import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedactor, type Finding } from '../../../src/core/redaction/index.js';
import { LOOKALIKE_CASES, SECRET_CASES } from '../../fixtures/secrets/corpus.js';

/** Every occurrence of `secret` in `text` lies wholly inside one finding. */
function uncovered(text: string, secret: string, findings: readonly Finding[]): number[] {
  const missed: number[] = [];
  for (let at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + 1)) {
    if (!findings.some((f) => f.start <= at && f.end >= at + secret.length)) missed.push(at);
  }
  return missed;
}

describe('secret corpus', () => {
  it('covers every labelled secret whole (recall 100%), with and without secretlint beside the rules', async () => {
    assert.ok(SECRET_CASES.length >= 60, 'the corpus keeps its breadth');
    for (const secretlint of [true, false]) {
      const redactor = await createRedactor({ secretlint });
      const scans = await redactor.scan(SECRET_CASES.map((c) => c.text));
      const misses: string[] = [];
      SECRET_CASES.forEach((c, i) => {
        for (const s of c.secrets) if (uncovered(c.text, s, scans[i] ?? []).length > 0) misses.push(`${c.id}: ${JSON.stringify(s.slice(0, 24))}… in ${JSON.stringify(c.text.slice(0, 120))}`);
      });
      assert.deepEqual(misses, [], `secretlint ${String(secretlint)}`);
    }
  });

  it('redacts no look-alike (UUIDs, SHAs, base64 images, URLs, minified code, lockfile hashes, public keys)', async () => {
    const redactor = await createRedactor();
    const scans = await redactor.scan(LOOKALIKE_CASES.map((c) => c.text));
    const flagged = LOOKALIKE_CASES.flatMap((c, i) => (scans[i] ?? []).map((f) => `${c.id}: ${f.rule} ${JSON.stringify(c.text.slice(f.start, f.end))}`));
    assert.deepEqual(flagged, []);
  });

  it('leaves no secret text in a redacted trajectory, and a second pass changes nothing', async () => {
    const redactor = await createRedactor();
    const [once] = await redactor.redact([
      {
        trajectory: {
          id: 'claude-code:corpus',
          source: 'claude-code',
          sessionId: 'corpus',
          task: 'corpus',
          outcome: { label: 'unknown', evidence: [] },
          steps: SECRET_CASES.map((c, index) => ({ index, toolCalls: [{ id: c.id, name: 'Bash', arguments: { command: c.text } }], observations: [{ callId: c.id, content: c.text, isError: false }] })),
        },
        redactFrom: 0,
      },
    ]);
    assert.ok(once);
    const stored = JSON.stringify(once.steps);
    for (const c of SECRET_CASES) for (const s of c.secrets) assert.ok(!stored.includes(JSON.stringify(s).slice(1, -1)), `${c.id} left in clear`);
    const total = Object.values(once.redactions ?? {}).reduce((a, b) => a + b, 0);
    assert.ok(total >= SECRET_CASES.length * 2, 'each case redacted in the command and in the output');
    const [twice] = await redactor.redact([{ trajectory: once, redactFrom: 0 }]);
    assert.deepEqual(twice, once);
  });
});
