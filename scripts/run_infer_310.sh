#!/usr/bin/env bash
# FCN-4 inference on Ascend 310: [preprocess] -> build -> infer -> AUC.
#
# Works in the current folder (preprocess_Result/, result_Files/, time_Result/ and one log per
# step), like the model-zoo script it mirrors. preprocess.py and postprocess.py read mr_path,
# eval_split and export_batch_size (the batch the MindIR was exported with) from the default
# config, or from CONFIG_PATH when set. INFER_BACKEND=host runs the same protocol with MindSpore
# on this host (python -m src.inference.host_infer) instead of building and running the 310 app.
# The app is built by ascend310_infer/build.sh against the SDK it finds (MindSpore's C++ SDK of 1.x-2.3,
# or MindSpore Lite, which then runs the LITE export: export.py --file_format LITE); DEVICE_TARGET
# picks its device (Ascend310, or with Lite CPU or GPU).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
ASCEND_HOME="${ASCEND_HOME:-/usr/local/Ascend}"
INFER_BACKEND="${INFER_BACKEND:-ascend310}"
DEVICE_TARGET="${DEVICE_TARGET:-Ascend310}"
CONFIG_PATH="${CONFIG_PATH:-}"

usage() {
  cat >&2 <<USAGE
Usage: bash $0 MINDIR_PATH NEED_PREPROCESS(y|n) [DEVICE_ID]
  MINDIR_PATH      FCN-4 model exported by export.py: MINDIR, or LITE (.mslite) for an app built against Lite
  NEED_PREPROCESS  y: write ./preprocess_Result from the eval_split MindRecord first; n: reuse it
  DEVICE_ID        Ascend (or GPU) device id (default 0)
Environment: PYTHON (default python); ASCEND_HOME (default /usr/local/Ascend); CONFIG_PATH (a YAML
  for preprocess.py and postprocess.py); INFER_BACKEND=ascend310 (default) or host (MindSpore on
  this host's CPU/GPU: the chain without an Ascend card); DEVICE_TARGET=Ascend310 (default), or CPU or GPU
  with the app built against MindSpore Lite; LITE_HOME, MINDSPORE_PATH, GFLAGS_PATH (see ascend310_infer/build.sh).
USAGE
}

bad_usage() {
  echo "ERROR: $1" >&2
  usage
  exit 1
}

# run_step NAME LOG CMD...: runs CMD with its output in LOG; on failure names
# the step and the log, shows the log's tail, and stops the script.
run_step() {
  local name="$1" log="$2" rc=0
  shift 2
  echo "[$name] started, log: $PWD/$log"
  "$@" >"$log" 2>&1 || rc=$?
  if ((rc != 0)); then
    echo "ERROR: step '$name' failed (exit code $rc), see $PWD/$log; its last lines:" >&2
    tail -n 5 "$log" >&2
    exit 1
  fi
}

(($# == 2 || $# == 3)) || bad_usage "expected 2 or 3 arguments, got $#"
mindir_path="$1"
need_preprocess="$2"
device_id="${3:-0}"
[[ "$need_preprocess" == y || "$need_preprocess" == n ]] ||
  bad_usage "NEED_PREPROCESS must be y or n, got '$need_preprocess'"
[[ -f "$mindir_path" ]] || bad_usage "MINDIR_PATH '$mindir_path' is not a file"
[[ "$device_id" =~ ^[0-9]+$ ]] || bad_usage "DEVICE_ID must be a non-negative integer, got '$device_id'"
[[ "$INFER_BACKEND" == ascend310 || "$INFER_BACKEND" == host ]] ||
  bad_usage "INFER_BACKEND must be ascend310 or host, got '$INFER_BACKEND'"
[[ "$DEVICE_TARGET" == Ascend310 || "$DEVICE_TARGET" == CPU || "$DEVICE_TARGET" == GPU ]] ||
  bad_usage "DEVICE_TARGET must be Ascend310, CPU or GPU, got '$DEVICE_TARGET'"
config_args=()
if [[ -n "$CONFIG_PATH" ]]; then
  [[ -f "$CONFIG_PATH" ]] || bad_usage "CONFIG_PATH '$CONFIG_PATH' is not a file"
  config_args=(--config_path "$(realpath "$CONFIG_PATH")")
fi
mindir_path="$(realpath "$mindir_path")"

# The toolkit's set_env.sh puts the Ascend runtime libraries on the search
# paths; it reads unset variables, hence the set +u around it.
if [[ -f "$ASCEND_HOME/ascend-toolkit/set_env.sh" ]]; then
  set +u
  # shellcheck source=/dev/null
  source "$ASCEND_HOME/ascend-toolkit/set_env.sh"
  set -u
fi

if [[ "$need_preprocess" == y ]]; then
  rm -rf ./preprocess_Result
  run_step preprocess preprocess.log \
    "$PYTHON" "$ROOT/preprocess.py" "${config_args[@]}" --preprocess_mode 310 --result_path "$PWD/preprocess_Result"
elif [[ ! -d ./preprocess_Result/00_data || ! -f ./preprocess_Result/label_ids.npy ]]; then
  echo "ERROR: $PWD/preprocess_Result/00_data or label_ids.npy is missing; rerun with NEED_PREPROCESS=y" >&2
  exit 1
fi

# Stale results of an earlier run would otherwise be scored by postprocess.py.
rm -rf ./result_Files ./time_Result
if [[ "$INFER_BACKEND" == host ]]; then
  run_step infer infer.log env PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m src.inference.host_infer \
    --mindir_path="$mindir_path" --input0_path=./preprocess_Result/00_data --device_id="$device_id"
else
  run_step build build.log bash "$ROOT/ascend310_infer/build.sh"
  run_step infer infer.log "$ROOT/ascend310_infer/out/main" --mindir_path="$mindir_path" \
    --input0_path=./preprocess_Result/00_data --device_id="$device_id" --device_target="$DEVICE_TARGET"
fi
cat ./time_Result/test_perform_static.txt

run_step postprocess acc.log \
  "$PYTHON" "$ROOT/postprocess.py" "${config_args[@]}" --post_result_path ./result_Files \
  --label_path ./preprocess_Result/label_ids.npy
cat acc.log
