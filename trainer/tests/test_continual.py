"""The continual setting on the toy model (seconds): iterations that each bring new principles, a new LoRA on
the merged previous student, an anchored or previous teacher, replay of earlier kept successes, and every
principle trained so far re-scored after each iteration.

The toy model is a real teacher here: it was taught the toy world's rules with the principle in context, so
sampling with the block gives checker successes and distillation has something to move into the weights.
"""

import random

import pytest
import torch
import torch.nn.functional as F

from internalize_trainer import distill as distill_module
from internalize_trainer import toyworld
from internalize_trainer.config import DistillConfig
from internalize_trainer.data import Record, build_pairs, target_logits
from internalize_trainer.model import load_model
from internalize_trainer.recipe import (
    ContinualConfig,
    capped_mean,
    check_schedule,
    global_blocks,
    replayed,
    run_continual,
    teacher_view,
)
from internalize_trainer.suites.coding import Case, Principle

SYSTEM = "you are a coding agent . answer with one tool call ."


def _toy_suite() -> list[Principle]:
    """The toy world's rules as suite principles; the checker asks for the principled tool."""
    rng = random.Random(0)
    suite = []
    for rule in toyworld.RULES:
        def cases(held_out: bool, rule=rule) -> list[Case]:
            out = []
            for _ in range(3):
                file = rng.choice(toyworld.FILES)
                obs, _ = toyworld.observation(rule, rng, held_out)
                task = {"role": "user", "content": f"task : fix the failing build in {file}"}
                out.append(Case(rule.id, [{"role": "system", "content": SYSTEM}, task, toyworld.action("run_tests", {}),
                                          {"role": "tool", "content": obs}]))
            return out

        checker = (lambda text, case, tool=rule.principled: tool in text) if rule.id != "P4" else None
        suite.append(Principle(rule.id, rule.id.lower(), rule.principle, "tool-step", checker, cases(False), cases(True)))
    return suite


CALIBRATION = {"P1": {"method": "checker", "base": 0.0, "teacher": 1.0, "calibrated": True},
               "P2": {"method": "checker", "base": 0.0, "teacher": 1.0, "calibrated": True},
               "P3": {"method": "checker", "base": 0.0, "teacher": 1.0, "calibrated": False, "reason": "gap too small"},
               "P4": {"method": "divergence", "base": None, "teacher": None, "calibrated": True}}


def _config(teacher: str, replay_kept: bool | float, injection: str = "stepwise") -> ContinualConfig:
    return ContinualConfig.from_dict({
        "schedule": [["P1"], ["P2", "P4"]], "teacher": teacher, "replay_kept": replay_kept, "injection": injection,
        "stop_on_collapse": False,
        "suite": {"n_train": 3, "n_heldout": 3, "teacher_samples": 2, "keep_per_case": 1, "eval_samples": 1, "max_new_tokens": 10,
                  "generation_batch": 8, "distill": {"epochs": 2, "learning_rate": 2e-2, "teacher_top_k": 0, "batch_size": 4}},
    })


@pytest.fixture
def spied(monkeypatch):
    """Wraps the real distill() and teacher_targets() to see what each iteration trained on and was taught by."""
    calls: list[dict] = []
    real_distill, real_targets = distill_module.distill, distill_module.teacher_targets

    def spy_distill(model_dir, records, config, out_dir, **kwargs):
        calls.append({"model_dir": model_dir, "records": list(records), "targets": []})
        return real_distill(model_dir, records, config, out_dir, **kwargs)

    def spy_targets(model, pairs, *args, **kwargs):
        result = real_targets(model, pairs, *args, **kwargs)
        calls[-1]["targets"].append((pairs, result))
        return result

    monkeypatch.setattr(distill_module, "distill", spy_distill)
    monkeypatch.setattr(distill_module, "teacher_targets", spy_targets)
    return calls


@torch.no_grad()
def _logprobs(model, rendered) -> torch.Tensor:
    logits = target_logits(model(input_ids=torch.tensor([rendered.input_ids])).logits, [rendered])
    return F.log_softmax(logits.float(), dim=-1)


def test_anchored_teacher_is_the_original_base_and_every_principle_is_rescored(toy_dir, tmp_path, spied):
    done: list[int] = []
    result = run_continual(toy_dir, _config("anchored", True), tmp_path, CALIBRATION, suite=_toy_suite(),
                           on_iteration=lambda r: done.append(len(r["iterations"])))
    assert done == [1, 2], "the result is handed over after every iteration"
    first, second = result["iterations"]
    assert first["dataset"]["new"]["P1"]["kept"] > 0, "the toy teacher follows P1 with its block in context"
    assert str(spied[1]["model_dir"]).endswith("iteration1/merged"), "iteration 2 trains a new LoRA on the merged student"

    # Anchored: iteration 2's teacher log-probs are the original base model's on the teacher views, not iteration 1's student's.
    tokenizer, base = load_model(toy_dir)
    _, previous = load_model(tmp_path / "iteration1" / "merged")
    pairs, targets = spied[1]["targets"][0]
    for pair, target in list(zip(pairs, targets, strict=True))[:4]:
        torch.testing.assert_close(target.logprobs, _logprobs(base, pair.teacher), atol=1e-4, rtol=0)
        assert (target.logprobs - _logprobs(previous, pair.teacher)).abs().max() > 1e-3

    # Replay: iteration 1's kept successes are among iteration 2's records, with their own blocks.
    kept_first = [(r.messages[-1]["content"], r.blocks) for r in spied[0]["records"]]
    second_records = [(r.messages[-1]["content"], r.blocks) for r in spied[1]["records"]]
    assert kept_first and all(k in second_records for k in kept_first)
    assert second["dataset"]["replayed"] == {"P1": len(kept_first)}
    assert second["dataset"]["records"] == len(spied[1]["records"])

    # Every principle trained so far is re-scored, against the calibration's base and teacher.
    assert [row["id"] for row in first["principles"]] == ["P1"]
    assert [row["id"] for row in second["principles"]] == ["P1", "P2", "P4"]
    for row in second["principles"]:
        assert row["score"] is not None
        if row["method"] == "checker":
            assert row["score"] == pytest.approx(row["student"])  # base 0, teacher 1
        else:
            # Divergence against the ORIGINAL base, whatever the student sits on.
            assert row["kl_before"] > 0 and row["score"] == pytest.approx(1 - row["kl_after"] / row["kl_before"])
    assert second["capped_mean"] == pytest.approx(capped_mean(second["principles"]))
    assert second["retention"]["base_nll"] == first["retention"]["base_nll"] == result["base_retention_nll"]
    assert second["teacher"] == "original base"


def test_previous_teacher_is_the_merged_student_and_no_replay_adds_nothing(toy_dir, tmp_path, spied):
    result = run_continual(toy_dir, _config("previous", False), tmp_path, CALIBRATION, suite=_toy_suite())
    second = result["iterations"][1]
    assert second["dataset"]["replayed"] == {"P1": 0}
    new = second["dataset"]["new"]
    assert len(spied[1]["records"]) == second["dataset"]["records"] == new["P2"]["kept"] + new["P4"]["kept"]
    _, previous = load_model(tmp_path / "iteration1" / "merged")
    pairs, targets = spied[1]["targets"][0]
    torch.testing.assert_close(targets[0].logprobs, _logprobs(previous, pairs[0].teacher), atol=1e-4, rtol=0)
    assert second["teacher"] == "iteration 1's student"


def test_the_distill_teacher_model_replaces_the_disabled_adapter(toy_dir, tmp_path):
    """With lr 0 and no block, the first step's loss is KL(teacher || student at start): zero when the teacher is the
    student's own weights, KL(base || previous) per token when an anchored base teaches a previous student."""
    tokenizer, base = load_model(toy_dir)
    _, previous = load_model(toy_dir)
    with torch.no_grad():
        for p in previous.parameters():
            p.add_(0.05 * torch.randn_like(p))
    previous.save_pretrained(tmp_path / "previous")
    tokenizer.save_pretrained(tmp_path / "previous")
    record = toyworld.distillation_records(0, 1)[0]
    record = Record(record.messages, {}, record.targets)
    config = DistillConfig(epochs=1, learning_rate=0.0, replay_weight=0.0, teacher_top_k=0, save_merged=False)
    own = distill_module.distill(tmp_path / "previous", [record], config, tmp_path / "own")["metrics"]["final_loss"]
    anchored = distill_module.distill(tmp_path / "previous", [record], config, tmp_path / "anchored",
                                      teacher_model=base)["metrics"]["final_loss"]
    (pair,) = build_pairs(tokenizer, record)
    expected = float(F.kl_div(_logprobs(previous, pair.student), _logprobs(base, pair.student), log_target=True, reduction="sum"))
    assert own == pytest.approx(0.0, abs=1e-6)
    assert anchored == pytest.approx(expected / len(pair.student.target_ids), rel=1e-4) and anchored > 1e-3


def test_replay_fraction_and_schedule_checks():
    history = [list(range(10)), list(range(100, 104))]
    assert replayed(history, 0.0, 0) == [] and replayed(history, 1.0, 0) == history[0] + history[1]
    half = replayed(history, 0.5, 3)
    assert len(half) == 7 and half == replayed(history, 0.5, 3) and set(half) <= set(history[0] + history[1])
    ids = ["P1", "P2", "P3", "P4"]
    check_schedule([["P1"], ["P2", "P4"]], CALIBRATION, ids)
    with pytest.raises(ValueError, match="iteration 2: P1 was already trained in iteration 1"):
        check_schedule([["P1"], ["P1"]], CALIBRATION, ids)
    with pytest.raises(ValueError, match="iteration 1: P3 did not pass calibration \\(gap too small\\)"):
        check_schedule([["P3"]], CALIBRATION, ids)
    with pytest.raises(ValueError, match="unknown principle P9"):
        check_schedule([["P9"]], CALIBRATION, ids)
    with pytest.raises(ValueError, match="replay_kept must be"):
        ContinualConfig.from_dict({"replay_kept": 1.5})
    with pytest.raises(ValueError, match="teacher must be previous or anchored"):
        ContinualConfig.from_dict({"teacher": "base"})
    with pytest.raises(ValueError, match="unknown continual setting"):
        ContinualConfig.from_dict({"teachr": "previous"})
    assert capped_mean([{"score": 3.0}, {"score": 0.5}, {"score": None}]) == pytest.approx(0.75)


def test_global_injection_puts_the_whole_pool_at_the_start_of_the_conversation():
    suite = _toy_suite()
    case = suite[1].train[0]
    view = teacher_view(case, global_blocks(suite[:2])(case, suite[1]))
    assert suite[0].text in view[0]["content"] and suite[1].text in view[0]["content"] and view[0]["role"] == "system"
    assert view[1:] == case.messages[1:], "the latest observation carries no block under global injection"
