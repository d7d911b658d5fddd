#!/usr/bin/env bash
# Installs what building switchboard needs on Debian/Ubuntu: a C toolchain and
# libopus (cgo, for the Opus codec). Idempotent: installs only what is missing.
# Usage: deploy/install-deps.sh [extra-debian-packages...]
set -euo pipefail

need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in gcc pkg-config libopus-dev libopusfile-dev "$@"; do
  have "$p" || need+=("$p")
done
if ! command -v go >/dev/null 2>&1; then
  echo "install-deps: Go is not on PATH. Install Go 1.26 or newer (https://go.dev/dl/) and run again." >&2
  exit 1
fi
[ ${#need[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: need root (or sudo) to run: apt-get install ${need[*]}" >&2; exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: no apt-get here. Install these packages by hand: ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists unless they are less than a day old.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
  $SUDO apt-get update -qq || { echo "install-deps: apt-get update failed" >&2; exit 1; }
fi
if ! $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
  # Stale package lists are the usual cause: refresh once and retry.
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || { echo "install-deps: apt-get install ${need[*]} failed" >&2; exit 1; }
fi
