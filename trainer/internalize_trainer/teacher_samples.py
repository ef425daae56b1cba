"""Teacher-sample targets for a round on the user's own data, and the divergence filter that keeps the good ones.

The recorded action is one sample of what a good agent did. A teacher sample is what the round's teacher (the
original base model with that step's principle block in context: the anchored teacher) writes at the same
decision state. The teacher samples `k` responses per training state (temperature sampling, seeded), and each is
measured on its own tokens y_1..y_n:

    teacher NLL  = -1/n Σ log p_teacher(y_t | state + block, y_<t)
    student NLL  = -1/n Σ log p_base(y_t | state, y_<t)             (the same base model, without the block)
    margin       = student NLL - teacher NLL = 1/n Σ log p_teacher(y_t) / p_base(y_t)

Over samples drawn from the teacher, the margin's expectation is KL(teacher || base) per token, the gap the
student is trained to close, so a single sample's margin says how much *this* response owes to the block.

The divergence filter keeps a sample when
  - it finished (the model ended its turn within `max_new_tokens`) and is not empty,
  - it is fluent: teacher NLL <= `max_teacher_nll` (a low-probability tail of temperature sampling is not
    what the teacher would say),
  - the block mattered: margin >= `min_margin` (without the block the base model would be less likely to say it),
  - it is not a repeat of a sample already kept for the same state.
Each rejected sample keeps its reason. With the filter `none` every finished, non-empty sample is returned as
a candidate for another judge (the LLM judge on the TypeScript side).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from .data import Record, build_pairs, target_logits, teacher_messages
from .generate import generate

Event = Callable[[dict], None]


@dataclass
class SampleConfig:
    #: Responses sampled per training state.
    k: int = 4
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 96
    seed: int = 0
    #: `divergence` keeps by the criterion above; `none` returns every usable sample for another judge.
    filter: str = "divergence"
    #: Nats per token by which the block must make the sample likelier (the sample's estimate of KL(teacher||base)).
    min_margin: float = 0.02
    #: Nats per token above which the teacher itself finds the sample unlikely (not fluent).
    max_teacher_nll: float = 2.5
    batch_size: int = 8

    @staticmethod
    def from_dict(raw: dict) -> SampleConfig:
        known = set(SampleConfig.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"sample config: unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}")
        config = SampleConfig(**raw)
        if not (isinstance(config.k, int) and 1 <= config.k <= 32):
            raise ValueError(f"sample config: k must be a whole number from 1 to 32, not {config.k!r}")
        if not (isinstance(config.temperature, int | float) and config.temperature > 0):
            raise ValueError(f"sample config: temperature must be above 0 (sampling), not {config.temperature!r}")
        if not (isinstance(config.top_p, int | float) and 0 < config.top_p <= 1):
            raise ValueError(f"sample config: top_p must be in (0, 1], not {config.top_p!r}")
        if not (isinstance(config.max_new_tokens, int) and config.max_new_tokens >= 1):
            raise ValueError(f"sample config: max_new_tokens must be a positive whole number, not {config.max_new_tokens!r}")
        if config.filter not in ("divergence", "none"):
            raise ValueError(f"sample config: filter must be 'divergence' or 'none', not {config.filter!r}")
        return config


@dataclass
class Sample:
    text: str
    tokens: int
    teacher_nll: float | None
    student_nll: float | None
    margin: float | None
    kept: bool
    #: Why it was rejected ('unfinished', 'empty', 'not-fluent', 'block-did-not-matter', 'duplicate'), or 'kept'.
    reason: str


def judge(finished: bool, text: str, teacher_nll: float, student_nll: float, seen: set[str], config: SampleConfig) -> str:
    """The divergence filter's verdict on one sample: 'kept' or the reason it is rejected (the first that applies)."""
    if not text.strip():
        return "empty"
    if not finished:
        return "unfinished"
    if config.filter == "none":
        return "kept"
    if teacher_nll > config.max_teacher_nll:
        return "not-fluent"
    if student_nll - teacher_nll < config.min_margin:
        return "block-did-not-matter"
    if text.strip() in seen:
        return "duplicate"
    return "kept"


def _mean_nll(logits: torch.Tensor, target_ids: list[int]) -> float:
    return float(F.cross_entropy(logits.float(), torch.tensor(target_ids, device=logits.device), reduction="mean"))


@torch.no_grad()
def sample_targets(teacher, tokenizer, records: list[Record], config: SampleConfig, persistence: str = "ephemeral",
                   device: str | torch.device = "cpu", emit: Event = lambda e: None,
                   should_stop: Callable[[], bool] = lambda: False) -> list[list[Sample]]:
    """k teacher samples per record's (last) target turn, each measured and judged; one list per record, in order."""
    out: list[list[Sample]] = []
    for index, record in enumerate(records):
        if should_stop():
            raise InterruptedError("sampling was cancelled")
        emit({"event": "progress", "phase": "sample", "step": index, "total": len(records)})
        target = record.targets[-1]
        prompt = teacher_messages(record, target, persistence)[:target]
        generations = generate(teacher, tokenizer, [prompt] * config.k, config.max_new_tokens, config.temperature,
                               config.top_p, config.seed * 100_003 + index, config.batch_size,
                               lambda message, at=index: emit({"event": "log", "level": "warning", "message": f"state {at}: {message}"}))
        seen: set[str] = set()
        samples: list[Sample] = []
        for g in generations:
            finished = g.tokens < config.max_new_tokens
            if not g.text.strip() or not finished:
                samples.append(Sample(g.text, g.tokens, None, None, None, False, judge(finished, g.text, 0.0, 0.0, seen, config)))
                continue
            candidate = copy.deepcopy(record)
            candidate.messages = candidate.messages[: target + 1]
            candidate.messages[target] = {"role": "assistant", "content": g.text}
            candidate.targets = [target]
            pair = build_pairs(tokenizer, candidate, persistence)[0]
            t = target_logits(teacher(input_ids=torch.tensor([pair.teacher.input_ids], device=device)).logits, [pair.teacher])
            s = target_logits(teacher(input_ids=torch.tensor([pair.student.input_ids], device=device)).logits, [pair.student])
            teacher_nll, student_nll = _mean_nll(t, pair.teacher.target_ids), _mean_nll(s, pair.student.target_ids)
            verdict = judge(True, g.text, teacher_nll, student_nll, seen, config)
            if verdict == "kept":
                seen.add(g.text.strip())
            samples.append(Sample(g.text, g.tokens, teacher_nll, student_nll, student_nll - teacher_nll, verdict == "kept", verdict))
        out.append(samples)
    emit({"event": "progress", "phase": "sample", "step": len(records), "total": len(records)})
    return out


def sample_round(model_dir, records: list[Record], config: SampleConfig, persistence: str = "ephemeral",
                 device: str | None = None, emit: Event = lambda e: None,
                 should_stop: Callable[[], bool] = lambda: False) -> dict:
    """Loads the teacher (the original base model) and samples; the result counts what was kept and why not."""
    from .model import load_model

    where = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    tokenizer, teacher = load_model(model_dir)
    teacher.to(where)
    teacher.eval()
    per_record = sample_targets(teacher, tokenizer, records, config, persistence, where, emit, should_stop)
    rejected: dict[str, int] = {}
    for samples in per_record:
        for s in samples:
            if not s.kept:
                rejected[s.reason] = rejected.get(s.reason, 0) + 1
    sampled = sum(len(s) for s in per_record)
    kept = sum(1 for samples in per_record for s in samples if s.kept)
    return {"filter": config.filter, "config": asdict(config),
            "records": [[asdict(s) for s in samples] for samples in per_record],
            "stats": {"states": len(records), "sampled": sampled, "kept": kept, "rejected": rejected,
                      "states_with_kept": sum(1 for samples in per_record if any(s.kept for s in samples))}}
