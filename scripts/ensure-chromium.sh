#!/usr/bin/env bash
# Installs Debian's chromium for the browser test (test/integration/unsubscribe/browser.test.ts)
# when it is missing. Needs root and apt-get; otherwise it says so and leaves the test to skip.
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM missing and cannot install it (needs root and apt-get); the browser test will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
echo "ensure-chromium: installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
