import math

import pytest

from internalize_trainer.data import BLOCK_OPEN
from internalize_trainer.recipe import SuiteConfig, block_view, z_score
from internalize_trainer.suites.coding import CHECKERS, Case, general_prompts, load_suite


def test_the_suite_has_enough_principles_prompts_and_tool_steps():
    suite = load_suite()
    assert len(suite) >= 6 and len({p.id for p in suite}) == len(suite)
    for p in suite:
        assert p.text.startswith("When ") and "," in p.text and len(p.text.split()) <= 40, p.text
        assert len(p.train) >= 40 and len(p.heldout) >= 20, p.id
        train_users = {c.messages[-1]["content"] if p.kind == "single" else c.messages[1]["content"] for c in p.train}
        held_users = {c.messages[-1]["content"] if p.kind == "single" else c.messages[1]["content"] for c in p.heldout}
        assert not train_users & held_users, f"{p.id}: a held-out prompt is also a training prompt"
    tool_steps = [p for p in suite if p.kind == "tool-step"]
    assert len(tool_steps) >= 2
    for p in tool_steps:
        for case in p.heldout:
            roles = [m["role"] for m in case.messages]
            calls = [m.get("tool_calls") for m in case.messages if m["role"] == "assistant"]
            assert roles[-1] == "tool" and calls and all(calls)
    assert sum(p.checker is not None for p in suite) >= 6
    assert any(p.checker is None for p in suite), "one principle exercises the divergence-based score"


def test_held_out_subjects_never_appear_in_training_prompts():
    for p in load_suite():
        if p.kind != "single":
            continue
        held = {c.messages[-1]["content"] for c in p.heldout}
        for case in p.train:
            assert case.messages[-1]["content"] not in held


def test_general_sets_are_disjoint_and_large_enough():
    replay, heldout = general_prompts()
    assert len(replay) >= 20 and len(heldout) >= 20 and not set(replay) & set(heldout)


def test_the_teacher_view_appends_the_block_to_the_latest_observation_only():
    suite = {p.name: p for p in load_suite()}
    p = suite["test-after-edit"]
    case = p.heldout[0]
    view = block_view(case, p)
    changed = [i for i, (a, b) in enumerate(zip(case.messages, view, strict=True)) if a != b]
    assert changed == [len(case.messages) - 1] and BLOCK_OPEN in view[-1]["content"] and p.text in view[-1]["content"]
    assert BLOCK_OPEN not in str(case.messages), "the student view holds no principle text"


def _case(principle: str = "", **facts) -> Case:
    return Case(principle, [{"role": "user", "content": "x"}], facts)


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("bash-block", "Run this:\n```bash\nls -la\n```", "Run `ls -la` in a terminal.\n```\nls -la\n```"),
    ("type-hints", "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```", "def add(a, b) -> int:\n    return a + b"),
    ("plan-first", "**Plan:** 1. read the file 2. change it", "Sure! Plan: first read it"),
    ("confirm-destructive", "This deletes everything. Please confirm that you want this.", "Done, I removed the folder."),
    ("read-before-edit", "CALL read_file(tests/test_parser.py)", "CALL write_file(src/parser.py) then read_file(tests/test_parser.py)"),
    ("test-after-edit", "CALL run_tests()", "DONE added validation"),
    ("env-secrets", "key = os.environ['API_KEY']", "key = 'sk-123'"),
    ("ask-language", "Which programming language would you like me to use?", "```python\nprint('which language?')\n```"),
])
def test_checkers_accept_the_strategy_and_reject_its_absence(name, good, bad):
    check = CHECKERS[name]
    assert check(good, _case())
    assert not check(bad, _case())


def test_the_quote_error_checker_needs_the_exact_message():
    case = _case(message="No module named 'yaml'")
    assert CHECKERS["quote-error"]('The error is `ModuleNotFoundError: No module named "yaml"`; install PyYAML.', case)
    assert not CHECKERS["quote-error"]("A module is missing; install PyYAML.", case)


def test_z_score_and_suite_config_errors():
    assert z_score(10, 20, 2, 20) > 2.5 and z_score(2, 20, 2, 20) == 0.0
    assert z_score(0, 20, 0, 20) == 0.0 and math.isinf(z_score(20, 20, 0, 20)) is False
    with pytest.raises(ValueError, match="unknown suite setting"):
        SuiteConfig.from_dict({"n_trian": 3})
    config = SuiteConfig.from_dict({"n_train": 12, "distill": {"epochs": 1, "lora": {"r": 4}}})
    assert config.n_train == 12 and config.distill.epochs == 1 and config.distill.lora.r == 4
    assert config.distill.lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]


def test_the_suite_method_on_the_toy_model_labels_each_score_with_its_method(toy_dir, tmp_path):
    """The whole path through the worker, fast: the toy model follows no principle, so calibration would drop
    everything; with calibration off, the checker principle gets no successful teacher response and the
    principle without a checker is trained on every teacher response and scored by divergence."""
    from internalize_trainer.jobs import run

    events: list[dict] = []
    config = {"principles": ["P4", "P10"], "calibrate": False, "n_train": 4, "n_heldout": 3, "eval_samples": 1,
              "teacher_samples": 1, "max_new_tokens": 8, "distill": {"epochs": 1}}
    result = run("suite", {"model": str(toy_dir), "out_dir": str(tmp_path), "config": config}, events.append, lambda: False)
    rows = {p["id"]: p for p in result["principles"]}
    assert rows["P4"]["method"] == "checker" and rows["P4"]["base"] == 0.0 and "trained anyway" in rows["P4"]["reason"]
    assert rows["P10"]["method"] == "divergence" and rows["P10"]["kl_before"] > 0 and rows["P10"]["score"] is not None
    assert rows["P10"]["score"] == pytest.approx(1 - rows["P10"]["kl_after"] / rows["P10"]["kl_before"])
    assert result["rounds"][0]["principles"][0]["kept"] == 0  # the toy model never asks to confirm
    assert result["retention"]["ratio"] > 0 and result["collapse"]["collapsed"] == (result["retention"]["ratio"] > 1.05)
    assert {e["phase"] for e in events if e["event"] == "progress"} == {"calibrate", "sample", "train", "evaluate"}
