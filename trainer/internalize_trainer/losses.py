"""Token-level divergences between teacher and student, over target positions only.

Every function takes logits of shape (tokens, vocab) already gathered at the target positions and
returns the *sum* over tokens; the caller divides by the total number of target tokens of the whole
optimizer step, so gradient accumulation never reweights tokens by micro-batch size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def forward_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student): the student covers every action the teacher would take (off-policy default)."""
    t_logp = F.log_softmax(teacher_logits.float(), dim=-1)
    s_logp = F.log_softmax(student_logits.float(), dim=-1)
    return (t_logp.exp() * (t_logp - s_logp)).sum()


def reverse_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """KL(student || teacher): mode-seeking, the usual choice when the student generated the tokens."""
    t_logp = F.log_softmax(teacher_logits.float(), dim=-1)
    s_logp = F.log_softmax(student_logits.float(), dim=-1)
    return (s_logp.exp() * (s_logp - t_logp)).sum()


def generalized_jsd(student_logits: torch.Tensor, teacher_logits: torch.Tensor, beta: float = 0.5) -> torch.Tensor:
    """Generalized Jensen-Shannon divergence; beta → 0 approaches forward KL, beta → 1 reverse KL."""
    if beta <= 0.0:
        return forward_kl(student_logits, teacher_logits)
    if beta >= 1.0:
        return reverse_kl(student_logits, teacher_logits)
    t_logp = F.log_softmax(teacher_logits.float(), dim=-1)
    s_logp = F.log_softmax(student_logits.float(), dim=-1)
    mix = torch.logsumexp(torch.stack([s_logp + math.log(beta), t_logp + math.log(1 - beta)]), dim=0)
    kl_t = (t_logp.exp() * (t_logp - mix)).sum()
    kl_s = (s_logp.exp() * (s_logp - mix)).sum()
    return beta * kl_t + (1 - beta) * kl_s


def cross_entropy(student_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Summed cross-entropy of the target tokens (SFT, and the optional CE term)."""
    return F.cross_entropy(student_logits.float(), targets, reduction="sum")


def top_k_buckets(student_logits: torch.Tensor, t_values: torch.Tensor, t_indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Student and teacher log-probs over k + 1 buckets: the teacher's k likeliest tokens (from a top-k cache) and
    one bucket for every other token.

    Any divergence between the bucketed distributions is at most the full one (merging outcomes never increases
    an f-divergence) and equals it when the two agree on how they share the rest; `test_losses` and
    bench/train/top_k.py measure how close forward KL stays. The student's rest mass keeps its gradient, so it is
    still pushed off the tokens the teacher rules out.
    """
    s_logp = F.log_softmax(student_logits.float(), dim=-1)
    s_top = s_logp.gather(-1, t_indices)
    s_rest = torch.log((-torch.expm1(torch.logsumexp(s_top, dim=-1, keepdim=True))).clamp_min(1e-12))
    t_top = t_values.float()
    t_rest = torch.log((1.0 - t_top.exp().sum(-1, keepdim=True)).clamp_min(1e-12))
    return torch.cat([s_top, s_rest], dim=-1), torch.cat([t_top, t_rest], dim=-1)


def divergence(name: str, student_logits: torch.Tensor, teacher_logits: torch.Tensor, beta: float = 0.5) -> torch.Tensor:
    if name == "forward_kl":
        return forward_kl(student_logits, teacher_logits)
    if name == "reverse_kl":
        return reverse_kl(student_logits, teacher_logits)
    if name == "jsd":
        return generalized_jsd(student_logits, teacher_logits, beta)
    raise ValueError(f"unknown divergence {name!r}")
