#!/bin/sh
# xenvfb: the program libxl runs as a domain's device model when its config names it with
# `device_model_override = "/usr/local/sbin/xenvfb-dm"` and `vfb = [ "vnc=0,sdl=0" ]`
# (scripts/hooks/xl-device-model.ts says what it does). Installed by `xenvfb install-hooks`,
# which fills in the paths below.
exec @NODE@ @NODE_FLAGS@ @XENVFB_BIN@ device-model "$@"
