/* bench:latency client, built on libvncclient at run time.
 *
 * usage: latency-client HOST PORT ENCODING SECONDS
 *
 * Like a viewer: it offers ENCODING and CopyRect (as every viewer does, so that scrolls can
 * be sent as copies), asks for one full update, then sends an incremental
 * FramebufferUpdateRequest (RFC 6143 7.5.3) after each update, one outstanding. After each update it reads the frame number
 * the latency guest stamps into the top-left corner (scripts/bench/latency/stamp.ts: 24 bits
 * as 8x8 blocks, white = 1, most significant first, at y 0..7; their complement at y 8..15,
 * so a half-drawn or lossy stamp is rejected) and prints "SEQ NS" for each new frame number:
 * NS is CLOCK_MONOTONIC when the update holding it was decoded. Runs for SECONDS. */
#include "bench-rfb.h"
#include <stdio.h>
#include <stdlib.h>

#define STAMP_BITS 24
#define STAMP_BLOCK 8

static int finished = 0;
static void gotUpdate(rfbClient *client) { (void)client; finished = 1; }

static int bitAt(rfbClient *client, int bit, int row) {
  int x = bit * STAMP_BLOCK + STAMP_BLOCK / 2, y = row * STAMP_BLOCK + STAMP_BLOCK / 2;
  const unsigned char *p = client->frameBuffer + ((size_t)y * client->width + x) * 4;
  return (p[0] + p[1] + p[2]) > 3 * 127;
}

/* The stamped frame number, or -1 when the two rows do not agree. */
static long readStamp(rfbClient *client) {
  if (client->width < STAMP_BITS * STAMP_BLOCK || client->height < 2 * STAMP_BLOCK) return -1;
  long v = 0;
  for (int i = 0; i < STAMP_BITS; i++) {
    int b = bitAt(client, i, 0);
    if (b == bitAt(client, i, 1)) return -1;
    v = (v << 1) | b;
  }
  return v;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: %s HOST PORT ENCODING SECONDS\n", argv[0]); return 2; }
  int encoding = encodingNumber(argv[3]);
  double seconds = atof(argv[4]);
  if (encoding < 0) { fprintf(stderr, "latency-client: unknown encoding %s\n", argv[3]); return 2; }
  rfbClient *client = rfbGetClient(8, 3, 4);
  client->FinishedFrameBufferUpdate = gotUpdate;
  if (!benchConnect(client, argv[1], atoi(argv[2]), encoding, -1, 1) || !requestFullUpdate(client)) {
    fprintf(stderr, "latency-client: cannot connect to %s:%s\n", argv[1], argv[2]);
    return 3;
  }
  double end = nowMs() + seconds * 1e3;
  long last = -1;
  int updates = 0;
  while (nowMs() < end) {
    int n = WaitForMessage(client, 100000);
    if (n < 0) { fprintf(stderr, "latency-client: connection lost\n"); return 4; }
    if (n == 0) continue;
    if (!HandleRFBServerMessage(client)) { fprintf(stderr, "latency-client: bad server message\n"); return 5; }
    if (!finished) continue;
    finished = 0;
    uint64_t t = nowNs();
    updates++;
    long seq = readStamp(client);
    if (seq >= 0 && seq != last) {
      printf("%ld %llu\n", seq, (unsigned long long)t);
      last = seq;
    }
    if (!requestUpdate(client, 1)) return 4;
  }
  fprintf(stderr, "latency-client: %d updates\n", updates);
  fflush(stdout);
  rfbClientCleanup(client);
  return 0;
}
