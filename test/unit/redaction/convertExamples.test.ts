import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pieces, reportedSecrets, rulesOf, sampleTemplates, tokenize, type Value } from '../../../scripts/convert-gitleaks-examples.js';

const GENERATE = `package utils
func GenerateSampleSecrets(identifier string, secret string) []string {
	samples := map[string]string{
		"ini": "{i}Token=\\"{s}\\"",
		// a comment between entries
		"env": \`{I}_TOKEN={s}\`,
	}
	return nil
}`;

const strings = (values: readonly Value[]): (string | undefined)[] => values.map((v) => (v.kind === 'str' ? v.value : undefined));

describe('gitleaks example extraction (a Go interpreter for the rule files)', () => {
  it('reads Go strings: escapes, raw strings across lines, and the semicolons Go inserts', () => {
    const tokens = tokenize('x := "a\\tb\\x41\\u00e9\\"" + `r\n\\n`\ny := 1');
    const values = tokens.filter((t) => t.kind === 'str').map((t) => t.value);
    assert.deepEqual(values, ['a\tbA\u00e9"', 'r\n\\n']);
    assert.equal(tokens.filter((t) => t.value === ';').length, 2);
  });

  it('expands GenerateSampleSecrets from the templates in generate.go, and counts what it cannot know', () => {
    const helpers = { sampleTemplates: sampleTemplates(GENERATE) };
    assert.deepEqual(helpers.sampleTemplates, ['{i}Token="{s}"', '{I}_TOKEN={s}']);
    const src = `package rules
var shared = []string{\`KEY: abc\`}
func Rule() *config.Rule {
	r := config.Rule{
		RuleID: "demo",
		Regex: utils.GenerateUniqueTokenRegex(\`x\`, false),
		Allowlists: []*config.Allowlist{ { Regexes: []*regexp.Regexp{ regexp.MustCompile(\`y\`) } } },
	}
	tps := utils.GenerateSampleSecrets("demo", "s3cr3t")
	tps = append(tps, utils.GenerateSampleSecrets("demo", secrets.NewSecret(utils.Hex("32")))...)
	tps = append(tps, "lit" + "eral", fmt.Sprintf("%s=%s", "k", "v"))
	tps = append(tps, shared...)
	for _, v := range shared {
		tps = append(tps, v)
	}
	fps := []string{"no" + secrets.NewSecret("[a-z]{8}")}
	return utils.Validate(r, tps, fps)
}`;
    const globals = new Map<string, Value>();
    rulesOf(src.replace(/\nfunc [\s\S]*/u, '\n'), 'demo.go', helpers, globals);
    const [rule] = rulesOf(src, 'demo.go', helpers, globals);
    assert.ok(rule);
    assert.equal(rule.rule, 'demo');
    assert.deepEqual(strings(rule.tps), ['demoToken="s3cr3t"', 'DEMO_TOKEN=s3cr3t', undefined, 'literal', 'k=v', 'KEY: abc']);
    assert.deepEqual(
      rule.tps.flatMap((v) => (v.kind === 'unknown' ? [v.count] : [])),
      [2],
      'one unknown stands for both templates of a generated secret',
    );
    assert.equal(rule.fps[0]?.kind, 'unknown');
  });

  it("reports what gitleaks would: the secret group, keyword gate, entropy floor and allowlists", () => {
    const rule = { id: 'r', regex: 'tok_([a-z0-9]{8})', keywords: ['tok_'], entropy: 2, allowlists: [{ target: 'secret' as const, condition: 'or' as const, regexes: ['^0+$'], stopwords: ['dead'] }] };
    assert.deepEqual(reportedSecrets(rule, 'a tok_ab12cd34 b tok_00000000 c tok_deadbeef d tok_aaaaaaaa'), ['ab12cd34']);
    assert.deepEqual(reportedSecrets({ ...rule, keywords: ['nothere'] }, 'tok_ab12cd34'), []);
  });

  it('stores strings in pieces that join back, no piece holding a long token whole', () => {
    const text = 'key = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789" and more';
    const parts = pieces(text);
    assert.equal(parts.join(''), text);
    assert.ok(parts.length > 1);
    for (const p of parts) assert.ok(!/[\w+/=.-]{13,}/u.test(p), p);
  });
});
