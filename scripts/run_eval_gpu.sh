#!/usr/bin/env bash
# Evaluate an FCN-4 checkpoint on one NVIDIA GPU.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# shellcheck source=scripts/launch_common.sh
source "$ROOT/scripts/launch_common.sh"

eval_script GPU "GPU" "$@"
