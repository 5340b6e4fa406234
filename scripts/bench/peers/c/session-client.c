/* bench:peers session client, built on libvncclient (LibVNCServer 0.9.x) at run time.
 *
 * usage: session-client HOST PORT ENCODING QUALITY IDLE_MS OUT.ppm
 *
 * Watches a session the way a viewer does: connects, offers one encoding (raw, hextile,
 * zlib, zrle or tight; QUALITY 0..9 adds the JPEG quality pseudo-encoding, -1 does not) plus
 * CopyRect, asks for the whole screen once (non-incremental), prints {"event":"first"} when
 * that update is complete, and from then on keeps one incremental FramebufferUpdateRequest
 * outstanding (RFC 6143 7.5.3). After SIGUSR1 (bench:peers sends it when the server has
 * played the last step) it stops once no message came for IDLE_MS. Prints one JSON line:
 *   updates (after the first), rects, copyRects (CopyRect rectangles among them),
 *   bytes (received after the first update: TCP_INFO tcpi_bytes_received),
 *   firstEndMs, lastEndMs (CLOCK_MONOTONIC, ms: when the first and the last update were
 *   complete; the clock of Node's process.hrtime()),
 *   encodings (of the first rectangle of each update after the first, CopyRect left out: a
 *   server that falls back to another encoding, as Xvnc does for Zlib, shows here),
 * after writing its framebuffer to OUT.ppm (P6). It then keeps the connection open until its
 * stdin ends, so that the bench reads the server's CPU time while the server's threads for
 * this client still exist. Exit 0 on success. */
#include "bench-rfb.h"
#include <errno.h>
#include <linux/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#define UPDATE_TIMEOUT_S 120

static volatile sig_atomic_t ending = 0;
static int finished = 0;
static long rects = 0, copyRects = 0;

/* Encodings seen first in an update (not CopyRect), a short set. */
static int32_t seen[8];
static int seenCount = 0;

static void sawEncoding(int32_t e) {
  if (e == ENC_COPY_RECT) return;
  for (int i = 0; i < seenCount; i++)
    if (seen[i] == e) return;
  if (seenCount < 8) seen[seenCount++] = e;
}

static void onEnd(int sig) { (void)sig; ending = 1; }
static void gotUpdate(rfbClient *client) { (void)client; finished = 1; }
static void gotRect(rfbClient *client, int x, int y, int w, int h) { (void)client; (void)x; (void)y; (void)w; (void)h; rects++; }
/* libvncclient does CopyRect through this hook when it is set: count it, then copy. */
static void gotCopy(rfbClient *client, int sx, int sy, int w, int h, int dx, int dy) {
  copyRects++;
  int bpp = 4;
  size_t stride = (size_t)client->width * bpp;
  unsigned char *fb = client->frameBuffer;
  if (dy > sy) {
    for (int y = h - 1; y >= 0; y--) memmove(fb + (dy + y) * stride + dx * bpp, fb + (sy + y) * stride + sx * bpp, (size_t)w * bpp);
  } else {
    for (int y = 0; y < h; y++) memmove(fb + (dy + y) * stride + dx * bpp, fb + (sy + y) * stride + sx * bpp, (size_t)w * bpp);
  }
}

static uint64_t bytesReceived(rfbClient *client) {
  struct tcp_info info;
  socklen_t len = sizeof info;
  memset(&info, 0, sizeof info);
  if (getsockopt(client->sock, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return 0;
  return info.tcpi_bytes_received;
}

static int writePpm(rfbClient *client, const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) return 0;
  int w = client->width, h = client->height;
  fprintf(f, "P6\n%d %d\n255\n", w, h);
  unsigned char *row = malloc((size_t)w * 3);
  for (int y = 0; y < h; y++) {
    const unsigned char *src = client->frameBuffer + (size_t)y * w * 4;
    for (int x = 0; x < w; x++) {
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
  if (argc != 7) {
    fprintf(stderr, "usage: %s HOST PORT ENCODING QUALITY IDLE_MS OUT.ppm\n", argv[0]);
    return 2;
  }
  int encoding = encodingNumber(argv[3]);
  int quality = atoi(argv[4]);
  double idleMs = atof(argv[5]);
  if (encoding < 0 || quality > 9 || !(idleMs > 0)) { fprintf(stderr, "session-client: bad encoding, quality or idle time\n"); return 2; }
  struct sigaction sa = {0};
  sa.sa_handler = onEnd;
  sigaction(SIGUSR1, &sa, NULL);
  rfbClient *client = rfbGetClient(8, 3, 4);
  client->GotFrameBufferUpdate = gotRect;
  client->FinishedFrameBufferUpdate = gotUpdate;
  client->GotCopyRect = gotCopy;
  if (!benchConnect(client, argv[1], atoi(argv[2]), encoding, quality, 1)) {
    fprintf(stderr, "session-client: cannot connect to %s:%s\n", argv[1], argv[2]);
    return 3;
  }
  if (!requestFullUpdate(client)) return 3;
  int updates = -1;
  double firstEnd = 0, lastEnd = 0, lastMessage = nowMs();
  uint64_t bytesAtFirst = 0, bytesAtLast = 0;
  for (;;) {
    int n = WaitForMessage(client, 20000);
    double t = nowMs();
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { fprintf(stderr, "session-client: connection lost\n"); return 4; }
    if (n == 0) {
      if (ending && updates >= 0 && t - lastMessage >= idleMs) break;
      if (t - lastMessage > UPDATE_TIMEOUT_S * 1e3) { fprintf(stderr, "session-client: no update for %d s\n", UPDATE_TIMEOUT_S); return 4; }
      continue;
    }
    /* u8 type=0 | u8 pad | u16 count | u16 x, y, w, h | s32 encoding (RFC 6143 7.6.1), peeked
       before libvncclient reads it; nothing is buffered between messages with one request out. */
    unsigned char head[16];
    if (updates >= 0 && client->buffered == 0 && recv(client->sock, head, sizeof head, MSG_PEEK) == (ssize_t)sizeof head && head[0] == 0)
      sawEncoding((int32_t)((uint32_t)head[12] << 24 | (uint32_t)head[13] << 16 | (uint32_t)head[14] << 8 | head[15]));
    if (!HandleRFBServerMessage(client)) { fprintf(stderr, "session-client: bad server message\n"); return 5; }
    lastMessage = nowMs();
    if (!finished) continue;
    finished = 0;
    lastEnd = lastMessage;
    bytesAtLast = bytesReceived(client);
    if (++updates == 0) {
      firstEnd = lastEnd;
      bytesAtFirst = bytesAtLast;
      rects = copyRects = 0;
      printf("{\"event\":\"first\"}\n");
      fflush(stdout);
    }
    if (!requestUpdate(client, 1)) return 4;
  }
  if (!writePpm(client, argv[6])) { fprintf(stderr, "session-client: cannot write %s\n", argv[6]); return 6; }
  char list[8 * 12 + 1] = "";
  for (int i = 0; i < seenCount; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "", seen[i]);
  printf("{\"updates\":%d,\"rects\":%ld,\"copyRects\":%ld,\"bytes\":%llu,\"firstEndMs\":%.3f,\"lastEndMs\":%.3f,\"encodings\":[%s]}\n",
         updates, rects, copyRects, (unsigned long long)(bytesAtLast - bytesAtFirst), firstEnd, lastEnd, list);
  fflush(stdout);
  char drain[256];
  while (fread(drain, 1, sizeof drain, stdin) > 0) {
  }
  rfbClientCleanup(client);
  return 0;
}
