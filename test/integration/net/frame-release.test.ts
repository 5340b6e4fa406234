// A frame's buffer is reused only once the socket is done with it: the VNC server's TCP adapter
// passes EncodedFrame.release to net.Socket's write callback, and the encoder writes a later
// frame into that buffer only after the callback ran (Raw on the session's thread, whose
// parts are views of the same buffer, the worker's shared result buffers for Hextile and for
// ZRLE, whose 640x480 frame goes as two strips, the first sent ahead as a part). Here
// every server-side socket write completes 40 ms late (the callback is held), while a client
// asks for frames of content that changes every few ms: a buffer handed back before its write
// completed would have been rewritten with a later frame by then. The loopback kernel buffers
// take whole frames at once, so without holding the callback the window would almost never
// open.

import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import { VncServer } from '../../../backend/vnc/server';
import { RfbStreamClient } from '../../helpers/rfb-stream-client';
import { RecordingInput, TestDisplay } from '../../unit/vnc/helpers';

const W = 640;
const H = 480;
const HOLD_MS = 40;
/** Writes from this size on are checked: frames and frame parts, not the handshake. */
const CHECKED_BYTES = 64 * 1024;

type WriteCallback = (err?: Error | null) => void;

/** A picture of many colours per tile (Hextile sends its tiles raw), different for each `shade`. */
function paint(data: Uint8Array, shade: number): void {
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i >>> 11) * 11 + shade * 7) & 0xff;
}

describe('vnc frame buffers over TCP', function () {
  this.timeout(30_000);

  for (const [mode, encoding, name] of [
    ['sync', 0, 'Raw, encoded on the session thread'],
    ['worker', 5, 'Hextile, encoded in the worker'],
    ['worker', 16, 'ZRLE, encoded in the worker in strips'],
  ] as const)
    it(`a frame buffer is not written again before the socket has finished writing it (${name})`, async () => {
      await run(mode, encoding);
    });
});

async function run(mode: 'sync' | 'worker', encoding: number): Promise<void> {
  const data = new Uint8Array(W * H * 4);
  const display = new TestDisplay({ width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data });
  let shade = 1;
  const painter = setInterval(() => {
    shade = (shade % 250) + 1;
    paint(data, shade);
    display.emit('damage', [{ x: 0, y: 0, width: W, height: H }]);
  }, 4);
  const realWrite = net.Socket.prototype.write;
  let client: RfbStreamClient | null = null;
  const checks = { frames: 0, rewritten: 0 };
  // Every server-side write completes 40 ms late, in order as a socket completes them; for
  // the frame-sized ones (whole frames, and the parts a Raw frame leaves in ahead of its rest)
  // keep a copy and check the bytes the socket was given are still the same then.
  net.Socket.prototype.write = function (this: net.Socket, chunk: unknown, ...rest: unknown[]): boolean {
    if (this === client?.socket || !(chunk instanceof Uint8Array)) {
      return (realWrite as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    }
    const copy = chunk.byteLength >= CHECKED_BYTES ? Buffer.from(chunk) : null;
    const cb = rest.find((a): a is WriteCallback => typeof a === 'function');
    const held: WriteCallback = (err) =>
      setTimeout(() => {
        if (copy) {
          checks.frames++;
          if (!Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).equals(copy)) checks.rewritten++;
        }
        cb?.(err);
      }, HOLD_MS);
    return (realWrite as (...a: unknown[]) => boolean).call(this, chunk, held);
  };
  const server = new VncServer({ display, input: new RecordingInput(), websocket: false, encode: mode });
  try {
    const { port } = await server.listen('127.0.0.1', 0);
    client = await RfbStreamClient.connect(port, { encodings: [encoding], loop: false });
    const asker = setInterval(() => client!.request(false), 3);
    const end = Date.now() + 1500;
    while (Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    clearInterval(asker);
    await new Promise((r) => setTimeout(r, HOLD_MS * 3));
    assert.ok(client.updates >= 20, `${client.updates} updates`);
    assert.ok(checks.frames >= 20, `${checks.frames} frame writes checked`);
    assert.equal(checks.rewritten, 0, `${checks.rewritten} of ${checks.frames} frame buffers were rewritten before their write completed`);
  } finally {
    net.Socket.prototype.write = realWrite;
    clearInterval(painter);
    client?.close();
    await server.close();
  }
}
