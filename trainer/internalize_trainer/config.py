"""Every knob of a distillation round, documented where it is declared."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Regime = Literal["off-policy", "on-policy", "sft"]
Divergence = Literal["forward_kl", "reverse_kl", "jsd"]
Persistence = Literal["ephemeral", "cumulative"]


@dataclass
class LoraConfig:
    """Low-rank adapter on the student; the teacher is the same weights with the adapter disabled."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    #: Module names to adapt; the defaults cover a Llama block's attention and MLP projections.
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


@dataclass
class DistillConfig:
    """One internalization round: teacher = base model with principles in context, student = adapter, none."""

    #: off-policy (default, the paper's stable choice): distill on teacher trajectories;
    #: on-policy: the student samples each action and the teacher scores it; sft: plain CE on teacher turns.
    regime: Regime = "off-policy"
    #: Token-level divergence between teacher and student on the target tokens.
    #: forward_kl = KL(teacher || student), the paper's off-policy choice; reverse_kl for on-policy; jsd with `beta`.
    divergence: Divergence = "forward_kl"
    #: Interpolation of the generalized Jensen-Shannon divergence (0 → forward KL, 1 → reverse KL).
    beta: float = 0.5
    #: Weight of an extra cross-entropy term on the teacher trajectory's tokens (0 disables it).
    ce_weight: float = 0.0
    #: On-policy: the most tokens the student samples at each decision state (it stops at end of turn).
    on_policy_max_new_tokens: int = 64
    #: Weight of a KL term toward the base model on general (replay) turns at every step: the guard against
    #: losing general ability while the principles move into the weights (0 disables it).
    replay_weight: float = 1.0
    #: Whether each step's principle block is dropped at the next step (ephemeral, the paper's) or kept.
    persistence: Persistence = "ephemeral"
    epochs: int = 2
    learning_rate: float = 1e-3
    #: Records per micro-batch and micro-batches per optimizer step; the loss is normalized by the total
    #: number of target tokens across all micro-batches of a step, so accumulation never reweights tokens.
    batch_size: int = 8
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    #: Also save the student merged into the base weights (`out_dir/merged`): the next iteration's base model.
    save_merged: bool = True
    #: Continue from an adapter a stopped or crashed run saved (a checkpoint folder), instead of a fresh one.
    resume_from: str | None = None
    #: Run each record's plain sequence once and start every turn's teacher pass from its KV cache
    #: (exact; off only to measure what it saves).
    reuse_prefix: bool = True
    #: Teacher log-probs are computed once and kept as the top-k per position across epochs (0 = full vocab);
    #: the loss compares those k tokens and one bucket for the rest of the vocabulary. On SmolLM2-135M, 256 keeps
    #: forward KL within 4% of the full one (below it, never above) and its gradient at cosine 0.9998, in 1/64 of
    #: the memory of the full vocabulary (bench/train/top_k.py, test_losses).
    teacher_top_k: int = 256
    #: Where to train: a torch device name; None = the GPU when one is visible (under torchrun, the process's
    #: local one), else the CPU.
    device: str | None = None
    #: bf16 autocast for the forward passes (the losses stay in fp32); None = on when training on a GPU.
    bf16: bool | None = None
    #: Recompute each layer's activations in the backward pass instead of keeping them: much less memory for
    #: about a third more compute; None = on when training on a GPU.
    gradient_checkpointing: bool | None = None
    #: CPU runs: return freed buffers to the system at once (glibc), so the resident set stays at the step's true
    #: peak (SmolLM2-135M, batch 4 × 350 tokens: 2.9 GB instead of 4.8 GB) for about 1.5× the training time.
    lean_memory: bool = False
    seed: int = 0
    lora: LoraConfig = field(default_factory=LoraConfig)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict) -> DistillConfig:
        """Builds a config from a request's params; unknown keys are an error that names them."""
        known = {f for f in DistillConfig.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown distillation setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        if "lora" in values and isinstance(values["lora"], dict):
            values["lora"] = LoraConfig(**values["lora"])
        config = DistillConfig(**values)
        if config.regime not in ("off-policy", "on-policy", "sft"):
            raise ValueError(f"regime must be off-policy, on-policy or sft, not {config.regime!r}")
        if config.on_policy_max_new_tokens < 1:
            raise ValueError(f"on_policy_max_new_tokens must be at least 1, not {config.on_policy_max_new_tokens}")
        if config.divergence not in ("forward_kl", "reverse_kl", "jsd"):
            raise ValueError(f"divergence must be forward_kl, reverse_kl or jsd, not {config.divergence!r}")
        return config
