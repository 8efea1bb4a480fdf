#!/usr/bin/env bash
# Starts a Docker-API container engine for the container executor's tests: rootful podman from
# Debian's packages, serving the Docker API on a unix socket, plus a tiny local test image
# (busybox), since nothing can be pulled. Idempotent. Prints the DOCKER_HOST to use.
# Usage: eval "$(scripts/container-engine.sh)"   (exits non-zero when no engine can be had)
set -euo pipefail
state="${PULSE_ENGINE_DIR:-/tmp/pulse-engine}"
socket="$state/podman.sock"
mkdir -p "$state"
log() { echo "container-engine: $*" >&2; }

if ! command -v podman >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then log "podman is not installed and this is not root"; exit 1; fi
  log "installing podman from Debian's packages ..."
  timeout 600 apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends \
    podman runc conmon slirp4netns uidmap busybox-static >&2
fi

cat > "$state/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF="$state/containers.conf"

if ! curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; then
  log "starting podman's Docker API on $socket"
  # From the state directory: conmon inherits the service's working directory, and a service
  # started in a checkout that is later deleted fails every container with "broken pipe".
  (cd "$state"; nohup podman system service --time=0 "unix://$socket" >"$state/podman.log" 2>&1 &)
  for _ in $(seq 1 50); do
    curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
curl -sf --unix-socket "$socket" http://d/_ping >/dev/null || { log "the Docker API did not come up; see $state/podman.log"; exit 1; }

if ! podman image exists localhost/pulse-test-busybox:1; then
  log "building the test image localhost/pulse-test-busybox:1 from busybox-static"
  root="$state/rootfs"
  rm -rf "$root" && mkdir -p "$root/bin" "$root/tmp"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for tool in sh cat echo sleep head tail dd printf yes; do ln -sf busybox "$root/bin/$tool"; done
  tar -C "$root" -cf "$state/rootfs.tar" .
  podman import --change 'ENV PATH=/bin' "$state/rootfs.tar" localhost/pulse-test-busybox:1 >&2
fi
echo "export DOCKER_HOST=unix://$socket"
