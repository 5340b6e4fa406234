#!/bin/sh
# /init of the lab's dom0 (busybox sh). Brings up the Xen toolstack as Debian's xen-utils
# init scripts do (xenstored, xen-init-dom0, xenconsoled), then hands over to the Node lab
# script, which runs the checks and prints `LAB ...` lines. Every path ends in `poweroff -f` so QEMU (-no-reboot) exits.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu HOME=/root
# /opt/xenvfb is pre-transpiled: `xenvfb` runs its JS, loading no compiler (scripts/bin/xenvfb.js).
export XENVFB_DIST=/opt/xenvfb
up() { cut -d' ' -f1 /proc/uptime; }
say() { echo "LAB $*"; }
finish() { say "END rc=$1 t=$(up)"; sync; poweroff -f; }

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run && mkdir -p /run/xen /run/xenstored /var/log/xen/console /var/lib/xen /tmp
exec </dev/console >/dev/console 2>&1
T0=$(up)
say "DOM0 init t=$T0 mem=$(awk '/MemTotal/ {print $2}' /proc/meminfo)kB"

for m in xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc evdev e1000; do
  insmod /lib/modules/$m.ko || say "insmod $m failed"
done
mount -t xenfs xenfs /proc/xen
ip link set lo up
# QEMU's user network when the host forwards ports to dom0 (the watch phase's SPICE grab, qemu.ts).
if ip link show eth0 >/dev/null 2>&1; then
  ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up || say "eth0 setup failed"
fi

# -T: every request is traced; the teardown check reads who wrote which backend state.
xenstored --pid-file /run/xenstored.pid -T /run/xenstored.trace || { say "xenstored failed"; finish 1; }
xen-init-dom0 || { say "xen-init-dom0 failed"; finish 1; }
xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid || say "xenconsoled failed"
say "PHASE dom0-toolstack $(awk -v a=$T0 -v b=$(up) "BEGIN {print b - a}")"

# Hard stop in case the Node side hangs: the host has its own timeout too.
# LAB_DOM0_DEADLINE and LAB_PHASES come from the kernel command line (scripts/lab/qemu.ts).
diag() {
  xl list 2>&1 | while IFS= read -r l; do say "DIAG deadline xl list: $l"; done
  say "DIAG deadline $(grep -E '^(MemFree|MemAvailable)' /proc/meminfo | tr -s ' \n' ' ')"
  ps 2>&1 | grep -v ' \[' | while IFS= read -r l; do say "DIAG deadline ps: $l"; done
  for f in /var/log/xen/console/guest-*.log; do
    [ -f "$f" ] && tail -n 25 "$f" | grep -v 'LABU EV' | while IFS= read -r l; do say "DIAG deadline ${f##*/}| $l"; done
  done
}
( sleep "${LAB_DOM0_DEADLINE:-600}"; say "CHECK dom0-deadline FAIL the lab script ran over ${LAB_DOM0_DEADLINE:-600} s"; diag; finish 124 ) &

cd /opt/xenvfb
node scripts/lab/guest/dom0-lab.js
finish $?
