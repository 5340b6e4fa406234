/* bench:spice X client for the Xspice peer, built against Xlib at run time.
 *
 * usage: DISPLAY=:N xspice-draw
 *
 * Reads frames from stdin and draws each into the root window with XPutImage, then writes one
 * byte to stdout once the X server has processed it (XSync), so the sender paces itself on
 * the server. A frame is a 16-byte header, x y width height as little-endian uint32, followed
 * by width*height pixels as little-endian uint32 0x00RRGGBB (XRGB8888, the layout bench:spice
 * hands its own server). Needs a TrueColor visual of depth 24 at 32 bits per pixel with that
 * channel layout, which Xspice has. Exits 0 at end of input, 2 on a bad frame, 3 on X trouble. */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_SIDE 8192

static int readAll(void *buf, size_t n) {
  unsigned char *p = buf;
  while (n > 0) {
    ssize_t r = read(0, p, n);
    if (r <= 0) return 0;
    p += r;
    n -= (size_t)r;
  }
  return 1;
}

static uint32_t le32(const unsigned char *b) { return b[0] | (b[1] << 8) | (b[2] << 16) | ((uint32_t)b[3] << 24); }

int main(void) {
  Display *dpy = XOpenDisplay(NULL);
  if (!dpy) { fprintf(stderr, "xspice-draw: cannot open display %s\n", XDisplayName(NULL)); return 3; }
  int scr = DefaultScreen(dpy);
  Visual *vis = DefaultVisual(dpy, scr);
  int depth = DefaultDepth(dpy, scr);
  if (vis->class != TrueColor || depth != 24 || vis->red_mask != 0xff0000 || vis->green_mask != 0xff00 ||
      vis->blue_mask != 0xff) {
    fprintf(stderr, "xspice-draw: need a depth-24 TrueColor visual laid out as 0x00RRGGBB\n");
    return 3;
  }
  Window root = RootWindow(dpy, scr);
  GC gc = XCreateGC(dpy, root, 0, NULL);
  int sw = DisplayWidth(dpy, scr), sh = DisplayHeight(dpy, scr);
  printf("{\"event\":\"ready\",\"width\":%d,\"height\":%d}\n", sw, sh);
  fflush(stdout);
  char *pixels = NULL;
  size_t cap = 0;
  unsigned char head[16];
  while (readAll(head, sizeof head)) {
    uint32_t x = le32(head), y = le32(head + 4), w = le32(head + 8), h = le32(head + 12);
    if (w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE || x + w > (uint32_t)sw || y + h > (uint32_t)sh) {
      fprintf(stderr, "xspice-draw: frame %ux%u at %u,%u does not fit the %dx%d screen\n", w, h, x, y, sw, sh);
      return 2;
    }
    size_t n = (size_t)w * h * 4;
    if (n > cap) {
      free(pixels);
      pixels = malloc(n);
      cap = n;
      if (!pixels) { fprintf(stderr, "xspice-draw: out of memory\n"); return 3; }
    }
    if (!readAll(pixels, n)) { fprintf(stderr, "xspice-draw: input ended inside a frame\n"); return 2; }
    XImage *img = XCreateImage(dpy, vis, depth, ZPixmap, 0, pixels, w, h, 32, (int)w * 4);
    if (!img || img->bits_per_pixel != 32 || img->byte_order != LSBFirst) {
      fprintf(stderr, "xspice-draw: the server's images are not 32-bit little-endian\n");
      return 3;
    }
    XPutImage(dpy, root, gc, img, 0, 0, (int)x, (int)y, w, h); /* Xlib splits it into requests that fit */
    img->data = NULL; /* ours, reused */
    XDestroyImage(img);
    XSync(dpy, False);
    if (write(1, "k", 1) != 1) return 0;
  }
  return 0;
}
