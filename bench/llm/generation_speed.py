"""Greedy generation speed of SmolLM2-135M-Instruct: llama.cpp's server (llama-cpp-python, Q4_1 GGUF, over HTTP)
against the transformers path the trainer uses (the same GGUF de-quantized to fp32, `model.generate`), same
prompts, same max tokens, same thread count, measured in the same run, interleaved.

Run (after scripts/setup-python.sh and scripts/setup-llama-server.sh):
    .venv/bin/python bench/llm/generation_speed.py [--max-tokens 128] [--rounds 3] [--threads 2]

Tokens/s counts generated tokens only, over the wall time of the whole request (prompt processing included, as a
caller sees it); each side reports the tokens it generated, since greedy decoding of the fp32 and Q4_1 weights can
stop at different places. The server's time includes HTTP and JSON, which is part of what a client of it pays.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LLAMA_PYTHON = ROOT / ".cache" / "llama-venv" / "bin" / "python"
GGUF = ROOT / ".cache" / "models" / "downloads" / "SmolLM2-135M-Instruct.Q4_1.gguf"
HF_MODEL = ROOT / ".cache" / "models" / "smollm2-135m-instruct"

PROMPTS = [
    "Write a short story about a robot that learns to paint.",
    "Explain how a hash map works, step by step, for a new programmer.",
    "List ten tips for writing readable Python code, with one sentence each.",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(threads: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([str(LLAMA_PYTHON), "-m", "llama_cpp.server", "--model", str(GGUF), "--model_alias", "smollm2",
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", str(threads), "--n_threads_batch", str(threads)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"{base}/models", timeout=1):
                return proc, base
        except OSError:
            if proc.poll() is not None:
                sys.exit("the llama.cpp server exited at start; run scripts/setup-llama-server.sh")
            time.sleep(0.1)
    proc.kill()
    sys.exit("the llama.cpp server did not start within 60 s")


def server_generate(base: str, prompt: str, max_tokens: int) -> tuple[int, float, str]:
    body = json.dumps({"model": "smollm2", "messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens,
                       "temperature": 0, "stream": False}).encode()
    request = urllib.request.Request(f"{base}/chat/completions", data=body, headers={"content-type": "application/json"})
    start = time.perf_counter()
    with urllib.request.urlopen(request, timeout=300) as response:
        answer = json.load(response)
    elapsed = time.perf_counter() - start
    return answer["usage"]["completion_tokens"], elapsed, answer["choices"][0]["message"]["content"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for needed, how in ((LLAMA_PYTHON, "scripts/setup-llama-server.sh"), (GGUF, "scripts/setup-llama-server.sh"), (HF_MODEL / "config.json", "the trainer's resolve_model('smollm2-135m-instruct', .cache/models)")):
        if not needed.exists():
            sys.exit(f"missing {needed}: {how}")

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(args.threads)
    tokenizer = AutoTokenizer.from_pretrained(HF_MODEL)
    model = AutoModelForCausalLM.from_pretrained(HF_MODEL, dtype=torch.float32).eval()

    def hf_generate(prompt: str) -> tuple[int, float, str]:
        ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt", return_dict=True)
        start = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**ids, max_new_tokens=args.max_tokens, do_sample=False, pad_token_id=tokenizer.eos_token_id)
        elapsed = time.perf_counter() - start
        new = out[0, ids["input_ids"].shape[1]:]
        return int(new.shape[0]), elapsed, tokenizer.decode(new, skip_special_tokens=True)

    proc, base = start_server(args.threads)
    try:
        server_generate(base, "Hi", 8)  # warm both sides: first calls pay one-time setup
        hf_generate("Hi")
        rows: dict[str, list[tuple[int, float]]] = {"llama.cpp server": [], "transformers": []}
        samples: dict[str, str] = {}
        for _ in range(args.rounds):
            for prompt in PROMPTS:
                for side, fn in (("llama.cpp server", lambda p: server_generate(base, p, args.max_tokens)), ("transformers", hf_generate)):
                    tokens, seconds, text = fn(prompt)
                    rows[side].append((tokens, seconds))
                    samples.setdefault(side, text)
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    result = {"max_tokens": args.max_tokens, "threads": args.threads, "rounds": args.rounds, "prompts": len(PROMPTS), "sides": {}}
    for side, measured in rows.items():
        rates = [t / s for t, s in measured]
        result["sides"][side] = {
            "tokens_per_s_median": round(statistics.median(rates), 1),
            "tokens_per_s_min": round(min(rates), 1),
            "tokens_per_s_max": round(max(rates), 1),
            "generated_tokens_total": sum(t for t, _ in measured),
            "seconds_total": round(sum(s for _, s in measured), 2),
            "first_answer_start": samples[side][:80],
        }
    server, hf = result["sides"]["llama.cpp server"], result["sides"]["transformers"]
    result["speedup_median"] = round(server["tokens_per_s_median"] / hf["tokens_per_s_median"], 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
