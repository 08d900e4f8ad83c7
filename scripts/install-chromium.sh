#!/usr/bin/env bash
# Debian's Chromium for the browser test (Playwright drives it; it never downloads a browser of its own).
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "chromium is missing: install it (Debian: sudo apt-get install chromium); the browser test is skipped" >&2
  exit 0
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
