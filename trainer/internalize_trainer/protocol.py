"""JSON lines over stdio: the worker's only interface to the extension and the CLI.

Requests:  {"id": 1, "method": "distill", "params": {...}}
Responses: {"id": 1, "result": {...}} or {"id": 1, "error": {"code": "...", "message": "..."}}
Events:    {"event": "progress" | "log" | "metrics" | "checkpoint" | "done" | "error", "id": 1, ...}

A malformed line gets an error response and the worker keeps serving; end of input (the parent died
or closed the pipe) stops it after the running job has saved what it has.
"""

from __future__ import annotations

import json
import sys
import threading
import traceback
from collections.abc import Callable
from typing import IO

from . import PROTOCOL_VERSION, __version__

#: What runs a method: (method, params, emit an event, has the job been cancelled?) -> result.
#: The protocol only moves messages; `jobs.run` is the runner the worker uses, tests may pass their own.
JobRunner = Callable[[str, dict, Callable[[dict], None], Callable[[], bool]], dict]

METHODS = ("hello", "distill", "evaluate", "score", "suite", "generate", "general", "score_round", "sample_targets", "cancel", "shutdown")


class ProtocolError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def parse_request(line: str) -> tuple[object, str, dict]:
    """Returns (id, method, params) or raises ProtocolError naming what is wrong with the line."""
    try:
        message = json.loads(line)
    except json.JSONDecodeError as error:
        raise ProtocolError("parse-error", f"not JSON: {error.msg} at column {error.colno}") from error
    if not isinstance(message, dict):
        raise ProtocolError("invalid-request", "a request must be a JSON object with id, method and params")
    request_id = message.get("id")
    if not isinstance(request_id, int | str):
        raise ProtocolError("invalid-request", "a request needs an integer or string id")
    method = message.get("method")
    if method not in METHODS:
        raise ProtocolError("unknown-method", f"unknown method {method!r}; known: {', '.join(METHODS)}")
    params = message.get("params", {})
    if not isinstance(params, dict):
        raise ProtocolError("invalid-params", "params must be a JSON object")
    return request_id, method, params


class Server:
    """Reads requests, runs one job at a time in a thread, writes responses and events as single lines."""

    def __init__(self, run: JobRunner, stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout):
        self.run = run
        self.stdin = stdin
        self.stdout = stdout
        self.lock = threading.Lock()
        self.cancel = threading.Event()
        self.job: threading.Thread | None = None
        self.busy = False

    def send(self, message: dict) -> None:
        with self.lock:
            self.stdout.write(json.dumps(message, default=str) + "\n")
            self.stdout.flush()

    def serve(self) -> None:
        for line in self.stdin:
            if not line.strip():
                continue
            try:
                request_id, method, params = parse_request(line)
            except ProtocolError as error:
                self.send({"id": None, "error": {"code": error.code, "message": str(error)}})
                continue
            if method == "shutdown":
                self.send({"id": request_id, "result": {"ok": True}})
                break
            self.dispatch(request_id, method, params)
        # End of input: the parent is gone. Let a running job notice, save its checkpoint and stop.
        self.cancel.set()
        if self.job is not None:
            self.job.join()

    def dispatch(self, request_id, method: str, params: dict) -> None:
        if method == "hello":
            import torch

            self.send({"id": request_id, "result": {"protocol": PROTOCOL_VERSION, "version": __version__,
                                                    "torch": torch.__version__, "cuda": torch.cuda.is_available(),
                                                    "methods": list(METHODS)}})
            return
        if method == "cancel":
            self.cancel.set()
            self.send({"id": request_id, "result": {"cancelled": self.busy}})
            return
        if self.busy:
            self.send({"id": request_id, "error": {"code": "busy", "message": "a job is already running; cancel it first"}})
            return
        self.cancel.clear()
        self.busy = True
        self.job = threading.Thread(target=self.run_job, args=(request_id, method, params), daemon=True)
        self.job.start()

    def run_job(self, request_id, method: str, params: dict) -> None:
        def emit(event: dict) -> None:
            self.send({**event, "id": request_id})

        try:
            result = self.run(method, params, emit, self.cancel.is_set)
            emit({"event": "done"})
            reply = {"id": request_id, "result": result}
        except Exception as error:  # every failure becomes a message the user can act on
            code = getattr(error, "code", type(error).__name__)
            emit({"event": "log", "level": "debug", "message": traceback.format_exc()})
            reply = {"id": request_id, "error": {"code": code, "message": str(error)}}
        # Free before answering: a client may send its next request the moment it reads the reply.
        self.busy = False
        self.send(reply)
