import json

import torch

from internalize_trainer.generate import TRUNCATION_POLICY, fit_context, generate
from internalize_trainer.jobs import run
from internalize_trainer.model import load_model
from internalize_trainer.protocol import Server


def test_fit_context_keeps_the_system_turn_and_the_latest_tokens():
    ids = list(range(100))
    assert fit_context(ids, head=10, limit=200) == (ids, 0)
    kept, dropped = fit_context(ids, head=10, limit=40)
    assert kept == list(range(10)) + list(range(70, 100)) and dropped == 60
    # A system turn longer than half the budget is not kept whole: the latest tokens matter more.
    kept, dropped = fit_context(ids, head=30, limit=40)
    assert kept == list(range(60, 100)) and dropped == 60


def test_batched_greedy_generation_matches_one_at_a_time(toy_dir):
    tokenizer, model = load_model(toy_dir)
    conversations = [[{"role": "user", "content": "task : fix the failing build"}],
                     [{"role": "system", "content": "you are a coding agent . answer with one tool call ."},
                      {"role": "user", "content": "task : the tests fail in module parser after the last change"}]]
    together = generate(model, tokenizer, conversations, max_new_tokens=12)
    alone = [generate(model, tokenizer, [c], max_new_tokens=12)[0] for c in conversations]
    assert [g.text for g in together] == [g.text for g in alone]
    assert all(0 < g.tokens <= 12 and g.truncated == 0 for g in together)


def test_sampling_is_reproducible_for_a_seed(toy_dir):
    tokenizer, model = load_model(toy_dir)
    conversation = [[{"role": "user", "content": "task : fix the failing build"}]] * 4
    first = generate(model, tokenizer, conversation, max_new_tokens=10, temperature=1.0, seed=3)
    again = generate(model, tokenizer, conversation, max_new_tokens=10, temperature=1.0, seed=3)
    assert [g.text for g in first] == [g.text for g in again]


def test_a_prompt_longer_than_the_context_is_cut_by_the_stated_policy_and_the_caller_is_warned(toy_dir):
    tokenizer, model = load_model(toy_dir)
    long = [{"role": "system", "content": "you are a coding agent ."}, {"role": "user", "content": "error : file not found " * 200}]
    warnings: list[str] = []
    out = generate(model, tokenizer, [long], max_new_tokens=8, on_warning=warnings.append)
    assert out[0].truncated > 0 and len(warnings) == 1 and "dropped" in warnings[0] and TRUNCATION_POLICY in warnings[0]
    assert model.config.max_position_embeddings == 256  # the toy model's context, which the prompt exceeded


def test_the_generate_method_answers_over_the_protocol_and_warns_about_truncation(toy_dir):
    import io

    torch.manual_seed(0)
    params = {"model": str(toy_dir), "max_new_tokens": 6,
              "conversations": [[{"role": "user", "content": "task : fix the failing build"}],
                                [{"role": "user", "content": "error : file not found " * 200}]]}
    bad = {"model": str(toy_dir), "messages": [{"role": "robot", "content": "hi"}]}
    lines = [json.dumps({"id": 1, "method": "generate", "params": params}), json.dumps({"id": 2, "method": "generate", "params": bad})]
    out = io.StringIO()
    server = Server(run, io.StringIO(lines[0] + "\n"), out)
    server.serve()
    server = Server(run, io.StringIO(lines[1] + "\n"), out)
    server.serve()
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    result = next(r["result"] for r in replies if r.get("id") == 1 and "result" in r)
    assert len(result["generations"]) == 2 and result["generations"][1]["truncated"] > 0
    assert any(r.get("event") == "log" and r.get("level") == "warning" and "dropped" in r["message"] for r in replies)
    error = next(r["error"] for r in replies if r.get("id") == 2 and "error" in r)
    assert error["code"] == "invalid-params" and "role" in error["message"]
