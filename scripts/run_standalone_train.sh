#!/usr/bin/env bash
# FCN-4 training on one Ascend device (the model zoo's 1p run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat >&2 <<USAGE
Usage: bash $0 DEVICE_ID [--key value ...]
  DEVICE_ID    Ascend device to train on
  --key value  train.py settings, e.g. --mr_path DIR --checkpoint_path DIR
Log: ./train_standalone/log. Environment: PYTHON (default python).
USAGE
}

# shellcheck source=scripts/launch_common.sh
source "$ROOT/scripts/launch_common.sh"

(($# >= 1)) || bad_usage "expected DEVICE_ID"
need_uint DEVICE_ID "$1"
device_id="$1"
shift
standalone_train Ascend "$device_id" "$@"
