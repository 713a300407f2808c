# shellcheck shell=bash
# Shared by the launch scripts (sourced, not run): argument checks, the interpreter, msrun.
# Callers define usage() and set ROOT (the repository root) before sourcing this file.

PYTHON="${PYTHON:-python}"

bad_usage() {
  echo "ERROR: $1" >&2
  usage
  exit 1
}

# need_uint NAME VALUE: VALUE must be a non-negative integer.
need_uint() {
  [[ "$2" =~ ^[0-9]+$ ]] || bad_usage "$1 must be a non-negative integer, got '$2'"
}

# need_count NAME VALUE: VALUE must be a positive integer.
need_count() {
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || bad_usage "$1 must be a positive integer, got '$2'"
}

# msrun and the workers it starts run `python` from PATH: put the chosen interpreter's folder first.
use_python() {
  local python_path
  python_path="$(command -v "$PYTHON")" || { echo "ERROR: PYTHON '$PYTHON' not found" >&2; exit 1; }
  PATH="$(dirname "$python_path"):$PATH"
  export PATH
  command -v msrun >/dev/null || { echo "ERROR: msrun not found beside $python_path (pip install mindspore)" >&2; exit 1; }
}

# run_logged LOG CMD...: run CMD in the foreground, its output on the console and in LOG.
run_logged() {
  local log="$1" rc=0
  shift
  mkdir -p "$(dirname "$log")"
  echo "log: $log"
  "$@" 2>&1 | tee "$log" || rc=$?
  return "$rc"
}

# standalone_train TARGET DEVICE_ID [--key value ...]: one train.py, log in ./train_standalone/log.
standalone_train() {
  local target="$1" device_id="$2"
  shift 2
  run_logged "$PWD/train_standalone/log" env -u RANK_TABLE_FILE RANK_SIZE=1 RANK_ID=0 DEVICE_ID="$device_id" \
    "$PYTHON" "$ROOT/train.py" --device_target "$target" --device_id "$device_id" "$@"
}

# evaluate TARGET DEVICE_ID [CKPT_FILE] [--key value ...]: eval.py, log in ./eval/log.
# eval_script TARGET DEVICE_WORD "$@": the whole of run_eval.sh / run_eval_gpu.sh, which differ only
# in the device kind; defines their usage and checks DEVICE_ID before evaluating.
eval_script() {
  local target="$1" device_word="$2"
  shift 2
  usage() {
    cat >&2 <<USAGE
Usage: bash $0 DEVICE_ID [CKPT_FILE] [--key value ...]
  DEVICE_ID    $device_word to evaluate on
  CKPT_FILE    checkpoint to score (default: checkpoint_path/PREFIX-best.ckpt)
  --key value  eval.py settings, e.g. --mr_path DIR --eval_split val
Log: ./eval/log. Environment: PYTHON (default python).
USAGE
  }
  (($# >= 1)) || bad_usage "expected DEVICE_ID"
  need_uint DEVICE_ID "$1"
  evaluate "$target" "$@"
}

evaluate() {
  local target="$1" device_id="$2"
  shift 2
  local ckpt=()
  if (($# > 0)) && [[ "$1" != --* ]]; then
    [[ -f "$1" ]] || bad_usage "CKPT_FILE '$1' is not a file"
    ckpt=(--ckpt_file "$1")
    shift
  fi
  run_logged "$PWD/eval/log" env DEVICE_ID="$device_id" \
    "$PYTHON" "$ROOT/eval.py" --device_target "$target" --device_id "$device_id" "${ckpt[@]}" "$@"
}

# msrun_train TARGET LOCAL_WORKERS [--key value ...]: train.py under msrun on this host, one rank per
# worker; NODE_NUM / NODE_RANK / MASTER_ADDR / MASTER_PORT describe a job over several hosts.
# On failure names the rank that failed first (msrun only reports its pid) and exits non-zero.
msrun_train() {
  local target="$1" local_workers="$2" rc=0
  shift 2
  local node_num="${NODE_NUM:-1}" node_rank="${NODE_RANK:-0}"
  local master_addr="${MASTER_ADDR:-127.0.0.1}" master_port="${MASTER_PORT:-8118}"
  local log_dir="${LOG_DIR:-$PWD/train_distribute_$(tr '[:upper:]' '[:lower:]' <<<"$target")}"
  need_count NODE_NUM "$node_num"
  need_uint NODE_RANK "$node_rank"
  need_uint MASTER_PORT "$master_port"
  ((node_rank < node_num)) || bad_usage "NODE_RANK=$node_rank must be below NODE_NUM=$node_num"
  use_python
  mkdir -p "$log_dir"
  echo "msrun: $((local_workers * node_num)) ranks ($local_workers on this host, node $node_rank of $node_num," \
    "master $master_addr:$master_port); logs in $log_dir"
  msrun --worker_num="$((local_workers * node_num))" --local_worker_num="$local_workers" \
    --node_rank="$node_rank" --master_addr="$master_addr" --master_port="$master_port" \
    --log_dir="$log_dir" --cluster_time_out="${CLUSTER_TIMEOUT:-600}" --join=True \
    "$ROOT/train.py" --device_target "$target" "$@" 2>&1 | tee "$log_dir/msrun.log" || rc=$?
  if ((rc != 0)); then
    report_failed_rank "$log_dir"
    exit "$rc"
  fi
}

# report_failed_rank LOG_DIR: msrun logs "Worker process PID exit with exception. Error code: C";
# train.py logs "rank R of N, ... pid PID" once it joined the job: together they name the rank.
report_failed_rank() {
  local log_dir="$1" pid code worker_log rank
  pid="$(sed -n 's/.*Worker process \([0-9]*\) exit with exception.*/\1/p' "$log_dir/msrun.log" | head -n 1)"
  code="$(sed -n 's/.*exit with exception\. Error code: \(-\{0,1\}[0-9]*\).*/\1/p' "$log_dir/msrun.log" | head -n 1)"
  if [[ -z "$pid" ]]; then
    echo "ERROR: the distributed job failed (no worker exited first: scheduler or cluster set-up); logs in $log_dir" >&2
    return
  fi
  worker_log="$(grep -l "pid $pid\$" "$log_dir"/worker_*.log 2>/dev/null | head -n 1 || true)"
  rank="$(sed -n "s/.*data parallel: rank \([0-9]*\) of .*pid $pid\$/\1/p" "$worker_log" 2>/dev/null | head -n 1 || true)"
  if [[ -z "$rank" ]]; then
    echo "ERROR: worker pid $pid exited first with code $code before joining the job; logs in $log_dir" >&2
    return
  fi
  echo "ERROR: rank $rank (pid $pid) exited first with code $code; the launcher stopped the other ranks." \
    "Its log: $worker_log; last lines:" >&2
  tail -n 5 "$worker_log" >&2
}
