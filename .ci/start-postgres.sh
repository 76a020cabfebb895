#!/usr/bin/env bash
# Installs PostgreSQL from the Debian archive if needed and starts a throwaway server on
# 127.0.0.1:${PGPORT:-55432} with trust authentication. Prints the URL tests should use.
set -euo pipefail
port=${PGPORT:-55432}
dir=${PGDATA_DIR:-/tmp/slipway-ci-postgres}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq postgresql >/dev/null
fi
bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")
id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres

if [ ! -f "$dir/PG_VERSION" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  chown postgres "$dir"
  su postgres -c "$bin/initdb -D $dir -A trust -U postgres --no-sync" >/dev/null
fi
if ! su postgres -c "$bin/pg_ctl -D $dir status" >/dev/null 2>&1; then
  su postgres -c "$bin/pg_ctl -D $dir -l $dir/server.log -w -o '-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300' start" >/dev/null
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
