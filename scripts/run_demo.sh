#!/usr/bin/env bash
# The built-in demo end to end: generate an MTAT-format corpus -> preprocess -> train the
# full-size FCN-4 -> evaluate on the held-out split -> export MindIR.
# Usage: bash scripts/run_demo.sh [NUM_CLIPS] [extra config overrides...]
set -euo pipefail
cd "$(dirname "$0")/.."

NUM_CLIPS="${1:-200}"
if ! [[ "$NUM_CLIPS" =~ ^[0-9]+$ ]] || [ "$NUM_CLIPS" -lt 20 ]; then
    echo "usage: bash scripts/run_demo.sh [NUM_CLIPS>=20] [--key value ...]" >&2
    exit 2
fi
shift $(( $# > 0 ? 1 : 0 ))
CONFIG=configs/demo.yaml
start=$SECONDS
rm -rf ./demo_run   # the demo's own folder: every run starts from a fresh corpus

python -m src.demo_data --out ./demo_run/mtat --num_clips "$NUM_CLIPS" --seed 0
python preprocess.py --config_path "$CONFIG" "$@"
python train.py --config_path "$CONFIG" "$@"
python eval.py --config_path "$CONFIG" --eval_split val "$@"
python export.py --config_path "$CONFIG" "$@"
echo "demo finished in $(( SECONDS - start )) s; outputs in ./demo_run"
