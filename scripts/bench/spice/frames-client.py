#!/usr/bin/python3
# bench:spice's measuring client: spice-gtk's SpiceClientGLib through GObject introspection
# (Debian python3-gi, gir1.2-spiceclientglib-2.0), so both servers are decoded by the same real
# client. It reads the frame number the workload stamps into each frame (workloads.ts: 12
# blocks of 16x16, white = 1, least significant bit first, at MX,MY) back from its own decoded
# picture whenever an update covers the marker, and counts the frames it saw.
#   usage:  frames-client.py HOST PORT MX MY
#   stdout: {"event": "primary", "width", "height"} once the display surface exists
#   stdin:  "report" -> {"event": "report", "frames": N, "bytes": B}  (frames seen, display-channel bytes read)
#           "quit"
import ctypes
import json
import os
import sys

import gi

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import GLib, GObject  # noqa: E402
from gi.repository import SpiceClientGLib as Spice  # noqa: E402

BITS, BLOCK = 12, 16
host, port, mx, my = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
state = {"primary": None, "display": None, "value": None, "frames": 0}
loop = GLib.MainLoop()


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def marker():
    width, height, stride, ptr = state["primary"]
    if mx + BITS * BLOCK > width or my + BLOCK > height:
        return None
    v = 0
    for bit in range(BITS):
        # the green byte of the block's centre pixel (B, G, R, X)
        g = ctypes.string_at(ptr + (my + BLOCK // 2) * stride + (mx + bit * BLOCK + BLOCK // 2) * 4 + 1, 1)[0]
        v |= (1 if g >= 128 else 0) << bit
    return v


def on_primary(ch, _fmt, width, height, stride, _shmid, imgdata):
    state["primary"] = (width, height, stride, imgdata)
    state["display"] = ch
    say({"event": "primary", "width": width, "height": height})


def on_invalidate(_ch, x, y, w, h):
    if state["primary"] is None:
        return
    if x >= mx + BITS * BLOCK or x + w <= mx or y >= my + BLOCK or y + h <= my:
        return
    v = marker()
    if v is not None and v != state["value"]:
        state["value"] = v
        state["frames"] += 1


def on_channel_new(_session, ch):
    if isinstance(ch, Spice.DisplayChannel):
        GObject.Object.connect(ch, "display-primary-create", on_primary)
        GObject.Object.connect(ch, "display-invalidate", on_invalidate)
        Spice.Channel.connect(ch)


def on_stdin(_source, _cond):
    line = os.read(sys.stdin.fileno(), 4096).decode()
    if not line or "quit" in line:
        loop.quit()
        return False
    if "report" in line:
        ch = state["display"]
        say({"event": "report", "frames": state["frames"], "bytes": ch.props.total_read_bytes if ch else 0})
    return True


session = Spice.Session()
session.props.host = host
session.props.port = port
GObject.Object.connect(session, "channel-new", on_channel_new)
GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, on_stdin)
if not Spice.Session.connect(session):
    say({"event": "error", "message": "session connect failed"})
    sys.exit(1)
loop.run()
