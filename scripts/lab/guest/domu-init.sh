#!/bin/sh
# /init of the lab's domU (busybox sh, stock Debian kernel with the built-in xen-fbfront
# and xen-kbdfront). It logs to hvc0, which dom0's xenconsoled writes to a file that the
# dom0 lab script reads:
#   LABU FB <width> <height> <stride>           geometry of /dev/fb0 after each drawing
#   LABU DEV <eventN> <name>                    each input device
#   LABU EV <eventN> <48 hex digits>            each struct input_event (x86_64: 24 bytes)
# Commands come from dom0 through xenstore: data/lab-cmd = "<seq> draw|mode W H|poweroff".
export PATH=/usr/bin:/bin:/sbin LD_LIBRARY_PATH=/lib
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/hvc0 >/dev/hvc0 2>&1
echo "LABU BOOT $(cut -d' ' -f1 /proc/uptime)"
insmod /lib/modules/evdev.ko
# fbcon would draw the console and its blinking cursor over the pattern.
for v in /sys/class/vtconsole/vtcon*; do
  grep -q frame "$v/name" 2>/dev/null && echo 0 >"$v/bind"
done

draw() {
  w=$(cut -d, -f1 /sys/class/graphics/fb0/virtual_size)
  h=$(cut -d, -f2 /sys/class/graphics/fb0/virtual_size)
  s=$(cat /sys/class/graphics/fb0/stride)
  f=/pattern-${w}x${h}x${s}.raw
  if [ -f "$f" ]; then
    dd if="$f" of=/dev/fb0 bs=$s 2>/dev/null
    echo "LABU FB $w $h $s"
  else
    echo "LABU FB-NOPATTERN $w $h $s"
  fi
}

n=0
while [ ! -e /dev/input/event1 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
for e in /dev/input/event*; do
  d=${e#/dev/input/}
  echo "LABU DEV $d $(cat /sys/class/input/$d/device/name)"
  hexdump -v -e "\"LABU EV $d \" 24/1 \"%02x\" \"\\n\"" "$e" &
done
draw

last=
while true; do
  cmd=$(xenstore-read data/lab-cmd 2>/dev/null)
  if [ -n "$cmd" ] && [ "$cmd" != "$last" ]; then
    last=$cmd
    set -- $cmd
    case "$2" in
      draw) draw ;;
      mode) /fbmode "$3" "$4" && draw || echo "LABU MODE-FAILED $3 $4" ;;
      poweroff) echo "LABU POWEROFF"; poweroff -f ;;
    esac
    echo "LABU DONE $1"
  fi
  sleep 0.3
done
