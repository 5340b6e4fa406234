/* Shared by the bench clients (peer-client.c, latency-client.c): the three client messages
 * they send themselves, and the monotonic clock. libvncclient still does the connection, the
 * handshake and the decoding. */
#ifndef BENCH_RFB_H
#define BENCH_RFB_H
#include <rfb/rfbclient.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* CLOCK_MONOTONIC, the clock of Node's process.hrtime() on the same host. */
static inline double nowMs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline uint64_t nowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* RFB encoding numbers (RFC 6143 7.7, 7.8; tight's pseudo-encodings from the RFB community
   registry). A client sends the one asked for, CopyRect if it wants it, the options of
   that encoding, and nothing else. */
static inline int encodingNumber(const char *name) {
  if (!strcmp(name, "raw")) return 0;
  if (!strcmp(name, "hextile")) return 5;
  if (!strcmp(name, "zlib")) return 6;
  if (!strcmp(name, "tight")) return 7;
  if (!strcmp(name, "zrle")) return 16;
  return -1;
}
#define ENC_COMPRESS_LEVEL_0 (-256)
#define ENC_QUALITY_LEVEL_0 (-32)
#define ENC_LAST_RECT (-224)
#define ENC_COPY_RECT 1
/* libvncclient's default compress level (vncviewer.c), sent for zlib and tight as it does. */
#define COMPRESS_LEVEL 3

static inline void put16(unsigned char *p, unsigned v) { p[0] = v >> 8; p[1] = v; }
static inline void put32(unsigned char *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

/* u8 type=0 | u8 pad[3] | PIXEL_FORMAT: u8 bpp, depth, big-endian, true-colour | u16 red-max,
   green-max, blue-max | u8 red-shift, green-shift, blue-shift | u8 pad[3]   (RFC 6143 7.5.1) */
static inline rfbBool sendPixelFormat(rfbClient *client) {
  unsigned char m[4 + 16] = {0};
  m[4] = 32; m[5] = 24; m[6] = 0; m[7] = 1;
  put16(m + 8, 255); put16(m + 10, 255); put16(m + 12, 255);
  m[14] = client->format.redShift; m[15] = client->format.greenShift; m[16] = client->format.blueShift;
  return WriteToRFBServer(client, (char *)m, sizeof m);
}

/* u8 type=2 | u8 pad | u16 count | s32 encodings[count]   (RFC 6143 7.5.2) */
static inline rfbBool sendEncodings(rfbClient *client, int encoding, int quality, int copyRect) {
  int32_t list[5];
  int n = 0;
  list[n++] = encoding;
  if (copyRect) list[n++] = ENC_COPY_RECT;
  if (encoding == 6 || encoding == 7) list[n++] = ENC_COMPRESS_LEVEL_0 + COMPRESS_LEVEL;
  if (encoding == 7 && quality >= 0) list[n++] = ENC_QUALITY_LEVEL_0 + quality;
  if (encoding == 7) list[n++] = ENC_LAST_RECT;
  unsigned char m[4 + 4 * 5] = {2, 0};
  put16(m + 2, n);
  for (int i = 0; i < n; i++) put32(m + 4 + 4 * i, (uint32_t)list[i]);
  return WriteToRFBServer(client, (char *)m, 4 + 4 * n);
}

/* u8 type=3 | u8 incremental | u16 x, y, width, height   (RFC 6143 7.5.3) */
static inline rfbBool requestUpdate(rfbClient *client, int incremental) {
  unsigned char m[10] = {3, (unsigned char)(incremental ? 1 : 0)};
  put16(m + 2, 0); put16(m + 4, 0); put16(m + 6, client->width); put16(m + 8, client->height);
  return WriteToRFBServer(client, (char *)m, sizeof m);
}

static inline rfbBool requestFullUpdate(rfbClient *client) { return requestUpdate(client, 0); }

/* Connect and hand-shake with libvncclient, then send our own pixel format (32 bpp
   0x00RRGGBB) and encodings; FramebufferUpdateRequest is cleared from the messages
   libvncclient thinks the server takes, which stops the incremental request it sends after
   every update on its own (rfbproto.c). Its FinishedFrameBufferUpdate and
   GotFrameBufferUpdate hooks must be set before. */
static inline rfbBool benchConnect(rfbClient *client, const char *host, int port, int encoding, int quality, int copyRect) {
  client->format.redShift = 16;
  client->format.greenShift = 8;
  client->format.blueShift = 0;
  if (!ConnectToRFBServer(client, host, port) || !InitialiseRFBConnection(client)) return FALSE;
  client->width = client->si.framebufferWidth;
  client->height = client->si.framebufferHeight;
  if (!client->MallocFrameBuffer(client)) return FALSE;
  client->supportedMessages.client2server[rfbFramebufferUpdateRequest / 8] &= ~(1 << (rfbFramebufferUpdateRequest % 8));
  return sendPixelFormat(client) && sendEncodings(client, encoding, quality, copyRect);
}
#endif
