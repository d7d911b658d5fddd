#!/usr/bin/env bash
# Installs the real peers the tests talk to (see ../shared/PEERS.md): sipp,
# baresip, Chromium, sox and espeak-ng for test audio, tshark for captures.
# Idempotent; runs deploy/install-deps.sh with the extra packages.
set -euo pipefail
cd "$(dirname "$0")/.."
# tshark asks whether non-root users may capture; answer no, without a prompt.
if command -v debconf-set-selections >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
fi
exec deploy/install-deps.sh sip-tester baresip-core sox libsox-fmt-all espeak-ng tshark chromium iproute2
