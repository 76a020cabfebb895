#!/usr/bin/env bash
# Installs Debian's Docker engine if needed and starts it by hand (these machines have no
# systemd): no bridge network and no iptables, which the sandbox does not allow.
set -euo pipefail
if ! command -v dockerd >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends docker.io busybox-static >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  nohup dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 \
    --exec-opt native.cgroupdriver=cgroupfs >/tmp/slipway-dockerd.log 2>&1 &
  for _ in $(seq 1 100); do
    docker info >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
docker info --format 'Docker {{.ServerVersion}} ready ({{.Driver}})'
