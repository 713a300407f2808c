#!/usr/bin/env bash
# Lint (ruff, shellcheck) and the whole test suite; non-zero on any finding or failure,
# including pytest's "no tests collected" (exit 5).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== ruff"
ruff check .
echo "== shellcheck"
shellcheck scripts/*.sh ascend310_infer/build.sh .ci/run
echo "== pytest"
status=0
python -m pytest -q "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$status"
