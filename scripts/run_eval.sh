#!/usr/bin/env bash
# Evaluate an FCN-4 checkpoint on one Ascend device.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat >&2 <<USAGE
Usage: bash $0 DEVICE_ID [CKPT_FILE] [--key value ...]
  DEVICE_ID    Ascend device to evaluate on
  CKPT_FILE    checkpoint to score (default: checkpoint_path/PREFIX-best.ckpt)
  --key value  eval.py settings, e.g. --mr_path DIR --eval_split val
Log: ./eval/log. Environment: PYTHON (default python).
USAGE
}

# shellcheck source=scripts/launch_common.sh
source "$ROOT/scripts/launch_common.sh"

(($# >= 1)) || bad_usage "expected DEVICE_ID"
need_uint DEVICE_ID "$1"
evaluate Ascend "$@"
