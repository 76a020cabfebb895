#!/usr/bin/env bash
# Installs Debian's Podman (rootful) and starts its Docker-compatible API on
# /run/podman/podman.sock, configured as these machines need (../shared/notes/containers.md):
# overlay storage, cgroupfs, a file event log, runc, and explicit ulimits (without them every
# container fails with "error setting rlimit"). Idempotent: a running service is left alone.
set -euo pipefail
if ! command -v podman >/dev/null || ! command -v catatonit >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends podman catatonit >/dev/null
fi
mkdir -p /etc/containers
[ -f /etc/containers/storage.conf ] || cat >/etc/containers/storage.conf <<'CONF'
[storage]
driver = "overlay"
runroot = "/run/containers/storage"
graphroot = "/var/lib/containers/storage"
CONF
nofile=$(ulimit -Hn)
cat >/etc/containers/containers.conf <<CONF
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
CONF
socket=/run/podman/podman.sock
if ! curl -fsS -m 2 --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; then
  mkdir -p /run/podman
  nohup podman system service --time=0 "unix://$socket" >/tmp/slipway-podman.log 2>&1 &
  for _ in $(seq 1 100); do
    curl -fsS -m 1 --unix-socket "$socket" http://d/_ping >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
curl -fsS -m 2 --unix-socket "$socket" http://d/_ping >/dev/null || {
  echo "Podman's API did not start on $socket (see /tmp/slipway-podman.log)" >&2
  exit 1
}
echo "Podman $(podman version --format '{{.Server.Version}}') ready on $socket"
