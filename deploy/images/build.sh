#!/usr/bin/env bash
# Builds Slipway's server image offline, from what this machine has: the package compiled as
# `npm run build` does (into the image's folder, leaving the work tree's dist/ alone), its
# installed production dependencies, the host's node binary with the
# shared libraries it and the native modules load, and Debian's static busybox. No registry,
# no base image: the root filesystem is one tar added to `FROM scratch`.
#
#   deploy/images/build.sh server [--tag NAME:TAG] [--use-dist] [--keep-context DIR]
#   deploy/images/build.sh content-init [--tag NAME:TAG]
#
# --use-dist takes the work tree's existing dist/ instead of compiling. The content-init image
# is Debian's static busybox, Slipway's runtime/ folder and, when this machine has Debian's
# python3-waitress, a copy of waitress for images whose Python has no production WSGI server.
#
# Prints the image name on standard output when done. Needs docker (run with
# DOCKER_BUILDKIT=0: the classic builder works without buildx), node, npm and busybox-static.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/deploy/images"
die() { echo "build.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: build.sh server|content-init [--tag NAME:TAG] [--use-dist] [--keep-context DIR]"
image=$1
shift
case "$image" in
  server | content-init) ;;
  content) die "the content image installs Python, R and Quarto from the internet; see deploy/images/content/README.md" ;;
  *) die "unknown image '$image' (server, content-init)" ;;
esac

version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
tag="localhost/slipway/$image:$version"
use_dist=0
keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag=${2:?--tag needs NAME:TAG}; shift 2 ;;
    --use-dist) use_dist=1; shift ;;
    --keep-context) keep=${2:?--keep-context needs a folder}; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done

busybox=/bin/busybox
command -v docker >/dev/null || die "docker is not installed"
[ -x "$busybox" ] && ! ldd "$busybox" >/dev/null 2>&1 || die "$busybox must be Debian's static busybox (apt-get install busybox-static)"

work=$(mktemp -d "${TMPDIR:-/tmp}/slipway-image-XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ "$image" = content-init ]; then
  rootfs="$work/context/rootfs"
  mkdir -p "$rootfs/bin" "$rootfs/payload"
  install -m 0755 "$busybox" "$rootfs/bin/busybox"
  for applet in sh cp echo; do ln -s busybox "$rootfs/bin/$applet"; done
  install -m 0755 "$here/content-init/slipway-init" "$rootfs/slipway-init"
  cp -R "$root/runtime/." "$rootfs/payload/"
  waitress=/usr/lib/python3/dist-packages/waitress
  if [ -d "$waitress" ]; then
    mkdir -p "$rootfs/payload/python/vendor"
    cp -R "$waitress" "$rootfs/payload/python/vendor/"
  fi
  find "$rootfs/payload" -name __pycache__ -type d -prune -exec rm -rf {} +
  cp "$here/content-init/Dockerfile" "$work/context/Dockerfile"
  echo "build.sh: docker build $tag" >&2
  DOCKER_BUILDKIT=0 docker build --quiet --label "org.opencontainers.image.version=$version" \
    --tag "$tag" "$work/context" >&2
  echo "$tag"
  exit 0
fi

node_bin=$(readlink -f "$(command -v node)")
rootfs="$work/rootfs"
app="$rootfs/opt/slipway"

mkdir -p "$app" "$rootfs/usr/local/bin" "$rootfs/bin" "$rootfs/etc/slipway" "$rootfs/tmp" \
  "$rootfs/var/lib/slipway" "$rootfs/etc/ssl/certs"
if [ "$use_dist" = 1 ]; then
  [ -f "$root/dist/cli/main.js" ] || die "no build in $root/dist: run npm run build (or drop --use-dist)"
  cp -a "$root/dist" "$app/dist"
else
  echo "build.sh: compiling the server and the dashboard" >&2
  (cd "$root" && npx tsc -p tsconfig.build.json --outDir "$app/dist" &&
    npx vite build --config web/vite.config.ts --outDir "$app/dist/web" --emptyOutDir --logLevel warn) >&2
fi

echo "build.sh: laying out the root filesystem" >&2
cp -a "$root/bin" "$root/runtime" "$root/package.json" "$root/package-lock.json" "$app/"
# The installed tree, pruned to production dependencies: no registry is needed, and native
# modules (better-sqlite3) keep the build made for this node.
cp -a "$root/node_modules" "$app/node_modules"
rm -rf "$app/node_modules/.cache"
(cd "$app" && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund --silent) >&2
# Sources and intermediate objects of native modules are not needed at run time.
find "$app/node_modules" -name obj.target -type d -prune -exec rm -rf {} +
rm -rf "$app/node_modules/better-sqlite3/deps" "$app/node_modules/better-sqlite3/src"

install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
# The dynamic loader and every library node or a native module loads, at the paths ldd gives.
{
  ldd "$node_bin"
  find "$app/node_modules" -name '*.node' -type f -exec ldd {} \;
} | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\).*/\1/p' | sort -u |
  while read -r library; do
    mkdir -p "$rootfs$(dirname "$library")"
    cp -L "$library" "$rootfs$library"
  done

install -m 0755 "$busybox" "$rootfs/bin/busybox"
for applet in sh env cat ls mkdir rm cp mv ln id ps kill sleep wget tar gzip; do
  ln -s busybox "$rootfs/bin/$applet"
done
mkdir -p "$rootfs/usr/bin" && ln -s /bin/env "$rootfs/usr/bin/env"
printf '#!/bin/sh\nexec /usr/local/bin/node /opt/slipway/bin/slipway.js "$@"\n' >"$rootfs/usr/local/bin/slipway"
chmod 0755 "$rootfs/usr/local/bin/slipway"
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/sh\nslipway:x:10001:10001:Slipway:/var/lib/slipway:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nslipway:x:10001:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
cp "$here/server/slipway.gcfg" "$rootfs/etc/slipway/slipway.gcfg"

# Everything root-owned and read-only to the server, except its data folder and /tmp.
context="$work/context"
mkdir -p "$context"
chmod 1777 "$rootfs/tmp"
tar -C "$rootfs" --numeric-owner --owner=0 --group=0 --exclude=./var/lib/slipway -cf "$context/rootfs.tar" .
tar -C "$rootfs" --numeric-owner --owner=10001 --group=10001 -rf "$context/rootfs.tar" ./var/lib/slipway
cp "$here/server/Dockerfile" "$context/Dockerfile"
[ -n "$keep" ] && { mkdir -p "$keep"; cp -a "$context/." "$keep/"; }

echo "build.sh: docker build $tag" >&2
DOCKER_BUILDKIT=0 docker build --quiet --label "org.opencontainers.image.version=$version" \
  --tag "$tag" "$context" >&2
echo "$tag"
