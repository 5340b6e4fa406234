#!/usr/bin/env bash
# Phase "fetch" of the real-Xen lab (README.md, "Real Xen lab").
#
# The only system change: `apt-get install` of qemu-system-x86, busybox-static, cpio, zstd
# and xz-utils when one of them is missing. Everything Xen and the guest kernel are
# `apt-get download`ed and `dpkg -x`ed into $CACHE/root, never installed.
#
#   scripts/lab/fetch.sh [CACHE]   (default $XENVFB_LAB_CACHE or ~/.cache/xenvfb/lab)
#
# Idempotent: packages already in $CACHE/debs are not downloaded again; a cache whose
# stamp names the same package set is left alone. Prints the kernel version on the last line.
set -euo pipefail

CACHE="${1:-${XENVFB_LAB_CACHE:-$HOME/.cache/xenvfb/lab}}"
ROOT="$CACHE/root"
DEBS="$CACHE/debs"
LIBDIR="$ROOT/usr/lib/x86_64-linux-gnu"
XENBIN="$ROOT/usr/lib/xen-4.17/bin"
log() { echo "lab-fetch: $*" >&2; }

# --- host tools ------------------------------------------------------------------------
need_apt=()
command -v qemu-system-x86_64 >/dev/null || need_apt+=(qemu-system-x86)
[ -x /bin/busybox ] || command -v busybox >/dev/null || need_apt+=(busybox-static)
command -v cpio >/dev/null || need_apt+=(cpio)
command -v zstd >/dev/null || need_apt+=(zstd)
command -v xz >/dev/null || need_apt+=(xz-utils)
if [ ${#need_apt[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { log "missing ${need_apt[*]}; run as root or install them"; exit 1; }
  log "apt-get install ${need_apt[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}" >&2
fi
# busybox-static must be the static build: it runs inside both initramfs images.
file -L "$(command -v busybox)" 2>/dev/null | grep -q 'statically linked' || {
  log "busybox is not static (install busybox-static)"; exit 1; }

# --- Debian packages into the cache -------------------------------------------------------
if ! apt-cache show xen-utils-4.17 >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { log "apt lists lack xen-utils-4.17; run apt-get update as root"; exit 1; }
  apt-get update -qq >&2
fi
# The current bookworm kernel ABI: linux-image-amd64 depends on linux-image-6.1.0-NN-amd64.
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$KPKG" ] || { log "cannot find the kernel package behind linux-image-amd64"; exit 1; }
KVER=${KPKG#linux-image-}

PKGS=(xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils "$KPKG")
STAMP="$CACHE/.complete"
tools() { echo "$XENBIN/xl $XENBIN/xenstored $XENBIN/xenconsoled $XENBIN/xen-init-dom0 $ROOT/usr/bin/xenstore"; }

# Libraries of the dom0 tools that ldd cannot resolve, one soname a line.
missing_libs() {
  local t
  for t in $(tools); do
    [ -e "$t" ] && LD_LIBRARY_PATH="$LIBDIR" ldd "$t" 2>/dev/null | awk '/=> not found/ { print $1 }'
  done | sort -u
}

# Debian package shipping a soname (libxenctrl is in libxenmisc4.17; the other libxen*
# are named after the soname, libxenfoo.so.1 -> libxenfoo1).
package_for() {
  case "$1" in
    libxenctrl.so.* | libxenguest.so.* | libxenlight.so.* | libxlutil.so.*) echo libxenmisc4.17 ;;
    libxen*.so.* | libyajl.so.*) echo "$1" | sed -E 's/\.so\.([0-9]+)(\.[0-9.]+)?$/\1/' ;;
    libnl-3.so.*) echo libnl-3-200 ;;
    libnl-route-3.so.*) echo libnl-route-3-200 ;;
    *) return 1 ;;
  esac
}

fetch() {
  mkdir -p "$DEBS"
  local todo=() p deb
  for p in "$@"; do compgen -G "$DEBS/${p}_*.deb" >/dev/null || todo+=("$p"); done
  if [ ${#todo[@]} -gt 0 ]; then
    log "apt-get download ${todo[*]}"
    (cd "$DEBS" && apt-get download -q "${todo[@]}" 2>&1 | grep -v 'unsandboxed' >&2 || true)
  fi
  for p in "$@"; do
    deb=$(compgen -G "$DEBS/${p}_*.deb" | sort | tail -n1) || { log "could not download $p"; return 1; }
    dpkg -x "$deb" "$ROOT"
  done
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "${PKGS[*]}" ] && [ -z "$(missing_libs)" ] && [ -f "$CACHE/xen.elf" ]; then
  log "cache complete at $CACHE"
  echo "$KVER"
  exit 0
fi

mkdir -p "$ROOT"
fetch "${PKGS[@]}"
for _round in 1 2 3 4 5; do
  mapfile -t missing < <(missing_libs)
  [ ${#missing[@]} -eq 0 ] && break
  pkgs=()
  for so in "${missing[@]}"; do
    pkg=$(package_for "$so") || { log "no package known for $so"; exit 1; }
    pkgs+=("$pkg")
  done
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
  fetch "${pkgs[@]}"
done
[ -z "$(missing_libs)" ] || { log "dom0 tools still lack: $(missing_libs | tr '\n' ' ')"; exit 1; }

# QEMU's multiboot loader wants the unzipped ELF (§3).
zcat "$ROOT/boot/xen-4.17-amd64.gz" >"$CACHE/xen.elf.tmp" && mv "$CACHE/xen.elf.tmp" "$CACHE/xen.elf"
echo "${PKGS[*]}" >"$STAMP"
log "ready: Xen 4.17, kernel $KVER in $CACHE"
echo "$KVER"
