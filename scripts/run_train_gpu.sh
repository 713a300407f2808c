#!/usr/bin/env bash
# FCN-4 training on NVIDIA GPUs: one GPU standalone, several data parallel (msrun or mpirun, NCCL).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat >&2 <<USAGE
Usage: bash $0 DEVICE_NUM VISIBLE_DEVICES [--key value ...]
  DEVICE_NUM       GPUs to train on (1: a standalone run)
  VISIBLE_DEVICES  their ids, as many as DEVICE_NUM, e.g. 0,1,2,3 (exported as CUDA_VISIBLE_DEVICES)
  --key value      train.py settings; batch_size is per GPU
Environment: LAUNCHER=msrun (default) or mpirun; PYTHON (default python); for msrun over several
  hosts NODE_NUM, NODE_RANK, MASTER_ADDR, MASTER_PORT (see run_distribute_train_cpu.sh); LOG_DIR.
USAGE
}

# shellcheck source=scripts/launch_common.sh
source "$ROOT/scripts/launch_common.sh"

(($# >= 2)) || bad_usage "expected DEVICE_NUM and VISIBLE_DEVICES"
need_count DEVICE_NUM "$1"
[[ "$2" =~ ^[0-9]+(,[0-9]+)*$ ]] || bad_usage "VISIBLE_DEVICES must look like 0,1,2,3, got '$2'"
device_num="$1"
IFS=, read -r -a devices <<<"$2"
((${#devices[@]} == device_num)) || bad_usage "DEVICE_NUM=$device_num but VISIBLE_DEVICES lists ${#devices[@]} ids"
launcher="${LAUNCHER:-msrun}"
[[ "$launcher" == msrun || "$launcher" == mpirun ]] || bad_usage "LAUNCHER must be msrun or mpirun, got '$launcher'"
export CUDA_VISIBLE_DEVICES="$2"
shift 2

if ((device_num == 1)); then
  standalone_train GPU 0 "$@"
elif [[ "$launcher" == msrun ]]; then
  msrun_train GPU "$device_num" "$@"
else
  log_dir="${LOG_DIR:-$PWD/train_distribute_gpu}"
  root_flag=()
  (("$(id -u)" != 0)) || root_flag=(--allow-run-as-root)
  mkdir -p "$log_dir"
  echo "mpirun: $device_num ranks; logs in $log_dir"
  mpirun -n "$device_num" "${root_flag[@]}" --output-filename "$log_dir/mpirun" --merge-stderr-to-stdout \
    "$PYTHON" "$ROOT/train.py" --device_target GPU "$@"
fi
