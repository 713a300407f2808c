#!/usr/bin/env bash
# Builds ascend310_infer/out/main against the MindSpore C++ SDK and gflags.
#
# MindSpore is found as in the model zoo, through `$PYTHON -m pip show mindspore` (Location +
# /mindspore; PYTHON defaults to python3), unless MINDSPORE_PATH names the SDK root. gflags is
# looked for under GFLAGS_PATH if set, else /usr/local and /usr. When something is missing it
# prints one line saying what and how to get it, and exits 1, before CMake gets a chance to bury
# that in its output.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP="$ROOT/ascend310_infer"
MINDSPORE_PATH="${MINDSPORE_PATH:-}"
GFLAGS_PATH="${GFLAGS_PATH:-}"
PYTHON="${PYTHON:-python3}"

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

find_mindspore() {
  local source="MINDSPORE_PATH"
  if [[ -z "$MINDSPORE_PATH" ]]; then
    MINDSPORE_PATH="$(pip_mindspore_root)"
    source="pip show mindspore"
    [[ -n "$MINDSPORE_PATH" ]] || die "MindSpore not found: $source lists no mindspore package;" \
      "install the MindSpore Ascend package with the Ascend toolkit, or set MINDSPORE_PATH" \
      "to a MindSpore C++ SDK root (with include/api/model.h and lib/libmindspore.so)"
  fi
  local missing=() file
  for file in include/api/model.h lib/libmindspore.so; do
    [[ -e "$MINDSPORE_PATH/$file" ]] || missing+=("$file")
  done
  if ((${#missing[@]})); then
    local joined
    printf -v joined '%s and ' "${missing[@]}"
    die "MindSpore C++ SDK not found: $MINDSPORE_PATH (from $source) lacks ${joined% and };" \
      "install a MindSpore Ascend package that ships the C++ inference SDK (with the Ascend toolkit)," \
      "or set MINDSPORE_PATH to such an SDK root"
  fi
}

find_gflags() {
  local prefixes=(/usr/local /usr) prefix
  [[ -z "$GFLAGS_PATH" ]] || prefixes=("$GFLAGS_PATH")
  for prefix in "${prefixes[@]}"; do
    if has_gflags "$prefix"; then
      GFLAGS_PATH="$prefix"
      return
    fi
  done
  die "gflags not found under ${prefixes[*]}: build gflags with -D_GLIBCXX_USE_CXX11_ABI=0" \
    "(the MindSpore SDK's string ABI) and install it there, or set GFLAGS_PATH to its install prefix"
}

find_mindspore
find_gflags

# A failed build must not leave an older binary for run_infer_310.sh to run.
rm -f "$APP/out/main"
cmake -S "$APP" -B "$APP/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTS=OFF \
  -DMINDSPORE_PATH="$MINDSPORE_PATH" -DCMAKE_PREFIX_PATH="$GFLAGS_PATH"
cmake --build "$APP/build" -j "$(nproc)"
[[ -x "$APP/out/main" ]] || die "the build finished but $APP/out/main is missing"
echo "build.sh: built $APP/out/main"
