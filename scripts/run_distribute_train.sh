#!/usr/bin/env bash
# Data-parallel FCN-4 training on the Ascend devices of this host listed in a rank table (HCCL).
#
# One train.py per device with DEVICE_ID / RANK_ID / RANK_SIZE exported, each with its own folder
# ./train_parallel<RANK_ID>/ holding its log. Waits for all; when one fails it stops the others
# (they would wait for it forever) and names it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat >&2 <<USAGE
Usage: bash $0 RANK_TABLE_FILE [--key value ...]
  RANK_TABLE_FILE  rank table JSON (hccl_tools.py format); on several hosts run this script on each
                   with the same table: every host starts the devices listed under its own address
  --key value      train.py settings; batch_size is per device (global batch = batch_size x RANK_SIZE)
Environment: PYTHON (default python).
USAGE
}

# shellcheck source=scripts/launch_common.sh
source "$ROOT/scripts/launch_common.sh"

(($# >= 1)) || bad_usage "expected RANK_TABLE_FILE"
[[ -f "$1" ]] || bad_usage "RANK_TABLE_FILE '$1' is not a file"
rank_table="$(realpath "$1")"
shift
# shellcheck disable=SC2046 # the host's addresses are separate arguments
table="$(cd "$ROOT" && "$PYTHON" -m src.cluster.rank_table "$rank_table" $(hostname -I 2>/dev/null || true))"
rank_size="$(sed -n 's/^RANK_SIZE //p' <<<"$table")"

declare -A rank_of_pid=()
while read -r device_id rank_id; do
  mkdir -p "train_parallel$rank_id"
  echo "rank $rank_id on device $device_id, log: $PWD/train_parallel$rank_id/log"
  env RANK_TABLE_FILE="$rank_table" RANK_SIZE="$rank_size" RANK_ID="$rank_id" DEVICE_ID="$device_id" \
    "$PYTHON" "$ROOT/train.py" --device_target Ascend --device_id "$device_id" "$@" \
    >"train_parallel$rank_id/log" 2>&1 &
  rank_of_pid[$!]="$rank_id"
done < <(sed '1d' <<<"$table")

failed=0
while ((${#rank_of_pid[@]} > 0)); do
  rc=0
  wait -n -p pid "${!rank_of_pid[@]}" || rc=$?
  rank="${rank_of_pid[$pid]}"
  unset "rank_of_pid[$pid]"
  if ((rc != 0 && failed == 0)); then
    failed="$rc"
    echo "ERROR: rank $rank exited with code $rc; stopping the other ranks. Its log: $PWD/train_parallel$rank/log" >&2
    tail -n 5 "train_parallel$rank/log" >&2
    kill "${!rank_of_pid[@]}" 2>/dev/null || true
  fi
done
((failed == 0)) || exit "$failed"
echo "all $rank_size ranks finished"
