#!/usr/bin/env bash
# Makes `promtool` available for the metrics test (`promtool check metrics` on a real node's
# /metrics) and the alerting rules' unit tests (`promtool test rules`): Debian's `prometheus` package,
# installed with apt-get when missing (as root). Only the
# promtool binary is used: a Prometheus server the package may have started is stopped again.
# Idempotent. Prints the path the test uses (it also looks on the PATH by itself).
# Usage: eval "$(scripts/promtool.sh)"   (exits non-zero when promtool can't be had)
set -euo pipefail
log() { echo "promtool: $*" >&2; }

if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then log "promtool is not installed and this is not root"; exit 1; fi
  log "installing Debian's prometheus package (for its promtool) ..."
  timeout 600 apt-get update -qq >&2
  # A policy-rc.d that answers 101 keeps the package's maintainer scripts from starting the server
  # (container images usually have one already; one made here is removed again).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends prometheus >&2
fi
promtool="$(command -v promtool)" || { log "promtool is still missing"; exit 1; }
log "$("$promtool" --version 2>&1 | head -1)"
echo "export PULSE_PROMTOOL=$promtool"
