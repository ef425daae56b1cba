"""Text generation from chat messages: the local LM backend's `generate` and the suite's sampler.

Batched, left-padded, with a KV cache; greedy (temperature 0) or sampled (temperature, top-p) with a
seeded generator, so a run is reproducible. A prompt longer than the model's context is cut by one
stated policy (`fit_context`) and the caller is told (a warning event), never silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .data import _render

#: What happens to a prompt that does not fit: the first message (the system turn) is kept whole when it
#: fits in half the budget, and the oldest tokens after it are dropped, so the latest observation and the
#: generation prompt survive; `max_new_tokens` is always reserved inside the context.
TRUNCATION_POLICY = ("keep the system turn and the most recent tokens; drop the oldest tokens in between, "
                     "reserving room for max_new_tokens")


@dataclass
class Generation:
    text: str
    tokens: int
    #: Prompt tokens dropped by the truncation policy (0 when the prompt fitted).
    truncated: int = 0


def context_size(model) -> int:
    return int(getattr(model.config, "max_position_embeddings", 2048) or 2048)


def fit_context(ids: list[int], head: int, limit: int) -> tuple[list[int], int]:
    """Applies TRUNCATION_POLICY to prompt ids: keeps `head` leading tokens (the system turn) when they fit in
    half of `limit`, then the last tokens; returns the ids and how many tokens were dropped."""
    if limit <= 0:
        raise ValueError("max_new_tokens leaves no room for the prompt in the model's context")
    if len(ids) <= limit:
        return ids, 0
    head = head if head <= limit // 2 else 0
    kept = ids[:head] + ids[len(ids) - (limit - head):]
    return kept, len(ids) - len(kept)


def _head_length(tokenizer, messages: list[dict]) -> int:
    if messages and messages[0].get("role") == "system" and len(messages) > 1:
        return len(_render(tokenizer, messages[:1], add_generation_prompt=False))
    return 0


@torch.no_grad()
def generate(model, tokenizer, conversations: list[list[dict]], max_new_tokens: int = 64, temperature: float = 0.0,
             top_p: float = 1.0, seed: int = 0, batch_size: int = 16,
             on_warning: Callable[[str], None] = lambda message: None) -> list[Generation]:
    """Continues each conversation with one assistant turn. temperature 0 is greedy decoding."""
    if max_new_tokens < 1:
        raise ValueError("max_new_tokens must be at least 1")
    generator = torch.Generator().manual_seed(seed)
    limit = context_size(model) - max_new_tokens
    prompts = []
    for i, messages in enumerate(conversations):
        ids = _render(tokenizer, messages, add_generation_prompt=True)
        ids, dropped = fit_context(ids, _head_length(tokenizer, messages), limit)
        if dropped:
            on_warning(f"prompt {i} has {len(ids) + dropped} tokens, more than the model's context of {context_size(model)} "
                       f"minus {max_new_tokens} new tokens; {dropped} tokens were dropped ({TRUNCATION_POLICY})")
        prompts.append((ids, dropped))
    out: list[Generation] = []
    for first in range(0, len(prompts), batch_size):
        chunk = prompts[first : first + batch_size]
        out += _generate_batch(model, tokenizer, chunk, max_new_tokens, temperature, top_p, generator)
    return out


def _generate_batch(model, tokenizer, chunk, max_new_tokens, temperature, top_p, generator) -> list[Generation]:
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    stops = {tokenizer.eos_token_id}
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in tokenizer.get_vocab() else None
    if end_of_turn is not None:
        stops.add(end_of_turn)
    width = max(len(ids) for ids, _ in chunk)
    # Left padding: every sequence's next token sits in the last column.
    input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
    mask = torch.zeros((len(chunk), width), dtype=torch.long)
    for i, (ids, _) in enumerate(chunk):
        input_ids[i, width - len(ids):] = torch.tensor(ids)
        mask[i, width - len(ids):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    produced: list[list[int]] = [[] for _ in chunk]
    # Rows still generating, by their index in `chunk`; a finished row leaves the batch (and the cache).
    alive = list(range(len(chunk)))
    past = None
    step_ids = input_ids
    for _ in range(max_new_tokens):
        # Only the last position's logits are needed: the vocabulary projection of a whole prompt is most of a prefill.
        result = model(input_ids=step_ids, attention_mask=mask, position_ids=positions, cache=past, use_cache=True,
                       logits_to_keep=1)
        past = result.cache
        nxt = _pick(result.logits[:, -1].float(), temperature, top_p, generator)
        keep = []
        for row, token in enumerate(nxt.tolist()):
            if token not in stops:
                produced[alive[row]].append(token)
                keep.append(row)
        if not keep:
            break
        mask = torch.cat([mask, torch.ones((len(alive), 1), dtype=torch.long)], dim=1)
        positions = positions[:, -1:] + 1
        step_ids = nxt.unsqueeze(-1)
        if len(keep) < len(alive):
            index = torch.tensor(keep)
            past.batch_select_indices(index)
            mask, positions, step_ids = mask[index], positions[index], step_ids[index]
            alive = [alive[row] for row in keep]
    return [Generation(text=tokenizer.decode(p, skip_special_tokens=True), tokens=len(p), truncated=dropped)
            for p, (_, dropped) in zip(produced, chunk, strict=True)]


def _pick(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator) -> torch.Tensor:
    if temperature <= 0:
        return logits.argmax(-1)
    probs = F.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        # Keep the smallest set of tokens whose mass reaches top_p (the first token always stays).
        drop = sorted_probs.cumsum(-1) - sorted_probs > top_p
        sorted_probs = sorted_probs.masked_fill(drop, 0.0)
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
