"""Teacher-sample targets (teacher_samples.py): sampling from the teacher with the block, and the divergence filter."""

import json

import pytest

from internalize_trainer import toyworld
from internalize_trainer.jobs import run as run_job
from internalize_trainer.model import load_model
from internalize_trainer.protocol import ProtocolError
from internalize_trainer.teacher_samples import SampleConfig, judge, sample_targets


def test_the_filter_rejects_in_a_stated_order():
    config = SampleConfig(min_margin=0.1, max_teacher_nll=2.0)
    assert judge(True, "  ", 0.5, 0.9, set(), config) == "empty"
    assert judge(False, "call read_log", 0.5, 0.9, set(), config) == "unfinished"
    assert judge(True, "call read_log", 2.5, 9.0, set(), config) == "not-fluent"
    assert judge(True, "call read_log", 0.5, 0.55, set(), config) == "block-did-not-matter"
    assert judge(True, "call read_log", 0.5, 0.9, {"call read_log"}, config) == "duplicate"
    assert judge(True, "call read_log", 0.5, 0.9, set(), config) == "kept"
    # Without a filter every finished, non-empty sample is a candidate for another judge.
    assert judge(True, "call read_log", 2.5, 0.1, {"call read_log"}, SampleConfig(filter="none")) == "kept"


def test_a_bad_sample_config_names_the_field():
    with pytest.raises(ValueError, match="unknown field"):
        SampleConfig.from_dict({"kk": 3})
    with pytest.raises(ValueError, match="k must be"):
        SampleConfig.from_dict({"k": 0})
    with pytest.raises(ValueError, match="filter must be"):
        SampleConfig.from_dict({"filter": "judge"})


def test_the_toy_teacher_samples_the_principled_action_and_the_filter_keeps_what_the_block_caused(toy_dir):
    tokenizer, model = load_model(toy_dir)
    records = toyworld.heldout_records(0, 1)
    config = SampleConfig(k=4, temperature=1.0, top_p=1.0, max_new_tokens=16, min_margin=0.05, max_teacher_nll=3.0)
    per_record = sample_targets(model, tokenizer, records, config)
    assert len(per_record) == len(records)
    kept = [s for samples in per_record for s in samples if s.kept]
    assert all(len(samples) == config.k for samples in per_record)
    assert kept, [[(s.text, s.reason) for s in samples] for samples in per_record]
    for samples in per_record:
        for s in samples:
            if s.teacher_nll is not None:
                assert s.margin == pytest.approx(s.student_nll - s.teacher_nll)
            if s.kept:
                assert s.margin >= config.min_margin and s.teacher_nll <= config.max_teacher_nll
        texts = [s.text.strip() for s in samples if s.kept]
        assert len(texts) == len(set(texts)), "a repeat of a kept sample is rejected as a duplicate"
    # The taught toy teacher takes the principled tool with the block in context; the base without it does not.
    principled = {rule.principled for rule in toyworld.RULES}
    assert all(any(tool in s.text for tool in principled) for s in kept), [s.text for s in kept]
    # The same seed samples the same responses.
    again = sample_targets(model, tokenizer, records, config)
    assert [[s.text for s in samples] for samples in again] == [[s.text for s in samples] for samples in per_record]


def test_a_margin_no_sample_reaches_empties_the_set_and_says_why(toy_dir):
    tokenizer, model = load_model(toy_dir)
    records = toyworld.heldout_records(0, 1)[:2]
    per_record = sample_targets(model, tokenizer, records, SampleConfig(k=2, max_new_tokens=16, min_margin=50.0))
    reasons = {s.reason for samples in per_record for s in samples}
    assert not any(s.kept for samples in per_record for s in samples)
    assert reasons <= {"block-did-not-matter", "not-fluent", "unfinished", "empty"} and "block-did-not-matter" in reasons


def test_the_sample_targets_job_counts_kept_and_rejected_and_names_bad_input(toy_dir, tmp_path):
    data = tmp_path / "train.jsonl"
    rows = [{"messages": r.messages, "blocks": {str(k): v for k, v in r.blocks.items()}, "targets": r.targets,
             "meta": {"principles": ["P1"]}} for r in toyworld.heldout_records(0, 1)[:2]]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_job("sample_targets", {"model": str(toy_dir), "dataset": str(data), "config": {"k": 2, "max_new_tokens": 16}},
                     lambda e: None, lambda: False)
    stats = result["stats"]
    assert stats["states"] == 2 and stats["sampled"] == 4
    assert stats["kept"] + sum(stats["rejected"].values()) == stats["sampled"]
    assert len(result["records"]) == 2 and all(len(r) == 2 for r in result["records"])
    with pytest.raises(ProtocolError, match="unknown field"):
        run_job("sample_targets", {"model": str(toy_dir), "dataset": str(data), "config": {"samples": 2}}, lambda e: None, lambda: False)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(ProtocolError, match="no records"):
        run_job("sample_targets", {"model": str(toy_dir), "dataset": str(empty)}, lambda e: None, lambda: False)
