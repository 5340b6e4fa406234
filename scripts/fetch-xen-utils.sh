#!/usr/bin/env bash
# Unpacks Debian's C xenstored (xen-utils-4.17) and the libxen* libraries it loads into a
# cache directory, plus libxen-dev for the headers the fakexen.so shim is built against.
# Nothing is installed: every package is `apt-get download`ed and `dpkg -x`ed (Debian
# bookworm's xen-utils-4.17 and libxen*; README.md "Real Xen lab"). Idempotent: a complete cache is left alone.
#
#   scripts/fetch-xen-utils.sh [CACHE_DIR]      (default $XENVFB_XEN_CACHE or ~/.cache/xenvfb/xen-4.17; outside
#   node_modules so that `npm ci` does not wipe it)
#
# Exit status 0 when <cache>/usr/lib/xen-4.17/bin/xenstored resolves all its libraries.
set -euo pipefail

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${1:-${XENVFB_XEN_CACHE:-$HOME/.cache/xenvfb/xen-4.17}}"
XENSTORED="$CACHE/usr/lib/xen-4.17/bin/xenstored"
LIBDIR="$CACHE/usr/lib/x86_64-linux-gnu"
DEBS="$CACHE/debs"
STAMP="$CACHE/.complete"

log() { echo "fetch-xen-utils: $*"; }

# Libraries of xenstored's closure that ldd cannot find, one soname a line.
missing_libs() {
  LD_LIBRARY_PATH="$LIBDIR" ldd "$XENSTORED" 2>/dev/null | awk '/=> not found/ { print $1 }' | sort -u
}

# Debian package shipping a libxen soname: libxenctrl lives in libxenmisc4.17, the others
# are named after the soname (libxenfoo.so.1 -> libxenfoo1).
package_for() {
  case "$1" in
    libxenctrl.so.* | libxenguest.so.* | libxenlight.so.* | libxlutil.so.*) echo "libxenmisc4.17" ;;
    libxen*.so.*) echo "$1" | sed -E 's/\.so\.([0-9.]+)$/\1/' ;;
    *) return 1 ;;
  esac
}

# Downloads (if not already in $DEBS) and unpacks the named packages.
fetch() {
  mkdir -p "$DEBS"
  local todo=()
  for p in "$@"; do
    compgen -G "$DEBS/${p}_*.deb" >/dev/null || todo+=("$p")
  done
  if [ ${#todo[@]} -gt 0 ]; then
    # apt-get download writes to the current directory.
    (cd "$DEBS" && apt-get download -q "${todo[@]}" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  fi
  for p in "$@"; do
    local deb
    deb=$(compgen -G "$DEBS/${p}_*.deb" | head -n1) || { log "could not download $p"; return 1; }
    dpkg -x "$deb" "$CACHE"
  done
}

if [ -f "$STAMP" ] && [ -x "$XENSTORED" ] && [ -z "$(missing_libs)" ]; then
  log "cache complete at $CACHE"
  exit 0
fi

for tool in apt-get dpkg ldd; do
  command -v "$tool" >/dev/null || { log "needs $tool (Debian/Ubuntu); real-xenstored tests stay pending"; exit 1; }
done

# Empty package lists make apt-get download fail; only root can refresh them.
if ! apt-cache show xen-utils-4.17 >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
  else
    log "apt lists have no xen-utils-4.17; run 'apt-get update' as root"
    exit 1
  fi
fi

mkdir -p "$CACHE"
fetch xen-utils-4.17 libxen-dev

# Follow xenstored's ldd closure: each round fetches the packages of the sonames still
# missing (libxenctrl pulls libxentoollog, libxencall, ...).
for _round in 1 2 3 4; do
  mapfile -t missing < <(missing_libs)
  [ ${#missing[@]} -eq 0 ] && break
  pkgs=()
  for so in "${missing[@]}"; do
    pkg=$(package_for "$so") || { log "no package known for $so"; exit 1; }
    pkgs+=("$pkg")
  done
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
  log "fetching ${pkgs[*]}"
  fetch "${pkgs[@]}"
done

if [ -n "$(missing_libs)" ]; then
  log "xenstored still lacks: $(missing_libs | tr '\n' ' ')"
  exit 1
fi
date -u +%FT%TZ >"$STAMP"
log "xenstored ready: $XENSTORED"
