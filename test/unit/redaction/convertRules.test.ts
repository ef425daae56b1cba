import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { translateRe2, Untranslatable } from '../../../scripts/convert-gitleaks-rules.js';

const matches = (re2: string, text: string): string | undefined => new RegExp(translateRe2(re2)).exec(text)?.[0];

describe('gitleaks rule conversion (RE2 to JavaScript)', () => {
  it('turns inline case folding into explicit cases, scoped as RE2 scopes it', () => {
    assert.equal(translateRe2('(?i)ab'), '[aA][bB]');
    assert.equal(matches('(?i)key(?-i:ID)', 'KEYID'), 'KEYID');
    assert.equal(matches('(?i)key(?-i:ID)', 'KEYid'), undefined);
    assert.equal(matches('\\b(p8e-(?i)[a-z0-9]{4})', 'p8e-AbC9'), 'p8e-AbC9');
    assert.equal(matches('\\b(p8e-(?i)[a-z0-9]{4})', 'P8E-abc9'), undefined, 'folding starts where (?i) stands');
    // Folded cases go before a trailing '-' so it stays a literal, not a range.
    assert.equal(matches('(?i)[a-z_-]{3}', 'A-b'), 'A-b');
  });

  it('translates RE2-only syntax: \\z, POSIX classes, (?s:.) and a . that stops only at \\n', () => {
    assert.equal(matches('ab\\z', 'xab'), 'ab');
    assert.equal(matches('ab\\z', 'ab\n'), undefined);
    assert.equal(matches('[[:alnum:]]{3}', '-a1Z-'), 'a1Z');
    assert.equal(matches('a(?s:.)b', 'a\nb'), 'a\nb');
    assert.equal(matches('a.b', 'a\rb'), 'a\rb');
    assert.equal(matches('(?P<id>x+)', 'xx'), 'xx');
  });

  it('reports what it cannot translate instead of guessing', () => {
    assert.throws(() => translateRe2('\\pL+'), Untranslatable);
    assert.throws(() => translateRe2('(?m)^a'), Untranslatable);
    assert.throws(() => translateRe2('(a'), Untranslatable);
  });
});
