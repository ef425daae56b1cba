#!/usr/bin/env bash
# `npm test`: installs whatever a fresh machine lacks (Debian packages, npm packages, the trainer's
# Python environment, the code-server editor), then runs every suite and prints one closing tally.
# An install step that fails stops the run with one line naming it; a test suite that fails is
# reported, the remaining suites still run, and the exit status is non-zero.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LOGDIR=${TMPDIR:-/tmp}/internalize-test.$$
mkdir -p "$LOGDIR" test-results
trap 'rm -rf "$LOGDIR"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$1"; }
die() { echo "npm test: $1" >&2; exit 1; }

# ---- installs (each stops the run on failure) ----
step "system packages"
bash scripts/setup-system.sh || die "installing Debian packages failed (scripts/setup-system.sh); see the line above."

step "npm packages"
if [ -f node_modules/.package-lock.json ] && npm ls --all >/dev/null 2>&1; then
  echo "node_modules matches package-lock.json"
else
  # onnxruntime-node's install script would fetch CUDA libraries from NuGet: npm 11 skips it by
  # package.json#allowScripts, npm 10 by this variable, which the package reads.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund || die "npm ci failed; see npm's message above."
fi

HAS_TRAINER=0
[ -f trainer/pyproject.toml ] && HAS_TRAINER=1
step "trainer environment"
if [ $HAS_TRAINER -eq 1 ]; then
  bash scripts/setup-python.sh || die "setting up the trainer's Python environment failed (scripts/setup-python.sh)."
  # The built-in embedder's ONNX export; set up, so the embedding tests must run rather than skip.
  bash scripts/setup-embedder.sh || die "exporting the built-in embedder to ONNX failed (scripts/setup-embedder.sh)."
  export INTERNALIZE_REQUIRE_EMBEDDER=1
else
  echo "no trainer/ package in this tree: the worker's suites do not run"
fi

if [ $HAS_TRAINER -eq 1 ]; then
  step "llama.cpp server (OpenAI-compatible endpoint for the contract tests)"
  bash scripts/setup-llama-server.sh || die "setting up the llama.cpp server environment failed (scripts/setup-llama-server.sh)."
  # Set up, so the contract test against the real server must run rather than skip.
  export INTERNALIZE_REQUIRE_LLAMA=1
fi

step "editor (code-server)"
bash scripts/install-editor.sh >/dev/null || die "installing code-server failed (scripts/install-editor.sh); see the line above."

# ---- checks and suites (all run; failures are tallied) ----
failed_steps=()
sections=()
run() {
  local name=$1; shift
  step "$name"
  local t0=$SECONDS
  if "$@" 2>&1 | tee "$LOGDIR/$name.log"; then :; else failed_steps+=("$name"); fi
  sections+=("$name:$((SECONDS - t0))")
}

# tsc prints nothing when all is well: list the files it checked and say how many.
typecheck() {
  local out=$LOGDIR/tsc.out t0=$SECONDS rc
  npx tsc --noEmit -p . --listFiles >"$out" 2>&1; rc=$?
  grep -v '^/' "$out"  # the diagnostics; the file list is absolute paths
  local project deps errors
  project=$(grep "^$ROOT/" "$out" | grep -vc '/node_modules/')
  deps=$(grep -c '^/' "$out")
  errors=$(grep -c 'error TS' "$out")
  echo "tsc: $project project files (and $((deps - project)) declaration files of dependencies), $errors errors ($((SECONDS - t0)) s)"
  return $rc
}

run lint node scripts/lint.mjs
run typecheck typecheck
run unit node scripts/run-tests.mjs unit
if [ $HAS_TRAINER -eq 1 ]; then run trainer bash scripts/test-python.sh; fi
if [ -d test/contract ]; then run contract node scripts/run-tests.mjs contract; fi
run package npm run --silent package
run e2e node scripts/run-tests.mjs e2e
run test-electron node scripts/test-electron.mjs

# ---- tally: node's runner prints "# pass N", pytest "N passed", eslint and tsc their own line ----
passed=0; failures=0; skipped=0
echo
printf '\033[1m%-14s %-6s %8s %8s %8s %8s\033[0m\n' section result passed failed skipped time
for entry in "${sections[@]}"; do
  name=${entry%%:*}; secs=${entry##*:}; log="$LOGDIR/$name.log"
  case "$name" in
    trainer)
      p=$(grep -Eo '[0-9]+ passed' "$log" | tail -1 | awk '{print $1+0}')
      f=$(grep -Eo '[0-9]+ failed' "$log" | tail -1 | awk '{print $1+0}')
      s=$(grep -Eo '[0-9]+ skipped' "$log" | tail -1 | awk '{print $1+0}') ;;
    *)
      p=$(grep -Eo '^# pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
      f=$(grep -Eo '^# fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
      s=$(grep -Eo '^# skipped [0-9]+' "$log" | awk '{s+=$3} END {print s+0}') ;;
  esac
  p=${p:-0}; f=${f:-0}; s=${s:-0}
  passed=$((passed + p)); failures=$((failures + f)); skipped=$((skipped + s))
  result=ok
  for failed in "${failed_steps[@]}"; do [ "$failed" = "$name" ] && result=FAILED; done
  # lint, typecheck and package run no tests: their line in the log says what they did.
  case "$name" in
    lint) what=$(grep -E '^eslint: ' "$log" | tail -1 | sed 's/ ([0-9]* s)$//') ;;
    typecheck) what=$(grep -E '^tsc: ' "$log" | tail -1 | sed 's/ ([0-9]* s)$//') ;;
    package) what=$(grep -Eo 'Packaged: .*' "$log" | tail -1) ;;
    *) what= ;;
  esac
  if [ -n "$what" ]; then
    printf '%-14s %-6s %s (%s s)\n' "$name" "$result" "$what" "$secs"
  else
    printf '%-14s %-6s %8s %8s %8s %6s s\n' "$name" "$result" "$p" "$f" "$s" "$secs"
  fi
done
echo
if [ ${#failed_steps[@]} -gt 0 ]; then
  echo "npm test: failed steps: ${failed_steps[*]}"
  [ "$failures" -gt 0 ] || failures=${#failed_steps[@]}
fi
echo "total: $passed passed, $failures failed, $skipped skipped"
[ ${#failed_steps[@]} -eq 0 ]
