"""How many teacher log-probs per target token the cache must keep: forward KL from a top-k cache vs the full one.

Run: .venv/bin/python bench/train/top_k.py [--records 16]
On the vs_trl.py data and model (SmolLM2-135M-Instruct, 49,152-token vocabulary): the teacher is the base model
with the principle block in context, the student the same model without it (where a round starts). For each k,
the teacher's top-k log-probs and one bucket for the rest are compared with the student's, as the trainer does
(`losses.top_k_buckets`), and the summed forward KL over all target tokens is compared with the exact one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "trainer"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from internalize_trainer import losses
from internalize_trainer.data import build_pairs, pad_batch
from internalize_trainer.distill import TargetLogits
from internalize_trainer.model import load_model
from vs_trl import make_model_dir, records


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=16)
    parser.add_argument("--words", type=int, default=80)
    args = parser.parse_args()
    tokenizer, model = load_model(make_model_dir(ROOT / ".cache" / "bench-smollm2-135m-tools"))
    pairs = [p for r in records(args.records, args.words) for p in build_pairs(tokenizer, r)]
    scorer = TargetLogits(model)
    teacher, student = [], []
    for first in range(0, len(pairs), 4):
        chunk = pairs[first : first + 4]
        for view, out in (("teacher", teacher), ("student", student)):
            rendered = [getattr(p, view) for p in chunk]
            ids, mask = pad_batch([r.input_ids for r in rendered], tokenizer.pad_token_id)
            out.append(scorer(ids, mask, rendered).float())
    t_logp, s_logits = F.log_softmax(torch.cat(teacher), dim=-1), torch.cat(student)
    full = float(losses.forward_kl(s_logits, t_logp))
    entropy = float(-(t_logp.exp() * t_logp).sum(-1).mean())
    print(f"{t_logp.shape[0]} target tokens, vocabulary {t_logp.shape[1]}, teacher entropy {entropy:.2f} nats/token, "
          f"full forward KL {full / t_logp.shape[0]:.4f} nats/token")
    with torch.enable_grad():
        exact = torch.autograd.grad(losses.forward_kl(s_logits.requires_grad_(), t_logp), s_logits)[0]
    for k in (8, 16, 32, 64, 128, 256, 512, 1024):
        values, indices = t_logp.topk(k, dim=-1)
        with torch.enable_grad():
            loss = losses.forward_kl(*losses.top_k_buckets(s_logits, values, indices))
            grad = torch.autograd.grad(loss, s_logits)[0]
        approx = float(loss)
        mass = float(values.exp().sum(-1).mean())
        # What training sees is the gradient with respect to the student's logits: its direction, token by token.
        cosine = float(F.cosine_similarity(grad, exact, dim=-1).mean())
        print(f"k={k:4d}: kept mass {mass:.4f}, top-k KL {approx / t_logp.shape[0]:.4f} nats/token, "
              f"relative error {abs(approx - full) / full:.2%}, gradient cosine {cosine:.4f}")


if __name__ == "__main__":
    main()
