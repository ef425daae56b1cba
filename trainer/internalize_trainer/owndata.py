"""Scoring a round on the user's own data, where no principle has a checker.

Per principle, on the held-out decision states where the selector picked it (the dataset's
`meta.principles`), with the recorded action as the target:

    divergence score = 1 - KL(teacher || student) / KL(teacher || base)

The teacher and the base are the *original* base model (iteration 0), with and without the step's
principle block; the student is this iteration's merged model, without it. Anchoring both to the
original base keeps scores comparable across iterations, so a principle learned in iteration 1 and
forgotten in iteration 3 shows it. The score is labelled "divergence": it says how much of the
principle's effect on the next action moved into the weights, not whether the action succeeds.

With `answers` > 0, the base and the student also answer (greedily, without principles) up to that many held-out
states where the selector picked a principle: the LLM judge on the TypeScript side grades both answers for
following each principle (the "llm-judge" score, beside the divergence score).

Also measured: held-out action NLL without principles (student vs base), and retention, the NLL of the
base model's own answers to general prompts it never trained on (recipe.py's probe), which the collapse
guard compares with iteration 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import torch
import torch.nn.functional as F

from . import losses
from .data import Record, build_pairs, render_turn, target_logits
from .evaluate import collapse_guard
from .generate import generate
from .suites.coding import general_prompts

Event = Callable[[dict], None]


def general_records(model, tokenizer, max_new_tokens: int = 48, emit: Event = lambda e: None,
                    prompts: int = 0) -> tuple[list[dict], list[dict]]:
    """(replay, retention) records: the model's own greedy answers to the general prompts. Replay keeps the
    student near the base during training; retention is never trained on and measures what was lost.
    `prompts` > 0 takes only the first that many of each set (a quick round: fewer answers, a noisier retention)."""
    replay_prompts, heldout_prompts = general_prompts()
    if prompts > 0:
        replay_prompts, heldout_prompts = replay_prompts[:prompts], heldout_prompts[:prompts]

    def answers(prompts: list[str], phase: str) -> list[dict]:
        emit({"event": "progress", "phase": phase, "step": 0, "total": len(prompts)})
        conversations = [[{"role": "user", "content": q}] for q in prompts]
        out = generate(model, tokenizer, conversations, max_new_tokens, 0.0, 1.0, 0, 16,
                       lambda message: emit({"event": "log", "level": "warning", "message": message}))
        emit({"event": "progress", "phase": phase, "step": len(prompts), "total": len(prompts)})
        return [{"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": g.text}], "blocks": {}, "targets": [1]}
                for q, g in zip(prompts, out, strict=True) if g.text.strip()]

    return answers(replay_prompts, "replay"), answers(heldout_prompts, "retention")


def write_general(model_dir: Path, out_dir: Path, max_new_tokens: int = 48, emit: Event = lambda e: None,
                  prompts: int = 0) -> dict:
    """Writes replay.jsonl and retention.jsonl for a base model once; later calls read what is there
    (so a different `prompts` count needs its own `out_dir`)."""
    from .model import load_model

    out_dir.mkdir(parents=True, exist_ok=True)
    replay_path, retention_path = out_dir / "replay.jsonl", out_dir / "retention.jsonl"
    if not (replay_path.is_file() and retention_path.is_file()):
        tokenizer, model = load_model(model_dir)
        replay, retention = general_records(model, tokenizer, max_new_tokens, emit, prompts)
        for path, rows in ((replay_path, replay), (retention_path, retention)):
            tmp = path.with_suffix(".tmp")
            tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
            tmp.replace(path)
    count = lambda p: sum(1 for line in p.read_text().splitlines() if line.strip())  # noqa: E731
    return {"replay": str(replay_path), "retention": str(retention_path),
            "replay_records": count(replay_path), "retention_records": count(retention_path)}


def _logits(model, ids: list[int], rendered, device) -> torch.Tensor:
    return target_logits(model(input_ids=torch.tensor([ids], device=device)).logits, [rendered]).float()


def _nll(logits: torch.Tensor, target_ids: list[int]) -> float:
    return float(F.cross_entropy(logits, torch.tensor(target_ids, device=logits.device), reduction="sum"))


@torch.no_grad()
def score_heldout(base, student, tokenizer, records: list[Record], principles: list[list[str]], persistence: str = "ephemeral",
                  threshold: float = 0.5, device: str | torch.device = "cpu", emit: Event = lambda e: None,
                  should_stop: Callable[[], bool] = lambda: False) -> dict:
    """Per-principle divergence scores and held-out action NLL (student vs base), both without principles."""
    sums: dict[str, dict[str, float]] = {}
    nll_base = nll_student = 0.0
    tokens = 0
    for index, (record, ids) in enumerate(zip(records, principles, strict=True)):
        if should_stop():
            raise InterruptedError("scoring was cancelled")
        emit({"event": "progress", "phase": "evaluate", "step": index, "total": len(records)})
        for target, pair in zip(record.targets, build_pairs(tokenizer, record, persistence), strict=True):
            n = len(pair.student.target_ids)
            b = _logits(base, pair.student.input_ids, pair.student, device)
            s = _logits(student, pair.student.input_ids, pair.student, device)
            nll_base += _nll(b, pair.student.target_ids)
            nll_student += _nll(s, pair.student.target_ids)
            tokens += n
            if not ids or not any(k < target for k in record.blocks):
                continue
            t = _logits(base, pair.teacher.input_ids, pair.teacher, device)
            before, after = float(losses.forward_kl(b, t)), float(losses.forward_kl(s, t))
            for pid in ids:
                row = sums.setdefault(pid, {"kl_before": 0.0, "kl_after": 0.0, "tokens": 0, "states": 0})
                row["kl_before"] += before
                row["kl_after"] += after
                row["tokens"] += n
                row["states"] += 1
    emit({"event": "progress", "phase": "evaluate", "step": len(records), "total": len(records)})
    rows = []
    for pid in sorted(sums):
        row = sums[pid]
        before, after = row["kl_before"] / max(row["tokens"], 1), row["kl_after"] / max(row["tokens"], 1)
        # Below this the block barely moves the teacher: a ratio of two tiny numbers is noise, not a score.
        if before < 1e-4:
            score, reason = None, f"the principle changes the teacher's next action too little to score (KL {before:.2e} per token)"
        else:
            score, reason = 1 - after / before, f"{int(row['states'])} held-out states where the selector picked it"
        rows.append({"id": pid, "method": "divergence", "states": int(row["states"]), "tokens": int(row["tokens"]),
                     "kl_before": before, "kl_after": after, "score": score,
                     "internalized": score is not None and score >= threshold, "reason": reason})
    return {"principles": rows,
            "action_nll": {"base": nll_base / max(tokens, 1), "student": nll_student / max(tokens, 1), "tokens": tokens,
                           "states": len(records)}}


@torch.no_grad()
def retention_nll(model, tokenizer, records: list[Record], device: str | torch.device = "cpu") -> float:
    """Mean NLL per token of the records' target turns (the base model's own general answers)."""
    total, tokens = 0.0, 0
    for record in records:
        rendered = render_turn(tokenizer, record.messages[: record.targets[0] + 1])
        total += _nll(_logits(model, rendered.input_ids, rendered, device), rendered.target_ids)
        tokens += len(rendered.target_ids)
    return total / max(tokens, 1)


def heldout_answers(base, student, tokenizer, records: list[Record], principles: list[list[str]], limit: int,
                    max_new_tokens: int = 96, emit: Event = lambda e: None) -> list[dict]:
    """Greedy answers of the base and the student, both without principles, on the first `limit` held-out states
    that carry a block: what an LLM judge compares for following each picked principle."""
    chosen = [i for i, (r, ids) in enumerate(zip(records, principles, strict=True))
              if ids and any(k < r.targets[-1] for k in r.blocks)][:limit]
    if not chosen:
        return []
    prompts = [records[i].messages[: records[i].targets[-1]] for i in chosen]

    def warn(message: str) -> None:
        emit({"event": "log", "level": "warning", "message": message})

    emit({"event": "progress", "phase": "answers", "step": 0, "total": 2})
    from_base = generate(base, tokenizer, prompts, max_new_tokens, 0.0, 1.0, 0, 8, warn)
    emit({"event": "progress", "phase": "answers", "step": 1, "total": 2})
    from_student = generate(student, tokenizer, prompts, max_new_tokens, 0.0, 1.0, 0, 8, warn)
    emit({"event": "progress", "phase": "answers", "step": 2, "total": 2})
    return [{"record": i, "principles": principles[i], "base": b.text, "student": s.text}
            for i, b, s in zip(chosen, from_base, from_student, strict=True)]


def score_round(base_dir: Path, student_dir: Path, records: list[Record], principles: list[list[str]], retention: list[Record],
                persistence: str = "ephemeral", threshold: float = 0.5, max_retention_increase: float = 0.05,
                device: str | None = None, emit: Event = lambda e: None, should_stop: Callable[[], bool] = lambda: False,
                answers: int = 0, answer_tokens: int = 96) -> dict:
    """Loads the original base and this iteration's student and scores the round; returns the collapse verdict too."""
    from .model import load_model

    where = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    tokenizer, base = load_model(base_dir)
    _, student = load_model(student_dir)
    base.to(where)
    student.to(where)
    result = score_heldout(base, student, tokenizer, records, principles, persistence, threshold, where, emit, should_stop)
    if answers > 0:
        result["answers"] = heldout_answers(base, student, tokenizer, records, principles, answers, answer_tokens, emit)
    if retention:
        emit({"event": "progress", "phase": "retention", "step": 0, "total": 1})
        base_nll, student_nll = retention_nll(base, tokenizer, retention, where), retention_nll(student, tokenizer, retention, where)
        result["retention"] = {"base_nll": base_nll, "student_nll": student_nll, "ratio": student_nll / base_nll if base_nll > 0 else None}
        verdict = collapse_guard({"probe_nll": base_nll}, {"probe_nll": student_nll}, max_retention_drop=max_retention_increase)
        emit({"event": "progress", "phase": "retention", "step": 1, "total": 1})
    else:
        result["retention"] = None
        verdict = collapse_guard({}, {})
    result["collapse"] = asdict(verdict)
    return result
