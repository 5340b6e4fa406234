#!/bin/sh
# /init of the lab's domU for OUR frontend (busybox sh, stock Debian kernel): Node and the
# pre-transpiled repository in /opt/xenvfb, the modules behind /dev/xen/{evtchn,gntdev,
# gntalloc} (a guest has no privcmd; /dev/xen/xenbus is built in). It runs
# `xenvfb guest` (vfb + vkbd on the xen platform: gntalloc pages, grant-fb, dirty tiles)
# showing the lab pattern, and logs to hvc0 (dom0's xenconsoled writes it to a file):
#   LABT BOOT <uptime> <MemTotal kB> | LABT GNTALLOC-LIMIT <pages>
#   LABT G <line>             every line of the guest's stdout/stderr (JSON)
#   LABT M <line>             every line of the native test (mocha), then LABT MOCHA rc=<n>
#   LABU DONE <seq>           a dom0 command (xenstore data/lab-cmd) finished
# Commands: "<seq> native" (run test/lab/native-xen.test.js), "<seq> poweroff".
export PATH=/usr/bin:/bin:/sbin LD_LIBRARY_PATH=/lib/x86_64-linux-gnu HOME=/root XENVFB_DIST=/opt/xenvfb
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/shm && mount -t tmpfs tmpfs /dev/shm
exec </dev/hvc0 >/dev/hvc0 2>&1
echo "LABT BOOT $(cut -d' ' -f1 /proc/uptime) $(awk '/MemTotal/ {print $2}' /proc/meminfo)"
for m in xen-evtchn xen-gntdev xen-gntalloc; do insmod /lib/modules/$m.ko || echo "LABT INSMOD-FAILED $m"; done
# The frontend's pages: 768 framebuffer pages (largest mode 1024x768) + 2 directory pages
# + shared page + tile page + vkbd page = 773, under gntalloc's default limit of 1024.
echo "LABT GNTALLOC-LIMIT $(cat /sys/module/xen_gntalloc/parameters/limit)"
domid=$(xenstore-read domid)
cd /opt/xenvfb
( node scripts/bin/xenvfb.js guest --domid "$domid" --workload still --image /pattern-800x600.png 2>&1; echo "guest exited rc=$?" ) |
  while IFS= read -r l; do echo "LABT G $l"; done &

last=
while true; do
  cmd=$(xenstore-read data/lab-cmd 2>/dev/null)
  if [ -n "$cmd" ] && [ "$cmd" != "$last" ]; then
    last=$cmd
    set -- $cmd
    case "$2" in
      native)
        # Streamed line by line, and killed after 130 s (dom0 waits 150 s): a hang shows where.
        echo 124 >/tmp/mocha.rc
        ( timeout -s KILL 130 node node_modules/mocha/bin/mocha.js --no-config --timeout 60000 test/lab/native-xen.test.js 2>&1
          echo $? >/tmp/mocha.rc ) | while IFS= read -r l; do echo "LABT M $l"; done
        echo "LABT MOCHA rc=$(cat /tmp/mocha.rc)"
        ;;
      poweroff) echo "LABU POWEROFF"; poweroff -f ;;
    esac
    echo "LABU DONE $1"
  fi
  sleep 0.3
done
