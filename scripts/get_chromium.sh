#!/usr/bin/env bash
# Installs the browser that tests/e2e/test_serve_page.py drives (through Playwright, never downloading a
# browser of its own): Debian's chromium package, at /usr/bin/chromium. Nothing to do when it is there.
# Needs root and apt-get (a machine whose package lists are missing or stale refreshes them first).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

die() {
  echo "ERROR: $*" >&2
  exit 1
}

if [[ -x "$CHROMIUM" ]]; then
  echo "get_chromium.sh: $CHROMIUM is installed"
  exit 0
fi
command -v apt-get >/dev/null || die "$CHROMIUM is missing and there is no apt-get here: install chromium by hand"
[[ "$(id -u)" == 0 ]] || die "$CHROMIUM is missing; install it as root: apt-get install chromium"
export DEBIAN_FRONTEND=noninteractive
echo "get_chromium.sh: installing Debian's chromium"
if ! apt-get install -y -qq chromium >/dev/null; then
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
fi
[[ -x "$CHROMIUM" ]] || die "apt-get installed chromium but $CHROMIUM is not there"
echo "get_chromium.sh: $CHROMIUM installed"
