#!/bin/sh
# xenvfb: create an xl domain with a vfb and a vkbd device served by xenvfb, without
# `vfb = [...]` in its config (so libxl starts no device model): `xl create -p` (paused),
# write both devices' xenstore nodes the way libxl does (xenvfb attach-devices), unpause.
# The xenvfb-watch service (or `xenvfb backend --domid N`) then serves the console.
# Installed as /usr/local/sbin/xenvfb-xl-create by `xenvfb install-hooks`.
#   usage: xenvfb-xl-create CONFIG [xl create options...]
set -eu
XENVFB=${XENVFB:-xenvfb}
[ $# -ge 1 ] || { echo "usage: $0 CONFIG [xl create options]" >&2; exit 2; }
cfg=$1
shift
name=$(sed -n "s/^[[:space:]]*name[[:space:]]*=[[:space:]]*[\"']\([^\"']*\)[\"'].*/\1/p" "$cfg" | head -n 1)
[ -n "$name" ] || { echo "$0: no name = \"...\" in $cfg" >&2; exit 2; }
xl create -p "$cfg" "$@"
domid=$(xl domid "$name")
if ! "$XENVFB" attach-devices --domid "$domid"; then
  echo "$0: could not add the vfb/vkbd devices of $name (domain $domid); destroying it" >&2
  xl destroy "$name"
  exit 1
fi
xl unpause "$name"
echo "$name: domain $domid running; its console comes up on the port xenvfb watch gives it (xenvfb status --domid $domid)"
