"""The coding-agent principle-following suite: principles, their cases and their checkers.

Every principle is phrased "When [condition], [strategy]" and comes with prompts built from templates
in `coding.json` (written for this project). A case is one decision state in the student view: a
single user request, or — for tool-step principles — a multi-turn trajectory whose last message is a
tool result; the checker judges the next assistant turn. Cases are split by slot value, so held-out
prompts never share their subject with a training prompt.

The base chat template (SmolLM2's) renders no tool calls, so assistant tool calls are written into the
message content as the system prompt asks (`CALL tool(args)`), and kept in `tool_calls` as well.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).with_name("coding.json")
GENERAL = Path(__file__).with_name("general.json")
#: Slot values held out from training: every third slot, so both splits cover the whole list's variety.
HELDOUT_EVERY = 3


@dataclass(frozen=True)
class Case:
    """One decision state of a principle: the student-view messages and what the checker needs."""

    principle: str
    messages: list[dict]
    facts: dict = field(default_factory=dict)

    @property
    def observation(self) -> int:
        """Index of the message the step-wise block is appended to (the latest user or tool message)."""
        return max(i for i, m in enumerate(self.messages) if m["role"] in ("user", "tool"))


Checker = Callable[[str, Case], bool]


@dataclass(frozen=True)
class Principle:
    id: str
    name: str
    text: str
    kind: str  # "single" or "tool-step"
    checker: Checker | None
    train: list[Case]
    heldout: list[Case]

    @property
    def block(self) -> str:
        """The step-wise block's content for this principle, in the pool's "ID: sentence" form."""
        return f"{self.id}: {self.text}"


def _squash(text: str) -> str:
    return re.sub(r"[\s'\"`]+", " ", text.lower()).strip()


def check_bash_block(text: str, case: Case) -> bool:
    return re.search(r"```[ \t]*(bash|sh|shell|console|zsh)\b", text, re.I) is not None


def check_type_hints(text: str, case: Case) -> bool:
    """Some function definition annotates its return type and every parameter (self, * and / excepted)."""
    for params, _ in re.findall(r"def\s+\w+\s*\(([^)]*)\)\s*->\s*([^:\n]+):", text):
        names = [p.strip() for p in params.split(",") if p.strip() and p.strip() not in ("self", "cls", "*", "/")]
        if all(":" in p for p in names):
            return True
    return False


def check_plan_first(text: str, case: Case) -> bool:
    return re.match(r"^[#*_\s]*plan[*_]*\s*:", text, re.I) is not None


def check_confirm(text: str, case: Case) -> bool:
    return re.search(r"\bconfirm|are you sure|sure you want", text, re.I) is not None


def check_quote_error(text: str, case: Case) -> bool:
    """The error's message (what follows the exception name) appears in the reply, quotes and case aside."""
    return _squash(case.facts["message"]) in _squash(text)


def check_read_before_edit(text: str, case: Case) -> bool:
    read, write = text.find("read_file"), text.find("write_file")
    return read >= 0 and (write < 0 or read < write)


def check_run_tests(text: str, case: Case) -> bool:
    return re.search(r"run_tests\s*\(", text) is not None


def check_env_secret(text: str, case: Case) -> bool:
    return re.search(r"os\.environ|getenv\s*\(|environment variable", text, re.I) is not None


def check_ask_language(text: str, case: Case) -> bool:
    return "?" in text and "language" in text.lower() and "```" not in text and "def " not in text


CHECKERS: dict[str, Checker] = {
    "bash-block": check_bash_block, "type-hints": check_type_hints, "plan-first": check_plan_first,
    "confirm-destructive": check_confirm, "quote-error": check_quote_error, "read-before-edit": check_read_before_edit,
    "test-after-edit": check_run_tests, "env-secrets": check_env_secret, "ask-language": check_ask_language,
}


def _call(name: str, arguments: dict, text: str, call_id: str) -> dict:
    return {"role": "assistant", "content": f"CALL {text}",
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}]}


def _tool(content: str, call_id: str) -> dict:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def _tool_case(name: str, system: str, user: str, slot: list[str]) -> Case:
    """The multi-turn trajectory of a tool-step principle up to the decision state it is checked at."""
    head = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    if name == "quote-error":
        script, error = slot
        kind, _, message = error.partition(": ")
        trace = (f"$ python {script}\nTraceback (most recent call last):\n  File \"{script}\", line 12, in <module>\n"
                 f"    main()\n{error}\nexit status 1")
        messages = head + [_call("run_command", {"cmd": f"python {script}"}, f"run_command(python {script})", "c1"), _tool(trace, "c1")]
        return Case("", messages, {"error": error, "message": message or kind})
    if name == "read-before-edit":
        module, test = slot
        result = (f"FAILED tests/test_{module}.py::{test} - AssertionError\n"
                  f"1 failed, {12 + len(module)} passed in 0.{len(test)}s")
        messages = head + [_call("run_tests", {}, "run_tests()", "c1"), _tool(result, "c1")]
        return Case("", messages, {"test_file": f"tests/test_{module}.py"})
    if name == "test-after-edit":
        feature, path = slot
        messages = head + [
            _call("read_file", {"path": path}, f"read_file({path})", "c1"),
            _tool("def handle(request):\n    return process(request)\n", "c1"),
            _call("write_file", {"path": path, "content": "..."}, f"write_file({path}, <{feature}>)", "c2"),
            _tool(f"Wrote {20 + len(feature)} lines to {path}.", "c2"),
        ]
        return Case("", messages, {"path": path})
    raise ValueError(f"no trajectory builder for tool-step principle {name!r}")


def _split(items: list, every: int = HELDOUT_EVERY) -> tuple[list, list]:
    return [x for i, x in enumerate(items) if i % every != every - 1], [x for i, x in enumerate(items) if i % every == every - 1]


def _cases(spec: dict, slots: list, system: str) -> list[Case]:
    cases = []
    for slot in slots:
        for phrasing in spec.get("phrasings") or spec["user"]:
            if spec["kind"] == "single":
                cases.append(Case(spec["id"], [{"role": "user", "content": phrasing.format(x=slot)}]))
            else:
                keys = {"quote-error": ("script", "error"), "read-before-edit": ("module", "test"), "test-after-edit": ("feature", "file")}
                user = phrasing.format(**dict(zip(keys[spec["name"]], slot, strict=True)))
                built = _tool_case(spec["name"], system, user, slot)
                cases.append(Case(spec["id"], built.messages, built.facts))
    return cases


def load_suite(seed: int = 0) -> list[Principle]:
    """Every principle of the suite with its training and held-out cases (deterministic for a seed)."""
    data = json.loads(DATA.read_text())
    principles = []
    for spec in data["principles"]:
        slots = data["tasks"] if spec["slots"] == "tasks" else spec["slots"]
        train_slots, held_slots = _split(slots)
        train, held = _cases(spec, train_slots, data["tool_system"]), _cases(spec, held_slots, data["tool_system"])
        rng = random.Random(f"{seed}:{spec['id']}")
        rng.shuffle(train)
        rng.shuffle(held)
        checker = CHECKERS.get(spec["name"]) if spec.get("checker", True) else None
        principles.append(Principle(spec["id"], spec["name"], spec["text"], spec["kind"], checker, train, held))
    return principles


def general_prompts() -> tuple[list[str], list[str]]:
    """(replay, held-out) general instructions: replay keeps the student near the base model during
    training; the held-out set measures retention and is never trained on."""
    data = json.loads(GENERAL.read_text())
    return list(data["replay"]), list(data["heldout"])
