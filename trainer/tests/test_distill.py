import math
import shutil

import pytest
import torch

from internalize_trainer import toyworld
from internalize_trainer.config import DistillConfig
from internalize_trainer.distill import TrainingStopped, distill
from internalize_trainer.evaluate import collapse_guard, evaluate_loaded
from internalize_trainer.model import ModelError, load_model


@pytest.fixture(scope="module")
def baseline(toy_dir):
    tokenizer, model = load_model(toy_dir)
    held, probe = toyworld.heldout_records(0), toyworld.probe_records(0)
    return {
        "without": toyworld.accuracy(model, tokenizer, held, with_principles=False),
        "teacher": toyworld.accuracy(model, tokenizer, held, with_principles=True),
        "probe_nll": toyworld.probe_nll(model, tokenizer, probe),
    }


def run_regime(toy_dir, tmp_path, regime: str):
    result = distill(toy_dir, toyworld.distillation_records(0), DistillConfig(regime=regime), tmp_path / regime,
                     replay=toyworld.replay_records(0))
    return evaluate_loaded(result["model"], result["tokenizer"], 0), result


def test_the_taught_toy_model_follows_principles_only_when_they_are_in_context(baseline):
    assert baseline["teacher"] >= 0.9
    assert baseline["without"] <= 0.1


def test_one_off_policy_round_closes_at_least_half_the_gap_and_keeps_retention(toy_dir, tmp_path, baseline, capsys):
    metrics, result = run_regime(toy_dir, tmp_path, "off-policy")
    start, teacher = baseline["without"], baseline["teacher"]
    gained = metrics["accuracy_without_principles"]
    retention = metrics["probe_nll"] / baseline["probe_nll"]
    with capsys.disabled():
        print(f"\n[toy world] off-policy: without principles {start:.3f} -> {gained:.3f} (teacher {teacher:.3f}); "
              f"probe NLL ratio {retention:.3f}")
    assert gained - start >= 0.5 * (teacher - start)
    assert retention <= 1.05
    assert metrics["action_nll"] < metrics["base_action_nll"], "the principled action became likelier without principles"
    assert metrics["valid_action_rate"] >= metrics["base_valid_action_rate"] - 0.1
    assert metrics["premature_final_answer_rate"] <= 0.25
    assert (tmp_path / "off-policy" / "adapter" / "adapter_config.json").exists()
    assert (tmp_path / "off-policy" / "checkpoint-epoch1").exists()


@pytest.mark.parametrize("regime", ["sft", "on-policy"])
def test_the_baseline_regimes_train_and_report(toy_dir, tmp_path, baseline, regime, capsys):
    metrics, result = run_regime(toy_dir, tmp_path, regime)
    with capsys.disabled():
        print(f"\n[toy world] {regime}: without principles {baseline['without']:.3f} -> {metrics['accuracy_without_principles']:.3f}; "
              f"probe NLL ratio {metrics['probe_nll'] / baseline['probe_nll']:.3f}")
    assert math.isfinite(result["metrics"]["final_loss"])


def test_loss_is_normalized_over_the_whole_step_not_per_micro_batch(toy_dir, tmp_path):
    records = toyworld.distillation_records(0, n=8)
    common = dict(epochs=1, replay_weight=0.0, seed=3)
    one = distill(toy_dir, records, DistillConfig(batch_size=8, grad_accum=1, **common), tmp_path / "one")["model"]
    two = distill(toy_dir, records, DistillConfig(batch_size=3, grad_accum=3, **common), tmp_path / "two")["model"]
    a = {k: v for k, v in one.state_dict().items() if "lora" in k}
    b = {k: v for k, v in two.state_dict().items() if "lora" in k}
    assert a.keys() == b.keys() and a
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5), key


def test_a_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(toy_dir, tmp_path, monkeypatch):
    import internalize_trainer.distill as d

    calls = {"n": 0}
    real = d._divergence

    def poisoned(config, student, teacher):
        calls["n"] += 1
        value = real(config, student, teacher)
        return value * float("nan") if calls["n"] > 30 else value

    monkeypatch.setattr(d, "_divergence", poisoned)
    with pytest.raises(TrainingStopped, match="last good checkpoint .*checkpoint-epoch1.* was kept"):
        distill(toy_dir, toyworld.distillation_records(0), DistillConfig(epochs=2, batch_size=8, replay_weight=0.0), tmp_path / "nan")
    assert (tmp_path / "nan" / "checkpoint-epoch1" / "adapter_config.json").exists()


def test_missing_and_non_model_folders_get_one_clear_line(tmp_path, toy_dir):
    with pytest.raises(ModelError, match="no model at"):
        load_model(tmp_path / "absent")
    (tmp_path / "notes").mkdir()
    with pytest.raises(ModelError, match="has no config.json"):
        load_model(tmp_path / "notes")
    broken = tmp_path / "broken"
    shutil.copytree(toy_dir, broken)
    (broken / "config.json").write_text('{"architectures": ["BertModel"], "model_type": "bert"}')
    with pytest.raises(ModelError, match="causal language model is needed"):
        load_model(broken)


def test_collapse_guard_flags_retention_loss_against_iteration_zero():
    assert not collapse_guard({"probe_nll": 2.0}, {"probe_nll": 2.05}).collapsed
    verdict = collapse_guard({"probe_nll": 2.0, "valid_action_rate": 0.95}, {"probe_nll": 2.4, "valid_action_rate": 0.7})
    assert verdict.collapsed and len(verdict.reasons) == 2 and "20.0%" in verdict.reasons[0]


def test_a_round_saves_the_merged_student_and_a_stopped_run_resumes_from_its_adapter(toy_dir, tmp_path):
    records = toyworld.distillation_records(0, n=16)
    first = distill(toy_dir, records, DistillConfig(epochs=1, replay_weight=0.0), tmp_path / "first")
    merged = tmp_path / "first" / "merged"
    assert first["metrics"]["merged"] == str(merged)
    tokenizer, student = load_model(merged)  # the next iteration's base: an ordinary model folder
    assert toyworld.accuracy(student, tokenizer, toyworld.heldout_records(0, 2), with_principles=False) >= 0.0
    checkpoint = str(tmp_path / "first" / "checkpoint-epoch1")
    resumed = distill(toy_dir, records, DistillConfig(epochs=1, replay_weight=0.0, resume_from=checkpoint), tmp_path / "second")
    start = {k: v for k, v in first["model"].state_dict().items() if "lora_B" in k}
    again = {k: v for k, v in resumed["model"].state_dict().items() if "lora_B" in k}
    # A fresh run with the same seed reproduces `first` exactly, so a difference means it started from the checkpoint.
    assert start.keys() == again.keys()
    assert any(not torch.equal(start[k], again[k]) for k in start), "training continued from the saved adapter"
    with pytest.raises(Exception, match="is not a saved adapter"):
        distill(toy_dir, records, DistillConfig(resume_from=str(tmp_path)), tmp_path / "third")


def test_score_reports_per_step_divergence_that_a_round_shrinks(toy_dir, tmp_path):
    from internalize_trainer import jobs

    before = jobs.run("score", {"toy": True, "cache_dir": str(toy_dir.parent), "out_dir": str(tmp_path)}, lambda e: None, lambda: False)
    distill(toy_dir, toyworld.distillation_records(0), DistillConfig(), tmp_path / "round", replay=toyworld.replay_records(0))
    after = jobs.run("score", {"toy": True, "cache_dir": str(toy_dir.parent), "out_dir": str(tmp_path),
                               "adapter": str(tmp_path / "round" / "adapter")}, lambda e: None, lambda: False)
    assert len(before["scores"]) == len(after["scores"]) == 8  # 4 rules x 2 held-out states, one target turn each
    principled = [i for i, s in enumerate(before["scores"]) if s["turn"] == 4]
    mean = lambda scores: sum(scores[i]["kl_per_token"] for i in principled) / len(principled)  # noqa: E731
    assert mean(after["scores"]) < 0.5 * mean(before["scores"])


def test_target_logits_equal_the_full_forward_sliced_at_the_targets(toy_dir):
    from peft import LoraConfig, get_peft_model

    from internalize_trainer.data import build_pairs, pad_batch, target_logits
    from internalize_trainer.distill import TargetLogits

    tokenizer, base = load_model(toy_dir)
    model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    pairs = [p for r in toyworld.distillation_records(0, n=5) for p in build_pairs(tokenizer, r)]
    rendered = [p.teacher for p in pairs]
    ids, mask = pad_batch([r.input_ids for r in rendered], tokenizer.pad_token_id)
    with torch.no_grad():
        full = target_logits(model(input_ids=ids, attention_mask=mask).logits, rendered)
        gathered = TargetLogits(model)(ids, mask, rendered)
    assert gathered.shape == full.shape == (sum(len(r.target_ids) for r in rendered), len(tokenizer))
    assert torch.allclose(gathered, full, atol=1e-5)


def test_on_policy_sampling_with_the_kv_cache_draws_what_full_forwards_draw(toy_dir):
    import torch.nn.functional as F

    from internalize_trainer.data import build_pairs
    from internalize_trainer.distill import _on_policy_pair

    tokenizer, model = load_model(toy_dir)
    pair = build_pairs(tokenizer, toyworld.distillation_records(0, n=1)[0])[0]
    teacher_prompt = pair.teacher.input_ids[: pair.teacher.target_start]
    torch.manual_seed(11)
    cached = _on_policy_pair(model, tokenizer, pair, teacher_prompt, 12)
    # The naive sampler: a full forward over the whole sequence for every token, same random stream.
    torch.manual_seed(11)
    ids, naive = list(pair.student.input_ids[: pair.student.target_start]), []
    with torch.no_grad():
        for _ in range(12):
            probs = F.softmax(model(input_ids=torch.tensor([ids])).logits[0, -1].float(), dim=-1)
            nxt = int(torch.multinomial(probs, 1))
            naive.append(nxt)
            ids.append(nxt)
            if nxt == tokenizer.eos_token_id:
                break
    assert cached.student.target_ids == naive and naive
    assert cached.teacher.target_ids == naive
    assert cached.teacher.input_ids[: len(teacher_prompt)] == teacher_prompt


def test_an_on_policy_turn_needs_room_for_one_token():
    with pytest.raises(ValueError, match="on_policy_max_new_tokens must be at least 1"):
        DistillConfig.from_dict({"regime": "on-policy", "on_policy_max_new_tokens": 0})


def test_bf16_autocast_and_gradient_checkpointing_run_on_cpu(toy_dir, tmp_path):
    records = toyworld.distillation_records(0, n=8)
    common = dict(epochs=1, batch_size=4, replay_weight=0.0, save_merged=False, seed=5)
    plain = distill(toy_dir, records, DistillConfig(bf16=False, gradient_checkpointing=False, **common), tmp_path / "plain")
    checkpointed = distill(toy_dir, records, DistillConfig(bf16=False, gradient_checkpointing=True, **common), tmp_path / "ckpt")
    # Recomputing activations in the backward pass changes nothing but memory and time.
    a = {k: v for k, v in plain["model"].state_dict().items() if "lora" in k}
    b = {k: v for k, v in checkpointed["model"].state_dict().items() if "lora" in k}
    assert a.keys() == b.keys() and a
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5), key
    assert checkpointed["model"].get_base_model().is_activation_checkpointing
    half = distill(toy_dir, records, DistillConfig(bf16=True, gradient_checkpointing=True, **common), tmp_path / "bf16")
    assert math.isfinite(half["metrics"]["final_loss"])
    assert abs(half["metrics"]["final_loss"] - plain["metrics"]["final_loss"]) < 0.1 * abs(plain["metrics"]["final_loss"]) + 1e-3


def test_the_new_knobs_come_through_a_request(toy_dir):
    config = DistillConfig.from_dict({"bf16": True, "gradient_checkpointing": False, "device": "cpu", "teacher_top_k": 0})
    assert (config.bf16, config.gradient_checkpointing, config.device, config.teacher_top_k) == (True, False, "cpu", 0)
    assert DistillConfig().teacher_top_k > 0, "the teacher cache keeps the top-k by default"
