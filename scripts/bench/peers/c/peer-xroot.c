/* bench:peers X client for the TigerVNC peer, built against Xlib at run time.
 *
 * usage: DISPLAY=:N peer-xroot PICTURE.ppm
 *        DISPLAY=:N peer-xroot --session SESSION.bin SPEED
 *
 * Draws a binary PPM (P6, maxval 255) as the root window's background, pixel for pixel from
 * the top-left corner, hides the pointer (an empty cursor on the root window, so Xvnc has
 * no cursor to paint into the framebuffer), and exits; RetainPermanent keeps the pixmap and
 * the cursor alive after the connection closes. Any TrueColor visual of 24 or 32 bits per
 * pixel is handled through its channel masks.
 *
 * With --session it draws a bench:peers session file (bench-session.h): its first picture as
 * the background, then it stays connected. SIGUSR1 plays the steps at SPEED times their
 * recorded pace onto the root window (pixels with XPutImage, copies with XCopyArea, so that
 * Xvnc sees a copy, as it does for a scrolling X client) and prints {"event":"ended"} after
 * the last; SIGUSR2 clears the root window back to the first picture. SIGTERM ends it. */
#include "bench-session.h"
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE 8192

static int shiftOf(unsigned long mask) {
  int s = 0;
  while (mask && !(mask & 1)) { mask >>= 1; s++; }
  return s;
}

/* B, G, R, X pixels (w*h*4) as an XImage of the visual; its data is a new copy. */
static XImage *imageOf(Display *dpy, Visual *vis, int depth, const unsigned char *bgrx, int w, int h) {
  XImage *img = XCreateImage(dpy, vis, depth, ZPixmap, 0, NULL, w, h, 32, 0);
  if (!img || img->bits_per_pixel != 32) return NULL;
  img->data = malloc((size_t)img->bytes_per_line * h);
  int rs = shiftOf(vis->red_mask), gs = shiftOf(vis->green_mask), bs = shiftOf(vis->blue_mask);
  if (rs == 16 && gs == 8 && bs == 0 && img->byte_order == LSBFirst) { /* the same layout: rows as they are */
    for (int y = 0; y < h; y++) memcpy(img->data + (size_t)y * img->bytes_per_line, bgrx + (size_t)y * w * 4, (size_t)w * 4);
    return img;
  }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const unsigned char *p = bgrx + ((size_t)y * w + x) * 4;
      XPutPixel(img, x, y, ((unsigned long)p[2] << rs) | ((unsigned long)p[1] << gs) | ((unsigned long)p[0] << bs));
    }
  return img;
}

static unsigned char *readPpmAsBgrx(const char *path, int *w, int *h) {
  FILE *f = fopen(path, "rb");
  int maxval = 0;
  if (!f || fscanf(f, "P6 %d %d %d", w, h, &maxval) != 3 || maxval != 255 || *w <= 0 || *h <= 0 || *w > MAX_SIDE ||
      *h > MAX_SIDE || fgetc(f) == EOF) {
    fprintf(stderr, "peer-xroot: %s is not a binary PPM (P6, maxval 255)\n", path);
    return NULL;
  }
  size_t n = (size_t)*w * *h;
  unsigned char *rgb = malloc(n * 3), *bgrx = malloc(n * 4);
  if (!rgb || !bgrx || fread(rgb, 1, n * 3, f) != n * 3) { fprintf(stderr, "peer-xroot: %s is truncated\n", path); return NULL; }
  fclose(f);
  for (size_t i = 0; i < n; i++) {
    bgrx[i * 4] = rgb[i * 3 + 2];
    bgrx[i * 4 + 1] = rgb[i * 3 + 1];
    bgrx[i * 4 + 2] = rgb[i * 3];
    bgrx[i * 4 + 3] = 0;
  }
  free(rgb);
  return bgrx;
}

/* Plays the session's steps onto the root window; returns the stop signal that came meanwhile, or 0. */
static int play(Display *dpy, Window root, GC gc, Visual *vis, int depth, const Session *s, double speed, const sigset_t *stop) {
  uint64_t start = sessionNowNs();
  for (uint32_t i = 0; i < s->count; i++) {
    const SessionStep *st = &s->steps[i];
    int sig = sessionSleepUntil(start + (uint64_t)(st->timeMs * 1e6 / speed), stop);
    if (sig) return sig;
    for (uint32_t j = 0; j < st->count; j++) {
      const SessionOp *op = &st->ops[j];
      if (op->kind == 1) {
        XImage *img = imageOf(dpy, vis, depth, op->pixels, op->w, op->h);
        XPutImage(dpy, root, gc, img, 0, 0, op->x, op->y, op->w, op->h);
        XDestroyImage(img);
      } else {
        XCopyArea(dpy, root, root, gc, op->srcX, op->srcY, op->w, op->h, op->x, op->y);
      }
    }
    XSync(dpy, False);
  }
  printf("{\"event\":\"ended\"}\n");
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  int sessionMode = argc == 4 && !strcmp(argv[1], "--session");
  if (argc != 2 && !sessionMode) {
    fprintf(stderr, "usage: DISPLAY=:N %s PICTURE.ppm\n       DISPLAY=:N %s --session SESSION.bin SPEED\n", argv[0], argv[0]);
    return 2;
  }
  Session *session = NULL;
  double speed = 1;
  int w = 0, h = 0;
  unsigned char *bgrx;
  if (sessionMode) {
    session = sessionLoad(argv[2]);
    speed = atof(argv[3]);
    if (!session || !(speed > 0)) return 2;
    w = session->width;
    h = session->height;
    bgrx = (unsigned char *)session->first;
  } else {
    bgrx = readPpmAsBgrx(argv[1], &w, &h);
    if (!bgrx) return 2;
  }
  /* Blocked before anything else, so that only sigwait/sigtimedwait see them. */
  sigset_t stop, all;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  all = stop;
  sigaddset(&all, SIGUSR1);
  sigaddset(&all, SIGUSR2);
  if (session) sigprocmask(SIG_BLOCK, &all, NULL);

  Display *dpy = XOpenDisplay(NULL);
  if (!dpy) { fprintf(stderr, "peer-xroot: cannot open display %s\n", XDisplayName(NULL)); return 3; }
  int scr = DefaultScreen(dpy);
  Visual *vis = DefaultVisual(dpy, scr);
  int depth = DefaultDepth(dpy, scr);
  if (vis->class != TrueColor || depth < 24) { fprintf(stderr, "peer-xroot: need a TrueColor visual of depth 24\n"); return 3; }
  XImage *img = imageOf(dpy, vis, depth, bgrx, w, h);
  if (!img) { fprintf(stderr, "peer-xroot: need 32 bits per pixel\n"); return 3; }
  Window root = RootWindow(dpy, scr);
  Pixmap pix = XCreatePixmap(dpy, root, w, h, depth);
  GC gc = XCreateGC(dpy, pix, 0, NULL);
  XPutImage(dpy, pix, gc, img, 0, 0, 0, 0, w, h); /* Xlib splits it into requests that fit */
  XDestroyImage(img);
  XSetWindowBackgroundPixmap(dpy, root, pix);
  Pixmap empty = XCreatePixmap(dpy, root, 1, 1, 1);
  XColor black = {0};
  Cursor none = XCreatePixmapCursor(dpy, empty, empty, &black, &black, 0, 0);
  XDefineCursor(dpy, root, none);
  XClearWindow(dpy, root);
  XSetCloseDownMode(dpy, RetainPermanent);
  XSync(dpy, False);
  printf("{\"event\":\"drawn\",\"width\":%d,\"height\":%d}\n", w, h);
  fflush(stdout);
  if (!session) {
    XCloseDisplay(dpy);
    return 0;
  }
  XGCValues values = {.subwindow_mode = IncludeInferiors, .graphics_exposures = False};
  GC rootGc = XCreateGC(dpy, root, GCSubwindowMode | GCGraphicsExposures, &values);
  for (;;) {
    int sig = 0;
    sigwait(&all, &sig);
    if (sig == SIGUSR1) sig = play(dpy, root, rootGc, vis, depth, session, speed, &stop);
    if (sig == SIGUSR2) {
      XClearWindow(dpy, root);
      XSync(dpy, False);
    }
    if (sig == SIGTERM || sig == SIGINT) break;
  }
  XCloseDisplay(dpy);
  return 0;
}
