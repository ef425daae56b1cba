"""The worker's command line: `serve` speaks the JSON-lines protocol, `train` runs one round from a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .jobs import run
from .protocol import Server

USAGE = """usage:
  python -m internalize_trainer serve                 JSON lines on stdin/stdout (the extension's worker)
  python -m internalize_trainer train PARAMS.json     one distillation round; the same params as the distill method.
                                                      Runs under torchrun / accelerate launch for several processes."""


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        Server(run).serve()
        return 0
    if argv[:1] == ["train"] and len(argv) == 2:
        params = json.loads(Path(argv[1]).read_text())
        result = run("distill", params, lambda e: print(json.dumps(e, default=str), file=sys.stderr), lambda: False)
        print(json.dumps(result, default=str))
        return 0
    print(USAGE, file=sys.stderr)
    return 2
