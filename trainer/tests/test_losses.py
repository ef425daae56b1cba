import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from internalize_trainer import losses
from internalize_trainer.config import DistillConfig

MODELS = Path(__file__).resolve().parents[2] / ".cache" / "models"


def test_divergences_are_zero_for_identical_distributions_and_positive_otherwise():
    torch.manual_seed(0)
    a, b = torch.randn(5, 11), torch.randn(5, 11)
    for name in ("forward_kl", "reverse_kl", "jsd"):
        assert abs(float(losses.divergence(name, a, a))) < 1e-5
        assert float(losses.divergence(name, a, b)) > 0


def test_forward_kl_matches_torch_kl_div_with_teacher_as_target():
    torch.manual_seed(1)
    student, teacher = torch.randn(7, 13), torch.randn(7, 13)
    expected = F.kl_div(F.log_softmax(student, -1), F.log_softmax(teacher, -1), log_target=True, reduction="sum")
    assert torch.allclose(losses.forward_kl(student, teacher), expected, atol=1e-5)
    assert torch.allclose(losses.reverse_kl(student, teacher), losses.forward_kl(teacher, student), atol=1e-5)


def test_jsd_interpolates_between_the_two_kls_at_its_ends():
    torch.manual_seed(2)
    s, t = torch.randn(3, 9), torch.randn(3, 9)
    assert torch.allclose(losses.generalized_jsd(s, t, 0.0), losses.forward_kl(s, t))
    assert torch.allclose(losses.generalized_jsd(s, t, 1.0), losses.reverse_kl(s, t))
    mid = float(losses.generalized_jsd(s, t, 0.5))
    assert 0 < mid < min(float(losses.forward_kl(s, t)), float(losses.reverse_kl(s, t)))


def test_losses_are_sums_so_the_caller_normalizes_by_all_target_tokens():
    torch.manual_seed(3)
    s, t = torch.randn(6, 5), torch.randn(6, 5)
    assert torch.allclose(losses.forward_kl(s, t), losses.forward_kl(s[:2], t[:2]) + losses.forward_kl(s[2:], t[2:]), atol=1e-5)


def test_top_k_buckets_never_exceed_the_full_divergence_and_equal_it_with_the_whole_vocabulary():
    torch.manual_seed(4)
    s, t = torch.randn(6, 50), torch.randn(6, 50) * 3
    t_logp = F.log_softmax(t, -1)
    for name in ("forward_kl", "reverse_kl", "jsd"):
        full = losses.divergence(name, s, t_logp)
        for k in (1, 5, 20):
            values, indices = t_logp.topk(k, -1)
            assert float(losses.divergence(name, *losses.top_k_buckets(s, values, indices))) <= float(full) + 1e-5
        values, indices = t_logp.topk(50, -1)
        assert torch.allclose(losses.divergence(name, *losses.top_k_buckets(s, values, indices)), full, atol=1e-4)


@pytest.fixture(scope="module")
def smollm2_target_logits():
    """Teacher (principle block in context) and student (none) logits at the target tokens of toy-world turns,
    from SmolLM2-135M-Instruct itself: real-size (49,152-token) and real-shaped distributions."""
    from internalize_trainer import toyworld
    from internalize_trainer.data import build_pairs, pad_batch
    from internalize_trainer.distill import TargetLogits
    from internalize_trainer.model import load_model
    from internalize_trainer.resolve import BUILTIN, resolve_model

    tokenizer, model = load_model(resolve_model(BUILTIN, MODELS))
    records = toyworld.distillation_records(0, 8)
    for r in records:
        # SmolLM2's template renders only `content`: write each tool call there, as the model would answer.
        for m in r.messages:
            for call in m.pop("tool_calls", None) or []:
                m["content"] = json.dumps({"name": call["function"]["name"], "arguments": call["function"]["arguments"]})
    pairs = [p for r in records for p in build_pairs(tokenizer, r)]
    out = {}
    with torch.no_grad():
        for view in ("teacher", "student"):
            rendered = [getattr(p, view) for p in pairs]
            ids, mask = pad_batch([x.input_ids for x in rendered], tokenizer.pad_token_id)
            out[view] = TargetLogits(model)(ids, mask, rendered).float()
    return out


def test_the_default_top_k_keeps_forward_kl_and_its_gradient_close_to_the_full_vocabulary(smollm2_target_logits):
    k = DistillConfig().teacher_top_k
    t_logp = F.log_softmax(smollm2_target_logits["teacher"], -1)
    s = smollm2_target_logits["student"].clone().requires_grad_()
    assert t_logp.shape[-1] == 49152 and t_logp.shape[0] >= 50
    full = losses.forward_kl(s, t_logp)
    (g_full,) = torch.autograd.grad(full, s)
    values, indices = t_logp.topk(k, -1)
    approx = losses.forward_kl(*losses.top_k_buckets(s, values, indices))
    (g_approx,) = torch.autograd.grad(approx, s)
    assert float(full) > 0.01 * t_logp.shape[0], "the principle block should change the teacher's distribution"
    assert abs(float(approx - full)) <= 0.05 * float(full)
    assert float(F.cosine_similarity(g_approx, g_full, dim=-1).mean()) >= 0.999
