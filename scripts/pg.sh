#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432: all `make run`
# needs besides Go. Where one already answers it only checks, and needs no
# root. Otherwise, as root on Debian, it installs PostgreSQL when missing and
# starts the machine's cluster. It installs nothing else.
set -euo pipefail

answers() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; }
answers && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "pg: no PostgreSQL answers on 127.0.0.1:5432; start one, or run this as root to install and start it" >&2
    exit 1
  fi
  SUDO=sudo
fi
missing=()
for p in postgresql postgresql-client; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "pg: installing ${missing[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "pg: starting PostgreSQL" >&2
cluster=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
if [ -z "$cluster" ]; then
  echo "pg: no PostgreSQL cluster configured" >&2; exit 1
fi
if [ -z "$(ls /etc/postgresql/$cluster 2>/dev/null)" ]; then
  $SUDO pg_createcluster "$cluster" main >/dev/null
fi
$SUDO pg_ctlcluster --skip-systemctl-redirect "$cluster" main start || true
for _ in $(seq 1 30); do answers && break; sleep 1; done
pg_isready -h 127.0.0.1 -p 5432
