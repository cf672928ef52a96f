#!/usr/bin/env bash
# Runs every test suite for `make test`: static checks in the background while pytest runs, then a summary.
# Exits non-zero if any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
VENV=${VENV:-.venv}
JOBS=${JOBS:-3}
BIN="$VENV/bin"
LOGS=build/test-logs
rm -rf "$LOGS" && mkdir -p "$LOGS"
start=$(date +%s)

declare -A PIDS
run_bg() {  # name, command...
  local name=$1; shift
  ( "$@" >"$LOGS/$name.log" 2>&1; echo $? >"$LOGS/$name.rc" ) &
  PIDS[$name]=$!
}

run_bg sanity env VENV="$VENV" bash tests/sanity/run-sanity.sh
run_bg lint bash -c "'$BIN/ansible-lint' && '$BIN/yamllint' -s ."

# pytest in the foreground: unit + sandbox + integration, spread over workers, a file per worker at a time, in the
# collection's order (long-running files first, tests/conftest.py) rather than xdist's most-tests-first
"$BIN/python" -m pytest -n "$JOBS" --dist loadfile --no-loadscope-reorder -q -p no:cacheprovider \
  --junitxml="$LOGS/pytest.xml" tests/unit tests/sandbox tests/integration 2>&1 | tee "$LOGS/pytest.log"
echo "${PIPESTATUS[0]}" >"$LOGS/pytest.rc"

for name in "${!PIDS[@]}"; do wait "${PIDS[$name]}"; done

passed=0; failed=0
for name in sanity lint pytest; do
  rc=$(cat "$LOGS/$name.rc" 2>/dev/null || echo 99)
  if [ "$name" != pytest ]; then
    echo "===== $name (exit $rc) ====="
    if [ "$rc" = 0 ]; then tail -n 5 "$LOGS/$name.log"; else tail -n 80 "$LOGS/$name.log"; fi
  fi
  if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED suite: $name"; fi
done
echo "make test took $(( $(date +%s) - start )) s; logs in $LOGS"
echo "suites: $passed passed, $failed failed"
[ "$failed" = 0 ]
