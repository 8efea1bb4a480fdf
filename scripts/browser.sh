#!/usr/bin/env bash
# Makes headless Chromium available for the dashboard's browser tests: Debian's `chromium` and
# `chromium-driver` packages, installed with apt-get when missing (as root). Idempotent. Prints
# the paths the tests use (they also look in /usr/bin by themselves).
# Usage: eval "$(scripts/browser.sh)"   (exits non-zero when no browser can be had)
set -euo pipefail
log() { echo "browser: $*" >&2; }

find_browser() { command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null || true; }
find_driver() { command -v chromedriver 2>/dev/null || { [ -x /usr/lib/chromium/chromedriver ] && echo /usr/lib/chromium/chromedriver; } || true; }

if [ -z "$(find_browser)" ] || [ -z "$(find_driver)" ]; then
  if [ "$(id -u)" != 0 ]; then log "chromium/chromium-driver are not installed and this is not root"; exit 1; fi
  log "installing chromium and chromium-driver from Debian's packages ..."
  timeout 600 apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-dejavu-core >&2
fi
browser="$(find_browser)"
driver="$(find_driver)"
[ -n "$browser" ] && [ -n "$driver" ] || { log "chromium or chromedriver is still missing"; exit 1; }
log "$("$browser" --version 2>/dev/null || echo "$browser"), driver $("$driver" --version 2>/dev/null | head -1 || echo "$driver")"
echo "export PULSE_CHROMIUM=$browser PULSE_CHROMEDRIVER=$driver"
