// SPICE image codecs on 1920x1080 XRGB8888 workloads, two ways:
//  - encode: each frame's damage through the codec (encodeImage, as the display channel does):
//    ms and bytes per frame;
//  - fps: frames delivered to one local client over loopback through the real SpiceServer
//    (frame clock, SET_ACK window, backpressure); the client links main + display, ACKs as
//    spice-gtk does and counts frames (a frame = the DRAW_COPYs of one workload step, told by
//    their boxes), while the workload changes every WORKLOAD_TICK_MS.
// Xspice (xserver-xspice) side by side is not wired up yet: Debian bookworm's Xspice 0.1.5 aborted at
// start here ("malloc(): corrupted top size" after "resizing surface0 to 0", with --auto), so
// the numbers compare our codecs only.
// Run: npm run bench:spice  (BENCH_ROW_MS, BENCH_FRAMES to shorten)

import * as net from 'node:net';
import type { Rect } from '../../shared/region';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import type { Surface } from '../../backend/display/display';
import { encodeImage, IMAGE_CODECS, type ImageCodecName } from '../../backend/spice/image-codecs';
import { SpiceServer } from '../../backend/spice/server';
import { SpiceChannel, SpiceMsgDisplay } from '../../shared/spice/constants';
import { RecordingInput, TestDisplay } from '../../test/unit/vnc/helpers';
import { clientMsg, linkBytes, ticketBytes } from '../../test/unit/spice/helpers';

const W = 1920;
const H = 1080;
const FRAMES = Number(process.env.BENCH_FRAMES ?? 6);
const ROW_MS = Number(process.env.BENCH_ROW_MS ?? 3000);
const WORKLOAD_TICK_MS = 8;

interface Workload {
  name: string;
  init(px: Uint32Array): void;
  step(px: Uint32Array, f: number): Rect[];
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function desktop(px: Uint32Array): void {
  const rnd = lcg(7);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px[y * W + x] = y < 32 ? 0x2b3a4f : 0xdfe3e8;
  for (let w = 0; w < 6; w++) {
    const wx = Math.floor(rnd() * (W - 700));
    const wy = 40 + Math.floor(rnd() * (H - 560));
    for (let y = wy; y < wy + 500; y++) {
      for (let x = wx; x < wx + 680; x++) {
        const inText = y > wy + 30 && (y - wy) % 18 < 12 && rnd() < 0.35;
        px[y * W + x] = y < wy + 24 ? 0x3d6fb6 : inText ? 0x202020 : 0xffffff;
      }
    }
  }
}

const WORKLOADS: Workload[] = [
  {
    name: 'full desktop frame',
    init: desktop,
    step: (px, f) => {
      px[f % (W * H)] ^= 0x010101;
      return [{ x: 0, y: 0, width: W, height: H }];
    },
  },
  {
    name: 'scrolling text band 1920x360',
    init: desktop,
    step: (px, f) => {
      const rnd = lcg(f);
      for (let y = 400; y < 760; y++)
        for (let x = 0; x < W; x++) px[y * W + x] = (y + f * 3) % 18 < 12 && rnd() < 0.3 ? 0x202020 : 0xffffff;
      return [{ x: 0, y: 400, width: W, height: 360 }];
    },
  },
  {
    name: 'video-like noise 640x360',
    init: desktop,
    step: (px, f) => {
      const rnd = lcg(f + 99);
      for (let y = 300; y < 660; y++) for (let x = 600; x < 1240; x++) px[y * W + x] = Math.floor(rnd() * 0xffffff);
      return [{ x: 600, y: 300, width: 640, height: 360 }];
    },
  },
];

function surfaceOf(px: Uint32Array): Surface {
  return { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data: new Uint8Array(px.buffer) };
}

function crop(px: Uint32Array, r: Rect): Uint8Array {
  const out = new Uint32Array(r.width * r.height);
  for (let y = 0; y < r.height; y++) out.set(px.subarray((r.y + y) * W + r.x, (r.y + y) * W + r.x + r.width), y * r.width);
  return new Uint8Array(out.buffer);
}

function encodeRow(w: Workload, codec: ImageCodecName): { ms: number; bytes: number } {
  const px = new Uint32Array(W * H);
  w.init(px);
  let ms = 0;
  let bytes = 0;
  for (let f = 1; f <= FRAMES; f++) {
    const rects = w.step(px, f);
    const t = performance.now();
    for (const r of rects) {
      const img = encodeImage(codec, r.width, r.height, crop(px, r));
      bytes += img.head.length + img.data.length;
    }
    ms += performance.now() - t;
  }
  return { ms: ms / FRAMES, bytes: bytes / FRAMES };
}

/** A minimal local SPICE client: links a channel, ACKs like spice-gtk, hands messages on. */
function linkChannel(
  port: number,
  type: number,
  connectionId: number,
  onMessage: (type: number, body: Buffer) => void,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let stage: 'reply' | 'result' | 'data' = 'reply';
    let ackWindow = 0;
    let count = 0;
    sock.on('error', reject);
    sock.on('connect', () => sock.write(linkBytes({ type, connectionId, common: [0x0d] })));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (stage === 'reply') {
          if (buf.length < 16 || buf.length < 16 + buf.readUInt32LE(12)) return;
          const size = buf.readUInt32LE(12);
          sock.write(ticketBytes(buf.subarray(20, 182), ''));
          buf = buf.subarray(16 + size);
          stage = 'result';
        } else if (stage === 'result') {
          if (buf.length < 4) return;
          if (buf.readUInt32LE(0) !== 0) return reject(new Error(`link refused ${buf.readUInt32LE(0)}`));
          buf = buf.subarray(4);
          stage = 'data';
          resolve(sock);
        } else {
          if (buf.length < 6 || buf.length < 6 + buf.readUInt32LE(2)) return;
          const t = buf.readUInt16LE(0);
          const body = buf.subarray(6, 6 + buf.readUInt32LE(2));
          buf = buf.subarray(6 + body.length);
          if (t === 3) {
            ackWindow = body.readUInt32LE(4); // SET_ACK: answer ACK_SYNC, then ACK every window messages
            sock.write(clientMsg(1, body.subarray(0, 4)));
            count = 0;
            continue;
          }
          if (ackWindow && ++count % ackWindow === 0) sock.write(clientMsg(2));
          onMessage(t, body);
        }
      }
    });
  });
}

async function fpsRow(w: Workload, codec: ImageCodecName): Promise<{ fps: number; mbps: number }> {
  const px = new Uint32Array(W * H);
  w.init(px);
  const display = new TestDisplay(surfaceOf(px), 'bench');
  const server = new SpiceServer({ display, input: new RecordingInput(), ticketing: { password: null }, codec, websocket: false });
  const { port } = await server.listen('127.0.0.1', 0);
  let session = 0;
  const main = await linkChannel(port, SpiceChannel.MAIN, 0, (t, body) => {
    if (t === 103) session = body.readUInt32LE(0);
  });
  while (!session) await new Promise((r) => setTimeout(r, 5));
  let frames = 0;
  let bytes = 0;
  let first = true;
  const lastRect = w.step(px, 0).at(-1)!;
  const disp = await linkChannel(port, SpiceChannel.DISPLAY, session, (t, body) => {
    bytes += body.length + 6;
    if (t !== SpiceMsgDisplay.DRAW_COPY) return;
    if (first) return void (first = false); // the first full picture
    // A frame ends with the band that reaches the bottom of the workload's last rect.
    const bottom = body.readInt32LE(12);
    const right = body.readInt32LE(16);
    if (bottom === lastRect.y + lastRect.height && right === lastRect.x + lastRect.width) frames++;
  });
  let f = 1;
  const tick = setInterval(() => display.emit('damage', w.step(px, f++)), WORKLOAD_TICK_MS);
  await new Promise((r) => setTimeout(r, 300));
  const [f0, b0, t0] = [frames, bytes, performance.now()];
  await new Promise((r) => setTimeout(r, ROW_MS));
  const secs = (performance.now() - t0) / 1000;
  clearInterval(tick);
  main.destroy();
  disp.destroy();
  await server.close();
  return { fps: (frames - f0) / secs, mbps: (bytes - b0) / secs / 1e6 };
}

async function main(): Promise<void> {
  console.log(
    `SPICE codecs at ${W}x${H} (${FRAMES} frames per encode row, ${ROW_MS} ms per fps row; a shared 2-core machine: numbers are noisy)`,
  );
  console.log('workload                          codec    encode ms/frame  KiB/frame   fps to 1 client  MB/s on the wire');
  for (const w of WORKLOADS) {
    for (const codec of IMAGE_CODECS) {
      const e = encodeRow(w, codec);
      const d = await fpsRow(w, codec);
      console.log(
        `${w.name.padEnd(34)}${codec.padEnd(9)}${e.ms.toFixed(1).padStart(15)}${(e.bytes / 1024).toFixed(0).padStart(11)}${d.fps.toFixed(1).padStart(18)}${d.mbps.toFixed(1).padStart(18)}`,
      );
    }
  }
}

void main();
