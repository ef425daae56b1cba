import json
import subprocess
import sys
from pathlib import Path

TRAINER = Path(__file__).resolve().parents[1]

# Allocates activation-like tensors of shifting sizes the way training steps do, frees them, and reports the
# resident set before, at the peak and after, in MB.
CHURN = """
import json, sys, torch
sys.path.insert(0, {trainer!r})
from internalize_trainer.memory import lean_allocator
tuned = lean_allocator() if {lean!r} else False
def rss():
    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')) // 1024
before = rss()
peak = 0
for step in range(6):
    held = [torch.ones(300_000 + 37_000 * ((i * 7 + step) % 13)) for i in range(120)]
    peak = max(peak, rss())
    del held[::2]
    keep = [torch.ones(200_000) for _ in range(20)]
    del held, keep
print(json.dumps({{"tuned": tuned, "before": before, "peak": peak, "after": rss()}}))
"""


def churn(lean: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", CHURN.format(trainer=str(TRAINER), lean=lean)], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_freed_training_buffers_go_back_to_the_system():
    if not sys.platform.startswith("linux"):
        return
    tuned = churn(True)
    assert tuned["tuned"] is True
    assert tuned["peak"] - tuned["before"] > 150, tuned  # the churn really held memory
    assert tuned["after"] - tuned["before"] < 40, f"freed buffers stayed resident: {tuned}"


def test_lean_memory_is_a_choice_that_comes_through_a_request():
    from internalize_trainer.config import DistillConfig

    assert DistillConfig().lean_memory is False
    assert DistillConfig.from_dict({"lean_memory": True}).lean_memory is True

