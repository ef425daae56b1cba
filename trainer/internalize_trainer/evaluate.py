"""Per-iteration evaluation and the collapse guard.

Internalization is measured without principles in context (held-out decision states), retention on
states no principle is about (probe NLL), and the collapse guard compares each iteration with
iteration 0 and stops the loop when retention or validity fall past a threshold.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from . import losses, toyworld
from .data import Record, build_pairs, target_logits
from .model import load_model


def evaluate_loaded(model, tokenizer, seed: int = 0, emit: Callable[[dict], None] = lambda e: None) -> dict:
    """Toy-world metrics of a model with a (possibly disabled) adapter. Each measurement is one
    `evaluate` progress step, so a host can show that the round is still scoring after training."""
    held, probe = toyworld.heldout_records(seed), toyworld.probe_records(seed)
    student = [("accuracy_without_principles", lambda: toyworld.accuracy(model, tokenizer, held, with_principles=False)),
               ("action_nll", lambda: toyworld.action_nll(model, tokenizer, held)),
               ("probe_nll", lambda: toyworld.probe_nll(model, tokenizer, probe)),
               ("", lambda: toyworld.action_profile(model, tokenizer, held))]
    base = [("teacher_accuracy_with_principles", lambda: toyworld.accuracy(model, tokenizer, held, with_principles=True)),
            ("base_accuracy_without_principles", lambda: toyworld.accuracy(model, tokenizer, held, with_principles=False)),
            ("base_action_nll", lambda: toyworld.action_nll(model, tokenizer, held)),
            ("base_probe_nll", lambda: toyworld.probe_nll(model, tokenizer, probe)),
            ("base_valid_action_rate", lambda: toyworld.action_profile(model, tokenizer, held)["valid_action_rate"])]
    with_base = hasattr(model, "disable_adapter")
    total = len(student) + (len(base) if with_base else 0)
    metrics: dict = {}

    def measure(steps: list, done: int) -> None:
        for i, (key, fn) in enumerate(steps):
            emit({"event": "progress", "phase": "evaluate", "step": done + i, "total": total})
            value = fn()
            if key:
                metrics[key] = value
            else:
                metrics.update(value)

    measure(student, 0)
    if with_base:
        with model.disable_adapter():
            measure(base, len(student))
    emit({"event": "progress", "phase": "evaluate", "step": total, "total": total})
    return metrics


@torch.no_grad()
def score_divergence(model, tokenizer, records: list[Record], persistence: str = "ephemeral") -> list[dict]:
    """Per decision state: how far the student (no principles) is from the teacher (principles in context),
    as the mean forward KL per target token. The injection preview shows where principles change the decision."""
    scores = []
    for r_index, record in enumerate(records):
        for target, pair in zip(record.targets, build_pairs(tokenizer, record, persistence), strict=True):
            student = target_logits(model(input_ids=torch.tensor([pair.student.input_ids])).logits, [pair.student])
            context = model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()
            with context:
                teacher = target_logits(model(input_ids=torch.tensor([pair.teacher.input_ids])).logits, [pair.teacher])
            kl = float(losses.forward_kl(student, teacher)) / len(pair.student.target_ids)
            scores.append({"record": r_index, "turn": target, "kl_per_token": kl, "tokens": len(pair.student.target_ids)})
    return scores


def evaluate_toy(model_dir: Path, adapter: str | None, seed: int = 0) -> dict:
    tokenizer, model = load_model(model_dir)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    return evaluate_loaded(model, tokenizer, seed)


@dataclass
class CollapseVerdict:
    collapsed: bool
    reasons: list[str]


def collapse_guard(iteration0: dict, current: dict, max_retention_drop: float = 0.05, max_validity_drop: float = 0.10) -> CollapseVerdict:
    """Compares an iteration with iteration 0; retention is probe NLL (lower is better), validity is
    the share of valid actions at intermediate states (higher is better)."""
    reasons = []
    base_nll, nll = iteration0.get("probe_nll"), current.get("probe_nll")
    if base_nll and nll is not None and nll > base_nll * (1 + max_retention_drop):
        reasons.append(f"probe NLL rose {100 * (nll / base_nll - 1):.1f}% (limit {100 * max_retention_drop:.0f}%)")
    base_valid, valid = iteration0.get("valid_action_rate"), current.get("valid_action_rate")
    if base_valid is not None and valid is not None and valid < base_valid - max_validity_drop:
        reasons.append(f"valid actions fell from {base_valid:.2f} to {valid:.2f} (limit {max_validity_drop:.2f})")
    return CollapseVerdict(collapsed=bool(reasons), reasons=reasons)
