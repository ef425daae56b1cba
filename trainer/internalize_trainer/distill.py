"""One internalization round, read top to bottom: load, pair, cache the teacher, train the adapter, save.

The teacher and the student are one model: the teacher is the base weights (LoRA adapter disabled)
reading the teacher view, with the principle block in context; the student is the adapter reading the
student view, without it. Both score the same target tokens, so the loss compares like with like.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from . import losses
from .config import DistillConfig
from .data import DatasetError, Record, Rendered, TrainingPair, build_pairs, pad_batch, target_positions
from .memory import lean_allocator
from .model import load_model

Event = Callable[[dict], None]


class TrainingStopped(RuntimeError):
    """Training stopped early; the message says why and which checkpoint was kept."""


@dataclass
class TeacherTargets:
    """The teacher's log-probs on one pair's target positions: full, or its top-k (indices and values)."""

    logprobs: torch.Tensor
    indices: torch.Tensor | None = None


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _keep(logp: torch.Tensor, top_k: int) -> TeacherTargets:
    if top_k > 0:
        values, indices = logp.topk(min(top_k, logp.shape[-1]), dim=-1)
        return TeacherTargets(values, indices)
    return TeacherTargets(logp)


def _causal_lm(model):
    """The causal LM under a PEFT wrapper (its LoRA layers are injected in place, so they still apply)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _teacher_weights(model):
    """The context in which `model` is the teacher: its adapter disabled, or as it is when it has none."""
    import contextlib

    return model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()


def _head(lm, hidden: torch.Tensor) -> torch.Tensor:
    logits = lm.get_output_embeddings()(hidden)
    cap = getattr(lm.config, "final_logit_softcapping", None)
    return torch.tanh(logits / cap) * cap if cap else logits


class TargetLogits(torch.nn.Module):
    """The logits that predict each sequence's target tokens, as (tokens, vocab).

    The decoder runs over the whole batch, but the output head is applied only at the positions that predict
    a target token: with a 49k vocabulary the full [batch, seq, vocab] logits of a 400-token sequence are 80 MB
    per row (and as much again for their gradient), while the targets are a few dozen positions. A module, so
    that DDP can wrap it and see the forward pass.
    """

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, mask: torch.Tensor, rendered: list[Rendered]) -> torch.Tensor:
        lm = _causal_lm(self.model)
        hidden = lm.get_decoder()(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
        rows, cols = target_positions(rendered, ids.device)
        return _head(lm, hidden[rows, cols])


@torch.no_grad()
def teacher_targets(model, pairs: list[TrainingPair], top_k: int, groups: list[list[int]] | None = None,
                    batch_size: int = 8, pad_id: int = 0, device: torch.device | str = "cpu",
                    autocast: bool = False) -> list[TeacherTargets]:
    """Scores every pair once with the adapter disabled (a model without adapter as it is); reused by every
    epoch (the teacher never changes).

    With `groups` (the pairs of one record), the record's plain sequence runs once and each turn's
    teacher pass starts from its KV cache: a step-wise teacher's context is the plain prefix up to the
    observation plus that turn's block, so only the block and what follows it are computed again.
    """
    import copy

    out: list[TeacherTargets | None] = [None] * len(pairs)
    groups = groups or [[i] for i in range(len(pairs))]
    # Similar lengths side by side: less padding in each batch (the order of the cache does not matter).
    singles = sorted((g[0] for g in groups if len(g) == 1), key=lambda i: len(pairs[i].teacher.input_ids))
    scorer, lm = TargetLogits(model), _causal_lm(model)
    device = torch.device(device)
    with _teacher_weights(model), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
        # One-turn records: plain batched passes (padding on the right never changes earlier positions).
        for first in range(0, len(singles), batch_size):
            chunk = [pairs[i].teacher for i in singles[first : first + batch_size]]
            ids, mask = pad_batch([t.input_ids for t in chunk], pad_id)
            logp = F.log_softmax(scorer(ids.to(device), mask.to(device), chunk).float(), dim=-1)
            for i, rows in zip(singles[first : first + batch_size], logp.split([len(t.target_ids) for t in chunk]), strict=True):
                out[i] = _keep(rows, top_k)
        for group in (g for g in groups if len(g) > 1):
            plain = max((pairs[i].student.input_ids for i in group), key=len)
            cache = lm.get_decoder()(input_ids=torch.tensor([plain], device=device), use_cache=True).cache
            for i in group:
                teacher = pairs[i].teacher
                # Reuse what the teacher shares with the plain sequence, but recompute from the position
                # that predicts the first target token, whose context may hold the block.
                reuse = min(_common_prefix(teacher.input_ids, plain), teacher.target_start - 1)
                past = copy.deepcopy(cache)
                if reuse < len(plain):
                    past.crop(reuse - len(plain))  # transformers 5 crops by a negative count of tokens to drop
                hidden = lm.get_decoder()(input_ids=torch.tensor([teacher.input_ids[reuse:]], device=device),
                                          cache=past, use_cache=True).last_hidden_state[0]
                rows = _head(lm, hidden[teacher.target_start - 1 - reuse : teacher.target_end - 1 - reuse])
                out[i] = _keep(F.log_softmax(rows.float(), dim=-1), top_k)
    return [t for t in out if t is not None]


def _divergence(config: DistillConfig, student: torch.Tensor, teacher: list[TeacherTargets]) -> torch.Tensor:
    t_logp = torch.cat([t.logprobs for t in teacher], dim=0).to(student.device)
    if teacher[0].indices is not None:
        # Top-k cache: compare over the teacher's k likeliest tokens plus one bucket for the rest.
        indices = torch.cat([t.indices for t in teacher], dim=0).to(student.device)
        student, t_logp = losses.top_k_buckets(student, t_logp, indices)
    return losses.divergence(config.divergence, student, t_logp, config.beta)


def _on_policy_pair(model, tokenizer, pair: TrainingPair, teacher_prompt: list[int], max_new: int,
                    device: torch.device | str = "cpu") -> TrainingPair:
    """The student samples the turn at this decision state (temperature 1, KV cache); the teacher will score it."""
    prompt = pair.student.input_ids[: pair.student.target_start]
    end = tokenizer.eos_token_id
    sampled: list[int] = []
    with torch.no_grad():
        out = model(input_ids=torch.tensor([prompt], device=device), use_cache=True, logits_to_keep=1)
        for _ in range(max_new):
            probs = F.softmax(out.logits[0, -1].float(), dim=-1)
            nxt = int(torch.multinomial(probs, 1))
            sampled.append(nxt)
            if nxt == end:
                break
            out = model(input_ids=torch.tensor([[nxt]], device=device), cache=out.cache, use_cache=True)
    student = Rendered(prompt + sampled, len(prompt), len(prompt) + len(sampled))
    teacher = Rendered(teacher_prompt + sampled, len(teacher_prompt), len(teacher_prompt) + len(sampled))
    return TrainingPair(student=student, teacher=teacher)


def distill(model_dir: str | Path, records: list[Record], config: DistillConfig, out_dir: str | Path,
            on_event: Event = lambda e: None, should_stop: Callable[[], bool] = lambda: False,
            replay: list[Record] | None = None, teacher_model=None) -> dict:
    """Trains a LoRA adapter on `records` and saves it under `out_dir/adapter`; returns the run's metrics.

    `replay` holds general turns (no principles) on which the student is kept close to the base model.
    `teacher_model`, when given, is a separate model that scores the teacher views and the replay turns instead
    of `model_dir`'s weights with the adapter disabled: a continual iteration whose student starts from the
    merged previous student can keep the original base model as its teacher (an anchored teacher).
    """
    if config.lean_memory and not lean_allocator():
        on_event({"event": "log", "level": "warning", "message": "lean_memory needs glibc's malloc (Linux); left as it is"})
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer, base = load_model(model_dir)

    per_record = [_pairs_or_explain(tokenizer, r, i, config) for i, r in enumerate(records)]
    pairs = [p for group in per_record for p in group]
    groups, first = [], 0
    for group in per_record:
        groups.append(list(range(first, first + len(group))))
        first += len(group)
    if not pairs:
        raise DatasetError("the dataset has no usable target turns; every record was empty or too long")

    from peft import LoraConfig as PeftLoraConfig
    from peft import PeftModel, get_peft_model

    if config.resume_from:
        if not (Path(config.resume_from) / "adapter_config.json").is_file():
            raise DatasetError(f"resume_from: {config.resume_from} is not a saved adapter (no adapter_config.json)")
        model = PeftModel.from_pretrained(base, config.resume_from, is_trainable=True)
    else:
        model = get_peft_model(base, PeftLoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
                                                    target_modules=config.lora.target_modules, task_type="CAUSAL_LM"))
    rank, world = _distributed()
    device = _device(config, rank)
    on_gpu = device.type == "cuda"
    autocast = config.bf16 if config.bf16 is not None else on_gpu
    if config.gradient_checkpointing if config.gradient_checkpointing is not None else on_gpu:
        # Non-reentrant checkpointing needs no input that requires grad, so the frozen embeddings can stay frozen.
        _causal_lm(model).activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    model.to(device)
    teacher_model = model if teacher_model is None else teacher_model.to(device).eval()
    on_event({"event": "log", "level": "info",
              "message": f"{len(pairs)} target turns from {len(records)} records; regime {config.regime}; {world} process(es)"})

    loop_started = time.perf_counter()
    saving = 0.0  # checkpoint writes are not training: kept out of train_loop_s
    teacher_s = time.perf_counter()
    teacher = (teacher_targets(teacher_model, pairs, config.teacher_top_k, groups if config.reuse_prefix else None,
                               config.batch_size, tokenizer.pad_token_id, device, autocast)
               if config.regime == "off-policy" else None)
    replay_pairs = [p for i, r in enumerate(replay or []) for p in _pairs_or_explain(tokenizer, r, i, config)]
    teacher_s = time.perf_counter() - teacher_s
    base_on_replay = (teacher_targets(teacher_model, replay_pairs, config.teacher_top_k, None, config.batch_size, tokenizer.pad_token_id,
                                      device, autocast)
                      if replay_pairs and config.replay_weight > 0 else [])
    scorer = TargetLogits(model)
    trained = scorer
    if world > 1:
        # Every process sees the same step order (same seed) and takes its share of each step's turns;
        # DDP averages gradients, so each share's loss is scaled by the world size to keep the global sum.
        trained = torch.nn.parallel.DistributedDataParallel(scorer, device_ids=[device.index] if on_gpu else None)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=config.learning_rate)
    per_step = config.batch_size * config.grad_accum
    total_steps = config.epochs * math.ceil(len(pairs) / per_step)
    step, tokens_seen, started = 0, 0, time.perf_counter()
    last_good: Path | None = None
    history: list[float] = []
    model.train()
    for epoch in range(config.epochs):
        order = list(range(len(pairs)))
        random.shuffle(order)
        for first in range(0, len(order), per_step):
            if should_stop():
                # Cancelled, or the parent process went away: keep what was learned so far.
                interrupted = out / f"checkpoint-interrupted-step{step}"
                model.save_pretrained(interrupted)
                on_event({"event": "checkpoint", "path": str(interrupted), "epoch": epoch + 1, "step": step})
                raise TrainingStopped(f"stopped at step {step}; the adapter so far is saved in {interrupted}")
            chunk = order[first : first + per_step]
            step_pairs = {i: pairs[i] for i in chunk}
            if config.regime == "on-policy":
                model.eval()
                step_pairs = {
                    i: _on_policy_pair(model, tokenizer, pairs[i], pairs[i].teacher.input_ids[: pairs[i].teacher.target_start],
                                       config.on_policy_max_new_tokens, device)
                    for i in chunk
                }
                model.train()
            # Normalize by every target token of the optimizer step, not per micro-batch.
            n_tokens = sum(len(step_pairs[i].student.target_ids) for i in chunk)
            optimizer.zero_grad()
            step_loss = 0.0
            # A step's gradient is a sum over its turns, so their order is free: sorted by length, each
            # micro-batch pads less.
            mine = sorted(chunk[rank::world], key=lambda i: len(step_pairs[i].student.input_ids))
            micro = [mine[i : i + config.batch_size] for i in range(0, len(mine), config.batch_size)] or [[]]
            for batch in micro:
                if not batch:
                    # This process has no turn in this step; it still joins the gradient all-reduce.
                    loss = sum(p.sum() * 0.0 for p in model.parameters() if p.requires_grad)
                else:
                    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                        loss = _batch_loss(trained, teacher_model, tokenizer, config, [step_pairs[i] for i in batch], teacher, batch,
                                           device)
                    loss = loss / n_tokens * world
                loss.backward()
                step_loss += float(loss.detach()) / world
            if base_on_replay:
                picks = random.sample(range(len(replay_pairs)), min(config.batch_size, len(replay_pairs)))
                chosen = [replay_pairs[i] for i in picks]
                r_ids, r_mask = pad_batch([p.student.input_ids for p in chosen], tokenizer.pad_token_id)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                    r_student = scorer(r_ids.to(device), r_mask.to(device), [p.student for p in chosen])
                r_tokens = sum(len(p.student.target_ids) for p in chosen)
                r_loss = config.replay_weight * _divergence(config, r_student, [base_on_replay[i] for i in picks]) / r_tokens
                r_loss.backward()
                step_loss += float(r_loss.detach())
            if not math.isfinite(step_loss):
                raise TrainingStopped(
                    f"the loss became {step_loss} at step {step + 1}; training stopped and the last good checkpoint "
                    f"({last_good or 'none yet'}) was kept. Lower learning_rate (now {config.learning_rate}) or check the data."
                )
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            optimizer.step()
            step += 1
            tokens_seen += sum(len(step_pairs[i].student.input_ids) for i in chunk)
            history.append(step_loss)
            elapsed = time.perf_counter() - started
            on_event({"event": "progress", "phase": "train", "epoch": epoch + 1, "step": step, "total": total_steps,
                      "loss": step_loss, "tokens_per_s": tokens_seen / max(elapsed, 1e-9),
                      "eta_s": elapsed / step * (total_steps - step)})
        last_good = out / f"checkpoint-epoch{epoch + 1}"
        saved = time.perf_counter()
        model.save_pretrained(last_good)
        saving += time.perf_counter() - saved
        on_event({"event": "checkpoint", "path": str(last_good), "epoch": epoch + 1, "step": step})
    train_loop_s = time.perf_counter() - loop_started - saving
    model.eval()
    adapter = out / "adapter"
    if rank != 0:
        return {"model": model, "tokenizer": tokenizer, "metrics": {"steps": step, "rank": rank}}
    model.save_pretrained(adapter)
    metrics = {"steps": step, "target_turns": len(pairs), "final_loss": history[-1] if history else None,
               "tokens_per_s": tokens_seen / max(time.perf_counter() - started, 1e-9), "train_loop_s": train_loop_s, "teacher_s": teacher_s,
               "adapter": str(adapter)}
    if config.save_merged:
        # The next iteration starts from this student: the adapter folded into a plain model folder.
        import copy

        merged = out / "merged"
        copy.deepcopy(model).merge_and_unload().save_pretrained(merged)
        tokenizer.save_pretrained(merged)
        metrics["merged"] = str(merged)
    return {"model": model, "tokenizer": tokenizer, "metrics": metrics}


def _distributed() -> tuple[int, int]:
    """(rank, world size): under torchrun/accelerate launch, joins the process group (gloo on CPU, nccl on GPU)."""
    import os

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _device(config: DistillConfig, rank: int) -> torch.device:
    """config.device, else the GPU when one is visible (under torchrun, this process's local one), else the CPU."""
    import os

    if config.device:
        return torch.device(config.device)
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def _pairs_or_explain(tokenizer, record: Record, index: int, config: DistillConfig) -> list[TrainingPair]:
    try:
        return build_pairs(tokenizer, record, config.persistence)
    except DatasetError as error:
        raise DatasetError(f"record {index}: {error}") from error


def _batch_loss(scorer, teacher_model, tokenizer, config: DistillConfig, batch: list[TrainingPair], teacher, indices: list[int],
                device: torch.device) -> torch.Tensor:
    """Summed loss of one micro-batch; `scorer` is the student's (possibly DDP-wrapped) TargetLogits, `teacher_model`
    scores on-policy turns (the student's own model with its adapter disabled, or a separate teacher)."""
    ids, mask = pad_batch([p.student.input_ids for p in batch], tokenizer.pad_token_id)
    student = scorer(ids.to(device), mask.to(device), [p.student for p in batch])
    targets = torch.tensor([t for p in batch for t in p.student.target_ids], device=device)
    if config.regime == "sft":
        return losses.cross_entropy(student, targets)
    if config.regime == "on-policy":
        with torch.no_grad(), _teacher_weights(teacher_model):
            t_ids, t_mask = pad_batch([p.teacher.input_ids for p in batch], tokenizer.pad_token_id)
            t_logits = TargetLogits(teacher_model)(t_ids.to(device), t_mask.to(device), [p.teacher for p in batch])
        loss = losses.reverse_kl(student, t_logits)
    else:
        loss = _divergence(config, student, [teacher[i] for i in indices])
    if config.ce_weight > 0:
        loss = loss + config.ce_weight * losses.cross_entropy(student, targets)
    return loss
