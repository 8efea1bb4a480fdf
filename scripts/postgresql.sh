#!/usr/bin/env bash
# Makes the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) available for the tests that
# run a real primary and standby (FailoverTest, ReplicaReadsTest): Debian's `postgresql` package,
# installed with apt-get when missing (as root). The cluster and service the package sets up are
# kept from starting (only the binaries are used). Idempotent. Prints the folder the tests use
# (they also look in /usr/lib/postgresql/<15|16|17>/bin by themselves).
# Usage: eval "$(scripts/postgresql.sh)"   (exits non-zero when the binaries can't be had)
set -euo pipefail
log() { echo "postgresql: $*" >&2; }

find_bindir() {
  for v in 17 16 15; do
    if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then echo "/usr/lib/postgresql/$v/bin"; return; fi
  done
}

if [ -z "$(find_bindir)" ]; then
  if [ "$(id -u)" != 0 ]; then log "the PostgreSQL server binaries are not installed and this is not root"; exit 1; fi
  log "installing Debian's postgresql package (for its server binaries) ..."
  timeout 600 apt-get update -qq >&2
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends postgresql >&2
fi
bindir="$(find_bindir)"
[ -n "$bindir" ] || { log "the PostgreSQL server binaries are still missing"; exit 1; }
log "$("$bindir/postgres" --version 2>&1 | head -1)"
echo "export PULSE_TEST_PG_BINDIR=$bindir"
