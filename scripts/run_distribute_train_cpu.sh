#!/usr/bin/env bash
# Data-parallel FCN-4 training on CPU with msrun (collective backend MCCL), one rank per worker.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat >&2 <<USAGE
Usage: bash $0 WORKERS_PER_HOST [--key value ...]
  WORKERS_PER_HOST  training processes (ranks) on this host
  --key value       train.py settings, e.g. --mr_path DIR --checkpoint_path DIR --batch_size 8
                    (batch_size is per rank: the global batch is batch_size x ranks)
Several hosts: run it on each with the same arguments and
  NODE_NUM=hosts NODE_RANK=0..hosts-1 MASTER_ADDR=<address of host 0> MASTER_PORT=<free port>
Other environment: PYTHON (default python), LOG_DIR (default ./train_distribute_cpu),
  CLUSTER_TIMEOUT (seconds to wait for all ranks to join, default 600).
USAGE
}

# shellcheck source=scripts/launch_common.sh
source "$ROOT/scripts/launch_common.sh"

(($# >= 1)) || bad_usage "expected WORKERS_PER_HOST"
need_count WORKERS_PER_HOST "$1"
workers="$1"
shift
msrun_train CPU "$workers" "$@"
