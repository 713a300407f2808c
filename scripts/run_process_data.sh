#!/usr/bin/env bash
# MTAT-format dataset (annotations_final.csv + mp3 folders 0-f) -> log-mel MindRecord shards.
#
# An interrupted run resumes where it stopped when the same command is run again.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
  cat >&2 <<USAGE
usage: bash $0 AUDIO_PATH MR_PATH [--key value ...]
  AUDIO_PATH   the MTAT folder: annotations_final.csv (or --info_name FILE, or --info_path PATH) and the mp3 folders
  MR_PATH      folder for the MindRecord shards, tags.txt and the preprocessing report
  --key value  preprocess.py settings, e.g. --split mtat --preprocess_workers 8
USAGE
}

bad_usage() {
  echo "ERROR: $1" >&2
  usage
  exit 2
}

(($# >= 2)) || bad_usage "expected AUDIO_PATH and MR_PATH"
audio_path="$1"
mr_path="$2"
shift 2
[[ -f "$audio_path/annotations_final.csv" || " $* " == *" --info_name "* || " $* " == *" --info_path "* ]] ||
  bad_usage "$audio_path/annotations_final.csv not found (AUDIO_PATH must be the MTAT folder)"

python "$ROOT/preprocess.py" --audio_path "$audio_path" --mr_path "$mr_path" "$@"
