/* bench:peers LibVNCServer peer, built against libvncserver (0.9.x) at run time.
 *
 * usage: peer-server PORT PICTURE.ppm [DEFER_MS]
 *        peer-server PORT --session SESSION.bin SPEED [DEFER_MS]
 *
 * Serves one still picture (binary PPM, P6, maxval 255) on 127.0.0.1:PORT (no IPv6, no
 * password, shared sessions) with LibVNCServer's threaded event loop: one input and one
 * output thread per client, so an update request is answered as soon as it arrives.
 * DEFER_MS is rfbScreenInfo.deferUpdateTime, the wait before each update for more damage
 * to come (LibVNCServer's default is 5 ms; the bench uses 0: nothing changes on a still
 * picture and a wait would only cap updates/s). Prints {"event":"ready","port":PORT} on
 * stdout once it listens, and stops cleanly on SIGTERM or SIGINT.
 *
 * With --session it serves a bench:peers session file (bench-session.h) instead: its first
 * picture at start; SIGUSR1 plays its steps at SPEED times their recorded pace (pixels
 * written into the framebuffer and marked modified, copies through rfbDoCopyRect so that
 * clients get CopyRect, as x11vnc does for a scroll) and prints {"event":"ended"} after the
 * last; SIGUSR2 puts the first picture back (the bench does it with no client connected). */
#include "bench-session.h"
#include <rfb/rfb.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bigger than any picture the bench makes (1920x1080), small enough to refuse a wrong file. */
#define MAX_SIDE 8192

/* P6 header: "P6" whitespace width whitespace height whitespace 255 one-whitespace, then RGB. */
static unsigned char *readPpm(const char *path, int *w, int *h) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  int maxval = 0;
  if (fscanf(f, "P6 %d %d %d", w, h, &maxval) != 3 || maxval != 255 || *w <= 0 || *h <= 0 || *w > MAX_SIDE ||
      *h > MAX_SIDE || fgetc(f) == EOF) {
    fclose(f);
    return NULL;
  }
  size_t size = (size_t)*w * (size_t)*h * 3;
  unsigned char *rgb = malloc(size);
  if (!rgb || fread(rgb, 1, size, f) != size) {
    free(rgb);
    fclose(f);
    return NULL;
  }
  fclose(f);
  return rgb;
}

/* Plays every step of the session; returns the stop signal that came meanwhile, or 0. */
static int play(rfbScreenInfoPtr screen, const Session *s, double speed, const sigset_t *stop) {
  uint64_t start = sessionNowNs();
  unsigned char *fb = (unsigned char *)screen->frameBuffer;
  size_t stride = (size_t)s->width * 4;
  for (uint32_t i = 0; i < s->count; i++) {
    const SessionStep *st = &s->steps[i];
    int sig = sessionSleepUntil(start + (uint64_t)(st->timeMs * 1e6 / speed), stop);
    if (sig) return sig;
    for (uint32_t j = 0; j < st->count; j++) {
      const SessionOp *op = &st->ops[j];
      if (op->kind == 1) {
        for (uint32_t y = 0; y < op->h; y++)
          memcpy(fb + (op->y + y) * stride + op->x * 4, op->pixels + (size_t)y * op->w * 4, (size_t)op->w * 4);
        rfbMarkRectAsModified(screen, op->x, op->y, op->x + op->w, op->y + op->h);
      } else {
        rfbDoCopyRect(screen, op->x, op->y, op->x + op->w, op->y + op->h, (int)op->x - (int)op->srcX, (int)op->y - (int)op->srcY);
      }
    }
  }
  printf("{\"event\":\"ended\"}\n");
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  int sessionMode = argc >= 5 && !strcmp(argv[2], "--session");
  if (sessionMode ? argc > 6 : argc != 3 && argc != 4) {
    fprintf(stderr, "usage: %s PORT PICTURE.ppm [DEFER_MS]\n       %s PORT --session SESSION.bin SPEED [DEFER_MS]\n", argv[0], argv[0]);
    return 2;
  }
  int width, height;
  unsigned char *rgb = NULL;
  Session *session = NULL;
  double speed = 1;
  const char *defer = NULL;
  if (sessionMode) {
    session = sessionLoad(argv[3]);
    speed = atof(argv[4]);
    if (!session || !(speed > 0)) return 2;
    width = session->width;
    height = session->height;
    defer = argc == 6 ? argv[5] : NULL;
  } else {
    rgb = readPpm(argv[2], &width, &height);
    if (!rgb) {
      fprintf(stderr, "peer-server: %s is not a binary PPM (P6, maxval 255) of at most %d pixels a side\n", argv[2], MAX_SIDE);
      return 2;
    }
    defer = argc == 4 ? argv[3] : NULL;
  }
  /* Block the stop signals before any thread starts, so that every thread inherits the mask
     and only sigwait() below sees them. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  sigset_t all = stop;
  sigaddset(&all, SIGUSR1);
  sigaddset(&all, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &all, NULL);

  int noArgc = 1;
  char *noArgv[] = {argv[0], NULL};
  rfbScreenInfoPtr screen = rfbGetScreen(&noArgc, noArgv, width, height, 8, 3, 4);
  if (!screen) return 3;
  /* 0x00RRGGBB little-endian (B, G, R, X in memory), like an X server at depth 24. */
  screen->serverFormat.redShift = 16;
  screen->serverFormat.greenShift = 8;
  screen->serverFormat.blueShift = 0;
  unsigned char *fb = malloc((size_t)width * height * 4);
  if (session) {
    memcpy(fb, session->first, (size_t)width * height * 4);
  } else {
    for (size_t i = 0; i < (size_t)width * height; i++) {
      fb[i * 4] = rgb[i * 3 + 2];
      fb[i * 4 + 1] = rgb[i * 3 + 1];
      fb[i * 4 + 2] = rgb[i * 3];
      fb[i * 4 + 3] = 0;
    }
    free(rgb);
  }
  screen->frameBuffer = (char *)fb;
  screen->desktopName = "bench-peers libvncserver";
  /* No cursor: LibVNCServer paints its default one into what clients without cursor
     pseudo-encodings see, which would make the picture differ from the source. */
  screen->cursor = NULL;
  /* ...but a copy (rfbScheduleCopyRegion) reads the cursor to redraw it over the copied
     area: a session gets a 1x1 cursor with an empty mask instead, which paints nothing. */
  if (session) screen->cursor = rfbMakeXCursor(1, 1, " ", " ");
  screen->port = atoi(argv[1]);
  screen->ipv6port = 0; /* 0: no IPv6 listener (libvncserver/sockets.c listens only when > 0) */
  screen->listenInterface = htonl(INADDR_LOOPBACK);
  screen->alwaysShared = TRUE;
  screen->deferUpdateTime = defer ? atoi(defer) : 0;
  rfbInitServer(screen);
  if (screen->listenSock == RFB_INVALID_SOCKET) {
    fprintf(stderr, "peer-server: cannot listen on 127.0.0.1:%s\n", argv[1]);
    return 3;
  }
  rfbRunEventLoop(screen, -1, TRUE); /* threaded: returns at once */
  printf("{\"event\":\"ready\",\"port\":%d}\n", screen->port);
  fflush(stdout);
  int sig = 0;
  for (;;) {
    sigwait(&all, &sig);
    if (sig == SIGUSR1 && session) sig = play(screen, session, speed, &stop);
    if (sig == SIGUSR2 && session) {
      memcpy(fb, session->first, (size_t)width * height * 4);
      rfbMarkRectAsModified(screen, 0, 0, width, height);
    }
    if (sig == SIGTERM || sig == SIGINT) break;
  }
  rfbShutdownServer(screen, TRUE);
  rfbScreenCleanup(screen);
  return 0;
}
