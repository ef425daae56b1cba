"""What each long-running method does: the bridge from protocol params to distill and evaluate."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from .config import DistillConfig
from .data import Record
from .protocol import ProtocolError


def _records(params: dict, key: str) -> list[Record]:
    raw = params.get(key)
    if raw is None:
        return []
    if isinstance(raw, str):
        path = Path(raw)
        if not path.is_file():
            raise ProtocolError("invalid-params", f"{key}: no dataset file at {path}")
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    elif isinstance(raw, list):
        lines = raw
    else:
        raise ProtocolError("invalid-params", f"{key} must be a JSONL file path or a list of records")
    return [Record.parse(r, f"{key}[{i}]") for i, r in enumerate(lines)]


def _model_dir(params: dict) -> Path:
    from .resolve import resolve_model

    spec = params.get("model")
    if not spec:
        raise ProtocolError("invalid-params", "give 'model' (a model folder, a .gguf file or 'smollm2-135m-instruct')")
    models = Path(params.get("models_dir") or Path.home() / ".cache" / "internalize" / "models")
    return resolve_model(str(spec), models)


#: The model `generate` loaded last, kept so that a local LM backend's calls do not reload it each time.
_loaded: dict[str, tuple] = {}


def _generate(params: dict, emit: Callable[[dict], None]) -> dict:
    """messages (one conversation) or conversations (several) → one assistant turn each."""
    from .generate import TRUNCATION_POLICY, generate
    from .model import load_model

    if "messages" in params:
        conversations = [params["messages"]]
    elif "conversations" in params:
        conversations = params["conversations"]
    else:
        raise ProtocolError("invalid-params", "generate needs 'messages' (a list of chat messages) or 'conversations' (a list of those)")
    if not isinstance(conversations, list) or not conversations:
        raise ProtocolError("invalid-params", "'conversations' must be a non-empty list of message lists")
    for i, messages in enumerate(conversations):
        try:
            Record.parse({"messages": messages + [{"role": "assistant", "content": ""}]}, f"conversations[{i}]")
        except ValueError as error:
            raise ProtocolError("invalid-params", str(error)) from error
        if any(not isinstance(m.get("content", ""), str) for m in messages):
            raise ProtocolError("invalid-params", f"conversations[{i}]: every message content must be a string")
    max_new = params.get("max_new_tokens", 256)
    temperature = params.get("temperature", 0.0)
    if not isinstance(max_new, int) or max_new < 1:
        raise ProtocolError("invalid-params", "max_new_tokens must be a positive integer")
    if not isinstance(temperature, int | float) or temperature < 0:
        raise ProtocolError("invalid-params", "temperature must be a number >= 0 (0 is greedy)")
    model_dir = _model_dir(params)
    key = str(model_dir.resolve())
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = load_model(model_dir)
    tokenizer, model = _loaded[key]

    def warn(message: str) -> None:
        emit({"event": "log", "level": "warning", "message": message})

    out = generate(model, tokenizer, conversations, max_new, float(temperature), float(params.get("top_p", 1.0)),
                   int(params.get("seed", 0)), int(params.get("batch_size", 16)), warn)
    return {"model": str(model_dir), "truncation_policy": TRUNCATION_POLICY,
            "generations": [{"text": g.text, "tokens": g.tokens, "truncated": g.truncated} for g in out]}


def _suite(params: dict, emit: Callable[[dict], None], cancelled: Callable[[], bool]) -> dict:
    from .recipe import SuiteConfig, run_suite

    try:
        config = SuiteConfig.from_dict(params.get("config", {}))
    except (TypeError, ValueError) as error:
        raise ProtocolError("invalid-params", str(error)) from error
    from .suites.coding import load_suite

    result = run_suite(_model_dir(params), config, workdir(params), emit, cancelled)
    texts = {p.id: p.text for p in load_suite(config.seed)}
    rounds = result["rounds"]
    last = rounds[-1] if rounds else None
    principles = []
    for pid, row in result["calibration"].items():
        scored = next((r for r in last["principles"] if r["id"] == pid), None) if last else None
        principles.append({"id": pid, "text": texts.get(pid, ""), "calibrated": row["calibrated"], "reason": row["reason"],
                           "method": row["method"], "base": row["base"], "teacher": row["teacher"],
                           "student": scored["student"] if scored else None, "score": scored["score"] if scored else None,
                           "internalized": bool(scored and scored["internalized"]),
                           **({"kl_before": scored["kl_before"], "kl_after": scored["kl_after"]}
                              if scored and scored["method"] == "divergence" else {})})
    return {"principles": principles, "retention": last["retention"] if last else None,
            "collapse": last["collapse"] if last else None, "rounds": rounds, "calibration": result["calibration"],
            "timings": result["timings"]}


def _raw_lines(params: dict, key: str) -> list[dict]:
    raw = params.get(key)
    if isinstance(raw, list):
        return raw
    if not isinstance(raw, str) or not Path(raw).is_file():
        raise ProtocolError("invalid-params", f"{key}: give a JSONL dataset file or a list of records (no file at {raw})")
    rows = []
    for number, line in enumerate(Path(raw).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as error:
            raise ProtocolError("invalid-params", f"{raw}:{number}: not valid JSON ({error.msg})") from error
    return rows


def _score_round(params: dict, emit: Callable[[dict], None], cancelled: Callable[[], bool]) -> dict:
    """Own-data scoring: per-principle divergence on held-out states, action NLL, retention, the guard's verdict."""
    from .owndata import score_round

    if not params.get("student"):
        raise ProtocolError("invalid-params", "score_round needs 'student' (the merged student model folder of this iteration)")
    student = Path(params["student"])
    if not (student / "config.json").is_file():
        raise ProtocolError("invalid-params",
                            f"student: {student} is not a model folder (no config.json); was the round's merged model saved?")
    rows = _raw_lines(params, "dataset")
    records = [Record.parse(r, f"dataset[{i}]") for i, r in enumerate(rows)]
    principles = [list((r.get("meta") or {}).get("principles") or []) for r in rows]
    retention = ([Record.parse(r, f"retention[{i}]") for i, r in enumerate(_raw_lines(params, "retention"))]
                 if params.get("retention") else [])
    return score_round(_model_dir(params), student, records, principles, retention, params.get("persistence", "ephemeral"),
                       float(params.get("threshold", 0.5)), float(params.get("max_retention_increase", 0.05)),
                       params.get("device"), emit, cancelled, int(params.get("answers", 0)), int(params.get("answer_tokens", 96)))


def _sample_targets(params: dict, emit: Callable[[dict], None], cancelled: Callable[[], bool]) -> dict:
    """Teacher samples for the training records: k per state from the base model with the block, measured and filtered."""
    from .teacher_samples import SampleConfig, sample_round

    try:
        config = SampleConfig.from_dict(params.get("config") or {})
    except (TypeError, ValueError) as error:
        raise ProtocolError("invalid-params", str(error)) from error
    rows = _raw_lines(params, "dataset")
    records = [Record.parse(r, f"dataset[{i}]") for i, r in enumerate(rows)]
    if not records:
        raise ProtocolError("invalid-params", f"dataset: {params.get('dataset')} has no records to sample targets for")
    return sample_round(_model_dir(params), records, config, params.get("persistence", "ephemeral"), params.get("device"),
                        emit, cancelled)


def run(method: str, params: dict, emit: Callable[[dict], None], cancelled: Callable[[], bool]) -> dict:
    from . import toyworld
    from .distill import distill

    if method == "generate":
        return _generate(params, emit)
    if method == "suite":
        return _suite(params, emit, cancelled)
    if method == "general":
        from .owndata import write_general

        return write_general(_model_dir(params), workdir(params), int(params.get("max_new_tokens", 48)), emit,
                             int(params.get("prompts", 0)))
    if method == "score_round":
        return _score_round(params, emit, cancelled)
    if method == "sample_targets":
        return _sample_targets(params, emit, cancelled)
    out = workdir(params)
    if params.get("toy"):
        # The built-in toy world: its model, its teacher trajectories and its evaluation sets.
        seed = int(params.get("seed", 0))
        # INTERNALIZE_TOY_CACHE lets tests and the demo share one taught toy model across runs.
        cache = os.environ.get("INTERNALIZE_TOY_CACHE") or params.get("cache_dir") or out / "cache"
        model_dir = toyworld.toy_model_dir(Path(cache), seed)
        records, replay = toyworld.distillation_records(seed), toyworld.replay_records(seed)
    else:
        if not params.get("model"):
            raise ProtocolError("invalid-params", "give 'model' (a model folder, a .gguf file or 'smollm2-135m-instruct') or 'toy': true")
        model_dir = _model_dir(params)
        records, replay = _records(params, "dataset"), _records(params, "replay")
        # Earlier iterations' training records, rehearsed beside this one's (replay of kept successes).
        for i, path in enumerate(params.get("earlier_datasets") or []):
            records += _records({f"earlier_datasets[{i}]": path}, f"earlier_datasets[{i}]")
    if method == "score":
        from .evaluate import score_divergence
        from .model import load_model

        tokenizer, model = load_model(model_dir)
        if params.get("adapter"):
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, params["adapter"])
        scored = records if not params.get("toy") else toyworld.heldout_records(int(params.get("seed", 0)), 2)
        return {"scores": score_divergence(model, tokenizer, scored, params.get("persistence", "ephemeral"))}
    if method == "evaluate":
        from .evaluate import evaluate_toy

        if not params.get("toy"):
            raise ProtocolError("invalid-params", "evaluate currently supports the toy world ('toy': true)")
        return evaluate_toy(Path(model_dir), params.get("adapter"), int(params.get("seed", 0)))
    config = DistillConfig.from_dict(params.get("config", {}))
    try:
        result = distill(model_dir, records, config, out, on_event=emit, should_stop=cancelled, replay=replay,
                         teacher_model=_teacher_model(params, model_dir))
    except RuntimeError as error:
        if "out of memory" not in str(error).lower():
            raise
        raise ProtocolError(
            "out-of-memory",
            f"the accelerator ran out of memory ({str(error).splitlines()[0]}). Lower config.batch_size (now {config.batch_size}) "
            f"and raise config.grad_accum to keep the same effective batch, use a smaller config.lora.r (now {config.lora.r}), "
            "or train on shorter trajectories.",
        ) from error
    metrics = result["metrics"]
    if metrics.get("rank", 0) != 0:
        return {"metrics": metrics, "model": str(model_dir)}
    if params.get("toy") and params.get("evaluate", True):
        from dataclasses import asdict

        from .evaluate import collapse_guard, evaluate_loaded

        metrics.update(evaluate_loaded(result["model"], result["tokenizer"], int(params.get("seed", 0)), emit))
        # Iteration 0 is the base model itself (adapter disabled), measured in the same run.
        guard = params.get("guard", {})
        iteration0 = {"probe_nll": metrics["base_probe_nll"], "valid_action_rate": metrics["base_valid_action_rate"]}
        verdict = collapse_guard(iteration0, metrics,
                                 max_retention_drop=float(guard.get("max_retention_drop", 0.05)),
                                 max_validity_drop=float(guard.get("max_validity_drop", 0.10)))
        metrics["collapse"] = asdict(verdict)
    emit({"event": "metrics", "metrics": metrics})
    return {"metrics": metrics, "model": str(model_dir)}


def _teacher_model(params: dict, model_dir: Path):
    """An anchored teacher (`teacher_model`: usually the original base model) when it differs from the student's start.

    Continual iterations start the student from the merged previous student; the benchmark measured that keeping
    the original base model as the teacher (with replay of earlier kept records) holds best
    (bench/results/internalize-continual.md). Without `teacher_model` the teacher is the start model, adapter disabled.
    """
    spec = params.get("teacher_model")
    if not spec:
        return None
    teacher_dir = _model_dir({**params, "model": spec})
    if teacher_dir.resolve() == Path(model_dir).resolve():
        return None
    from .model import load_model

    return load_model(teacher_dir)[1]


def workdir(params: dict) -> Path:
    """The job's output folder: `out_dir` from the params, else `.internalize-run` in the working directory."""
    path = Path(params.get("out_dir") or Path.cwd() / ".internalize-run")
    path.mkdir(parents=True, exist_ok=True)
    return path
