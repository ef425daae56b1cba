"""The principle-internalization recipe on a real model, read top to bottom.

1. Calibrate: per principle, the base model's success on held-out cases *without* the principle and the
   teacher's (the same model, step-wise block appended to the latest observation) *with* it. Keep the
   principles where the teacher is clearly better; following principles in context is weak at 135 M.
2. Sample k teacher responses per training case at temperature and keep the successful ones (checker).
3. Off-policy forward-KL distillation (distill.py) on those responses, with a replay KL term toward the
   base model on general prompts, which is what holds retention at this size.
4. Score: per principle, the share of the teacher-base gap the student closes without the principle,
   (student - base) / (teacher - base) by checker; a principle without a checker is scored by divergence
   on held-out decision states, 1 - KL(teacher||student) / KL(teacher||base), and labelled so.
5. Retention: NLL of the base model's own answers to held-out general prompts, student vs base; the
   collapse guard stops the rounds when it rises past its limit.

The continual setting (the paper's, `run_continual`): iterations that each bring principles not trained before,
each training a new LoRA on the merged previous student, re-scoring every principle trained so far against the
original base model after each iteration, so forgetting and collapse show.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch

from .config import DistillConfig, LoraConfig
from .data import Record, render_turn, target_logits, teacher_messages
from .evaluate import collapse_guard
from .generate import generate
from .suites.coding import Case, Principle, general_prompts, load_suite

Event = Callable[[dict], None]


def _recipe_distill() -> DistillConfig:
    # Issue #10's measured recipe: LoRA r=16 on attention, lr 2e-4, 3 epochs, replay KL at every step.
    return DistillConfig(epochs=3, learning_rate=2e-4, batch_size=4, replay_weight=1.0, save_merged=False,
                         lora=LoraConfig(r=16, alpha=32, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))


@dataclass
class SuiteConfig:
    """Every knob of a suite run; defaults are the benchmark's."""

    #: Principle ids to run (None: all of the suite).
    principles: list[str] | None = None
    #: Training and held-out cases per principle (at most what the suite has: 60 and 30).
    n_train: int = 40
    n_heldout: int = 20
    #: Teacher responses sampled per training case; only the checker's successes are kept (at most
    #: `keep_per_case` per case, so no single prompt dominates). A principle without checker keeps one each.
    teacher_samples: int = 4
    keep_per_case: int = 2
    #: At most this many kept responses per principle (spread over the cases first): the training cost of a
    #: round grows with the suite, and issue #10's scratch run internalized a principle from 20.
    max_records_per_principle: int = 20
    temperature: float = 0.8
    #: Samples per held-out case when measuring success rates (base, teacher, student).
    eval_samples: int = 2
    eval_temperature: float = 0.7
    top_p: float = 0.95
    max_new_tokens: int = 64
    #: Calibration: keep a principle when teacher - base >= min_gap and the one-sided two-proportion z >= min_z.
    calibrate: bool = True
    min_gap: float = 0.15
    min_z: float = 2.0
    #: A principle whose score reaches this is marked internalized (no longer injected when serving).
    threshold: float = 0.5
    rounds: int = 1
    #: Retention: the collapse guard's limit on the rise of general-prompt NLL against the base model.
    max_retention_increase: float = 0.05
    generation_batch: int = 32
    seed: int = 0
    distill: DistillConfig = field(default_factory=_recipe_distill)

    @staticmethod
    def from_dict(data: dict) -> SuiteConfig:
        known = set(SuiteConfig.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown suite setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        base = asdict(_recipe_distill())
        base.update(values.pop("distill", None) or {})
        if isinstance(base.get("lora"), dict):
            base["lora"] = {**asdict(_recipe_distill().lora), **base["lora"]}
        return SuiteConfig(**values, distill=DistillConfig.from_dict(base))


#: Which blocks a case's teacher view gets: message index -> block text (data.Record's `blocks`).
Blocks = Callable[[Case, Principle], dict[int, str]]


def stepwise_blocks(case: Case, principle: Principle) -> dict[int, str]:
    """The paper's step-wise injection: the principle's block appended to the case's latest observation."""
    return {case.observation: principle.block}


def teacher_view(case: Case, blocks: dict[int, str]) -> list[dict]:
    """The case's messages with the given blocks appended, as data.py renders a teacher view."""
    record = Record(messages=case.messages + [{"role": "assistant", "content": ""}], blocks=blocks, targets=[len(case.messages)])
    return teacher_messages(record, len(case.messages))[:-1]


def kept_record(case: Case, blocks: dict[int, str], response: str) -> Record:
    """A kept teacher response as a distillation record: the case, the response as its target, the teacher's blocks."""
    return Record(messages=case.messages + [{"role": "assistant", "content": response}], blocks=blocks, targets=[len(case.messages)])


def block_view(case: Case, principle: Principle) -> list[dict]:
    """The teacher view of a case: the step-wise block appended to its latest observation (data.py's rendering)."""
    return teacher_view(case, stepwise_blocks(case, principle))


def z_score(successes_a: int, n_a: int, successes_b: int, n_b: int) -> float:
    """One-sided two-proportion z statistic of a > b (pooled); inf when both are certain and differ."""
    pa, pb = successes_a / n_a, successes_b / n_b
    pooled = (successes_a + successes_b) / (n_a + n_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if spread == 0:
        return 0.0 if pa == pb else math.copysign(math.inf, pa - pb)
    return (pa - pb) / spread


class Runner:
    """One suite run: holds the model, the cases and the event sink."""

    def __init__(self, model_dir: Path, config: SuiteConfig, out_dir: Path, emit: Event = lambda e: None,
                 should_stop: Callable[[], bool] = lambda: False, suite: list[Principle] | None = None):
        """`suite` replaces the built-in coding suite (tests run the recipe on principles a toy model can follow)."""
        from .model import load_model

        self.config, self.out, self.emit, self.should_stop = config, Path(out_dir), emit, should_stop
        self.model_dir = Path(model_dir)
        self.tokenizer, self.model = load_model(model_dir)
        suite = load_suite(config.seed) if suite is None else suite
        wanted = config.principles or [p.id for p in suite]
        missing = sorted(set(wanted) - {p.id for p in suite})
        if missing:
            raise ValueError(f"unknown principle id(s) {', '.join(missing)}; the suite has {', '.join(p.id for p in suite)}")
        self.principles = [p for p in suite if p.id in wanted]
        replay, heldout = general_prompts()
        self.replay_prompts, self.retention_prompts = replay, heldout

    # -- generation and checking ---------------------------------------------------------------------------

    def _warn(self, message: str) -> None:
        self.emit({"event": "log", "level": "warning", "message": message})

    def sample(self, model, conversations: list[list[dict]], n: int, temperature: float, seed: int) -> list[list[str]]:
        """n responses per conversation (greedy when temperature is 0), grouped by conversation."""
        flat = [c for c in conversations for _ in range(n)]
        texts = [g.text for g in generate(model, self.tokenizer, flat, self.config.max_new_tokens, temperature, self.config.top_p,
                                          seed, self.config.generation_batch, self._warn)]
        return [texts[i * n : (i + 1) * n] for i in range(len(conversations))]

    def success_rate(self, model, principle: Principle, with_principle: bool, seed: int) -> tuple[int, int, list[dict]]:
        """(successes, trials, the first two responses with their verdicts) on the held-out cases."""
        cases = principle.heldout[: self.config.n_heldout]
        views = [block_view(c, principle) if with_principle else c.messages for c in cases]
        responses = self.sample(model, views, self.config.eval_samples, self.config.eval_temperature, seed)
        verdicts = [(c, r, principle.checker(r, c)) for c, rs in zip(cases, responses, strict=True) for r in rs]
        examples = [{"prompt": c.messages[-1]["content"][-200:], "response": r, "success": ok} for c, r, ok in verdicts[:2]]
        return sum(ok for _, _, ok in verdicts), len(verdicts), examples

    # -- the recipe ----------------------------------------------------------------------------------------

    def calibrate(self) -> dict[str, dict]:
        """Base without / teacher with the principle, on held-out cases; which principles are kept."""
        rows, c = {}, self.config
        for i, p in enumerate(self.principles):
            self.emit({"event": "progress", "phase": "calibrate", "step": i, "total": len(self.principles), "principle": p.id})
            if p.checker is None:
                rows[p.id] = {"method": "divergence", "base": None, "teacher": None, "calibrated": True,
                              "reason": "no checker: scored by divergence on held-out decision states"}
                continue
            b, n, base_examples = self.success_rate(self.model, p, False, c.seed)
            t, _, teacher_examples = self.success_rate(self.model, p, True, c.seed + 1)
            gap, z = (t - b) / n, z_score(t, n, b, n)
            keep = not c.calibrate or (gap >= c.min_gap and z >= c.min_z)
            rows[p.id] = {"method": "checker", "base": b / n, "teacher": t / n, "trials": n, "gap": gap, "z": z, "calibrated": keep,
                          "reason": self._reason(gap, z),
                          "examples": {"base": base_examples, "teacher": teacher_examples}}
        self.emit({"event": "progress", "phase": "calibrate", "step": len(self.principles), "total": len(self.principles)})
        return rows

    def _reason(self, gap: float, z: float) -> str:
        c = self.config
        if gap >= c.min_gap and z >= c.min_z:
            return f"teacher clearly above base (gap {gap:+.2f}, z {z:.1f})"
        verdict = f"teacher not clearly above base (gap {gap:+.2f}, z {z:.1f}; needs {c.min_gap:+.2f} and {c.min_z:.1f})"
        return verdict if c.calibrate else f"{verdict}; trained anyway (calibrate is off)"

    def teacher_records(self, model, principles: list[Principle], seed: int) -> tuple[list[Record], dict[str, dict]]:
        """Samples k teacher responses per training case and keeps the successes as distillation records."""
        kept, stats = self.teacher_successes(model, principles, seed)
        return [kept_record(case, stepwise_blocks(case, p), text) for p, case, text in kept], stats

    def teacher_successes(self, model, principles: list[Principle], seed: int,
                          blocks: Blocks = stepwise_blocks) -> tuple[list[tuple[Principle, Case, str]], dict[str, dict]]:
        """Samples k teacher responses per training case (teacher view: the case with `blocks`) and keeps the
        checker's successes, as (principle, case, response)."""
        kept, stats, c = [], {}, self.config
        for i, p in enumerate(principles):
            self.emit({"event": "progress", "phase": "sample", "step": i, "total": len(principles), "principle": p.id})
            cases = p.train[: c.n_train]
            k = c.teacher_samples if p.checker else 1
            responses = self.sample(model, [teacher_view(case, blocks(case, p)) for case in cases], k, c.temperature, seed + 7 * i)
            # Distinct successes only: a repeated sample teaches nothing new and overweights its prompt.
            good = [list(dict.fromkeys(t for t in texts if t.strip() and (p.checker is None or p.checker(t, case))))[: c.keep_per_case]
                    for case, texts in zip(cases, responses, strict=True)]
            # Round-robin over the cases (each case's first success before any second one) up to the cap.
            chosen = [(case, texts[j]) for j in range(c.keep_per_case) for case, texts in zip(cases, good, strict=True) if j < len(texts)]
            chosen = chosen[: c.max_records_per_principle]
            kept += [(p, case, text) for case, text in chosen]
            stats[p.id] = {"sampled": len(cases) * k, "successes": sum(len(g) for g in good), "kept": len(chosen)}
        return kept, stats

    def replay_records(self) -> list[Record]:
        answers = self.sample(self.model, [[{"role": "user", "content": q}] for q in self.replay_prompts], 1, 0.0, self.config.seed)
        return [Record(messages=[{"role": "user", "content": q}, {"role": "assistant", "content": a[0]}], blocks={}, targets=[1])
                for q, a in zip(self.replay_prompts, answers, strict=True) if a[0].strip()]

    @torch.no_grad()
    def nll(self, model, pairs: list) -> float:
        """Mean NLL per token of the given rendered turns."""
        total, tokens = 0.0, 0
        for rendered in pairs:
            logits = target_logits(model(input_ids=torch.tensor([rendered.input_ids])).logits, [rendered])
            total += float(torch.nn.functional.cross_entropy(logits.float(), torch.tensor(rendered.target_ids), reduction="sum"))
            tokens += len(rendered.target_ids)
        return total / max(tokens, 1)

    @torch.no_grad()
    def divergences(self, model, principle: Principle, seed: int, reference=None) -> tuple[float, float]:
        """Mean per-token KL(teacher || base) and KL(teacher || student) on the teacher's responses to held-out
        decision states (teacher: base weights with the principle in context; base and student: without).
        The base weights are `model`'s with its adapter disabled, or `reference` (the original base model of a
        continual run, whose student adapter sits on a merged previous student)."""
        from . import losses

        cases = principle.heldout[: self.config.n_heldout]
        with _base_weights(model, reference) as base:
            responses = self.sample(base, [block_view(c, principle) for c in cases], 1, self.config.eval_temperature, seed)
        before = after = 0.0
        tokens = 0
        for case, (text,) in zip(cases, responses, strict=True):
            if not text.strip():
                continue
            answer = {"role": "assistant", "content": text}
            student = render_turn(self.tokenizer, case.messages + [answer])
            teacher = render_turn(self.tokenizer, block_view(case, principle) + [answer])
            with _base_weights(model, reference) as base:
                t_logits = target_logits(base(input_ids=torch.tensor([teacher.input_ids])).logits, [teacher])
                b_logits = target_logits(base(input_ids=torch.tensor([student.input_ids])).logits, [student])
            s_logits = target_logits(model(input_ids=torch.tensor([student.input_ids])).logits, [student])
            before += float(losses.forward_kl(b_logits, t_logits))
            after += float(losses.forward_kl(s_logits, t_logits))
            tokens += len(student.target_ids)
        return before / max(tokens, 1), after / max(tokens, 1)

    def run(self, calibration: dict | None = None, sampled: dict | None = None) -> dict:
        """The whole recipe. A benchmark that compares regimes or seeds passes the `calibration` it measured once,
        and a `sampled` dict that keeps each round's teacher records for the next regime of the same seed."""
        from .distill import distill

        c, started = self.config, time.perf_counter()
        timings: dict[str, float] = {}
        tick = time.perf_counter()
        if calibration is None:
            calibration = self.calibrate()
            timings["calibrate_s"] = time.perf_counter() - tick
        sampled = {} if sampled is None else sampled
        chosen = [p for p in self.principles if calibration[p.id]["calibrated"]]
        retention_answers = self.sample(self.model, [[{"role": "user", "content": q}] for q in self.retention_prompts], 1, 0.0, c.seed)
        retention_pairs = [render_turn(self.tokenizer, [{"role": "user", "content": q}, {"role": "assistant", "content": a[0]}])
                           for q, a in zip(self.retention_prompts, retention_answers, strict=True)]
        base_nll = self.nll(self.model, retention_pairs)
        result = {"calibration": calibration, "rounds": [], "base_retention_nll": base_nll, "config": asdict(c)}
        if not chosen:
            self._warn("no principle passed calibration; nothing to train")
            result["timings"] = timings
            return result
        replay = self.replay_records()
        model_dir, teacher_model = self.model_dir, self.model
        for round_index in range(1, c.rounds + 1):
            tick = time.perf_counter()
            if round_index not in sampled:
                sampled[round_index] = self.teacher_records(teacher_model, chosen, c.seed + 1000 * round_index)
            records, kept = sampled[round_index]
            timings[f"round{round_index}_sample_s"] = time.perf_counter() - tick
            if not records:
                self._warn(f"round {round_index}: no successful teacher response to distill")
                break
            tick = time.perf_counter()
            config = DistillConfig.from_dict({**asdict(c.distill), "seed": c.seed + round_index, "save_merged": round_index < c.rounds,
                                              "lora": asdict(c.distill.lora)})
            trained = distill(model_dir, records, config, self.out / f"round{round_index}", on_event=self.emit,
                              should_stop=self.should_stop, replay=replay)
            timings[f"round{round_index}_train_s"] = time.perf_counter() - tick
            tick = time.perf_counter()
            student = trained["model"]
            round_result = self.evaluate_round(student, chosen, calibration, kept, round_index, retention_pairs,
                                               base_nll)
            round_result["train"] = {k: v for k, v in trained["metrics"].items() if k != "adapter"}
            round_result["adapter"] = trained["metrics"].get("adapter")
            timings[f"round{round_index}_evaluate_s"] = time.perf_counter() - tick
            result["rounds"].append(round_result)
            self.emit({"event": "metrics", "metrics": {"round": round_index, "principles": round_result["principles"],
                                                       "retention": round_result["retention"], "collapse": round_result["collapse"]}})
            if round_result["collapse"]["collapsed"]:
                reasons = "; ".join(round_result["collapse"]["reasons"])
                self._warn(f"collapse guard stopped the run after round {round_index}: {reasons}")
                break
            if round_index < c.rounds:
                # The next round starts from this student, merged, and its teacher is that model with the principles.
                from .model import load_model

                model_dir = Path(trained["metrics"]["merged"])
                _, teacher_model = load_model(model_dir)
        timings["total_s"] = time.perf_counter() - started
        result["timings"] = timings
        return result

    def evaluate_round(self, student, chosen: list[Principle], calibration: dict, kept: dict, round_index: int,
                       retention_pairs: list, base_nll: float, reference=None) -> dict:
        """Scores each principle without it in context, and retention; `reference` as in `divergences`."""
        c, rows = self.config, []
        for i, p in enumerate(chosen):
            self.emit({"event": "progress", "phase": "evaluate", "step": i, "total": len(chosen), "principle": p.id})
            row = {"id": p.id, "name": p.name, "text": p.text, "kind": p.kind, **kept.get(p.id, {})}
            if p.checker is None:
                kl_before, kl_after = self.divergences(student, p, c.seed + 500, reference)
                score = 1 - kl_after / kl_before if kl_before > 0 else None
                row.update(method="divergence", base=None, teacher=None, student=None, kl_before=kl_before, kl_after=kl_after)
            else:
                s, n, examples = self.success_rate(student, p, False, c.seed + 100 * round_index + 2)
                base, teacher = calibration[p.id]["base"], calibration[p.id]["teacher"]
                score = (s / n - base) / (teacher - base) if teacher > base else None
                row.update(method="checker", base=base, teacher=teacher, student=s / n, trials=n,
                           z_vs_base=z_score(s, n, round(base * n), n), examples=examples)
            row.update(score=score, internalized=score is not None and score >= c.threshold)
            rows.append(row)
        nll = self.nll(student, retention_pairs)
        verdict = collapse_guard({"probe_nll": base_nll}, {"probe_nll": nll}, max_retention_drop=c.max_retention_increase)
        checker_scores = [r["score"] for r in rows if r["method"] == "checker" and r["score"] is not None]
        return {"round": round_index, "principles": rows,
                "mean_checker_score": sum(checker_scores) / len(checker_scores) if checker_scores else None,
                "retention": {"base_nll": base_nll, "student_nll": nll, "ratio": nll / base_nll},
                "collapse": asdict(verdict)}


@contextlib.contextmanager
def _base_weights(model, reference) -> Iterator:
    if reference is not None:
        yield reference
    else:
        with model.disable_adapter():
            yield model


def run_suite(model_dir: Path, config: SuiteConfig, out_dir: Path, emit: Event = lambda e: None,
              should_stop: Callable[[], bool] = lambda: False, calibration: dict | None = None) -> dict:
    """Calibrates (unless given), trains one student per round on the calibrated principles, scores each principle."""
    return Runner(model_dir, config, out_dir, emit, should_stop).run(calibration)


Teacher = Literal["previous", "anchored"]
Injection = Literal["stepwise", "global"]
Student = Literal["continue", "rebase"]

#: The continual benchmark's schedule: pairs of principles that passed calibration, none trained twice.
CONTINUAL_SCHEDULE: list[list[str]] = [["P2", "P6"], ["P7", "P8"], ["P4", "P10"]]


@dataclass
class ContinualConfig:
    """The continual setting: iterations that each bring principles not trained before."""

    #: Principle ids each iteration brings, in order; an id appears in one iteration only.
    schedule: list[list[str]] = field(default_factory=lambda: [list(ids) for ids in CONTINUAL_SCHEDULE])
    #: Who teaches iteration n: "previous" = the merged previous student with the block in context (its teacher
    #: samples and its KL targets; what repeated rounds do today), "anchored" = the ORIGINAL base model with the
    #: block, while the student still continues from the merged previous student. Anchored also takes the replay
    #: KL targets on general prompts from the original base, so retention is pulled toward it, not toward the
    #: previous student. Iteration 1 is the same under both.
    teacher: Teacher = "previous"
    #: Replay of earlier iterations' kept teacher successes in this iteration's records: False/0 none, True/1 all,
    #: a fraction in between (a seeded sample of each earlier iteration's). Their targets are recomputed by this
    #: iteration's teacher; their blocks follow `injection`.
    replay_kept: bool | float = False
    #: "stepwise" = the principle's block appended to the latest observation (the paper's default); "global" = the
    #: blocks of every principle of the pool so far, once, at the start of the conversation: appended to the
    #: system message, or to the first user message of a case that has none (a single-turn case).
    injection: Injection = "stepwise"
    #: Where iteration n's student starts: "continue" = a new LoRA on the merged previous student (the product's
    #: loop), "rebase" = a new LoRA on the ORIGINAL base over this iteration's records and every earlier
    #: iteration's kept ones (joint re-distillation: nothing to forget, at a cost that grows with the iterations).
    #: Rebase needs full replay; it is set by the configuration, not silently added.
    student: Student = "continue"
    #: Stop after an iteration the collapse guard rejects (the product's loop); a benchmark measures on.
    stop_on_collapse: bool = True
    #: Everything one iteration uses (cases, samples, generation, distillation regime and its knobs).
    suite: SuiteConfig = field(default_factory=SuiteConfig)

    @staticmethod
    def from_dict(data: dict) -> ContinualConfig:
        known = set(ContinualConfig.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown continual setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values = dict(data)
        suite = SuiteConfig.from_dict(values.pop("suite", None) or {})
        config = ContinualConfig(**values, suite=suite)
        if config.teacher not in ("previous", "anchored"):
            raise ValueError(f"teacher must be previous or anchored, not {config.teacher!r}")
        if config.injection not in ("stepwise", "global"):
            raise ValueError(f"injection must be stepwise or global, not {config.injection!r}")
        if config.student not in ("continue", "rebase"):
            raise ValueError(f"student must be continue or rebase, not {config.student!r}")
        if config.student == "rebase" and replay_fraction(config.replay_kept) != 1:
            raise ValueError("student rebase retrains from the base model, so it needs every earlier record: set replay_kept true")
        if not 0 <= replay_fraction(config.replay_kept) <= 1:
            raise ValueError(f"replay_kept must be true, false or a fraction in [0, 1], not {config.replay_kept!r}")
        return config


def replay_fraction(replay_kept: bool | float) -> float:
    return float(replay_kept) if not isinstance(replay_kept, bool) else (1.0 if replay_kept else 0.0)


def check_schedule(schedule: list[list[str]], calibration: dict, suite_ids: list[str]) -> None:
    """Every id once, known to the suite and kept by calibration; the error names the iteration and the id."""
    if not schedule or any(not ids for ids in schedule):
        raise ValueError("schedule: every iteration needs at least one principle id")
    seen: dict[str, int] = {}
    for n, ids in enumerate(schedule, 1):
        for pid in ids:
            if pid not in suite_ids:
                raise ValueError(f"schedule, iteration {n}: unknown principle {pid}; the suite has {', '.join(suite_ids)}")
            if pid in seen:
                raise ValueError(f"schedule, iteration {n}: {pid} was already trained in iteration {seen[pid]}; "
                                 "each iteration brings principles not trained before")
            if pid not in calibration or not calibration[pid]["calibrated"]:
                reason = calibration.get(pid, {}).get("reason", "not in the calibration")
                raise ValueError(f"schedule, iteration {n}: {pid} did not pass calibration ({reason}); its teacher is not clearly "
                                 "better than the base, so there is nothing to internalize")
            seen[pid] = n


def replayed(history: list[list], fraction: float, seed: int) -> list:
    """A seeded share `fraction` of each earlier iteration's kept successes (all of them at 1, none at 0)."""
    out = []
    for n, kept in enumerate(history, 1):
        count = round(fraction * len(kept))
        picks = sorted(random.Random(seed * 1009 + n).sample(range(len(kept)), count))
        out += [kept[i] for i in picks]
    return out


def global_blocks(pool: list[Principle]) -> Blocks:
    """Global injection: every principle of the pool, once, at the start of the conversation."""
    text = "\n".join(p.block for p in pool)
    return lambda case, principle: {0: text}


def capped_mean(rows: list[dict]) -> float | None:
    """Mean score over the principles, each capped at 1.0: a student past its teacher cannot hide another's loss."""
    scores = [min(r["score"], 1.0) for r in rows if r.get("score") is not None]
    return sum(scores) / len(scores) if scores else None


def run_continual(model_dir: Path, config: ContinualConfig, out_dir: Path, calibration: dict, emit: Event = lambda e: None,
                  should_stop: Callable[[], bool] = lambda: False, on_iteration: Callable[[dict], None] = lambda result: None,
                  suite: list[Principle] | None = None) -> dict:
    """The continual setting, iteration by iteration; `on_iteration` gets the whole result after each one (a stopped
    benchmark keeps what it measured). Scores are always against the calibration's base and teacher (the original
    base model without / with the block), retention against the original base model."""
    from .distill import distill
    from .model import load_model

    c, out, started = config.suite, Path(out_dir), time.perf_counter()
    wanted = [pid for ids in config.schedule for pid in ids]
    runner = Runner(model_dir, SuiteConfig.from_dict({**asdict(c), "principles": None}), out, emit, should_stop, suite)
    check_schedule(config.schedule, calibration, [p.id for p in runner.principles])
    by_id = {p.id: p for p in runner.principles if p.id in wanted}
    base = runner.model
    retention_answers = runner.sample(base, [[{"role": "user", "content": q}] for q in runner.retention_prompts], 1, 0.0, c.seed)
    retention_pairs = [render_turn(runner.tokenizer, [{"role": "user", "content": q}, {"role": "assistant", "content": a[0]}])
                       for q, a in zip(runner.retention_prompts, retention_answers, strict=True)]
    base_nll = runner.nll(base, retention_pairs)
    general = runner.replay_records()
    result: dict = {"config": asdict(config), "calibration": {pid: calibration[pid] for pid in wanted}, "base_retention_nll": base_nll,
                    "iterations": [], "timings": {"setup_s": time.perf_counter() - started}}
    history: list[list[tuple[Principle, Case, str]]] = []
    student_dir, teacher = Path(model_dir), base
    pool: list[Principle] = []
    for n, ids in enumerate(config.schedule, 1):
        new = [by_id[pid] for pid in ids]
        pool += new
        blocks = stepwise_blocks if config.injection == "stepwise" else global_blocks(pool)
        timings: dict[str, float] = {}
        tick = time.perf_counter()
        kept, stats = runner.teacher_successes(teacher, new, c.seed + 1000 * n, blocks)
        timings["sample_s"] = time.perf_counter() - tick
        again = replayed(history, replay_fraction(config.replay_kept), c.seed + n)
        history.append(kept)
        records = [kept_record(case, blocks(case, p), text) for p, case, text in kept + again]
        dataset = {"new": stats, "replayed": {p.id: sum(q.id == p.id for q, _, _ in again) for p in pool if p not in new},
                   "records": len(records)}
        taught_by = "original base" if config.teacher == "anchored" or n == 1 else f"iteration {n - 1}'s student"
        row: dict = {"iteration": n, "new": ids, "pool": [p.id for p in pool], "teacher": taught_by, "dataset": dataset}
        if not records:
            runner._warn(f"iteration {n}: no successful teacher response to distill")
            row["stopped"] = "no successful teacher response to distill"
            result["iterations"].append(row)
            on_iteration(result)
            break
        tick = time.perf_counter()
        rebase = config.student == "rebase"
        distill_config = DistillConfig.from_dict({**asdict(c.distill), "seed": c.seed + n,
                                                  "save_merged": n < len(config.schedule) and not rebase,
                                                  "lora": asdict(c.distill.lora)})
        trained = distill(student_dir, records, distill_config, out / f"iteration{n}", on_event=emit, should_stop=should_stop,
                          replay=general, teacher_model=base if config.teacher == "anchored" else None)
        timings["train_s"] = time.perf_counter() - tick
        tick = time.perf_counter()
        scored = runner.evaluate_round(trained["model"], pool, calibration, stats, n, retention_pairs, base_nll, reference=base)
        timings["evaluate_s"] = time.perf_counter() - tick
        row.update(principles=scored["principles"], capped_mean=capped_mean(scored["principles"]), retention=scored["retention"],
                   collapse=scored["collapse"], train={k: v for k, v in trained["metrics"].items() if k != "adapter"},
                   adapter=trained["metrics"].get("adapter"), timings=timings)
        result["iterations"].append(row)
        result["timings"]["total_s"] = time.perf_counter() - started
        emit({"event": "metrics", "metrics": {"iteration": n, "capped_mean": row["capped_mean"], "retention": row["retention"],
                                              "collapse": row["collapse"]}})
        on_iteration(result)
        if row["collapse"]["collapsed"] and config.stop_on_collapse:
            runner._warn(f"collapse guard stopped the run after iteration {n}: {'; '.join(row['collapse']['reasons'])}")
            break
        if n < len(config.schedule) and config.student == "continue":
            student_dir = Path(trained["metrics"]["merged"])
            del trained
            if config.teacher == "previous":
                _, teacher = load_model(student_dir)
    result["timings"]["total_s"] = time.perf_counter() - started
    return result


#: The CI-sized variant (trainer/tests/test_suite_ci.py, bench/internalize/noise.py): one principle whose
#: teacher is clearly above the base model in the calibration table, a few dozen cases, one round.
CI_SUITE: dict = {"principles": ["P2"], "n_train": 24, "n_heldout": 20, "teacher_samples": 4, "eval_samples": 2,
                  "max_new_tokens": 48, "max_records_per_principle": 20, "seed": 0}
