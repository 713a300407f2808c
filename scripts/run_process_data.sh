#!/usr/bin/env bash
# MTAT-format dataset (annotations_final.csv + mp3 folders 0-f) -> log-mel MindRecord shards.
# Usage: bash scripts/run_process_data.sh AUDIO_PATH MR_PATH [--key value ...]
#   e.g. bash scripts/run_process_data.sh /data/mtat /data/mindrecord --split mtat --preprocess_workers 8
# An interrupted run resumes where it stopped when the same command is run again.
set -euo pipefail

usage="usage: bash scripts/run_process_data.sh AUDIO_PATH MR_PATH [--key value ...]"
if [ $# -lt 2 ]; then
    echo "$usage" >&2
    exit 2
fi
AUDIO_PATH=$1
MR_PATH=$2
shift 2
if [ ! -f "$AUDIO_PATH/annotations_final.csv" ] && [[ " $* " != *" --info_name "* ]]; then
    echo "error: $AUDIO_PATH/annotations_final.csv not found (AUDIO_PATH must be the MTAT folder)" >&2
    echo "$usage" >&2
    exit 2
fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

python "$ROOT/preprocess.py" --audio_path "$AUDIO_PATH" --mr_path "$MR_PATH" "$@"
