#!/usr/bin/env bash
# Installs the third-party programs the test suite drives (Debian packages). Run as root on
# Debian/Ubuntu; elsewhere it prints what to install and the tests that need them stay
# pending with the reason.
set -euo pipefail

PACKAGES=(
  gvncviewer      # gvnccapture: VNC screenshots (gtk-vnc)
  vncsnapshot     # vncsnapshot: VNC screenshots (RFB 3.3, LastRect in its default list)
  xenstore-utils  # xenstore-ls/-read/-write/...: the real xenstore CLI against our xenstored
  libjpeg-turbo-progs  # djpeg: decodes vncsnapshot's JPEG output
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-test-deps: all test packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup-test-deps: please install: ${missing[*]} (tests that need them will be pending)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-test-deps: installed ${missing[*]}"
