"""Benchmark: the coding principle suite on SmolLM2-135M-Instruct, base vs teacher vs student, per principle.

    .venv/bin/python bench/internalize/run.py                       # calibrate, then 2 seeds x 1 round, off-policy
    .venv/bin/python bench/internalize/run.py --rounds 3 --regimes off-policy sft on-policy
    .venv/bin/python bench/internalize/run.py --calibration bench/results/internalize-calibration.json   # reuse it

Calibration (base without / teacher with each principle, on held-out cases) is measured once, with the
first seed, and reused by every seed and regime; each seed then samples its own teacher responses, trains
its own student and measures the student on the held-out cases with its own sampling seed. Results go to
bench/results/internalize.md and .json (rewritten after every run, so a stopped benchmark keeps what it
measured) and the calibration table to bench/results/internalize-calibration.md and .json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "trainer"))

from internalize_trainer.recipe import Runner, SuiteConfig  # noqa: E402
from internalize_trainer.resolve import resolve_model  # noqa: E402
from internalize_trainer.suites.coding import load_suite  # noqa: E402

RESULTS = ROOT / "bench" / "results"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def calibration_markdown(calibration: dict, config: SuiteConfig, texts: dict[str, str], seconds: float | None) -> str:
    lines = ["# Calibration: does the principle in context help SmolLM2-135M-Instruct?", "",
             f"Held-out cases per principle: {config.n_heldout} × {config.eval_samples} samples (temperature {config.eval_temperature}, "
             f"top-p {config.top_p}, at most {config.max_new_tokens} new tokens), seed {config.seed}. Base = the model without the "
             "principle; teacher = the same model with the principle's step-wise block appended to the latest observation. "
             f"Kept when teacher − base ≥ {config.min_gap} and the one-sided two-proportion z ≥ {config.min_z}.",
             "" if seconds is None else f"Measured in {seconds / 60:.1f} min.", "",
             "| id | principle | base | teacher | gap | z | kept |", "|---|---|---|---|---|---|---|"]
    for pid, row in calibration.items():
        if row["method"] == "divergence":
            lines.append(f"| {pid} | {texts[pid].replace('`', '')} | – | – | – | – | yes (no checker: divergence score) |")
            continue
        text = texts[pid].replace("`", "")
        lines.append(f"| {pid} | {text} | {_pct(row['base'])} | {_pct(row['teacher'])} | {row['gap']:+.2f} | {row['z']:.1f} | "
                     f"{'yes' if row['calibrated'] else 'no'} |")
    return "\n".join(lines) + "\n"


def results_markdown(runs: list[dict], calibration: dict, texts: dict[str, str], meta: dict) -> str:
    lines = ["# Internalization of the coding principle suite (SmolLM2-135M-Instruct, CPU)", "",
             f"Machine: {meta['machine']}; torch threads: {meta['threads']}. Command: `{meta['command']}`.", "",
             "Score = (student − base) / (teacher − base), success rates by checker on held-out cases *without* the principle "
             "for the student and base, with it for the teacher; `div` marks a principle without checker, scored "
             "1 − KL(teacher‖student)/KL(teacher‖base) on held-out decision states. Retention = NLL of the base model's own "
             "answers to 20 held-out general prompts, student / base (the collapse guard's limit is +5%).", ""]
    for run in runs:
        for rnd in run["result"]["rounds"]:
            lines += [f"## seed {run['seed']}, {run['regime']}, round {rnd['round']}", "",
                      "| id | method | base | teacher | student | score | internalized | kept teacher samples |",
                      "|---|---|---|---|---|---|---|---|"]
            for row in rnd["principles"]:
                kept = f"{row.get('kept', '–')}/{row.get('sampled', '–')}"
                tail = f"{_num(row['score'])} | {'yes' if row['internalized'] else 'no'} | {kept} |"
                if row["method"] == "divergence":
                    kl = f"KL before {_num(row['kl_before'], 3)} | – | KL after {_num(row['kl_after'], 3)}"
                    lines.append(f"| {row['id']} | div | {kl} | {tail}")
                else:
                    rates = f"{_pct(row['base'])} | {_pct(row['teacher'])} | {_pct(row['student'])}"
                    lines.append(f"| {row['id']} | checker | {rates} | {tail}")
            ret, verdict = rnd["retention"], rnd["collapse"]
            lines += ["", f"Mean checker score: **{_num(rnd['mean_checker_score'])}**. Retention NLL {ret['student_nll']:.4f} vs base "
                      f"{ret['base_nll']:.4f} (×{ret['ratio']:.3f}); collapse guard: "
                      f"{'STOP — ' + '; '.join(verdict['reasons']) if verdict['collapsed'] else 'ok'}.", ""]
        timing = run["result"].get("timings", {})
        lines += ["Timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in timing.items()), ""]
    summary = _summary(runs)
    if summary:
        lines += ["## Summary over seeds (round 1)", "",
                  "| regime | seeds | mean checker score per seed | mean | retention ×base per seed |", "|---|---|---|---|---|"]
        for regime, rows in summary.items():
            scores = [r["score"] for r in rows]
            lines.append(f"| {regime} | {', '.join(str(r['seed']) for r in rows)} | {', '.join(_num(s) for s in scores)} | "
                         f"{_num(sum(scores) / len(scores))} | {', '.join(format(r['ratio'], '.3f') for r in rows)} |")
    return "\n".join(lines) + "\n"


def _summary(runs: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for run in runs:
        rounds = run["result"]["rounds"]
        if rounds and rounds[0]["mean_checker_score"] is not None:
            out.setdefault(run["regime"], []).append({"seed": run["seed"], "score": rounds[0]["mean_checker_score"],
                                                      "ratio": rounds[0]["retention"]["ratio"]})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--models-dir", default=str(ROOT / ".cache" / "models"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--regimes", nargs="+", default=["off-policy"], choices=["off-policy", "sft", "on-policy"])
    parser.add_argument("--principles", nargs="*", default=None)
    parser.add_argument("--calibration", default=None, help="reuse a calibration JSON instead of measuring it")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-train", type=int, default=40)
    parser.add_argument("--n-heldout", type=int, default=20)
    parser.add_argument("--teacher-samples", type=int, default=4)
    parser.add_argument("--eval-samples", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--work", default=str(ROOT / "bench" / ".work" / "internalize"))
    parser.add_argument("--name", default="internalize", help="results file name under bench/results (a baseline run beside the main one)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model_dir = resolve_model(args.model, Path(args.models_dir))
    work = Path(args.work)

    def config(seed: int, regime: str) -> SuiteConfig:
        return SuiteConfig.from_dict({"principles": args.principles, "n_train": args.n_train, "n_heldout": args.n_heldout,
                                      "teacher_samples": args.teacher_samples, "eval_samples": args.eval_samples,
                                      "max_new_tokens": args.max_new_tokens, "rounds": args.rounds, "seed": seed,
                                      "distill": {"regime": regime}})

    def log(event: dict) -> None:
        phases = ("calibrate", "sample", "evaluate")
        if event.get("event") in ("log", "metrics") or event.get("phase") in phases or event.get("step") == event.get("total"):
            print(json.dumps({k: v for k, v in event.items() if k != "metrics"}, default=str)[:300], flush=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {"machine": f"{platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}",
            "threads": args.threads, "command": "python bench/internalize/run.py " + " ".join(sys.argv[1:])}
    first = config(args.seeds[0], args.regimes[0])
    calibration_seconds = None
    if args.calibration:
        saved = json.loads(Path(args.calibration).read_text())
        calibration, calibration_seconds = saved["calibration"], saved.get("seconds")
    else:
        started = time.perf_counter()
        calibration = Runner(model_dir, first, work / "calibration", log).calibrate()
        calibration_seconds = time.perf_counter() - started
    texts = {p.id: p.text for p in load_suite()}
    if not args.calibration:
        # A run that reuses a calibration leaves the measured one (and the config it was measured with) alone.
        (RESULTS / "internalize-calibration.json").write_text(json.dumps({"config": asdict(first), "calibration": calibration,
                                                                          "seconds": calibration_seconds}, indent=1, default=str))
        (RESULTS / "internalize-calibration.md").write_text(calibration_markdown(calibration, first, texts, calibration_seconds))

    runs: list[dict] = []
    for seed in args.seeds:
        sampled: dict = {}
        for regime in args.regimes:
            cfg = config(seed, regime)
            runner = Runner(model_dir, cfg, work / f"{args.name}-seed{seed}-{regime}", log)
            result = runner.run(calibration, sampled)
            runs.append({"seed": seed, "regime": regime, "result": result})
            (RESULTS / f"{args.name}.json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1, default=str))
            (RESULTS / f"{args.name}.md").write_text(results_markdown(runs, calibration, texts, meta))
            print(f"seed {seed} {regime}: mean checker score "
                  f"{_num(result['rounds'][0]['mean_checker_score']) if result['rounds'] else '–'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
