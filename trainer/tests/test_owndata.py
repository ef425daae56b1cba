"""Own-data scoring (owndata.py): divergence per principle, action NLL, retention and the guard, on tiny models."""

import json

import pytest

from internalize_trainer import toyworld
from internalize_trainer.config import DistillConfig
from internalize_trainer.distill import distill
from internalize_trainer.jobs import run as run_job
from internalize_trainer.model import load_model
from internalize_trainer.owndata import general_records, retention_nll, score_heldout, score_round
from internalize_trainer.protocol import ProtocolError


def principles_of(records):
    """Each toy record's principle id, read from its block ("P1 : When ...")."""
    return [[block.split(" ")[0] for block in r.blocks.values()] for r in records]


def test_a_student_that_is_the_base_closes_nothing_and_has_the_base_nll(toy_dir):
    tokenizer, model = load_model(toy_dir)
    held = toyworld.heldout_records(0, 2)
    result = score_heldout(model, model, tokenizer, held, principles_of(held))
    assert {row["id"] for row in result["principles"]} == set(toyworld.PRINCIPLES)
    for row in result["principles"]:
        assert row["method"] == "divergence"
        assert row["kl_before"] > 0.01, "the taught toy teacher acts differently with the principle in context"
        assert row["kl_after"] == pytest.approx(row["kl_before"])
        assert row["score"] == pytest.approx(0.0, abs=1e-6)
        assert row["internalized"] is False
        assert row["states"] == 2
    assert result["action_nll"]["student"] == pytest.approx(result["action_nll"]["base"])
    assert result["action_nll"]["states"] == len(held)


def test_states_without_a_block_count_for_action_nll_but_score_no_principle(toy_dir):
    tokenizer, model = load_model(toy_dir)
    held = toyworld.heldout_records(0, 1)
    plain = [type(r)(messages=r.messages, blocks={}, targets=r.targets) for r in held]
    result = score_heldout(model, model, tokenizer, plain, [[] for _ in plain])
    assert result["principles"] == []
    assert result["action_nll"]["tokens"] > 0


def test_after_an_off_policy_round_the_student_closes_most_of_the_gap(toy_dir, tmp_path):
    trained = distill(toy_dir, toyworld.distillation_records(0, 80), DistillConfig(epochs=2), tmp_path / "round",
                      replay=toyworld.replay_records(0))
    held = toyworld.heldout_records(0, 3)
    result = score_round(toy_dir, trained["metrics"]["merged"], held, principles_of(held), toyworld.probe_records(0, 8))
    scores = {row["id"]: row["score"] for row in result["principles"]}
    assert set(scores) == set(toyworld.PRINCIPLES)
    # Held-out states the student never saw: the taught toy world moves each principle into the weights.
    assert all(s is not None and s > 0.25 for s in scores.values()), scores
    assert sum(scores.values()) / len(scores) > 0.5, scores
    assert result["action_nll"]["student"] < result["action_nll"]["base"]
    assert result["retention"]["ratio"] == pytest.approx(result["retention"]["student_nll"] / result["retention"]["base_nll"])
    assert result["collapse"]["collapsed"] == (result["retention"]["ratio"] > 1.05)


def test_general_records_are_the_models_own_answers_and_retention_of_the_same_model_is_ratio_one(toy_dir, monkeypatch):
    # The real general prompts are English the toy vocabulary cannot read; the toy world's own words stand in.
    prompts = (["task : fix the failing build", "task : the tests fail in module parser"], ["task : read the log of the build"])
    monkeypatch.setattr("internalize_trainer.owndata.general_prompts", lambda: prompts)
    tokenizer, model = load_model(toy_dir)
    replay, retention = general_records(model, tokenizer, max_new_tokens=6)
    assert [r["messages"][0]["content"] for r in replay] == prompts[0]
    assert [r["messages"][0]["content"] for r in retention] == prompts[1]
    for row in replay + retention:
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"] and row["targets"] == [1]
        assert row["messages"][1]["content"].strip()
    from internalize_trainer.data import Record

    records = [Record.parse(r) for r in retention]
    nll = retention_nll(model, tokenizer, records)
    # Greedy answers are the model's likeliest tokens: their NLL is low, and the same model scores them the same.
    assert 0 < nll < 2.0 and retention_nll(model, tokenizer, records) == pytest.approx(nll)


def test_score_round_job_names_a_missing_student_and_a_bad_dataset_line(toy_dir, tmp_path):
    bad = tmp_path / "heldout.jsonl"
    bad.write_text(json.dumps({"messages": [], "targets": [0]}) + "\n{not json\n")
    with pytest.raises(ProtocolError, match="student"):
        run_job("score_round", {"model": str(toy_dir), "dataset": str(bad)}, lambda e: None, lambda: False)
    with pytest.raises(ProtocolError, match=r"heldout\.jsonl:2: not valid JSON"):
        run_job("score_round", {"model": str(toy_dir), "student": str(toy_dir), "dataset": str(bad)}, lambda e: None, lambda: False)
