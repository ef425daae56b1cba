"""Run-to-run noise of the CI-sized variant (trainer/tests/test_suite_ci.py): the same run with several seeds.

    .venv/bin/python bench/internalize/noise.py --seeds 0 1 2

Each seed samples its own calibration, teacher responses, training order and evaluation. Two figures of
noise come out: the spread of the trained score over seeds, and the score an *untrained* model gets by
chance — the base model's success measured with one seed, scored against another seed's calibration,
(base_j - base_i) / (teacher_i - base_i). The CI test must clear the latter by a wide margin.
Results: bench/results/internalize-noise.md and .json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "trainer"))

from internalize_trainer.recipe import CI_SUITE, SuiteConfig, run_suite  # noqa: E402
from internalize_trainer.resolve import BUILTIN, resolve_model  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default=str(ROOT / "bench" / ".work" / "noise"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model_dir = resolve_model(BUILTIN, ROOT / ".cache" / "models")
    (pid,) = CI_SUITE["principles"]
    runs = []
    for seed in args.seeds:
        started = time.perf_counter()
        result = run_suite(model_dir, SuiteConfig.from_dict({**CI_SUITE, "seed": seed}), Path(args.work) / f"seed{seed}")
        cal = result["calibration"][pid]
        row = result["rounds"][0]["principles"][0] if result["rounds"] else {}
        runs.append({"seed": seed, "base": cal["base"], "teacher": cal["teacher"], "calibrated": cal["calibrated"],
                     "student": row.get("student"), "score": row.get("score"), "z_vs_base": row.get("z_vs_base"),
                     "kept": row.get("kept"),
                     "retention_ratio": result["rounds"][0]["retention"]["ratio"] if result["rounds"] else None,
                     "seconds": time.perf_counter() - started, "timings": result["timings"]})
        print(json.dumps(runs[-1]), flush=True)
    untrained = [(j["base"] - i["base"]) / (i["teacher"] - i["base"]) for i in runs for j in runs
                 if i is not j and i["teacher"] > i["base"]]
    scores = [r["score"] for r in runs if r["score"] is not None]
    summary = {"principle": pid, "config": CI_SUITE, "runs": runs,
               "score_mean": statistics.mean(scores) if scores else None,
               "score_sd": statistics.stdev(scores) if len(scores) > 1 else None,
               "untrained_scores": untrained,
               "untrained_abs_max": max((abs(u) for u in untrained), default=None)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "internalize-noise.json").write_text(json.dumps(summary, indent=1))
    lines = [f"# Run-to-run noise of the CI-sized variant ({pid})", "",
             f"Settings: `{json.dumps(CI_SUITE)}`; torch threads {args.threads}.", "",
             "| seed | base | teacher | student | score | z (student vs base) | kept | retention ×base | seconds |",
             "|---|---|---|---|---|---|---|---|---|"]
    def num(x, digits=2):
        return "–" if x is None else f"{x:.{digits}f}"

    for r in runs:
        lines.append(f"| {r['seed']} | {num(r['base'])} | {num(r['teacher'])} | {num(r['student'])} | {num(r['score'])} | "
                     f"{num(r['z_vs_base'], 1)} | {r['kept']} | {num(r['retention_ratio'], 3)} | {r['seconds']:.0f} |")
    lines += ["", f"Trained score: mean {summary['score_mean']}, sd {summary['score_sd']}.",
              "Untrained score by chance (base of one seed against another's calibration): "
              f"{', '.join(format(u, '+.2f') for u in untrained)}; "
              f"largest magnitude {summary['untrained_abs_max']}."]
    (RESULTS / "internalize-noise.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
