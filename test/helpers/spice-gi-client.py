#!/usr/bin/python3
# A SPICE client for tests, built on spice-gtk's SpiceClientGLib through GObject introspection
# (Debian: python3-gi, gir1.2-spiceclientglib-2.0). It is the real spice-gtk protocol and image
# decoders, driven by JSON lines:
#   stdin  {"cmd": "dump", "path": P}            write the primary surface (B,G,R,X rows) to P
#          {"cmd": "key", "scancode": N, "down": true|false}
#          {"cmd": "position", "x": X, "y": Y, "buttons": MASK}
#          {"cmd": "button", "button": B, "down": true|false, "buttons": MASK}
#          {"cmd": "quit"}
#   stdout {"event": "primary", "width", "height", "stride", "format"}, {"event": "invalidate", x, y, w, h},
#          {"event": "mark"}, {"event": "inputs"}, {"event": "dumped", "path"}, {"event": "channel-error", ...}
# Usage: spice-gi-client.py HOST PORT [PASSWORD]
import ctypes
import json
import os
import sys

import gi

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import GLib, GObject  # noqa: E402
from gi.repository import SpiceClientGLib as Spice  # noqa: E402

host, port = sys.argv[1], sys.argv[2]
password = sys.argv[3] if len(sys.argv) > 3 else None
state = {"primary": None, "inputs": None}
loop = GLib.MainLoop()


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def on_primary(_ch, fmt, width, height, stride, _shmid, imgdata):
    state["primary"] = (width, height, stride, imgdata)
    say({"event": "primary", "width": width, "height": height, "stride": stride, "format": fmt})


def on_primary_destroy(_ch):
    state["primary"] = None
    say({"event": "primary-destroy"})


def on_invalidate(_ch, x, y, w, h):
    say({"event": "invalidate", "x": x, "y": y, "w": w, "h": h})


def on_mark(_ch, mark):
    say({"event": "mark", "mark": mark})


def on_channel_event(ch, event):
    name = GObject.enum_to_string(Spice.ChannelEvent, event) if hasattr(GObject, "enum_to_string") else str(event)
    if int(event) != int(Spice.ChannelEvent.OPENED):
        say({"event": "channel-event", "channel": type(ch).__name__, "value": int(event), "name": name})
    elif isinstance(ch, Spice.InputsChannel):
        say({"event": "inputs"})


def on_channel_new(_session, ch):
    GObject.Object.connect(ch, "channel-event", on_channel_event)
    if isinstance(ch, Spice.DisplayChannel):
        GObject.Object.connect(ch, "display-primary-create", on_primary)
        GObject.Object.connect(ch, "display-primary-destroy", on_primary_destroy)
        GObject.Object.connect(ch, "display-invalidate", on_invalidate)
        GObject.Object.connect(ch, "display-mark", on_mark)
        Spice.Channel.connect(ch)
    elif isinstance(ch, Spice.InputsChannel):
        state["inputs"] = ch
        Spice.Channel.connect(ch)


def command(line):
    msg = json.loads(line)
    cmd = msg["cmd"]
    if cmd == "quit":
        loop.quit()
    elif cmd == "dump":
        p = state["primary"]
        if p is None:
            say({"event": "error", "message": "no primary surface"})
            return
        width, height, stride, ptr = p
        with open(msg["path"], "wb") as f:
            f.write(ctypes.string_at(ptr, stride * height))
        say({"event": "dumped", "path": msg["path"], "width": width, "height": height, "stride": stride})
    elif cmd == "key":
        ch = state["inputs"]
        if msg["down"]:
            ch.key_press(msg["scancode"])
        else:
            ch.key_release(msg["scancode"])
    elif cmd == "position":
        state["inputs"].position(msg["x"], msg["y"], 0, msg.get("buttons", 0))
    elif cmd == "button":
        if msg["down"]:
            state["inputs"].button_press(msg["button"], msg.get("buttons", 0))
        else:
            state["inputs"].button_release(msg["button"], msg.get("buttons", 0))


pending = b""


def on_stdin(_source, _cond):
    # Raw reads: a buffered readline() would swallow several lines behind one IO event.
    global pending
    chunk = os.read(sys.stdin.fileno(), 65536)
    if not chunk:
        loop.quit()
        return False
    pending += chunk
    while b"\n" in pending:
        line, pending = pending.split(b"\n", 1)
        try:
            command(line.decode())
        except Exception as e:  # a bad command is reported, the client keeps running
            say({"event": "error", "message": str(e)})
    return True


session = Spice.Session()
session.props.host = host
session.props.port = port
if password is not None:
    session.props.password = password
GObject.Object.connect(session, "channel-new", on_channel_new)
GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, on_stdin)
if not Spice.Session.connect(session):
    say({"event": "error", "message": "session connect failed"})
    sys.exit(1)
loop.run()
