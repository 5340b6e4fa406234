/* A bench:peers session file, shared by the LibVNCServer peer (peer-server.c) and the
 * TigerVNC painter (peer-xroot.c). bench:peers writes it from a capture (sessions.ts,
 * writeSessionStream): the picture at the start and then timed steps of pixel rects and
 * copies, all in 32-bit 0x00RRGGBB little-endian (B, G, R, X in memory). Host byte order:
 *
 *   "XVFBSES1" | u32 width | u32 height | u32 steps | width*height*4 bytes: the first picture
 *   step: u32 timeMs (from the start) | u32 ops
 *   op:   u32 kind (1 pixels, 2 copy) | u32 x, y, w, h (the destination)
 *         kind 1: w*h*4 bytes of pixels | kind 2: u32 srcX, srcY
 */
#ifndef BENCH_SESSION_H
#define BENCH_SESSION_H
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SESSION_MAX_SIDE 8192

typedef struct {
  uint32_t kind, x, y, w, h, srcX, srcY;
  const unsigned char *pixels; /* kind 1: w*h*4 bytes */
} SessionOp;

typedef struct {
  uint32_t timeMs, count;
  SessionOp *ops;
} SessionStep;

typedef struct {
  uint32_t width, height, count;
  unsigned char *data; /* the whole file */
  const unsigned char *first;
  SessionStep *steps;
} Session;

static inline int sessionTake(const unsigned char **p, const unsigned char *end, size_t n) {
  if ((size_t)(end - *p) < n) return 0;
  *p += n;
  return 1;
}

static inline uint32_t sessionU32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

/* Reads and checks the whole file; NULL with a message on stderr when it is not one. */
static inline Session *sessionLoad(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "cannot open %s\n", path); return NULL; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  Session *s = calloc(1, sizeof *s);
  s->data = malloc(size > 0 ? (size_t)size : 1);
  if (size < 20 || fread(s->data, 1, (size_t)size, f) != (size_t)size || memcmp(s->data, "XVFBSES1", 8) != 0) goto bad;
  fclose(f);
  f = NULL;
  const unsigned char *p = s->data + 8, *end = s->data + size;
  s->width = sessionU32(p);
  s->height = sessionU32(p + 4);
  s->count = sessionU32(p + 8);
  p += 12;
  if (!s->width || !s->height || s->width > SESSION_MAX_SIDE || s->height > SESSION_MAX_SIDE || s->count > 1000000) goto bad;
  s->first = p;
  if (!sessionTake(&p, end, (size_t)s->width * s->height * 4)) goto bad;
  s->steps = calloc(s->count ? s->count : 1, sizeof *s->steps);
  for (uint32_t i = 0; i < s->count; i++) {
    SessionStep *st = &s->steps[i];
    if ((size_t)(end - p) < 8) goto bad;
    st->timeMs = sessionU32(p);
    st->count = sessionU32(p + 4);
    p += 8;
    if (st->count > 100000) goto bad;
    st->ops = calloc(st->count ? st->count : 1, sizeof *st->ops);
    for (uint32_t j = 0; j < st->count; j++) {
      SessionOp *op = &st->ops[j];
      if ((size_t)(end - p) < 20) goto bad;
      op->kind = sessionU32(p);
      op->x = sessionU32(p + 4);
      op->y = sessionU32(p + 8);
      op->w = sessionU32(p + 12);
      op->h = sessionU32(p + 16);
      p += 20;
      if (op->x + op->w > s->width || op->y + op->h > s->height || op->w == 0 || op->h == 0) goto bad;
      if (op->kind == 1) {
        op->pixels = p;
        if (!sessionTake(&p, end, (size_t)op->w * op->h * 4)) goto bad;
      } else if (op->kind == 2) {
        if ((size_t)(end - p) < 8) goto bad;
        op->srcX = sessionU32(p);
        op->srcY = sessionU32(p + 4);
        p += 8;
        if (op->srcX + op->w > s->width || op->srcY + op->h > s->height) goto bad;
      } else {
        goto bad;
      }
    }
  }
  if (p != end) goto bad;
  return s;
bad:
  if (f) fclose(f);
  fprintf(stderr, "%s is not a bench:peers session file (XVFBSES1) or is damaged\n", path);
  return NULL;
}

/* Sleep until CLOCK_MONOTONIC reaches dueNs, unless a signal of `stop` comes first: then
   returns that signal (0 when the time came). The signals must be blocked. */
static inline int sessionSleepUntil(uint64_t dueNs, const sigset_t *stop) {
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    uint64_t t = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    if (t >= dueNs) return 0;
    uint64_t left = dueNs - t;
    struct timespec wait = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
    int sig = sigtimedwait(stop, NULL, &wait);
    if (sig > 0) return sig;
  }
}

static inline uint64_t sessionNowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif
