// A client that asks for updates but never reads must not grow the server's memory or slow a
// normal client down: the session stops encoding while its socket holds more than
// VNC_MAX_SOCKET_BACKLOG (server.ts), damage is coalesced in its pending region meanwhile,
// and the frame clock (update-scheduler.ts) paces the reader.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import { RfbEncoding } from '../../backend/vnc/messages';
import { VNC_MAX_SOCKET_BACKLOG, VncServer } from '../../backend/vnc/server';
import { RfbStreamClient } from '../helpers/rfb-stream-client';
import { RecordingInput, TestDisplay } from '../unit/vnc/helpers';

const W = 1920;
const H = 1080;
const RUN_MS = 5000;
/** One Raw update of the whole screen: the most a session adds past the backlog limit. */
const ONE_FRAME = 4 + 12 + W * H * 4;

/** A 1080p display where a random rect changes every 10 ms. */
function animatedDisplay(): { display: TestDisplay; stop(): void } {
  const data = new Uint8Array(W * H * 4);
  const display = new TestDisplay({ width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data });
  let seed = 7;
  const rnd = (n: number): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n;
  const timer = setInterval(() => {
    const w = 1 + rnd(480);
    const h = 1 + rnd(270);
    const x = rnd(W - w);
    const y = rnd(H - h);
    const v = rnd(256);
    for (let row = y; row < y + h; row++) data.fill(v, (row * W + x) * 4, (row * W + x + w) * 4);
    display.emit('damage', [{ x, y, width: w, height: h }]);
  }, 10);
  return { display, stop: () => clearInterval(timer) };
}

/** Handshake, then pause: the client keeps requesting but its socket is never read again. */
async function stalledClient(port: number): Promise<{ socket: net.Socket; stop(): void }> {
  const c = await RfbStreamClient.connect(port, { encodings: [RfbEncoding.Raw], loop: false });
  c.socket.pause();
  c.socket.removeAllListeners('data');
  const timer = setInterval(() => c.request(false), 20);
  return { socket: c.socket, stop: () => clearInterval(timer) };
}

describe('vnc slow client', function () {
  this.timeout(30000);

  it('a client that never reads keeps a bounded backlog and does not starve a reading client', async () => {
    const anim = animatedDisplay();
    const server = new VncServer({ display: anim.display, input: new RecordingInput(), websocket: false });
    const { port } = await server.listen('127.0.0.1', 0);
    global.gc?.();
    const before = process.memoryUsage();
    let maxQueued = 0;
    let maxRss = before.rss;
    const sampler = setInterval(() => {
      for (const c of server.clients()) maxQueued = Math.max(maxQueued, c.queuedBytes);
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
    }, 25);
    try {
      const slow = await stalledClient(port);
      const reader = await RfbStreamClient.connect(port, { encodings: [RfbEncoding.Raw] });
      await new Promise((r) => setTimeout(r, RUN_MS));
      slow.stop();
      const after = process.memoryUsage();
      const stats = server.clients();
      const mb = (n: number): string => (n / 1048576).toFixed(1) + ' MiB';
      console.log(
        `      reader: ${reader.updates} updates, ${mb(reader.bytes)} in ${RUN_MS} ms; ` +
          `max socket backlog ${mb(maxQueued)} (limit ${mb(VNC_MAX_SOCKET_BACKLOG)} + one frame ${mb(ONE_FRAME)}); ` +
          `heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)}, rss ${mb(before.rss)} -> ${mb(after.rss)} (max ${mb(maxRss)}); ` +
          `updates per session ${stats.map((s) => s.session.updates).join('/')}`,
      );
      assert.ok(reader.updates > 10, `reader got ${reader.updates} updates`);
      assert.ok(maxQueued <= VNC_MAX_SOCKET_BACKLOG + ONE_FRAME, `backlog ${maxQueued}`);
      assert.ok(after.heapUsed - before.heapUsed < 64 * 1048576, 'heap growth under 64 MiB');
      assert.ok(maxRss - before.rss < 256 * 1048576, 'rss growth under 256 MiB');
      const slowStats = stats.find((s) => s.session.updates < reader.updates);
      assert.ok(slowStats, 'the stalled client got fewer updates than the reader');
      slow.socket.destroy();
      reader.close();
    } finally {
      clearInterval(sampler);
      anim.stop();
      await server.close();
    }
  });
});
