import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDetector } from '../../../src/core/redaction/index.js';
import { isPlaceholder } from '../../../src/core/redaction/placeholder.js';

// Built at run time so that this file holds no whole key-shaped literal.
const random = (n: number, seed: number): string => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let x = seed;
  let out = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += alphabet[x % alphabet.length] ?? 'A';
  }
  return out;
};

describe('placeholders', () => {
  it('knows filler, AWS examples and PEM blocks too short for a key', () => {
    for (const p of ['ghp_' + 'x'.repeat(36), 'xoxb-' + 'x'.repeat(9) + '-' + 'X'.repeat(10), 'glc_' + '1'.repeat(40) + '=', 'AIza' + 'a'.repeat(35), 'AKIAIOSFODNN7EXAMPLE', '-----BEGIN PRIVATE KEY-----\nanything\n-----END PRIVATE KEY-----']) {
      assert.ok(isPlaceholder(p), p);
    }
  });

  it('does not take a real-looking key for one, even with runs of A as in base64 of zero bytes', () => {
    for (let seed = 1; seed <= 50; seed++) assert.ok(!isPlaceholder('sk_live_' + random(40, seed)), String(seed));
    assert.ok(!isPlaceholder('b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW' + random(40, 7)));
    assert.ok(!isPlaceholder(`-----BEGIN PRIVATE KEY-----\n${random(64, 3)}\n-----END PRIVATE KEY-----`));
  });

  it('keeps placeholders out of the key and entropy detectors, not out of provider rules', () => {
    const detect = createDetector();
    assert.deepEqual(detect(`PREFECT_API_KEY = "pnu_${'X'.repeat(36)}"`), []);
    assert.deepEqual(detect('SUMO_ACCESS_KEY={SumoAccessKey}'), []);
    assert.deepEqual(detect('publicToken = "' + random(43, 11) + '"'), []);
    assert.deepEqual(detect('notes = "Maven - io.jsonwebtoken:jjwt-jackson-0.11.2"'), []);
    // gitleaks' age rule counts the all-zero key as a key; its judgement stands.
    const age = `AGE-SECRET-KEY-1${'Q'.repeat(58)}`;
    assert.ok(detect(`key: ${age}`).some((f) => f.rule === 'age-secret-key'));
    // A real key under the same name is still found.
    assert.ok(detect(`api_key = "${random(40, 5)}"`).length > 0);
  });

  it('reads a JSON-escaped line break as the end of a bare value (SWE-agent command docs in a .traj)', () => {
    const detect = createDetector();
    // As in test/fixtures/swe-agent/*.traj: a tool's docs, JSON-encoded inside the log line.
    assert.deepEqual(detect('moves the window down 100 lines\\n  signature: scroll_up\\n\\nscroll_down:\\n'), []);
    const secret = random(24, 9) + '9';
    const line = `{"config": "API_TOKEN=${secret}\\nDEBUG=true"}`;
    const found = detect(line);
    assert.ok(found.length > 0, 'the token is found');
    assert.deepEqual(
      found.map((f) => line.slice(f.start, f.end)),
      found.map(() => secret),
      'the value stops at the escaped newline',
    );
  });
});
