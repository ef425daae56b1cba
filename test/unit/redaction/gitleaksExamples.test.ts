import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRedactor } from '../../../src/core/redaction/index.js';
import rulesJson from '../../../src/core/redaction/rules/gitleaks.json';
import { DELIBERATELY_REDACTED as DELIBERATE, DETECT_SECRETS_EXPECTED, loadDetectSecretsExamples, loadGitleaksExamples, scoreExamples } from '../../fixtures/secrets/gitleaksExamples.js';

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

describe("detect-secrets' plugin test payloads (a second independent set)", () => {
  const examples = loadDetectSecretsExamples();
  const secrets = [...examples.truePositives, ...examples.otherRulesSecrets];

  it('come from a pinned commit, each payload read and its secret as detect-secrets reports it', () => {
    assert.match(examples.source.commit, /^[0-9a-f]{40}$/u);
    assert.equal(examples.source.license, 'Apache-2.0');
    assert.ok(examples.truePositives.length >= 150 && new Set(examples.truePositives.map((e) => e.rule)).size >= 15, 'the set keeps its breadth');
    for (const e of secrets) assert.ok(e.secrets.length > 0, `${e.id} names the secret to cover`);
  });

  it('redacts every secret whole but the documented ones', async () => {
    const redactor = await createRedactor();
    const score = scoreExamples(secrets, [], await redactor.scan(secrets.map((e) => e.text)), []);
    const missedIds = score.missed.map((line) => line.split(' ')[0] ?? '');
    assert.deepEqual(missedIds.filter((id) => !Object.hasOwn(DETECT_SECRETS_EXPECTED.missed, id)), [], 'missed without a documented reason');
    assert.deepEqual(Object.keys(DETECT_SECRETS_EXPECTED.missed).filter((id) => !missedIds.includes(id)), [], 'documented as missed but now redacted whole: take it off the list');
  });

  it('leaves every look-alike alone but the documented ones', async () => {
    const redactor = await createRedactor();
    const scans = await redactor.scan(examples.falsePositives.map((e) => e.text));
    const flaggedIds = examples.falsePositives.filter((_, i) => (scans[i] ?? []).length > 0).map((e) => e.id);
    assert.deepEqual(flaggedIds.filter((id) => !Object.hasOwn(DETECT_SECRETS_EXPECTED.redacted, id)), [], 'redacted without a documented reason');
    assert.deepEqual(Object.keys(DETECT_SECRETS_EXPECTED.redacted).filter((id) => !flaggedIds.includes(id)), [], 'documented as redacted but no longer redacted: take it off the list');
  });
});
