import io
import json

from internalize_trainer.jobs import run
from internalize_trainer.protocol import ProtocolError, Server, parse_request


def run_server(lines: list[str]) -> list[dict]:
    out = io.StringIO()
    Server(run, io.StringIO("".join(line + "\n" for line in lines)), out).serve()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_malformed_requests_get_error_responses_and_the_worker_keeps_serving():
    replies = run_server(["{not json", '["a list"]', '{"id": 1, "method": "fly"}', '{"id": 2, "method": "hello"}'])
    assert [r.get("error", {}).get("code") for r in replies[:3]] == ["parse-error", "invalid-request", "unknown-method"]
    assert replies[3]["id"] == 2 and replies[3]["result"]["protocol"] == 1


def test_parse_request_names_the_problem():
    try:
        parse_request('{"id": 3, "method": "distill", "params": [1]}')
    except ProtocolError as error:
        assert error.code == "invalid-params"
    else:
        raise AssertionError("params that are not an object must be refused")


def test_a_job_error_is_a_response_not_a_crash(tmp_path):
    params = {"model": str(tmp_path / "nothing"), "out_dir": str(tmp_path)}
    replies = run_server([json.dumps({"id": 5, "method": "distill", "params": params})])
    errors = [r for r in replies if "error" in r and r.get("id") == 5]
    assert errors and "is not a model folder, a .gguf file or the built-in name" in errors[0]["error"]["message"]


def test_the_protocol_runs_whatever_runner_it_is_given():
    # The protocol only moves messages: it never imports the jobs, so any runner serves.
    def echo(method, params, emit, cancelled):
        emit({"event": "progress", "done": 1, "total": 1})
        return {"method": method, "params": params, "cancelled": cancelled()}

    out = io.StringIO()
    Server(echo, io.StringIO(json.dumps({"id": 7, "method": "score", "params": {"x": 1}}) + "\n"), out).serve()
    replies = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {"id": 7, "result": {"method": "score", "params": {"x": 1}, "cancelled": False}} in replies
    assert any(r.get("event") == "progress" and r["id"] == 7 for r in replies)
