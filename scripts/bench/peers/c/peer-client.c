/* bench:peers client, built on libvncclient (LibVNCServer 0.9.x) at run time.
 *
 * usage: peer-client HOST PORT ENCODING QUALITY SECONDS MIN_UPDATES [OUT.ppm]
 *
 * Connects, asks for one encoding (raw, hextile, zlib, zrle or tight; QUALITY 0..9 also asks
 * for the JPEG quality pseudo-encoding, -1 does not) and keeps
 * exactly one non-incremental full-screen FramebufferUpdateRequest outstanding (RFC 6143
 * 7.5.3): the next one goes out when the last update is complete. Stops after SECONDS once
 * it has MIN_UPDATES full updates. Prints one JSON line on stdout:
 *   width, height, updates (full-screen updates), partial (updates covering less),
 *   firstMs (connect -> first full update complete, handshake included),
 *   steadyMs and steadyBytes (from the end of the first full update to the end of the last:
 *   time and bytes received for updates 2..n), firstBytes (bytes of the first update),
 *   encoding (of the first rectangle of the last full update: what the server really sent).
 * Bytes are what the kernel received on the socket (TCP_INFO tcpi_bytes_received, Linux 4.1+,
 * RFC 4898), read when an update is complete: with one request outstanding nothing else is
 * in flight then. Exit 0 on success; the client's framebuffer is written to OUT.ppm (P6). */
#include "bench-rfb.h"
#include <linux/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* A hung server fails the run instead of the benchmark. */
#define UPDATE_TIMEOUT_S 120

static uint64_t coveredPixels = 0;
/* Encoding of the first rectangle of the update being read, peeked from the socket. */
static int32_t firstRectEncoding = -1;
static int finished = 0;

static uint64_t bytesReceived(rfbClient *client) {
  struct tcp_info info;
  socklen_t len = sizeof info;
  memset(&info, 0, sizeof info);
  if (getsockopt(client->sock, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return info.tcpi_bytes_received;
}

static void gotRect(rfbClient *client, int x, int y, int w, int h) {
  (void)client; (void)x; (void)y;
  coveredPixels += (uint64_t)w * (uint64_t)h;
}

static void gotUpdate(rfbClient *client) { (void)client; finished = 1; }

static int writePpm(rfbClient *client, const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  int w = client->width, h = client->height;
  fprintf(f, "P6\n%d %d\n255\n", w, h);
  unsigned char *row = malloc((size_t)w * 3);
  for (int y = 0; y < h; y++) {
    const unsigned char *src = client->frameBuffer + (size_t)y * w * 4;
    for (int x = 0; x < w; x++) { /* memory order B, G, R, X: red shift 16, little-endian */
      row[x * 3] = src[x * 4 + 2];
      row[x * 3 + 1] = src[x * 4 + 1];
      row[x * 3 + 2] = src[x * 4];
    }
    fwrite(row, 1, (size_t)w * 3, f);
  }
  free(row);
  return fclose(f) == 0;
}

int main(int argc, char **argv) {
  if (argc != 7 && argc != 8) {
    fprintf(stderr, "usage: %s HOST PORT ENCODING QUALITY SECONDS MIN_UPDATES [OUT.ppm]\n", argv[0]);
    return 2;
  }
  int encoding = encodingNumber(argv[3]);
  int quality = atoi(argv[4]), minUpdates = atoi(argv[6]);
  double seconds = atof(argv[5]);
  if (encoding < 0 || quality > 9) { fprintf(stderr, "peer-client: unknown encoding %s or quality %s\n", argv[3], argv[4]); return 2; }
  rfbClient *client = rfbGetClient(8, 3, 4);
  client->GotFrameBufferUpdate = gotRect;
  client->FinishedFrameBufferUpdate = gotUpdate;

  /* Not rfbInitClient: that sends libvncclient's own encoding list (it always adds
     ExtendedDesktopSize, SupportedMessages, ...: LibVNCServer then answers each
     non-incremental request with a size-only update first), and libvncclient sends an
     incremental request after every update it reads. benchConnect (bench-rfb.h) keeps
     exactly one request outstanding. */
  double t0 = nowMs();
  if (!benchConnect(client, argv[1], atoi(argv[2]), encoding, quality, 0)) {
    fprintf(stderr, "peer-client: cannot connect to %s:%s\n", argv[1], argv[2]);
    return 3;
  }
  if (!requestFullUpdate(client)) return 3;
  uint64_t screen = (uint64_t)client->width * client->height;
  int updates = 0, partial = 0, updateEncoding = -1;
  double firstMs = 0, firstEnd = 0, lastEnd = 0, lastMessage = nowMs();
  uint64_t bytesAtStart = bytesReceived(client), bytesAtFirst = 0, bytesAtLast = 0;
  for (;;) {
    int n = WaitForMessage(client, 100000);
    if (n < 0) { fprintf(stderr, "peer-client: connection lost\n"); return 4; }
    double t = nowMs();
    if (n == 0) {
      if (t - lastMessage > UPDATE_TIMEOUT_S * 1e3) { fprintf(stderr, "peer-client: no update for %d s\n", UPDATE_TIMEOUT_S); return 4; }
      continue;
    }
    /* u8 type=0 | u8 pad | u16 count | u16 x, y, w, h | s32 encoding   (RFC 6143 7.6.1):
       peeked before libvncclient reads it, so a server that falls back to another encoding
       (Raw is always allowed) shows in the report. libvncclient has nothing buffered between
       messages here: one request is outstanding and its update is read whole. */
    unsigned char head[16];
    if (client->buffered == 0 && recv(client->sock, head, sizeof head, MSG_PEEK) == (ssize_t)sizeof head && head[0] == 0)
      firstRectEncoding = (int32_t)((uint32_t)head[12] << 24 | (uint32_t)head[13] << 16 | (uint32_t)head[14] << 8 | head[15]);
    if (!HandleRFBServerMessage(client)) { fprintf(stderr, "peer-client: bad server message\n"); return 5; }
    lastMessage = nowMs();
    if (!finished) continue;
    finished = 0;
    if (coveredPixels >= screen) {
      updates++;
      updateEncoding = firstRectEncoding;
      lastEnd = lastMessage;
      bytesAtLast = bytesReceived(client);
      if (updates == 1) { firstMs = lastEnd - t0; firstEnd = lastEnd; bytesAtFirst = bytesAtLast; }
    } else {
      partial++; /* e.g. only a pseudo-rectangle (desktop size): it answered the request all the same */
    }
    coveredPixels = 0;
    if (updates >= minUpdates && lastMessage - firstEnd >= seconds * 1e3 && updates > 0) break;
    if (!requestFullUpdate(client)) return 4;
  }
  printf("{\"width\":%d,\"height\":%d,\"updates\":%d,\"partial\":%d,\"firstMs\":%.3f,\"steadyMs\":%.3f,"
         "\"steadyBytes\":%llu,\"firstBytes\":%llu,\"encoding\":%d}\n",
         client->width, client->height, updates, partial, firstMs, lastEnd - firstEnd,
         (unsigned long long)(bytesAtLast - bytesAtFirst), (unsigned long long)(bytesAtFirst - bytesAtStart), updateEncoding);
  fflush(stdout);
  if (argc == 8 && !writePpm(client, argv[7])) { fprintf(stderr, "peer-client: cannot write %s\n", argv[7]); return 6; }
  rfbClientCleanup(client);
  return 0;
}
