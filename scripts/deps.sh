#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian 12 machine and makes sure a
# PostgreSQL server answers on 127.0.0.1:5432 (scripts/pg.sh, all that
# `make run` needs). Idempotent: on a machine that has everything it only
# checks.
set -euo pipefail

# Debian packages: the real Python clients the end-to-end tests drive, the
# web servers that serve the static tree, wrk for the benchmarks, promtool
# (prometheus) for the metrics test; docutils renders reST READMEs,
# chromium runs the browser test; npm (Debian's, unless the machine has
# one) fetches its axe-core.
pkgs=(twine python3-pip python3-build python3-setuptools python3-venv python3-wheel
      flit nginx apache2 postgresql postgresql-client wrk prometheus python3-docutils chromium)
command -v npm >/dev/null || pkgs+=(npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  # Keep the packages' own services from grabbing port 80 on install.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

# axe-core, the accessibility checker the browser test runs in chromium
# (cmd/cheeseshop/browser_test.go), from npm into a cache outside the tree.
axe_dir="$HOME/.cache/cheeseshop-npm"
if [ ! -f "$axe_dir/node_modules/axe-core/axe.min.js" ]; then
  echo "deps: installing axe-core into $axe_dir" >&2
  npm install --prefix "$axe_dir" --no-audit --no-fund --loglevel=error axe-core@4 >/dev/null
fi

# PostgreSQL: the machine's own cluster, started when it is down (the one
# thing `make run` needs too; scripts/pg.sh).
"$(dirname "$0")/pg.sh"
