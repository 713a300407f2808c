#!/usr/bin/env bash
# Lint (ruff check, ruff format --check, shellcheck) and the test suite; non-zero on any finding or
# failure, including pytest's "no tests collected" (exit 5).
#
# Arguments go to pytest. CI runs everything; while developing, leave out the end-to-end tests
# (marker e2e: entry points and launch scripts run as processes, the slow part) with
#   bash scripts/run_tests.sh -m "not e2e"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

echo "== ruff"
ruff check .
ruff format --check .
echo "== shellcheck"
shellcheck scripts/*.sh ascend310_infer/build.sh .ci/run
echo "== pytest"
status=0
python -m pytest -q "$@" || status=$?
if ((status == 5)); then
  echo "ERROR: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
