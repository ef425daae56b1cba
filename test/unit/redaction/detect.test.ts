import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDetector, expandToToken, isSecretKey, ruleSet } from '../../../src/core/redaction/index.js';
import gitleaks from '../../../src/core/redaction/rules/gitleaks.json';
import extra from '../../../src/core/redaction/rules/extra.json';

// Built from parts so that this file holds no whole secret.
const AWS_SECRET = ['wJalrXUt', 'nFEMI/K7MDENG/bPxRfi', 'CYzXq9Lm2Vb8'].join('');

describe('secret detection', () => {
  it('loads every converted gitleaks rule, and says which ones it left out and why', () => {
    const rules = ruleSet();
    assert.ok(gitleaks.rules.length >= 200);
    assert.equal(rules.size, gitleaks.rules.length + extra.rules.length, 'gitleaks rules plus those of extra.json');
    assert.equal(gitleaks.source.license, 'MIT');
    assert.match(gitleaks.source.commit, /^[0-9a-f]{40}$/u);
    for (const s of rules.skipped) assert.match(s.reason, /path/u, s.id);
  });

  it('widens a partial match to the whole token, over the punctuation the secret itself holds', () => {
    const text = `aws_secret_access_key = ${AWS_SECRET}\n`;
    const at = text.indexOf(AWS_SECRET);
    const tail = { start: at + 9, end: at + 20, rule: 'x' };
    assert.deepEqual(expandToToken(text, tail), { start: at, end: at + AWS_SECRET.length, rule: 'x' });
    // Nothing to widen: the span already ends at the token's edges.
    const whole = { start: at, end: at + AWS_SECRET.length, rule: 'x' };
    assert.equal(expandToToken(text, whole), whole);
    // A `-` the secret does not contain is a boundary, not part of it.
    assert.deepEqual(expandToToken('id-ABC123def-tail', { start: 3, end: 8, rule: 'x' }), { start: 3, end: 12, rule: 'x' });
  });

  it('knows secret-naming keys from keys about secrets', () => {
    for (const key of ['password', 'DB_PASSWORD', 'apiKey', 'x-api-key', 'client_secret', 'GITHUB_TOKEN', 'secret_key_base', 'AccountKey', 'PGPASSWORD', 'authToken', 'Passwd'])
      assert.ok(isSecretKey(key), key);
    for (const key of ['token_type', 'max_tokens', 'tokenizer', 'password_min_length', 'secret_name', 'key', 'primary_key_id', 'keyboard', 'passage', 'TOKEN_FILE'])
      assert.ok(!isSecretKey(key), key);
  });

  it('redacts the password of a URL and keeps the user and host readable', () => {
    const detect = createDetector();
    const text = 'psql postgres://reporting:Xy7-pw_Q2@db.internal/sales';
    const found = detect(text).map((f) => text.slice(f.start, f.end));
    assert.deepEqual(found, ['Xy7-pw_Q2']);
  });

  it('takes a value after a type annotation, and the credential after an Authorization scheme', () => {
    const detect = createDetector();
    const spans = (text: string): string[] => detect(text).map((f) => text.slice(f.start, f.end));
    assert.deepEqual(spans('const dbPassword: string = "n0t-a-real-Pw";'), ['n0t-a-real-Pw']);
    assert.deepEqual(spans('headers = {"Authorization": "Bearer abc123DEF456ghi789"}'), ['abc123DEF456ghi789']);
    assert.deepEqual(spans('password = os.environ["DB_PASSWORD"]'), []);
  });

  it('finds a curl credential deep inside a long text, where the curl rules run over windows', () => {
    const detect = createDetector();
    const password = ['Zq8v', 'R2mXk4Lp'].join('');
    const text = `${'curl http://example.com/ok '.repeat(300)}\ncurl -u deploy:${password} https://ci.internal/api\n${'x '.repeat(3000)}`;
    assert.ok(text.length > 10_000 && text.indexOf(password) > 4096);
    const spans = detect(text).map((f) => text.slice(f.start, f.end));
    assert.ok(spans.some((s) => s.includes(password)), JSON.stringify(spans));
  });
});
