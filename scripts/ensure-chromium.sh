#!/bin/sh
# Makes sure the headless browser the dashboard test drives (Debian's chromium, through
# playwright-core) is installed. Installs it with apt-get when missing and we are root; otherwise
# explains what to do and exits non-zero.
set -eu
CHROMIUM="${TIDE_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-chromium: $CHROMIUM is missing and this is not root; install it with: sudo apt-get install -y chromium" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium and set TIDE_CHROMIUM to its path" >&2
  exit 1
fi
echo "ensure-chromium: installing Debian's chromium for the dashboard test (apt-get install -y chromium)" >&2
DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >&2
if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
