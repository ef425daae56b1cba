"""Dataset records and their rendering into token ids with target masks.

A record is one trajectory in OpenAI-style messages (the student view), the principle blocks the
injection planner chose for its decision states, and which assistant turns are targets:

    {"messages": [...], "blocks": {"3": "P1: When ..."}, "targets": [4]}

`blocks` maps the index of an observation (a user or tool message) to the block appended to it in the
teacher view. With ephemeral persistence (the default, as in the paper) only the block of the
observation right before a target turn is present when that turn is scored; cumulative keeps every
earlier block too. The saved trajectory itself never holds principle text.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

BLOCK_OPEN = "<principles>"
BLOCK_CLOSE = "</principles>"


class DatasetError(ValueError):
    """A record that cannot be trained on; the message names the record and the field."""


@dataclass
class Record:
    messages: list[dict]
    blocks: dict[int, str]
    targets: list[int]

    @staticmethod
    def parse(raw: dict, where: str = "record") -> Record:
        if not isinstance(raw, dict) or not isinstance(raw.get("messages"), list):
            raise DatasetError(f"{where}: 'messages' must be a list of chat messages")
        messages = raw["messages"]
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "tool"):
                raise DatasetError(f"{where}: messages[{i}] needs a role of system, user, assistant or tool")
        blocks = {int(k): str(v) for k, v in (raw.get("blocks") or {}).items()}
        for k in blocks:
            if not 0 <= k < len(messages) or messages[k]["role"] not in ("user", "tool"):
                raise DatasetError(f"{where}: blocks[{k}] must point at a user or tool message")
        targets = raw.get("targets")
        if targets is None:
            targets = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
        targets = [int(t) for t in targets]
        for t in targets:
            if not 0 <= t < len(messages) or messages[t]["role"] != "assistant":
                raise DatasetError(f"{where}: targets must index assistant messages, {t} does not")
        if not targets:
            raise DatasetError(f"{where}: no target assistant turns (nothing to learn from this record)")
        return Record(messages=messages, blocks=blocks, targets=targets)


def with_block(message: dict, block: str) -> dict:
    """The message with a principle block appended to its content, on a copy."""
    out = copy.deepcopy(message)
    out["content"] = f"{out.get('content') or ''}\n{BLOCK_OPEN}\n{block}\n{BLOCK_CLOSE}"
    return out


def teacher_messages(record: Record, target: int, persistence: str = "ephemeral") -> list[dict]:
    """The teacher's context for one target turn: the student's messages with the planned blocks."""
    keys = [k for k in record.blocks if k < target]
    if persistence == "ephemeral":
        # Only the block of the latest observation before this turn, as the paper injects it.
        keys = [max(keys)] if keys else []
    messages = list(record.messages[: target + 1])
    for k in keys:
        messages[k] = with_block(messages[k], record.blocks[k])
    return messages


class TemplateError(ValueError):
    """The tokenizer cannot render chats (no chat template), or renders them inconsistently."""


def _render(tokenizer, messages: list[dict], add_generation_prompt: bool) -> list[int]:
    if not getattr(tokenizer, "chat_template", None):
        raise TemplateError(
            "the tokenizer has no chat template, so assistant turns cannot be located; use an instruct/chat "
            "model, or set tokenizer.chat_template to a Jinja template that renders tool calls"
        )
    ids = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=add_generation_prompt)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return list(ids)


@dataclass
class Rendered:
    """Token ids of a conversation and the positions of one target turn's tokens in them."""

    input_ids: list[int]
    target_start: int
    target_end: int

    @property
    def target_ids(self) -> list[int]:
        return self.input_ids[self.target_start : self.target_end]


def render_turn(tokenizer, messages: list[dict]) -> Rendered:
    """Renders messages whose last one is the target assistant turn; the target span is every token the
    turn adds after the generation prompt, its end-of-turn token included (even when it equals pad)."""
    prompt = _render(tokenizer, messages[:-1], add_generation_prompt=True)
    full = _render(tokenizer, messages, add_generation_prompt=False)
    if full[: len(prompt)] != prompt or len(full) <= len(prompt):
        raise TemplateError("the chat template does not render the prompt as a prefix of the full turn")
    return Rendered(input_ids=full, target_start=len(prompt), target_end=len(full))


@dataclass
class TrainingPair:
    """One target turn as the student and the teacher see it; the target tokens are the same in both."""

    student: Rendered
    teacher: Rendered


def build_pairs(tokenizer, record: Record, persistence: str = "ephemeral", max_length: int | None = None) -> list[TrainingPair]:
    pairs = []
    for target in record.targets:
        student = render_turn(tokenizer, record.messages[: target + 1])
        teacher = render_turn(tokenizer, teacher_messages(record, target, persistence))
        if student.target_ids != teacher.target_ids:
            raise DatasetError(
                f"turn {target}: teacher and student target tokens differ ({len(teacher.target_ids)} vs "
                f"{len(student.target_ids)} tokens); the principle block must not change the assistant turn"
            )
        if max_length is not None and len(teacher.input_ids) > max_length:
            # Keep the end: the target turn and the context nearest to it matter most.
            continue
        pairs.append(TrainingPair(student=student, teacher=teacher))
    return pairs


def pad_batch(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pads sequences; returns ids and the attention mask (padding never attended, never a target)."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def target_logits(logits: torch.Tensor, rendered: list[Rendered]) -> torch.Tensor:
    """Gathers, for each sequence, the logits that predict its target tokens (position t-1 predicts t)."""
    rows = [logits[i, r.target_start - 1 : r.target_end - 1] for i, r in enumerate(rendered)]
    return torch.cat(rows, dim=0)


def target_positions(rendered: list[Rendered], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(row, column) of every position that predicts a target token, in the order `target_logits` returns them."""
    rows = [torch.full((r.target_end - r.target_start,), i, dtype=torch.long) for i, r in enumerate(rendered)]
    cols = [torch.arange(r.target_start - 1, r.target_end - 1, dtype=torch.long) for r in rendered]
    return torch.cat(rows).to(device), torch.cat(cols).to(device)
