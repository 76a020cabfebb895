#!/usr/bin/env bash
# Installs Debian's Docker engine (plus busybox-static for the test images and a local image
# registry for pull tests) if needed, and starts them by hand: these machines have no systemd.
# The engine gets no bridge network and no iptables, which the sandbox does not allow.
# Idempotent: what already runs is left alone.
set -euo pipefail
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  # A containerd pid file left by an engine that was killed makes dockerd wait on whatever
  # process now has that pid, and give up.
  pgrep -x dockerd >/dev/null || rm -f /var/run/docker/containerd/containerd.pid
  nohup dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver=overlay2 \
    --exec-opt native.cgroupdriver=cgroupfs >/tmp/slipway-dockerd.log 2>&1 &
  for _ in $(seq 1 100); do
    docker info >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
# Debian's own registry config asks for htpasswd auth; tests need an open loopback one.
# Docker trusts 127.0.0.0/8 registries over plain HTTP without further configuration.
if ! curl -fsS -m 2 http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  cat >/tmp/slipway-registry.yml <<'YAML'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/slipway-registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YAML
  nohup docker-registry serve /tmp/slipway-registry.yml >/tmp/slipway-registry.log 2>&1 &
  for _ in $(seq 1 50); do
    curl -fsS -m 1 http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
if ! docker info >/dev/null 2>&1; then
  echo "The Docker engine did not start; the end of /tmp/slipway-dockerd.log:" >&2
  tail -n 20 /tmp/slipway-dockerd.log >&2 || true
  exit 1
fi
docker info --format 'Docker {{.ServerVersion}} ready ({{.Driver}})'
if ! curl -fsS -m 2 http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  echo "The image registry did not start at 127.0.0.1:5000; the end of /tmp/slipway-registry.log:" >&2
  tail -n 20 /tmp/slipway-registry.log >&2 || true
  exit 1
fi
echo "registry ready at 127.0.0.1:5000"
