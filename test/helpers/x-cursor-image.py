#!/usr/bin/python3
# Moves the X pointer to (X, Y) on $DISPLAY and prints the cursor image the X server shows
# there, from XFixesGetCursorImage (screenshots never contain the pointer), as JSON:
# {"width", "height", "xhot", "yhot", "argb": [u32...]}. Plain ctypes on libX11 / libXfixes.
# Usage: x-cursor-image.py X Y
import ctypes
import json
import sys
import time


class XFixesCursorImage(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_short),
        ("y", ctypes.c_short),
        ("width", ctypes.c_ushort),
        ("height", ctypes.c_ushort),
        ("xhot", ctypes.c_ushort),
        ("yhot", ctypes.c_ushort),
        ("cursor_serial", ctypes.c_ulong),
        ("pixels", ctypes.POINTER(ctypes.c_ulong)),
        ("atom", ctypes.c_ulong),
        ("name", ctypes.c_char_p),
    ]


x11 = ctypes.CDLL("libX11.so.6")
xfixes = ctypes.CDLL("libXfixes.so.3")
x11.XOpenDisplay.restype = ctypes.c_void_p
x11.XDefaultRootWindow.restype = ctypes.c_ulong
x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x11.XWarpPointer.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong] + [ctypes.c_int] * 2 + [ctypes.c_uint] * 2 + [ctypes.c_int] * 2
x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
xfixes.XFixesGetCursorImage.restype = ctypes.POINTER(XFixesCursorImage)
xfixes.XFixesGetCursorImage.argtypes = [ctypes.c_void_p]

dpy = x11.XOpenDisplay(None)
if not dpy:
    sys.stderr.write("cannot open display\n")
    sys.exit(2)
root = x11.XDefaultRootWindow(dpy)
x11.XWarpPointer(dpy, 0, root, 0, 0, 0, 0, int(sys.argv[1]), int(sys.argv[2]))
x11.XSync(dpy, 0)
time.sleep(0.3)
img = xfixes.XFixesGetCursorImage(dpy).contents
n = img.width * img.height
print(json.dumps({"width": img.width, "height": img.height, "xhot": img.xhot, "yhot": img.yhot,
                  "argb": [img.pixels[i] & 0xFFFFFFFF for i in range(n)]}))
