"""Benchmark: the continual setting on SmolLM2-135M-Instruct, one configuration per run, and the table over all runs.

    OMP_NUM_THREADS=1 .venv/bin/python bench/internalize/continual.py --teacher previous --no-replay --name previous
    OMP_NUM_THREADS=1 .venv/bin/python bench/internalize/continual.py --teacher anchored --replay --name anchored-replay
    .venv/bin/python bench/internalize/continual.py --table          # bench/results/internalize-continual.md from the JSONs

Each iteration brings principles not trained before (default P2+P6, then P7+P8, then P4+P10: every id that passed
the calibration in bench/results/internalize-calibration.json, which is reused, not re-measured) and trains a new
LoRA on the merged previous student; after it every principle trained so far is re-scored against the
calibration's base and teacher, retention against the original base. A run writes
bench/results/internalize-continual-<name>.json after every iteration, so a stopped run keeps what it measured.

The goal (issue #16): after the last iteration every principle keeps >= 80% of the (capped) score it reached in its
own iteration, the capped mean never falls from one iteration to the next, and retention stays within x1.05.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
PREFIX = "internalize-continual-"
KEEP, MAX_RETENTION = 0.8, 1.05


def _num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def others_running(me: int) -> list[str]:
    """Command lines of the other benchmark and training processes on this machine (what ran beside this run)."""
    seen = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == me:
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        line = " ".join(a.decode(errors="replace") for a in argv if a)
        if "bench/" in line and "python" in line.split(" ")[0]:
            seen.append(line[line.find("bench/"):][:160])
    return sorted(set(seen))


def run(args: argparse.Namespace) -> int:
    import torch

    sys.path.insert(0, str(ROOT / "trainer"))
    from internalize_trainer.recipe import (
        CONTINUAL_SCHEDULE,
        ContinualConfig,
        run_continual,
    )
    from internalize_trainer.resolve import resolve_model

    torch.set_num_threads(args.threads)
    schedule = [ids.split("+") for ids in args.schedule] if args.schedule else CONTINUAL_SCHEDULE
    schedule = schedule[: args.iterations] if args.iterations else schedule
    config = ContinualConfig.from_dict({
        "schedule": schedule, "teacher": args.teacher, "replay_kept": args.replay_fraction if args.replay else False,
        "injection": args.injection, "student": args.student, "stop_on_collapse": False,
        "suite": {"n_train": args.n_train, "teacher_samples": args.teacher_samples, "n_heldout": args.n_heldout,
                  "eval_samples": args.eval_samples, "max_new_tokens": args.max_new_tokens,
                  "max_records_per_principle": args.max_records_per_principle, "seed": args.seed,
                  "distill": {"regime": args.regime}},
    })
    calibration_file = Path(args.calibration)
    try:
        calibration = json.loads(calibration_file.read_text())["calibration"]
    except (OSError, json.JSONDecodeError, KeyError) as error:
        print(f"cannot read the calibration from {calibration_file}: {error}; run bench/internalize/run.py once to measure it",
              file=sys.stderr)
        return 2
    model_dir = resolve_model(args.model, Path(args.models_dir))
    out = RESULTS / f"{PREFIX}{args.name}.json"
    meta = {"name": args.name, "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
            "threads": torch.get_num_threads(), "command": "python bench/internalize/continual.py " + " ".join(sys.argv[1:]),
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "scale": args.scale_note,
            "beside": others_running(os.getpid())}

    def write(result: dict, status: str) -> None:
        meta["beside"] = sorted(set(meta["beside"]) | set(others_running(os.getpid())))
        meta["loadavg"] = os.getloadavg()
        payload = {"meta": meta, "status": status, "result": result}
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=1, default=str))
        tmp.replace(out)

    def log(event: dict) -> None:
        if event.get("event") in ("log", "metrics") or event.get("phase") in ("sample", "evaluate") or event.get("step") == event.get("total"):
            print(time.strftime("%H:%M:%S"), json.dumps({k: v for k, v in event.items() if k != "metrics"}, default=str)[:300], flush=True)

    def iteration_done(result: dict) -> None:
        row = result["iterations"][-1]
        write(result, "running")
        print(time.strftime("%H:%M:%S"), f"iteration {row['iteration']}: capped mean {_num(row.get('capped_mean'))}, "
              f"retention x{_num(row.get('retention', {}).get('ratio'), 3)}, timings {row.get('timings')}", flush=True)

    RESULTS.mkdir(parents=True, exist_ok=True)
    write({"config": None, "iterations": []}, "starting")
    result = run_continual(model_dir, config, Path(args.work) / args.name, calibration, log, on_iteration=iteration_done)
    write(result, "finished")
    return 0


# -- the table ------------------------------------------------------------------------------------------------


def goal(iterations: list[dict], last: int) -> dict:
    """The issue's goal over the iterations measured so far: whether each part holds, and why not."""
    measured = [it for it in iterations if it.get("principles")]
    own: dict[str, float] = {}
    falls, kept_failures, retention_failures = [], [], []
    previous_mean = None
    for it in measured:
        scores = {r["id"]: min(r["score"], 1.0) for r in it["principles"] if r.get("score") is not None}
        for pid in it["new"]:
            if pid in scores:
                own[pid] = scores[pid]
        mean = it.get("capped_mean")
        if previous_mean is not None and mean is not None and mean < previous_mean:
            falls.append(f"capped mean fell {previous_mean:.2f} → {mean:.2f} in iteration {it['iteration']}")
        previous_mean = mean if mean is not None else previous_mean
        if it["retention"]["ratio"] > MAX_RETENTION:
            retention_failures.append(f"retention ×{it['retention']['ratio']:.3f} in iteration {it['iteration']}")
    if measured:
        final = {r["id"]: min(r["score"], 1.0) for r in measured[-1]["principles"] if r.get("score") is not None}
        for pid, first in own.items():
            if pid in final and final[pid] < KEEP * first:
                kept_failures.append(f"{pid} {first:.2f} → {final[pid]:.2f}")
    complete = bool(measured) and measured[-1]["iteration"] == last
    reasons = falls + retention_failures + ([f"below 80% of own: {', '.join(kept_failures)}"] if kept_failures else [])
    return {"holds": not reasons, "complete": complete, "reasons": reasons}


def _order(run: dict) -> tuple:
    """Today's behaviour (previous teacher, no replay) first, then one mechanism at a time."""
    config = run["result"].get("config") or {}
    suite = config.get("suite") or {}
    return (config.get("teacher") != "previous", bool(config.get("replay_kept")), (suite.get("distill") or {}).get("regime") != "off-policy",
            config.get("injection") != "stepwise", config.get("student") == "rebase", len(config.get("schedule") or []) < 3,
            run["meta"]["name"])


def table(results: Path) -> str:
    files = sorted(results.glob(f"{PREFIX}*.json"))
    runs = sorted((json.loads(f.read_text()) | {"file": f.name} for f in files), key=_order)
    ids: list[str] = []
    for r in runs:
        for ids_of in ((r["result"].get("config") or {}).get("schedule") or []):
            ids += [pid for pid in ids_of if pid not in ids]
    lines = ["# Continual internalization: new principles each iteration, every earlier one re-scored (SmolLM2-135M-Instruct, CPU)",
             "",
             ("Each iteration brings principles not trained before and trains a new LoRA on the merged previous student. After "
             "each iteration every principle trained so far is scored *without* it in context: checker score = (student − base) "
             "/ (teacher − base) against the calibration's base and teacher (`bench/results/internalize-calibration.json`), "
             "P10 by divergence against the original base with its block, 1 − KL(teacher‖student)/KL(teacher‖base). A score "
             "in **bold** is the principle's own iteration. Capped mean = mean over all principles so far, each score capped "
             "at 1.0. Retention = NLL of the original base model's greedy answers to 20 held-out general prompts, student / "
             "base; the collapse guard says STOP above ×1.05 (the benchmark measures on past it)."),
             "",
             ("Teacher: *previous* = the merged previous student with the principle block (what repeated rounds did), "
             "*anchored* = the original base model with the block (its samples and its KL targets, the replay KL too), the "
             "student still continuing from the merged previous student. Replay = the earlier iterations' kept teacher "
             "successes trained again (targets from this iteration's teacher)."),
             "",
             (f"**Goal** (issue #16): after the last iteration every principle keeps ≥ {KEEP:.0%} of its own-iteration capped "
             f"score, the capped mean never falls, retention ≤ ×{MAX_RETENTION}. The goal column reads the iterations so far. "
              "The reading of these numbers: `bench/internalize/README.md`."),
             "",
             "| configuration | it. | new | " + " | ".join(ids) + " | capped mean | retention ×base | guard | goal so far |",
             "|---" * (len(ids) + 7) + "|"]
    notes = []
    for r in runs:
        result, meta = r["result"], r["meta"]
        config = result.get("config") or {}
        suite = config.get("suite") or {}
        label = (f"{meta['name']}: {config.get('teacher', '?')}, {'replay' if config.get('replay_kept') else 'no replay'}, "
                 f"{(suite.get('distill') or {}).get('regime', '?')}, {config.get('injection', '?')}"
                 + (", rebase" if config.get("student") == "rebase" else ""))
        last = len(config.get("schedule") or [])
        iterations = result.get("iterations") or []
        for n, it in enumerate(iterations):
            if not it.get("principles"):
                lines.append(f"| {label} | {it['iteration']} | {'+'.join(it['new'])} | " + " | ".join("–" for _ in ids)
                             + f" | – | – | stopped: {it.get('stopped', '?')} | – |")
                continue
            rows = {p["id"]: p for p in it["principles"]}
            cells = []
            for pid in ids:
                row = rows.get(pid)
                text = "" if row is None else _num(row.get("score")) + (" div" if row.get("method") == "divergence" else "")
                cells.append(f"**{text}**" if pid in it["new"] and text else text)
            verdict = goal(iterations[: n + 1], last)
            guard = "STOP" if it["collapse"]["collapsed"] else "ok"
            reading = ("holds" if verdict["holds"] else "fails: " + "; ".join(verdict["reasons"]))
            lines.append(f"| {label} | {it['iteration']} | {'+'.join(it['new'])} | " + " | ".join(cells)
                         + f" | {_num(it.get('capped_mean'))} | ×{it['retention']['ratio']:.3f} | {guard} | {reading} |")
        timing = "; ".join(f"iteration {it['iteration']}: " + ", ".join(f"{k.removesuffix('_s')} {v / 60:.1f} min"
                                                                       for k, v in (it.get("timings") or {}).items())
                           for it in iterations if it.get("timings"))
        kept = "; ".join(f"it. {it['iteration']}: " + ", ".join(f"{pid} {s['kept']}/{s['sampled']}" for pid, s in it["dataset"]["new"].items())
                         + (f", replayed {sum(it['dataset']['replayed'].values())}" if it["dataset"]["replayed"] else "")
                         for it in iterations if it.get("dataset"))
        scale = (f"n_train {suite.get('n_train')}, teacher_samples {suite.get('teacher_samples')}, n_heldout {suite.get('n_heldout')}, "
                 f"eval_samples {suite.get('eval_samples')}, max_new_tokens {suite.get('max_new_tokens')}, "
                 f"max_records_per_principle {suite.get('max_records_per_principle')}, seed {suite.get('seed')}") if suite else "–"
        notes += [f"- **{meta['name']}** ({r['status']}; `{r['file']}`): `{meta['command']}`. Started {meta['started']}; "
                  f"{meta['machine']}, torch threads {meta['threads']}. Scale: {scale}"
                  + (f" — {meta['scale']}" if meta.get("scale") else "") + ".",
                  f"  Kept teacher samples: {kept or '–'}.",
                  f"  Timings: {timing or '–'}; total {_num((result.get('timings') or {}).get('total_s', 0) / 60, 1)} min.",
                  "  Beside it: " + ("; ".join(f"`{b}`" for b in meta.get("beside", [])) or "nothing else from bench/")
                  + f" (load average at the last write {', '.join(f'{x:.1f}' for x in meta.get('loadavg', []))})."]
    return "\n".join(lines + ["", "## Runs", ""] + notes) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", action="store_true", help="only rebuild bench/results/internalize-continual.md from the JSONs")
    parser.add_argument("--name", help="the configuration's name: results go to bench/results/internalize-continual-<name>.json")
    parser.add_argument("--teacher", choices=["previous", "anchored"], default="previous")
    parser.add_argument("--replay", action=argparse.BooleanOptionalAction, default=False,
                        help="train the earlier iterations' kept teacher successes again")
    parser.add_argument("--replay-fraction", type=float, default=1.0, help="with --replay: the share of them (seeded)")
    parser.add_argument("--regime", choices=["off-policy", "on-policy", "sft"], default="off-policy")
    parser.add_argument("--injection", choices=["stepwise", "global"], default="stepwise")
    parser.add_argument("--student", choices=["continue", "rebase"], default="continue",
                        help="continue = a new LoRA on the merged previous student; rebase = a new LoRA on the base over all records so far")
    parser.add_argument("--schedule", nargs="+", help="ids per iteration, e.g. P2+P6 P7+P8 P4+P10 (the default)")
    parser.add_argument("--iterations", type=int, help="only the first N iterations of the schedule")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-train", type=int, default=16)
    parser.add_argument("--teacher-samples", type=int, default=3)
    parser.add_argument("--n-heldout", type=int, default=16)
    parser.add_argument("--eval-samples", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--max-records-per-principle", type=int, default=16)
    parser.add_argument("--scale-note", default="", help="said in the table beside the scale (e.g. why it is smaller)")
    parser.add_argument("--calibration", default=str(RESULTS / "internalize-calibration.json"))
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--models-dir", default=str(ROOT / ".cache" / "models"))
    parser.add_argument("--work", default=str(ROOT / "bench" / ".work" / "continual"))
    args = parser.parse_args()
    if args.table:
        (RESULTS / "internalize-continual.md").write_text(table(RESULTS))
        print(f"wrote {RESULTS / 'internalize-continual.md'}")
        return 0
    if not args.name:
        parser.error("--name is required to run a configuration (or pass --table)")
    if not 0 < args.replay_fraction <= 1:
        parser.error(f"--replay-fraction must be in (0, 1], not {args.replay_fraction}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
