// SPICE image codecs on 1920x1080 XRGB8888 workloads, two ways:
//  - encode: each frame's damage through the codec (encodeImage, as the display channel does):
//    ms and bytes per frame;
//  - fps: frames delivered to one local client over loopback through the real SpiceServer
//    (frame clock, SET_ACK window, backpressure); the client links main + display, ACKs as
//    spice-gtk does and counts frames (a frame = the DRAW_COPYs of one workload step, told by
//    their boxes), while the workload changes every WORKLOAD_TICK_MS;
//  - video: a 1920x1080 video-like workload with and without MJPEG streams (video-streams.ts):
//    encode ms and KiB per frame (LZ_RGB draws vs one JPEG stream frame), then live over
//    loopback: frames and MB/s the client gets, and the server's own stream encode time.
//  - side by side: the same workloads into our server and into Debian's Xspice (spice-server),
//    watched by one spice-gtk client (side-by-side.ts; docs/spice.md).
// Run: npm run bench:spice  (BENCH_ROW_MS, BENCH_FRAMES, BENCH_RUNS to shorten; BENCH_ONLY=video
// for the stream and side-by-side rows, BENCH_ONLY=side for the side-by-side rows alone)

import * as net from 'node:net';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import type { Surface } from '../../../backend/display/display';
import { encodeImage, IMAGE_CODECS, type ImageCodecName } from '../../../backend/spice/image-codecs';
import { SpiceServer } from '../../../backend/spice/server';
import { encodeSurfaceJpeg, spiceJpegPath } from '../../../backend/spice/jpeg';
import { STREAM_QUALITY_START } from '../../../backend/spice/stream-rate';
import { installCleanupHandlers } from '../lib/processes';
import { sideBySide } from './side-by-side';
import { crop, H, VIDEO, W, WORKLOADS, type Workload } from './workloads';
import { SpiceChannel, SpiceMsgDisplay, SpiceMsgMain } from '../../../shared/spice/constants';
import { RecordingInput, TestDisplay } from '../../../test/unit/vnc/helpers';
import { clientMsg, linkBytes, ticketBytes } from '../../../test/unit/spice/helpers';

const FRAMES = Number(process.env.BENCH_FRAMES ?? 6);
const ROW_MS = Number(process.env.BENCH_ROW_MS ?? 3000);
const WORKLOAD_TICK_MS = 8;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** video: the stream rows and the side-by-side rows; side: the side-by-side rows alone. */
const ONLY = process.env.BENCH_ONLY;

function surfaceOf(px: Uint32Array): Surface {
  return { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data: new Uint8Array(px.buffer) };
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
      const img = encodeImage(codec, r.width, r.height, new Uint8Array(crop(px, r).buffer));
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

/** Link main, wait for its INIT (the session id), then link display into that session. */
async function linkSession(port: number, onDisplay: (type: number, body: Buffer) => void): Promise<{ main: net.Socket; disp: net.Socket }> {
  let session = 0;
  const main = await linkChannel(port, SpiceChannel.MAIN, 0, (t, body) => {
    if (t === SpiceMsgMain.INIT) session = body.readUInt32LE(0);
  });
  while (!session) await new Promise((r) => setTimeout(r, 5));
  return { main, disp: await linkChannel(port, SpiceChannel.DISPLAY, session, onDisplay) };
}

async function fpsRow(w: Workload, codec: ImageCodecName): Promise<{ fps: number; mbps: number }> {
  const px = new Uint32Array(W * H);
  w.init(px);
  const display = new TestDisplay(surfaceOf(px), 'bench');
  // Codec rows measure draws: no streams (the bands here would become streams).
  const server = new SpiceServer({
    display,
    input: new RecordingInput(),
    ticketing: { password: null },
    codec,
    websocket: false,
    streams: false,
  });
  const { port } = await server.listen('127.0.0.1', 0);
  let frames = 0;
  let bytes = 0;
  let first = true;
  const lastRect = w.step(px, 0).at(-1)!;
  const { main, disp } = await linkSession(port, (t, body) => {
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

/** The video workload live, streams on or off: what one client gets per second. */
async function videoLive(streams: boolean): Promise<{ fps: number; mbps: number; kibPerFrame: number; encodeMs: number | null }> {
  const px = new Uint32Array(W * H);
  VIDEO.init(px);
  const display = new TestDisplay(surfaceOf(px), 'bench');
  const server = new SpiceServer({ display, input: new RecordingInput(), ticketing: { password: null }, websocket: false, streams });
  const { port } = await server.listen('127.0.0.1', 0);
  let frames = 0;
  let bytes = 0;
  let first = true;
  const { main, disp } = await linkSession(port, (t, body) => {
    bytes += body.length + 6;
    if (t === SpiceMsgDisplay.STREAM_DATA) frames++;
    else if (t === SpiceMsgDisplay.DRAW_COPY && body.readInt32LE(12) === H && body.readInt32LE(16) === W) {
      if (first) first = false;
      else frames++; // the last band of a whole-screen update
    }
  });
  let f = 1;
  // 25 fps like a video, or as fast as the workload draws if slower.
  const tick = setInterval(() => display.emit('damage', VIDEO.step(px, f++)), 40);
  const stats = () => server.sessions.displays()[0]?.streams?.stats;
  // Streams start after about 14 frames; on a loaded machine the LZ_RGB frames before take long.
  const deadline = performance.now() + 15000;
  await new Promise((r) => setTimeout(r, 1000));
  while (streams && !stats()?.created && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const [f0, b0, t0, e0, n0] = [frames, bytes, performance.now(), stats()?.encodeMs ?? 0, stats()?.frames ?? 0];
  await new Promise((r) => setTimeout(r, ROW_MS));
  const secs = (performance.now() - t0) / 1000;
  const s = stats();
  const encodeMs = s && s.frames > n0 ? (s.encodeMs - e0) / (s.frames - n0) : null;
  clearInterval(tick);
  main.destroy();
  disp.destroy();
  await server.close();
  const n = frames - f0;
  return { fps: n / secs, mbps: (bytes - b0) / secs / 1e6, kibPerFrame: n > 0 ? (bytes - b0) / n / 1024 : 0, encodeMs };
}

async function videoRows(): Promise<void> {
  console.log(`\nMJPEG streams on ${VIDEO.name}, 25 fps (JPEG by ${spiceJpegPath()}, stream quality ${STREAM_QUALITY_START}, 4:2:0)`);
  const px = new Uint32Array(W * H);
  VIDEO.init(px);
  const lz = encodeRow(VIDEO, 'lz_rgb');
  let ms = 0;
  let kib = 0;
  for (let f = 1; f <= FRAMES; f++) {
    VIDEO.step(px, f);
    const t = performance.now();
    kib += encodeSurfaceJpeg(surfaceOf(px), { x: 0, y: 0, width: W, height: H }, STREAM_QUALITY_START, true).length / 1024;
    ms += performance.now() - t;
  }
  console.log('path                          encode ms/frame  KiB/frame   frames/s to 1 client  MB/s on the wire  server encode ms/frame');
  const off = await videoLive(false);
  const on = await videoLive(true);
  const row = (name: string, e: { ms: number; kib: number }, d: typeof on) =>
    console.log(
      `${name.padEnd(30)}${e.ms.toFixed(1).padStart(15)}${e.kib.toFixed(0).padStart(11)}${d.fps.toFixed(1).padStart(22)}${d.mbps.toFixed(1).padStart(18)}${(d.encodeMs === null ? '-' : d.encodeMs.toFixed(1)).padStart(24)}`,
    );
  row('no streams (LZ_RGB draws)', { ms: lz.ms, kib: lz.bytes / 1024 }, off);
  row('MJPEG stream', { ms: ms / FRAMES, kib: kib / FRAMES }, on);
}

async function main(): Promise<void> {
  // Xspice, its X client and the spice-gtk clients go away on Ctrl-C and on any exit.
  installCleanupHandlers((l) => console.log(l));
  console.log(
    `SPICE codecs at ${W}x${H} (${FRAMES} frames per encode row, ${ROW_MS} ms per fps row; a shared 2-core machine: numbers are noisy)`,
  );
  console.log('workload                          codec    encode ms/frame  KiB/frame   fps to 1 client  MB/s on the wire');
  for (const w of ONLY ? [] : WORKLOADS) {
    for (const codec of IMAGE_CODECS) {
      const e = encodeRow(w, codec);
      const d = await fpsRow(w, codec);
      console.log(
        `${w.name.padEnd(34)}${codec.padEnd(9)}${e.ms.toFixed(1).padStart(15)}${(e.bytes / 1024).toFixed(0).padStart(11)}${d.fps.toFixed(1).padStart(18)}${d.mbps.toFixed(1).padStart(18)}`,
      );
    }
  }
  if (ONLY !== 'side') await videoRows();
  try {
    await sideBySide([...WORKLOADS, VIDEO], RUNS, ROW_MS, (l) => console.log(l));
  } catch (e) {
    console.log(`\nNo side-by-side rows with Xspice: ${(e as Error).message}`);
  }
}

void main();
