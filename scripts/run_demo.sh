#!/usr/bin/env bash
# The built-in demo end to end, in ./demo_run.
#
# Generates an MTAT-format corpus split by folder into train/val/test, preprocesses it, trains the
# full-size FCN-4 (val picks the best epoch), chooses per-tag thresholds on val, exports MindIR and
# evaluates on the held-out test split, all with configs/demo.yaml; every run starts afresh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CONFIG=configs/demo.yaml

usage() {
  cat >&2 <<USAGE
Usage: bash $0 [NUM_CLIPS] [--key value ...]
  NUM_CLIPS    clips in the generated corpus, at least 48 (default 256: 160 train, 48 val, 48 test)
  --key value  settings for every step (preprocess, train, eval, export), over $CONFIG
USAGE
}

bad_usage() {
  echo "ERROR: $1" >&2
  usage
  exit 2
}

num_clips="${1:-256}"
if ! [[ "$num_clips" =~ ^[0-9]+$ ]] || ((10#$num_clips < 48)); then
  bad_usage "NUM_CLIPS must be an integer of at least 48, got '$num_clips'"
fi
shift $(($# > 0 ? 1 : 0))
cd "$ROOT"
start=$SECONDS
# Every run starts from a fresh corpus, but only a folder an earlier demo made (it holds the marker)
# is ever removed: a ./demo_run of the user's own is left alone.
marker=./demo_run/.fcn4-demo
if [[ -e ./demo_run && ! -f "$marker" ]]; then
  echo "ERROR: ./demo_run exists and was not made by this demo; move it away or remove it yourself" >&2
  exit 2
fi
rm -rf ./demo_run
mkdir -p ./demo_run
touch "$marker"

python -m src.demo_data --out ./demo_run/mtat --num_clips "$num_clips" --seed 0 --split_lists
python preprocess.py --config_path "$CONFIG" "$@"
python train.py --config_path "$CONFIG" "$@"
echo "== val: it picked the best epoch and now picks the per-tag thresholds, so its figures are not results"
python eval.py --config_path "$CONFIG" --eval_split val "$@"
python export.py --config_path "$CONFIG" "$@"
echo "== test: held out (never used for a choice): the demo's result"
python eval.py --config_path "$CONFIG" --eval_split test "$@"
echo "demo finished in $((SECONDS - start)) s; outputs in ./demo_run"
