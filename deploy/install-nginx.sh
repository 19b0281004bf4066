#!/usr/bin/env bash
# Make Debian's nginx available for the deployment tests and scripts/cluster.sh: a no-op when nginx is
# installed; otherwise installs the `nginx-light` package when apt-get and root are available.
# Exit status 0: nginx is available; 1: it is not (the caller decides whether that skips or fails).
# The tests and cluster.sh always run nginx with their own configuration, never the package's service.
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "==> Installing nginx-light (Debian package) for the deployment tests" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light; } >/dev/null
  [ -x /usr/sbin/nginx ] && exit 0
fi
echo "nginx is not installed and cannot be installed here (needs apt-get and root)" >&2
exit 1
