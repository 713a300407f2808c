#!/usr/bin/env bash
# Fetches what ascend310_infer/build.sh needs for a MindSpore Lite build on x86-64 Linux, once, into a
# cache folder (FCN4_CACHE, default ${XDG_CACHE_HOME:-~/.cache}/fcn4) where build.sh looks:
#  * mindspore-lite/: the mindspore-lite 2.0.0 wheel (168 MB, cp37 but fetched with any pip), unzipped:
#    the C++ runtime API (include/api, lib/libmindspore-extendrt_python.so) and the converter library;
#  * gflags/: Debian's libgflags-dev and libgflags2.2 unpacked (apt-get download, no root), only when
#    no gflags is installed under /usr/local or /usr.
# A second run finds both and fetches nothing. PYTHON (default python3) runs pip.
set -euo pipefail

FCN4_CACHE="${FCN4_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fcn4}"
PYTHON="${PYTHON:-python3}"
LITE_VERSION=2.0.0

die() {
  echo "ERROR: $*" >&2
  exit 1
}

# fetch_into DEST CMD...: runs CMD in a scratch folder next to DEST and moves the scratch folder to
# DEST only when CMD succeeds, so an interrupted fetch never leaves a half-filled DEST.
fetch_into() {
  local dest="$1" scratch
  shift
  mkdir -p "$(dirname "$dest")"
  scratch="$(mktemp -d "$dest.partial.XXXXXX")"
  if ! (cd "$scratch" && "$@"); then
    rm -rf "$scratch"
    return 1
  fi
  mv "$scratch" "$dest"
}

get_lite_wheel() {
  "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.7 \
    --platform manylinux1_x86_64 "mindspore-lite==$LITE_VERSION" -d wheel
  "$PYTHON" -m zipfile -e wheel/mindspore_lite-*.whl .
  rm -rf wheel
}

get_gflags_debs() {
  # A machine whose package lists are missing or stale (a fresh image) refreshes them first where it may (root).
  if ! apt-get download -qq libgflags-dev libgflags2.2; then
    [[ "$(id -u)" == 0 ]] || return 1
    apt-get update -qq || return 1
    apt-get download -qq libgflags-dev libgflags2.2 || return 1
  fi
  local deb
  for deb in ./*.deb; do
    dpkg -x "$deb" . || return 1
  done
  rm -f ./*.deb
}

lite="$FCN4_CACHE/mindspore-lite"
if [[ ! -f "$lite/mindspore_lite/include/api/model.h" ]]; then
  echo "get_lite_sdk.sh: fetching mindspore-lite $LITE_VERSION (168 MB) into $lite"
  fetch_into "$lite" get_lite_wheel ||
    die "cannot fetch mindspore-lite $LITE_VERSION with $PYTHON -m pip download (is PyPI reachable?)"
fi
echo "get_lite_sdk.sh: MindSpore Lite $LITE_VERSION in $lite"

if [[ -f /usr/local/include/gflags/gflags.h || -f /usr/include/gflags/gflags.h ]]; then
  echo "get_lite_sdk.sh: gflags is installed on this system"
elif [[ -f "$FCN4_CACHE/gflags/usr/include/gflags/gflags.h" ]]; then
  echo "get_lite_sdk.sh: gflags in $FCN4_CACHE/gflags"
else
  if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
    die "gflags not found and no apt-get/dpkg here: install gflags (e.g. from your distribution) and rerun"
  fi
  fetch_into "$FCN4_CACHE/gflags" get_gflags_debs ||
    die "cannot fetch libgflags-dev with apt-get download (run apt-get update, or install gflags)"
  echo "get_lite_sdk.sh: gflags in $FCN4_CACHE/gflags"
fi
