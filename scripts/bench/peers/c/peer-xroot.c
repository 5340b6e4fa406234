/* bench:peers X client for the TigerVNC peer, built against Xlib at run time.
 *
 * usage: DISPLAY=:N peer-xroot PICTURE.ppm
 *
 * Draws a binary PPM (P6, maxval 255) as the root window's background, pixel for pixel from
 * the top-left corner, hides the pointer (an empty cursor on the root window, so Xvnc has
 * no cursor to paint into the framebuffer), and exits; RetainPermanent keeps the pixmap and
 * the cursor alive after the connection closes. Any TrueColor visual of 24 or 32 bits per
 * pixel is handled through its channel masks. */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_SIDE 8192

static int shiftOf(unsigned long mask) {
  int s = 0;
  while (mask && !(mask & 1)) { mask >>= 1; s++; }
  return s;
}

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: DISPLAY=:N %s PICTURE.ppm\n", argv[0]); return 2; }
  FILE *f = fopen(argv[1], "rb");
  int w = 0, h = 0, maxval = 0;
  if (!f || fscanf(f, "P6 %d %d %d", &w, &h, &maxval) != 3 || maxval != 255 || w <= 0 || h <= 0 || w > MAX_SIDE ||
      h > MAX_SIDE || fgetc(f) == EOF) {
    fprintf(stderr, "peer-xroot: %s is not a binary PPM (P6, maxval 255)\n", argv[1]);
    return 2;
  }
  size_t n = (size_t)w * h;
  unsigned char *rgb = malloc(n * 3);
  if (!rgb || fread(rgb, 1, n * 3, f) != n * 3) { fprintf(stderr, "peer-xroot: %s is truncated\n", argv[1]); return 2; }
  fclose(f);

  Display *dpy = XOpenDisplay(NULL);
  if (!dpy) { fprintf(stderr, "peer-xroot: cannot open display %s\n", XDisplayName(NULL)); return 3; }
  int scr = DefaultScreen(dpy);
  Visual *vis = DefaultVisual(dpy, scr);
  int depth = DefaultDepth(dpy, scr);
  if (vis->class != TrueColor || depth < 24) { fprintf(stderr, "peer-xroot: need a TrueColor visual of depth 24\n"); return 3; }
  int rs = shiftOf(vis->red_mask), gs = shiftOf(vis->green_mask), bs = shiftOf(vis->blue_mask);
  XImage *img = XCreateImage(dpy, vis, depth, ZPixmap, 0, NULL, w, h, 32, 0);
  if (!img || img->bits_per_pixel != 32) { fprintf(stderr, "peer-xroot: need 32 bits per pixel\n"); return 3; }
  img->data = malloc((size_t)img->bytes_per_line * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const unsigned char *p = rgb + ((size_t)y * w + x) * 3;
      XPutPixel(img, x, y, ((unsigned long)p[0] << rs) | ((unsigned long)p[1] << gs) | ((unsigned long)p[2] << bs));
    }
  Window root = RootWindow(dpy, scr);
  Pixmap pix = XCreatePixmap(dpy, root, w, h, depth);
  GC gc = XCreateGC(dpy, pix, 0, NULL);
  XPutImage(dpy, pix, gc, img, 0, 0, 0, 0, w, h); /* Xlib splits it into requests that fit */
  XSetWindowBackgroundPixmap(dpy, root, pix);
  Pixmap empty = XCreatePixmap(dpy, root, 1, 1, 1);
  XColor black = {0};
  Cursor none = XCreatePixmapCursor(dpy, empty, empty, &black, &black, 0, 0);
  XDefineCursor(dpy, root, none);
  XClearWindow(dpy, root);
  XSetCloseDownMode(dpy, RetainPermanent);
  XSync(dpy, False);
  XCloseDisplay(dpy);
  printf("{\"event\":\"drawn\",\"width\":%d,\"height\":%d}\n", w, h);
  return 0;
}
