"""Extracts detect-secrets' own plugin test payloads into test data for the redactor.

detect-secrets (Yelp, Apache-2.0) tests each plugin on payloads marked ``should_flag`` in
``tests/plugins/*_test.py``. Those were written by its maintainers, not alongside our detectors,
so they give a second independent measure next to gitleaks' examples. The payloads are read
statically (``ast``: literals, module constants, ``+``, ``%``, ``str.format``, f-strings); anything
else is counted as left out, never guessed. The secret of a payload is what detect-secrets itself
reports, computed by running its plugins from the same checkout: the payload's own plugin for a
payload it flags, and every default plugin for one it does not (a payload another plugin reports is
a secret, not a look-alike, as gitleaks' cross-rule false positives are).

    python3 bench/redaction/convert_detect_secrets.py <detect-secrets checkout> --commit <sha>

Writes test/fixtures/secrets/detect-secrets-examples.json in the format of gitleaks-examples.json.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

# Plugins whose findings are not credentials: a public IP address is not redacted by the product.
NOT_SECRETS = {
    "IPPublicDetector": "a public IP address is not a credential; the product does not redact addresses"
}
# Heuristic plugins: their raw output includes placeholders (`insert_key_here` under a key name),
# which detect-secrets leaves to its filters and baselines. A payload only they report is no secret.
HEURISTIC = {"KeywordDetector", "Base64HighEntropyString", "HexHighEntropyString"}


class Unknown(Exception):
    """An expression the static reader does not evaluate."""


def evaluate(node: ast.AST, names: dict[str, object]) -> object:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return [evaluate(e, names) for e in node.elts]
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        raise Unknown(f"the value of {node.id}")
    if isinstance(node, ast.BinOp):
        left, right = evaluate(node.left, names), evaluate(node.right, names)
        if (
            isinstance(node.op, ast.Add)
            and isinstance(left, str)
            and isinstance(right, str)
        ):
            return left + right
        if (
            isinstance(node.op, ast.Mult)
            and isinstance(left, str)
            and isinstance(right, int)
        ):
            return left * right
        if isinstance(node.op, ast.Mod) and isinstance(left, str):
            return left % (tuple(right) if isinstance(right, list) else right)
        raise Unknown("an operator")
    if isinstance(node, ast.JoinedStr):
        out = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                out += str(part.value)
            elif (
                isinstance(part, ast.FormattedValue)
                and part.format_spec is None
                and part.conversion == -1
            ):
                out += str(evaluate(part.value, names))
            else:
                raise Unknown("an f-string conversion")
        return out
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    ):
        base = evaluate(node.func.value, names)
        if not isinstance(base, str):
            raise Unknown("format of a non-string")
        args = [evaluate(a, names) for a in node.args]
        kwargs = {
            k.arg: evaluate(k.value, names) for k in node.keywords if k.arg is not None
        }
        return base.format(*args, **kwargs)
    raise Unknown(type(node).__name__)


def payloads(path: Path) -> tuple[list[tuple[str, bool, int]], int]:
    """The (payload, should_flag, line) cases of a test file, and how many cases were left out."""
    tree = ast.parse(path.read_text())
    names: dict[str, object] = {}
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            try:
                names[stmt.targets[0].id] = evaluate(stmt.value, names)
            except Unknown:
                pass
    cases: list[tuple[str, bool, int]] = []
    left_out = 0
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "parametrize"
        ):
            continue
        if (
            len(node.args) < 2
            or not isinstance(node.args[0], ast.Constant)
            or not isinstance(node.args[1], ast.List)
        ):
            continue
        argnames = [a.strip() for a in str(node.args[0].value).split(",")]
        if argnames[-1:] != ["should_flag"] or len(argnames) != 2:
            continue
        for element in node.args[1].elts:
            try:
                payload, flag = evaluate(element, names)  # type: ignore[misc]
            except (Unknown, ValueError, TypeError, KeyError):
                left_out += 1
                continue
            if isinstance(payload, str) and isinstance(flag, bool):
                cases.append((payload, flag, element.lineno))
            else:
                left_out += 1
    return cases, left_out


def pieces(text: str, run: int = 12) -> list[str]:
    """As scripts/convert-gitleaks-examples.ts: cut inside long token runs so no piece holds a whole key."""
    out: list[str] = []
    current = ""
    length = 0
    for c in text:
        length = length + 1 if (c.isascii() and (c.isalnum() or c in "_+/=.-")) else 0
        current += c
        if length >= run:
            out.append(current)
            current = ""
            length = 0
    if current or not out:
        out.append(current)
    return out


def main() -> None:
    if len(sys.argv) < 4 or sys.argv[2] != "--commit":
        sys.exit(
            "usage: python3 bench/redaction/convert_detect_secrets.py <detect-secrets checkout> --commit <sha>"
        )
    root = Path(sys.argv[1]).resolve()
    commit = sys.argv[3]
    sys.path.insert(0, str(root))
    # Imported here: the checkout named on the command line is what is measured, not an installed copy.
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    plugins = {
        cls.__name__: cls() for cls in get_mapping_from_secret_type_to_class().values()
    }

    def reported(plugin: object, text: str) -> list[str]:
        found = plugin.analyze_line(filename="mock_filename", line=text)  # type: ignore[attr-defined]
        return sorted({s.secret_value for s in found if s.secret_value})

    examples: list[dict[str, object]] = []
    unmatched: list[dict[str, object]] = []
    left_out: list[dict[str, object]] = []
    for path in sorted((root / "tests" / "plugins").glob("*_test.py")):
        source = path.read_text()
        owner = next((name for name in plugins if f"import {name}" in source), None)
        cases, skipped = payloads(path)
        at_file = f"tests/plugins/{path.name}"
        if owner is None or owner in NOT_SECRETS:
            why = NOT_SECRETS.get(owner or "", "no single plugin under test")
            for kind, n in (
                ("tp", sum(1 for c in cases if c[1]) + skipped),
                ("fp", sum(1 for c in cases if not c[1])),
            ):
                if n:
                    left_out.append(
                        {
                            "rule": owner or path.stem,
                            "kind": kind,
                            "count": n,
                            "why": why,
                        }
                    )
            continue
        if skipped:
            left_out.append(
                {
                    "rule": owner,
                    "kind": "tp",
                    "count": skipped,
                    "why": "a payload the static reader cannot evaluate",
                }
            )
        for text, should_flag, line in cases:
            own = reported(plugins[owner], text)
            at = f"{at_file}:{line}"
            if should_flag != bool(own):
                # detect-secrets' own test says otherwise: the plugin needs context the line lacks (a
                # file type, a verification call). Listed, not guessed.
                unmatched.append(
                    {
                        "rule": owner,
                        "kind": "tp" if should_flag else "fp",
                        "at": at,
                        "text": pieces(text),
                    }
                )
                continue
            if should_flag:
                examples.append(
                    {
                        "rule": owner,
                        "kind": "tp",
                        "at": at,
                        "text": pieces(text),
                        "secrets": [pieces(s) for s in own],
                    }
                )
                continue
            others = [
                {"rule": name, "secret": pieces(s)}
                for name, plugin in plugins.items()
                if name != owner and name not in NOT_SECRETS and name not in HEURISTIC
                for s in reported(plugin, text)
            ]
            entry: dict[str, object] = {
                "rule": owner,
                "kind": "fp",
                "at": at,
                "text": pieces(text),
            }
            if others:
                entry["reportedBy"] = others
            examples.append(entry)

    def count(kind: str, items: list[dict[str, object]]) -> int:
        return sum(int(str(x.get("count", 1))) for x in items if x["kind"] == kind)

    out = {
        "source": {
            "project": "detect-secrets",
            "repository": "https://github.com/Yelp/detect-secrets",
            "files": "tests/plugins/*_test.py (payloads parametrized with should_flag); secrets as its plugins (detect_secrets/plugins) report them",
            "version": commit[:12],
            "commit": commit,
            "license": "Apache-2.0",
            "licenseFile": "test/fixtures/secrets/LICENSE-detect-secrets",
        },
        "note": "Generated by bench/redaction/convert_detect_secrets.py; do not edit. Strings are stored in pieces (join them).",
        "counts": {
            "rules": len({e["rule"] for e in examples}),
            "truePositives": count("tp", examples),
            "falsePositives": count("fp", examples),
            "generatedTruePositives": 0,
            "generatedFalsePositives": 0,
            "leftOutTruePositives": count("tp", left_out),
            "leftOutFalsePositives": count("fp", left_out),
            "unmatchedTruePositives": count("tp", unmatched),
            "unmatchedFalsePositives": count("fp", unmatched),
            "falsePositivesReportedByAnotherRule": sum(
                1 for e in examples if "reportedBy" in e
            ),
        },
    }
    target = (
        Path(__file__).resolve().parents[2]
        / "test"
        / "fixtures"
        / "secrets"
        / "detect-secrets-examples.json"
    )
    head = json.dumps(out, indent=1, ensure_ascii=False)[:-2]

    def lines(items: list[dict[str, object]]) -> str:
        if not items:
            return "[]"
        return (
            "[\n"
            + ",\n".join(
                "  " + json.dumps(x, ensure_ascii=False, separators=(",", ":"))
                for x in items
            )
            + "\n ]"
        )

    target.write_text(
        f'{head},\n "examples": {lines(examples)},\n "unmatched": {lines(unmatched)},\n "generated": [],\n "leftOut": {lines(left_out)}\n}}\n'
    )
    print(f"{target}: {json.dumps(out['counts'])}")


if __name__ == "__main__":
    main()
