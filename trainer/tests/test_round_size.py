"""A quick round's smaller general set, and the toy world's evaluation reporting its progress."""

from internalize_trainer.evaluate import evaluate_loaded
from internalize_trainer.model import load_model
from internalize_trainer.owndata import general_records


def test_a_prompt_count_takes_the_first_prompts_of_each_set(toy_dir, monkeypatch):
    # The real general prompts are English the toy vocabulary cannot read; the toy world's own words stand in.
    prompts = (["task : fix the failing build", "task : the tests fail in module parser", "task : run the tests"],
               ["task : read the log of the build", "task : the build fails"])
    monkeypatch.setattr("internalize_trainer.owndata.general_prompts", lambda: prompts)
    tokenizer, model = load_model(toy_dir)
    replay, retention = general_records(model, tokenizer, max_new_tokens=4, prompts=1)
    assert [r["messages"][0]["content"] for r in replay] == prompts[0][:1]
    assert [r["messages"][0]["content"] for r in retention] == prompts[1][:1]


def test_toy_evaluation_reports_each_measurement_as_an_evaluate_step(toy_dir):
    tokenizer, model = load_model(toy_dir)
    events = []
    metrics = evaluate_loaded(model, tokenizer, 0, events.append)
    steps = [(e["phase"], e["step"], e["total"]) for e in events]
    assert all(phase == "evaluate" for phase, _, _ in steps)
    total = steps[0][2]
    assert [s for _, s, _ in steps] == list(range(total + 1)), "one step per measurement, then the end"
    assert {"accuracy_without_principles", "action_nll", "probe_nll", "valid_action_rate"} <= set(metrics)
