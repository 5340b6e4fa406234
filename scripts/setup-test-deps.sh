#!/usr/bin/env bash
# Installs the third-party programs the test suite drives (Debian packages). Run as root on
# Debian/Ubuntu; elsewhere it prints what to install and the tests that need them stay
# pending with the reason.
set -euo pipefail

# Debian's C xenstored for the differential xenstore tests: unpacked into a cache, never
# installed. A failure here only leaves those tests pending.
fetch_xen_utils() {
  bash "$(dirname "${BASH_SOURCE[0]}")/fetch-xen-utils.sh" ||
    echo "setup-test-deps: could not fetch xen-utils-4.17 (C xenstored tests will be pending)"
}

PACKAGES=(
  gvncviewer      # gvnccapture: VNC screenshots (gtk-vnc); also test/integration/capture-replay.test.ts
  xvfb            # Xvfb: X server for xtigervncviewer (test/clients/tigervnc.test.ts)
  tigervnc-viewer # xtigervncviewer: VeNCrypt TLS/X509 and VNC auth against our server
  tigervnc-tools  # vncpasswd -f: obfuscated password files for -PasswordFile
  imagemagick     # import -window root: screenshots of the Xvfb root
  vncsnapshot     # vncsnapshot: VNC screenshots (RFB 3.3, LastRect in its default list)
  xenstore-utils  # xenstore-ls/-read/-write/...: the real xenstore CLI against our xenstored
  libjpeg-turbo-progs  # djpeg: decodes vncsnapshot's JPEG output
  libturbojpeg0-dev    # TurboJPEG API: the addon's native Tight JPEG (test/unit/vnc/encoders/jpeg-twins.test.ts); npm install must come after it
  libvncserver-dev     # libvncclient + pkg-config file: test/clients/libvncclient.test.ts builds its per-encoding client; also test/integration/capture-replay.test.ts
  pkg-config      # finds libvncclient's flags for that build
  tigervnc-standalone-server  # Xvnc: the TigerVNC peer of test/clients/bench-peers.test.ts (and npm run bench:peers)
  libx11-dev      # Xlib for peer-xroot, which draws the picture in Xvnc (test/clients/bench-peers.test.ts)
  openssl         # self-signed certificates for the X509 VeNCrypt tests
  spin            # spin: model-checks test/model/dirty-tiles.pml (with gcc)
  systemd         # systemd-analyze verify of the installed units (test/integration/ops/hooks.test.ts)
  chromium        # headless Chromium for noVNC (test/clients/novnc.test.ts, via playwright-core)
  spice-client-gtk             # spicy-screenshot: SPICE screenshots (test/clients/spice-demo.test.ts)
  python3-gi                   # PyGObject for the spice-gtk GI client (test/clients/spice-gi.test.ts, spice-demo.test.ts)
  gir1.2-spiceclientglib-2.0   # SpiceClientGLib typelib for that client
  spice-html5                  # the browser SPICE client served at /spice (test/clients/spice-html5.test.ts)
  virt-viewer                  # remote-viewer under Xvfb (test/clients/spice-remote-viewer.test.ts)
  tmux            # the inspector's live view in a real terminal (test/clients/inspect.test.ts)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-test-deps: all test packages present"
  fetch_xen_utils
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup-test-deps: please install: ${missing[*]} (tests that need them will be pending)"
  fetch_xen_utils
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-test-deps: installed ${missing[*]}"
fetch_xen_utils
