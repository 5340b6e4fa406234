#!/bin/sh
# /init of the lab's domU for OUR frontend (busybox sh, stock Debian kernel): Node and the
# pre-transpiled repository in /opt/xenvfb, the modules behind /dev/xen/{evtchn,gntdev,
# gntalloc} (a guest has no privcmd; /dev/xen/xenbus is built in). It runs
# `xenvfb guest` (vfb + vkbd on the xen platform: gntalloc pages, grant-fb, dirty tiles)
# showing the lab pattern, and logs to hvc0 (dom0's xenconsoled writes it to a file):
#   LABT BOOT <uptime> <MemTotal kB> | LABT GNTALLOC-LIMIT <pages>
#   LABT NODE-START <uptime>  the guest is being started
#   LABT G <line>             every line of the guest's stdout/stderr (JSON), then "guest exited rc=<n>"
#   LABT M <line>             every line of the native test (mocha), then LABT MOCHA rc=<n>
#   LABT D <line>             every task's state, wchan and kernel stack ("diag", or no guest
#                             "ready" line 120 s after start)
#   LABU DONE <seq>           a dom0 command (xenstore data/lab-cmd) finished
# Commands: "<seq> native" (run test/lab/native-xen.test.js), "<seq> diag", "<seq> stop-guest"
# (SIGTERM, wait for the exit), "<seq> start-guest", "<seq> poweroff".
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
# Where is every task? A hang in a system call shows as its wchan and kernel stack. This
# reads only /proc and writes only hvc0, so it works when xenstore does not.
dump_tasks() {
  for t in /proc/[0-9]*/task/*; do
    [ -r "$t/stat" ] || continue
    comm=$(cat $t/comm 2>/dev/null)
    case "$comm" in kworker*|ksoftirq*|migration*|rcu_*|cpuhp*|idle_inject*) continue ;; esac
    echo "LABT D task ${t#/proc/} $comm state=$(cut -d' ' -f3 $t/stat) wchan=$(cat $t/wchan 2>/dev/null) syscall=$(cut -d' ' -f1 $t/syscall 2>/dev/null)"
    sed 's/^/LABT D     /' $t/stack 2>/dev/null
  done
  echo "LABT D uptime $(cut -d' ' -f1 /proc/uptime) loadavg $(cat /proc/loadavg)"
}
# The guest (`xenvfb guest`) in the background, its output on hvc0; its pid in /tmp/guest.pid.
start_guest() {
  rm -f /tmp/guest-ready
  echo "LABT NODE-START $(cut -d' ' -f1 /proc/uptime)"
  ( node scripts/bin/xenvfb.js guest --domid "$domid" --workload still --image /pattern-800x600.png 2>&1 &
    echo $! >/tmp/guest.pid
    wait $!
    echo "guest exited rc=$?" ) |
    while IFS= read -r l; do
      echo "LABT G $l"
      case "$l" in *'"event":"ready"'*) touch /tmp/guest-ready ;; esac
    done &
}
# SIGTERM, as a service manager stops it, and wait (60 s at most) until it has exited.
stop_guest() {
  p=$(cat /tmp/guest.pid 2>/dev/null)
  [ -n "$p" ] || return
  kill -TERM "$p"
  n=0
  while kill -0 "$p" 2>/dev/null && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
  sleep 0.2 # let the pipeline print the exit line
}
start_guest
# The guest should be ready within a minute; if not, say where everything sits (once).
( sleep 120; [ -e /tmp/guest-ready ] || { echo "LABT D no ready line after 120 s:"; dump_tasks; } ) &

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
      diag) dump_tasks ;;
      stop-guest) stop_guest ;;
      start-guest) start_guest ;;
      poweroff) echo "LABU POWEROFF"; poweroff -f ;;
    esac
    echo "LABU DONE $1"
  fi
  sleep 0.3
done
