"""Off-policy context distillation: ours vs TRL's GKDTrainer, same model, data, sequence length, batch, LoRA rank.

Run: .venv/bin/pip install 'trl==1.16.0' && .venv/bin/python bench/train/vs_trl.py [--records 16] [--reps 3]
Model: SmolLM2-135M-Instruct as the project resolves it (the built-in model, real weights and its real 49,152-token
vocabulary), with a ChatML template that renders tool calls (SmolLM2's own drops them). Records are toy-world
trajectories whose tool output is padded with filler words to about 350 tokens.

Each side runs in its own process (so peak RSS is its own); the sides alternate, `--reps` times, and the medians
are reported. Two scopes, the same for both sides:
- train loop: TRL's `trainer.train()`; ours, the teacher passes the steps need plus the optimizer steps
  (checkpoint saving excluded on both sides: TRL runs with save_strategy="no");
- whole run: from the first import to the saved adapter (TRL: load two model copies, build the trainer, train,
  save; ours: `distill()` from loading to the saved adapter).
TRL's GKDTrainer is set off-policy (lmbda=0) with beta=0 (forward KL) and keeps a second model copy as the
teacher; it is fed the teacher-view conversation, so it does the work of a global-injection teacher. Ours: one
model copy, the teacher is the adapter-disabled base with per-turn blocks.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

START = time.perf_counter()
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "trainer"))

from internalize_trainer.memory import MMAP_THRESHOLD

LORA = {"r": 16, "alpha": 32, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"]}
#: ChatML as SmolLM2 writes it, plus tool calls (its own template renders only `content`).
TOOL_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "{% for c in m.get('tool_calls') or [] %}<tool_call>{{ {'name': c['function']['name'], "
    "'arguments': c['function']['arguments']} | tojson }}</tool_call>{% endfor %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_model_dir(path: Path) -> Path:
    """SmolLM2-135M-Instruct (resolved into the project's cache) with the tool-aware template; weights linked."""
    from internalize_trainer.resolve import BUILTIN, resolve_model

    if (path / "chat_template.jinja").exists():
        return path
    source = resolve_model(BUILTIN, ROOT / ".cache" / "models")
    tmp = Path(tempfile.mkdtemp(dir=path.parent if path.parent.exists() else None))
    for f in source.iterdir():
        if f.name == "model.safetensors":
            (tmp / f.name).symlink_to(f.resolve())
        elif f.name != "chat_template.jinja":
            shutil.copy(f, tmp / f.name)
    (tmp / "chat_template.jinja").write_text(TOOL_CHATML)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.rename(path)
    return path


def records(n: int, words: int):
    from internalize_trainer import toyworld

    rng = random.Random(0)
    out = toyworld.distillation_records(0, n)
    filler = " ".join(rng.choice(toyworld.FILES) for _ in range(words))
    for r in out:
        r.messages[3]["content"] += " " + filler
    return out


def run_ours(model_dir: Path, n: int, words: int, top_k: int | None, epochs: int, bf16: bool, lean: bool = False) -> dict:
    from internalize_trainer.config import DistillConfig, LoraConfig
    from internalize_trainer.distill import distill

    data = records(n, words)
    extra = {} if top_k is None else {"teacher_top_k": top_k}
    config = DistillConfig(epochs=epochs, batch_size=4, replay_weight=0.0, save_merged=False, lora=LoraConfig(**LORA),
                           bf16=bf16, gradient_checkpointing=False, lean_memory=lean, **extra)
    result = distill(model_dir, data, config, tempfile.mkdtemp())
    m = result["metrics"]
    return {"train_loop_s": m["train_loop_s"], "teacher_s": m["teacher_s"], "steps": m["steps"]}


def peer_lora():
    """The LoRA adapter every TRL side trains: the same rank, scale and modules as ours."""
    from peft import LoraConfig

    return LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], target_modules=LORA["target_modules"], task_type="CAUSAL_LM")


def train_peer(trainer, out: str) -> dict:
    """Times a TRL trainer's `train()` (the train-loop scope), then saves its adapter (in the whole-run scope)."""
    start = time.perf_counter()
    trainer.train()
    loop = time.perf_counter() - start
    trainer.save_model(out)
    return {"train_loop_s": loop, "steps": trainer.state.global_step}


def run_trl(model_dir: Path, n: int, words: int, top_k: int | None, epochs: int, bf16: bool) -> dict:
    from datasets import Dataset
    from internalize_trainer.data import teacher_messages
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.experimental.gkd import GKDConfig, GKDTrainer

    data = records(n, words)
    rows = [{"messages": teacher_messages(r, r.targets[-1])} for r in data]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    student = AutoModelForCausalLM.from_pretrained(model_dir)
    teacher = AutoModelForCausalLM.from_pretrained(model_dir)
    out = tempfile.mkdtemp()
    args = GKDConfig(output_dir=out, per_device_train_batch_size=4, num_train_epochs=epochs, bf16=bf16, lmbda=0.0, beta=0.0,
                     learning_rate=1e-3, logging_steps=1000, save_strategy="no", report_to=[], use_cpu=True,
                     max_length=2048, dataloader_num_workers=0)
    return train_peer(GKDTrainer(model=student, teacher_model=teacher, args=args, train_dataset=Dataset.from_list(rows),
                                 processing_class=tokenizer, peft_config=peer_lora()), out)


def run_sdft(model_dir: Path, n: int, words: int, top_k: int | None, epochs: int, bf16: bool) -> dict:
    """TRL's self-distillation trainer: one model, the teacher is the adapter-disabled base with the privileged
    context (the principle block) in the prompt; the student samples each completion first (on-policy)."""
    from datasets import Dataset
    from internalize_trainer.data import BLOCK_CLOSE, BLOCK_OPEN
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl.experimental.sdft import SDFTConfig, SDFTTrainer

    rows = []
    for r in records(n, words):
        (target,) = r.targets
        prompt = [dict(m) for m in r.messages[:target]]
        # SDFT appends the privileged context to the last user turn: the observation is sent as one.
        prompt[-1]["role"] = "user"
        rows.append({"prompt": prompt, "privileged_context": f"{BLOCK_OPEN}\n{r.blocks[target - 1]}\n{BLOCK_CLOSE}"})
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    out = tempfile.mkdtemp()
    args = SDFTConfig(output_dir=out, per_device_train_batch_size=4, num_train_epochs=epochs, bf16=bf16, num_generations=1,
                      max_completion_length=32, learning_rate=1e-3, logging_steps=1000, save_strategy="no", report_to=[],
                      use_cpu=True, teacher_model_kind="base", teacher_prompt_template="{prompt}\n{privileged_context}")
    return train_peer(SDFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer,
                                  peft_config=peer_lora()), out)


def run_ours_lean(model_dir: Path, n: int, words: int, top_k: int | None, epochs: int, bf16: bool) -> dict:
    """Ours with `lean_memory` (freed buffers go back to the system at once: less memory, more time)."""
    return run_ours(model_dir, n, words, top_k, epochs, bf16, lean=True)


SIDES = {"ours": run_ours, "ours-lean": run_ours_lean, "trl": run_trl, "sdft": run_sdft}
#: A peer side named with this suffix runs with glibc's malloc set the way `lean_memory` sets it for ours
#: (internalize_trainer/memory.py), so a memory ratio never rests on allocator settings alone.
TUNED = "-tuned"
TUNED_ENV = {"MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": "0"}


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=16)
    parser.add_argument("--words", type=int, default=80, help="filler words in each tool output (sequence length)")
    parser.add_argument("--reps", type=int, default=3, help="alternating runs of each side; medians are reported")
    parser.add_argument("--top-k", type=int, default=None, help="our teacher_top_k (default: DistillConfig's)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast on both sides (CPU: needs AVX-512 BF16/AMX to pay)")
    parser.add_argument("--sides", default="trl,ours",
                        help=f"which sides to run, in this order: trl, sdft, ours, ours-lean; a peer with {TUNED} (trl{TUNED}) runs with "
                             "the allocator settings ours uses")
    parser.add_argument("--side", choices=sorted(SIDES))
    args = parser.parse_args()
    model_dir = make_model_dir(ROOT / ".cache" / "bench-smollm2-135m-tools")
    if args.side is not None:
        result = SIDES[args.side](model_dir, args.records, args.words, args.top_k, args.epochs, args.bf16)
        result["whole_s"] = time.perf_counter() - START
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mb"] = usage.ru_maxrss / 1024
        # CPU seconds per wall second: about the thread count on an idle machine, less when others take the cores.
        result["cores_used"] = (usage.ru_utime + usage.ru_stime) / result["whole_s"]
        print(json.dumps(result))
        return
    from internalize_trainer.data import build_pairs
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    pairs = [p for r in records(args.records, args.words) for p in build_pairs(tokenizer, r)]
    tokens = sum(len(p.student.input_ids) for p in pairs)
    targets = sum(len(p.student.target_ids) for p in pairs)
    tokens *= args.epochs
    print(f"{args.records} records, {tokens} student tokens over {args.epochs} epoch(s) ({targets} target tokens per epoch), "
          f"batch 4, LoRA r=16 q/k/v/o, {'bf16 autocast' if args.bf16 else 'fp32'}")
    sides = args.sides.split(",")
    unknown = [s for s in sides if s.removesuffix(TUNED) not in SIDES or s.startswith("ours") and s.endswith(TUNED)]
    if unknown:
        parser.error(f"unknown side(s) {', '.join(unknown)}; known: trl, sdft, ours, ours-lean, trl{TUNED}, sdft{TUNED}")
    runs: dict[str, list[dict]] = {side: [] for side in sides}
    for rep in range(args.reps):
        for side in sides:
            cmd = [sys.executable, __file__, "--side", side.removesuffix(TUNED), "--records", str(args.records), "--words", str(args.words),
                   "--epochs", str(args.epochs)] + (["--bf16"] if args.bf16 else [])
            if args.top_k is not None:
                cmd += ["--top-k", str(args.top_k)]
            env = {**os.environ, **(TUNED_ENV if side.endswith(TUNED) else {})}
            out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
            if out.returncode != 0:
                print(f"{side}: failed\n{out.stderr[-3000:]}")
                return
            f = json.loads(out.stdout.strip().splitlines()[-1])
            runs[side].append(f)
            print(f"rep {rep + 1} {side:10s}: train loop {f['train_loop_s']:6.2f} s ({tokens / f['train_loop_s']:6.1f} tok/s), "
                  f"whole run {f['whole_s']:6.2f} s, {f['steps']} steps, peak RSS {f['peak_rss_mb']:.0f} MB, "
                  f"{f['cores_used']:.2f} cores busy" + (f", teacher {f['teacher_s']:.2f} s" if "teacher_s" in f else ""), flush=True)
    print("\nmedians")
    for side, rs in runs.items():
        loop, whole, rss = median_of(rs, "train_loop_s"), median_of(rs, "whole_s"), median_of(rs, "peak_rss_mb")
        print(f"{side:10s}: train loop {loop:6.2f} s = {tokens / loop:6.1f} tok/s; whole run {whole:6.2f} s = "
              f"{tokens / whole:6.1f} tok/s; peak RSS {rss:.0f} MB")
    for mine, peer in ((m, p) for m in sides if m.startswith("ours") for p in sides if not p.startswith("ours")):
        ratio = lambda key, peer=peer, mine=mine: median_of(runs[peer], key) / median_of(runs[mine], key)
        print(f"{mine} / {peer}: train loop {ratio('train_loop_s'):.2f}x tokens/s, whole run {ratio('whole_s'):.2f}x tokens/s, "
              f"peak RSS {1 / ratio('peak_rss_mb'):.2f}x")


if __name__ == "__main__":
    main()
