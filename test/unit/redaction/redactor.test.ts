import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyFindings, createRedactor, highEntropyFindings } from '../../../src/core/redaction/index.js';
import type { Trajectory } from '../../../src/core/trajectory.js';

// Built from parts so that this file itself does not trip secret scanners.
const GITHUB = ['ghp', 'wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINUx'].join('_');
const SLACK = ['xoxb', '123456789012', '1234567890123', 'abcdefghijklmnopqrstuvwx'].join('-');
const PRIVATE_KEY = ['-----BEGIN RSA PRIVATE', 'KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmwIDAQAB\n-----END RSA PRIVATE', 'KEY-----'].join(' ');
const RANDOM_KEY = 'Zq8vR2mXk4LpT9wNc7YbF3sHj6GdQ1uE5aKx0oVi';

function trajectory(texts: { task?: string; command?: string; output?: string }): Trajectory {
  return {
    id: 'claude-code:0',
    source: 'claude-code',
    sessionId: 's',
    task: texts.task ?? 'task',
    outcome: { label: 'unknown', evidence: [] },
    steps: [
      {
        index: 0,
        toolCalls: [{ id: 'c', name: 'Bash', arguments: { command: texts.command ?? 'ls', env: { nested: [texts.command ?? 'ls'] } } }],
        observations: [{ callId: 'c', content: texts.output ?? 'ok', isError: false }],
      },
    ],
  };
}

describe('redaction', () => {
  it('replaces provider tokens and private keys, named by the provider rule, counting per rule', async () => {
    const redactor = await createRedactor();
    const [out] = await redactor.redact([{ trajectory: trajectory({ task: `use ${GITHUB}`, command: `curl -H "Authorization: Bearer ${SLACK}"`, output: PRIVATE_KEY }), redactFrom: 0 }]);
    const text = JSON.stringify(out);
    assert.ok(!text.includes(GITHUB) && !text.includes(SLACK) && !text.includes('MIIEowIBAAKCAQEA'));
    assert.equal(out!.task, 'use [REDACTED:github-pat]');
    assert.equal(out!.redactions?.['github-pat'], 1);
    assert.equal(out!.redactions['slack-bot-token'], 2, 'the command and its nested copy');
    assert.equal(out!.redactions['private-key'], 1);
  });

  it('catches a high-entropy token no rule knows, but not hashes, UUIDs, paths or prose', () => {
    assert.equal(highEntropyFindings(`API_KEY=${RANDOM_KEY}`).length, 1);
    const benign = [
      'commit 3e4dc26a1dadbd18254a724a9cb63988b6b5fa8d',
      'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'id 6d0c1f7e-2b55-4c1e-9d1a-3f2b8e4a7c10',
      '/home/dev/projects/internalize/src/core/capture/redaction.ts',
      'TheQuickBrownFoxJumpsOverTheLazyDogAgainAndAgain',
      'node_modules/@secretlint/secretlint-rule-preset-recommend/module',
    ];
    for (const text of benign) assert.deepEqual(highEntropyFindings(text), [], text);
  });

  it('leaves steps before redactFrom alone, keeps earlier counts and never re-redacts a placeholder', async () => {
    const redactor = await createRedactor();
    const base = trajectory({ output: `token ${RANDOM_KEY}` });
    const earlier: Trajectory = { ...base, redactions: { github: 2 }, steps: [...base.steps, { ...base.steps[0]!, index: 1 }] };
    const [out] = await redactor.redact([{ trajectory: earlier, redactFrom: 1 }]);
    assert.equal(out!.steps[0], earlier.steps[0]);
    assert.equal(out!.steps[1]!.observations[0]!.content, 'token [REDACTED:high-entropy]');
    assert.deepEqual(out!.redactions, { github: 2, 'high-entropy': 1 });
    const counts: Record<string, number> = {};
    assert.equal(applyFindings('[REDACTED:github]', [{ start: 0, end: 17, rule: 'x' }], counts), '[REDACTED:github]');
    assert.deepEqual(counts, {});
  });

  it('returns the same objects when nothing is secret', async () => {
    const redactor = await createRedactor();
    const t = trajectory({ command: 'npm test' });
    const [out] = await redactor.redact([{ trajectory: t, redactFrom: 0 }]);
    assert.equal(out!.steps[0], t.steps[0]);
    assert.equal(out!.redactions, undefined);
  });
});
