#!/usr/bin/env bash
# Builds ascend310_infer/out/main against an inference SDK and gflags, and with MindSpore Lite's
# converter library also out/convert_lite (export.py --file_format LITE runs it).
#
# The SDK, first found wins: MINDSPORE_PATH (a MindSpore C++ SDK root, 1.x-2.3); LITE_HOME (MindSpore
# Lite: a release folder with runtime/, or the unzipped mindspore-lite wheel); the C++ SDK of the
# installed MindSpore wheel as in the model zoo, through `$PYTHON -m pip show mindspore` (PYTHON
# defaults to python3; wheels ship it up to 2.3.x); the Lite wheel that scripts/get_lite_sdk.sh
# caches. gflags: GFLAGS_PATH if set, else /usr/local, /usr, else the copy get_lite_sdk.sh caches.
# It says in one line which it found; when something is missing it prints one line saying what and
# how to get it, and exits 1, before CMake gets a chance to bury that in its output.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP="$ROOT/ascend310_infer"
MINDSPORE_PATH="${MINDSPORE_PATH:-}"
LITE_HOME="${LITE_HOME:-}"
GFLAGS_PATH="${GFLAGS_PATH:-}"
PYTHON="${PYTHON:-python3}"
# Where scripts/get_lite_sdk.sh puts the Lite wheel and gflags.
FCN4_CACHE="${FCN4_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fcn4}"
VERSIONS="MindSpore wheels ship the C++ SDK up to 2.3.x, from 2.4 on C++ inference needs MindSpore Lite"
GET_LITE="run scripts/get_lite_sdk.sh (MindSpore Lite 2.0, CPU), set LITE_HOME to a MindSpore Lite release"
LITE_PATH=""

die() {
  echo "ERROR: $*" >&2
  exit 1
}

# Prints "<site-packages>/mindspore" for the first installed MindSpore wheel;
# 1.x Ascend hosts name it mindspore-ascend.
pip_mindspore_root() {
  local pkg location
  for pkg in mindspore mindspore-ascend; do
    location="$("$PYTHON" -m pip show "$pkg" 2>/dev/null | awk '/^Location:/ {print $2}')" || true
    if [[ -n "$location" ]]; then
      echo "$location/mindspore"
      return
    fi
  done
}

# True when a gflags header and library are both under prefix $1.
has_gflags() {
  [[ -f "$1/include/gflags/gflags.h" ]] || return 1
  # lib/, lib64/ or a multiarch folder such as lib/x86_64-linux-gnu/.
  compgen -G "$1/lib*/libgflags.*" >/dev/null || compgen -G "$1/lib/*/libgflags.*" >/dev/null
}

# The folder of Lite's include/api and lib/ under $1: a release's runtime/, the wheel's mindspore_lite/.
lite_root() {
  local dir
  for dir in "$1/runtime" "$1" "$1/mindspore_lite"; do
    if [[ -f "$dir/include/api/model.h" ]] && compgen -G "$dir/lib/libmindspore-*.so" >/dev/null; then
      echo "$dir"
      return
    fi
  done
}

# Sets MINDSPORE_PATH or LITE_PATH to the first SDK found, in the order the header says.
find_sdk() {
  if [[ -n "$MINDSPORE_PATH" ]]; then
    check_mindspore_sdk MINDSPORE_PATH
  elif [[ -n "$LITE_HOME" ]]; then
    LITE_PATH="$(lite_root "$LITE_HOME")"
    [[ -n "$LITE_PATH" ]] || die "MindSpore Lite not found: LITE_HOME=$LITE_HOME has no include/api/model.h with" \
      "lib/libmindspore-lite.so (a release: under runtime/) or lib/libmindspore-extendrt_python.so (the wheel);" \
      "$GET_LITE"
  else
    MINDSPORE_PATH="$(pip_mindspore_root)"
    LITE_PATH="$(lite_root "$FCN4_CACHE/mindspore-lite")"
    if [[ -n "$MINDSPORE_PATH" && -f "$MINDSPORE_PATH/include/api/model.h" &&
      -e "$MINDSPORE_PATH/lib/libmindspore.so" ]]; then
      LITE_PATH=""
    elif [[ -n "$LITE_PATH" ]]; then
      MINDSPORE_PATH=""
    elif [[ -z "$MINDSPORE_PATH" ]]; then
      die "MindSpore not found: pip show mindspore lists no mindspore package and $FCN4_CACHE holds no Lite;" \
        "$GET_LITE, or MINDSPORE_PATH to a MindSpore C++ SDK root (with include/api/model.h and lib/libmindspore.so;" \
        "$VERSIONS)"
    else
      check_mindspore_sdk "pip show mindspore"
    fi
  fi
}

# Dies naming what MINDSPORE_PATH (found through $1) lacks of the C++ SDK.
check_mindspore_sdk() {
  local missing=() file
  for file in include/api/model.h lib/libmindspore.so; do
    [[ -e "$MINDSPORE_PATH/$file" ]] || missing+=("$file")
  done
  if ((${#missing[@]})); then
    local joined
    printf -v joined '%s and ' "${missing[@]}"
    die "MindSpore C++ SDK not found: $MINDSPORE_PATH (from $1) lacks ${joined% and } ($VERSIONS);" \
      "$GET_LITE, or MINDSPORE_PATH to a MindSpore C++ SDK root"
  fi
}

find_gflags() {
  local prefixes=(/usr/local /usr "$FCN4_CACHE/gflags/usr") prefix
  [[ -z "$GFLAGS_PATH" ]] || prefixes=("$GFLAGS_PATH")
  for prefix in "${prefixes[@]}"; do
    if has_gflags "$prefix"; then
      GFLAGS_PATH="$prefix"
      return
    fi
  done
  die "gflags not found under ${prefixes[*]}: install it (Debian: apt-get install libgflags-dev; for a MindSpore" \
    "C++ SDK build it with -D_GLIBCXX_USE_CXX11_ABI=0), run scripts/get_lite_sdk.sh, or set GFLAGS_PATH to its prefix"
}

find_sdk
find_gflags
if [[ -n "$LITE_PATH" ]]; then
  echo "build.sh: MindSpore Lite at $LITE_PATH, gflags at $GFLAGS_PATH"
else
  echo "build.sh: MindSpore C++ SDK at $MINDSPORE_PATH, gflags at $GFLAGS_PATH"
fi

# A failed build must not leave an older binary for run_infer_310.sh or export.py to run.
rm -f "$APP/out/main" "$APP/out/convert_lite"
cmake -S "$APP" -B "$APP/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=OFF -DMINDSPORE_PATH="$MINDSPORE_PATH" \
  -DLITE_PATH="$LITE_PATH" -DFCN4_OUT_DIR="$APP/out" -DCMAKE_PREFIX_PATH="$GFLAGS_PATH"
cmake --build "$APP/build" -j "$(nproc)"
[[ -x "$APP/out/main" ]] || die "the build finished but $APP/out/main is missing"
echo "build.sh: built $APP/out/main"
