#!/usr/bin/env bash
# Makes `pgbouncer` available for the test that runs Pulse's end-to-end flows through a real
# PgBouncer in transaction pooling mode (PgBouncerTest, which starts its own on a free port):
# Debian's `pgbouncer` package, installed with apt-get when missing (as root). The service the
# package may start is kept from starting (only the binary is used). Idempotent. Prints the path
# the test uses (it also looks on the PATH and in /usr/sbin by itself).
# Usage: eval "$(scripts/pgbouncer.sh)"   (exits non-zero when pgbouncer can't be had)
set -euo pipefail
log() { echo "pgbouncer: $*" >&2; }

find_pgbouncer() { command -v pgbouncer 2>/dev/null || { [ -x /usr/sbin/pgbouncer ] && echo /usr/sbin/pgbouncer; } || true; }

if [ -z "$(find_pgbouncer)" ]; then
  if [ "$(id -u)" != 0 ]; then log "pgbouncer is not installed and this is not root"; exit 1; fi
  log "installing Debian's pgbouncer package ..."
  timeout 600 apt-get update -qq >&2
  # A policy-rc.d that answers 101 keeps the package's maintainer scripts from starting the service
  # (container images usually have one already; one made here is removed again).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends pgbouncer >&2
fi
pgbouncer="$(find_pgbouncer)"
[ -n "$pgbouncer" ] || { log "pgbouncer is still missing"; exit 1; }
log "$("$pgbouncer" --version 2>&1 | head -1)"
echo "export PULSE_PGBOUNCER=$pgbouncer"
