"""The continual benchmark's reading of its goal and its table (bench/internalize/continual.py), on result files
shaped as run_continual writes them."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "internalize" / "continual.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("continual_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _iteration(n: int, new: list[str], scores: dict[str, float | None], ratio: float) -> dict:
    rows = [{"id": pid, "method": "divergence" if pid == "P10" else "checker", "score": s} for pid, s in scores.items()]
    capped = [min(s, 1.0) for s in scores.values() if s is not None]
    return {"iteration": n, "new": new, "pool": list(scores), "principles": rows, "capped_mean": sum(capped) / len(capped),
            "retention": {"ratio": ratio}, "collapse": {"collapsed": ratio > 1.05, "reasons": []},
            "dataset": {"new": {pid: {"kept": 10, "sampled": 48} for pid in new}, "replayed": {}, "records": 20},
            "timings": {"sample_s": 60.0, "train_s": 120.0, "evaluate_s": 30.0}}


def test_the_goal_holds_only_when_no_principle_drops_the_mean_never_falls_and_retention_stays(bench):
    holding = [_iteration(1, ["P2"], {"P2": 0.6}, 1.01), _iteration(2, ["P7"], {"P2": 0.55, "P7": 0.9}, 1.03)]
    verdict = bench.goal(holding, 2)
    assert verdict == {"holds": True, "complete": True, "reasons": []}
    # A score past the teacher is capped: P2 going 3.0 -> 1.2 is 40% of its raw score but all of its capped 1.0.
    capped = [_iteration(1, ["P2"], {"P2": 3.0}, 1.0), _iteration(2, ["P7"], {"P2": 1.2, "P7": 1.0}, 1.0)]
    assert bench.goal(capped, 3) == {"holds": True, "complete": False, "reasons": []}
    forgetting = [_iteration(1, ["P2"], {"P2": 0.8}, 1.0), _iteration(2, ["P7"], {"P2": 0.6, "P7": 1.0}, 1.06)]
    verdict = bench.goal(forgetting, 2)
    assert not verdict["holds"]
    assert verdict["reasons"] == ["retention ×1.060 in iteration 2", "below 80% of own: P2 0.80 → 0.60"]
    falling = [_iteration(1, ["P2"], {"P2": 0.8}, 1.0), _iteration(2, ["P7"], {"P2": 0.7, "P7": 0.6}, 1.0)]
    assert bench.goal(falling, 2)["reasons"] == ["capped mean fell 0.80 → 0.65 in iteration 2"]


def test_the_table_has_a_row_per_configuration_and_iteration_and_says_how_each_ran(bench, tmp_path):
    iterations = [_iteration(1, ["P2", "P6"], {"P2": 0.6, "P6": 0.7}, 1.02),
                  _iteration(2, ["P7", "P10"], {"P2": 0.3, "P6": 0.7, "P7": 0.5, "P10": 0.4}, 1.04)]
    config = {"schedule": [["P2", "P6"], ["P7", "P10"]], "teacher": "anchored", "replay_kept": True, "injection": "stepwise",
              "suite": {"n_train": 16, "teacher_samples": 3, "n_heldout": 16, "eval_samples": 2, "max_new_tokens": 48,
                        "max_records_per_principle": 16, "seed": 0, "distill": {"regime": "off-policy"}}}
    meta = {"name": "anchored-replay", "machine": "x86_64, 2 cores", "threads": 1, "command": "python bench/internalize/continual.py",
            "started": "2026-12-01 18:28:04 UTC", "scale": "", "beside": ["bench/internalize/continual.py --name previous"],
            "loadavg": [3.0, 2.5, 2.0]}
    (tmp_path / "internalize-continual-anchored-replay.json").write_text(json.dumps(
        {"meta": meta, "status": "finished", "result": {"config": config, "iterations": iterations, "timings": {"total_s": 600}}}))
    (tmp_path / "internalize-continual-previous.json").write_text(json.dumps(
        {"meta": {**meta, "name": "previous"}, "status": "starting", "result": {"config": None, "iterations": []}}))
    text = bench.table(tmp_path)
    rows = [line for line in text.splitlines() if line.startswith("| anchored-replay")]
    assert len(rows) == 2
    assert "**0.60** | **0.70** |  |  | 0.65 | ×1.020 | ok | holds |" in rows[0]
    assert "| 0.30 | 0.70 | **0.50** | **0.40 div** | 0.47 | ×1.040 | ok | fails:" in rows[1] and "P2 0.60 → 0.30" in rows[1]
    assert "**previous** (starting" in text and "`bench/internalize/continual.py --name previous`" in text
    assert "iteration 1: sample 1.0 min, train 2.0 min, evaluate 0.5 min" in text
