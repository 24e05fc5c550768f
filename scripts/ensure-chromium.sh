#!/usr/bin/env bash
# Browser tests drive Debian's Chromium through playwright-core (no bundled browser download).
# CI runs this before `npm test`; it does nothing when /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends chromium
