import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedactor } from '../../../src/core/redaction/index.js';
import rulesJson from '../../../src/core/redaction/rules/gitleaks.json';
import { loadGitleaksExamples, scoreExamples } from '../../fixtures/secrets/gitleaksExamples.js';

/**
 * gitleaks' false positives that the redactor redacts on purpose, each with the reason. gitleaks
 * judges a false positive against one rule (is this a Stripe key?); the redactor asks whether the
 * text holds any secret, and where the two differ for a reason, the reason is here. The test
 * requires exactly these to be redacted: a new one fails it, and so does one that stops being redacted.
 */
const RANDOM = 'a random token of 32+ characters mixing cases and digits: the entropy fallback cannot tell what it is for, and leaving a real one stored costs more than hiding a harmless one';
const FIREBASE_KEYS = 'a live-format Google API key published in firebase-android-sdk; gitleaks allowlists it as public, but a key in a public repository is still a key, and the redactor keeps no list of leaked ones';
const DELIBERATE: Readonly<Record<string, string>> = {
  'fp:rules/anthropic.go:30#1': "extra.json's anthropic-key takes any length after sk-ant-api03- (Claude Code's OAuth and refresh tokens vary); gitleaks rejects it for its length only",
  'fp:rules/anthropic.go:32#1': 'as anthropic.go:30: the sk-ant- prefix with a long payload is treated as a key whatever its length',
  'fp:rules/anthropic.go:61#1': 'as anthropic.go:30, for sk-ant-admin01-',
  'fp:rules/anthropic.go:63#1': 'as anthropic.go:30, for sk-ant-admin01-',
  'fp:rules/aws.go:105#1': 'a bedrock-api-key- token shorter than a real one (gitleaks wants the full length); a real one cut short in a log is still redacted',
  'fp:rules/azure.go:60#1': 'a CloudFront-Signature value signs a URL: it grants access, so it is redacted',
  'fp:rules/azure.go:61#1': `Freenet USK public keys: ${RANDOM}`,
  'fp:rules/easypost.go:28#1': `base64 in running text: ${RANDOM}`,
  'fp:rules/easypost.go:52#1': `base64 in running text: ${RANDOM}`,
  'fp:rules/flyio.go:50#1': 'an authenticity_token (CSRF token) is a session secret',
  'fp:rules/gcp.go:67#1': `gitleaks' text-boundary case: ${RANDOM}`,
  'fp:rules/gcp.go:68#1': `gitleaks' text-boundary case: ${RANDOM}`,
  ...Object.fromEntries([73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87].map((line) => [`fp:rules/gcp.go:${String(line)}#1`, FIREBASE_KEYS])),
  'fp:rules/generic.go:220#1': 'a value under a key ending in "Secrets" (keyVaultToStoreSecrets): the key detector cannot tell a vault name from a password without a dictionary',
  'fp:rules/generic.go:221#1': "Yarn Berry's Algolia search key, published on purpose; gitleaks allowlists that one string, the redactor keeps no list of public keys",
  'fp:rules/generic.go:265#1': 'a csrf-token is a session secret',
  'fp:rules/mailchimp.go:29#1': "a token: argument in Mailchimp's own key shape (32 hex + -us18); gitleaks' rule wants the word mailchimp beside it",
  'fp:rules/okta.go:29#1': RANDOM,
  'fp:rules/sourcegraph.go:28#1': `mixed-case hex, so not Sourcegraph's shape, but ${RANDOM}`,
  'fp:rules/sourcegraph.go:30#1': `mixed-case hex, so not Sourcegraph's shape, but ${RANDOM}`,
  'fp:rules/sumologic.go:71#1': 'a short value assigned to SUMO_ACCESS_KEY could be a real password; gitleaks only says it is not a Sumo Logic key',
  'fp:rules/sumologic.go:72#1': RANDOM,
};

describe("gitleaks' own per-rule examples (independent of the redactor's corpus)", () => {
  const examples = loadGitleaksExamples();
  const secrets = [...examples.truePositives, ...examples.otherRulesSecrets];

  it('come from the commit the rules were converted from, with every literal example read', () => {
    assert.equal(examples.source.commit, rulesJson.source.commit);
    assert.equal(examples.counts.unmatchedTruePositives, 0, 'a true positive the translated pattern does not find is a rule-conversion fault');
    assert.equal(examples.counts.unmatchedFalsePositives, 0, 'a false positive the translated pattern reports is a rule-conversion fault');
    assert.equal(examples.truePositives.length, examples.counts.truePositives);
    assert.equal(examples.falsePositives.length + examples.otherRulesSecrets.length, examples.counts.falsePositives);
    assert.ok(examples.truePositives.length >= 800 && new Set(examples.truePositives.map((e) => e.rule)).size >= 60, 'the set keeps its breadth');
    for (const e of secrets) assert.ok(e.secrets.length > 0, `${e.id} names the secret to cover`);
  });

  it('redacts every true positive with each secret gitleaks reports covered whole, with and without secretlint', async () => {
    for (const secretlint of [true, false]) {
      const redactor = await createRedactor({ secretlint });
      const score = scoreExamples(secrets, [], await redactor.scan(secrets.map((e) => e.text)), []);
      assert.deepEqual(score.missed, [], `secretlint ${String(secretlint)}`);
      assert.equal(score.whole, secrets.length);
    }
  });

  it('leaves every look-alike alone but the documented ones', async () => {
    const redactor = await createRedactor();
    const scans = await redactor.scan(examples.falsePositives.map((e) => e.text));
    const score = scoreExamples([], examples.falsePositives, [], scans);
    const flaggedIds = new Set(examples.falsePositives.filter((_, i) => (scans[i] ?? []).length > 0).map((e) => e.id));
    const unexpected = score.flagged.filter((line) => !Object.hasOwn(DELIBERATE, line.split(' ')[0] ?? ''));
    assert.deepEqual(unexpected, [], 'redacted without a documented reason');
    const stale = Object.keys(DELIBERATE).filter((id) => !flaggedIds.has(id));
    assert.deepEqual(stale, [], 'documented as redacted but no longer redacted: take it off the list');
    for (const id of Object.keys(DELIBERATE)) assert.ok(examples.falsePositives.some((e) => e.id === id), `${id} is a look-alike of the set`);
  });
});
