// VNC encoders on 1920x1080 XRGB8888 workloads, two ways:
//  - encode: the workload's damage per frame through an EncodeManager (per-rect classification,
//    splitting, persistent zlib as in a session): input MB/s (damaged pixels x 4 bytes), wall ms,
//    CPU ms (process.cpuUsage: steadier than wall time on a shared machine) and bytes per frame;
//  - fps: frames delivered to one local client over loopback through the real VncServer (frame
//    clock, backpressure), the client parsing rect boundaries only and requesting again at once,
//    while the workload changes every WORKLOAD_TICK_MS; ROW_MS per row.
// Run: npm run bench:vnc  (BENCH_ROW_MS, BENCH_FRAMES, BENCH_ONLY=<encoding substring>,
// BENCH_WORKLOADS=<workload substring> to shorten). XENVFB_NO_NATIVE_JPEG=1 measures jpeg-js.
// Where the time goes, profiled with node --cpu-prof: docs/vnc-encoders.md.

import { ByteWriter } from '../../shared/bytes';
import type { Rect } from '../../shared/region';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import type { Surface } from '../../backend/display/display';
import { EncodeManager } from '../../backend/vnc/encode-manager';
import { RfbEncoding } from '../../backend/vnc/messages';
import { VncServer } from '../../backend/vnc/server';
import { RfbStreamClient } from '../../test/helpers/rfb-stream-client';
import { RecordingInput, TestDisplay } from '../../test/unit/vnc/helpers';
import { jpegPath } from '../../backend/vnc/encoders/jpeg';
import { fullHdPicture, type PictureKind } from '../../test/unit/vnc/encoders/fullhd-pictures';

const W = 1920;
const H = 1080;
const FRAMES = Number(process.env.BENCH_FRAMES ?? 4);
const ROW_MS = Number(process.env.BENCH_ROW_MS ?? 3000);
const WORKLOAD_TICK_MS = 8;

interface Workload {
  /** Paint the first picture. */
  init(px: Uint32Array): void;
  /** Paint frame f; returns the damage. */
  step(px: Uint32Array, f: number): Rect[];
}

const rgb = (r: number, g: number, b: number): number => ((r & 255) << 16) | ((g & 255) << 8) | (b & 255);
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A 9x18 glyph-like cell: random ink strokes on the background. */
function glyph(px: Uint32Array, x: number, y: number, rnd: () => number, ink: number, bg: number): void {
  for (let row = 0; row < 18; row++) {
    for (let col = 0; col < 9; col++) {
      const on = row > 3 && row < 15 && col < 7 && rnd() < 0.4;
      px[(y + row) * W + x + col] = on ? ink : bg;
    }
  }
}

function textScreen(px: Uint32Array, rnd: () => number, ink: number, bg: number, x0 = 0, y0 = 0, w = W, h = H): void {
  for (let y = y0; y + 18 <= y0 + h; y += 18) for (let x = x0; x + 9 <= x0 + w; x += 9) glyph(px, x, y, rnd, ink, bg);
}

const VIDEO = { x: 320, y: 180, width: 1280, height: 720 };
/** The whole screen of one test picture, sent again every frame (issue 14's full-frame comparison). */
function fullFrame(kind: PictureKind): () => Workload {
  const picture = new Uint32Array(fullHdPicture(kind).data.buffer);
  return () => ({
    init: (px) => px.set(picture),
    step: () => [{ x: 0, y: 0, width: W, height: H }],
  });
}
const ALL_WORKLOADS: Record<string, () => Workload> = {
  'photo full frame': fullFrame('photo'),
  'text full frame': fullFrame('text'),
  'video 720p': () => {
    const rnd = lcg(1);
    return {
      init: (px) => px.fill(rgb(30, 30, 30)),
      step: (px, f) => {
        for (let y = 0; y < VIDEO.height; y++) {
          for (let x = 0; x < VIDEO.width; x++) {
            const n = rnd() * 24;
            px[(VIDEO.y + y) * W + VIDEO.x + x] = rgb(((x + f * 6) >> 2) + n, ((y + f * 3) >> 2) + n, ((x + y) >> 3) + 64 + n);
          }
        }
        return [VIDEO];
      },
    };
  },
  'terminal scroll': () => {
    const rnd = lcg(2);
    const ink = rgb(200, 200, 200);
    const bg = rgb(0, 0, 0);
    return {
      init: (px) => textScreen(px, rnd, ink, bg),
      step: (px) => {
        const rows = Math.floor(H / 18) * 18;
        px.copyWithin(0, 18 * W, rows * W);
        for (let x = 0; x + 9 <= W; x += 9) glyph(px, x, rows - 18, rnd, ink, bg);
        return [{ x: 0, y: 0, width: W, height: H }];
      },
    };
  },
  'window drag': () => {
    const win = { width: 800, height: 600 };
    const image = new Uint32Array(W * H);
    textScreen(image, lcg(3), rgb(20, 20, 20), rgb(250, 250, 250), 0, 0, win.width, win.height);
    for (let y = 0; y < 24; y++) image.fill(rgb(60, 90, 160), y * W, y * W + win.width);
    const desk = rgb(40, 80, 120);
    const at = (f: number): { x: number; y: number } => ({ x: 100 + ((f * 8) % 900), y: 100 + ((f * 4) % 300) });
    const draw = (px: Uint32Array, p: { x: number; y: number }): void => {
      for (let y = 0; y < win.height; y++) px.set(image.subarray(y * W, y * W + win.width), (p.y + y) * W + p.x);
    };
    return {
      init: (px) => {
        px.fill(desk);
        draw(px, at(0));
      },
      step: (px, f) => {
        const old = at(f);
        const now = at(f + 1);
        for (let y = 0; y < win.height; y++) px.fill(desk, (old.y + y) * W + old.x, (old.y + y) * W + old.x + win.width);
        draw(px, now);
        const x = Math.min(old.x, now.x);
        const y = Math.min(old.y, now.y);
        return [{ x, y, width: Math.max(old.x, now.x) + win.width - x, height: Math.max(old.y, now.y) + win.height - y }];
      },
    };
  },
  typing: () => {
    const rnd = lcg(4);
    const ink = rgb(20, 20, 20);
    const bg = rgb(255, 255, 255);
    return {
      init: (px) => px.fill(bg),
      step: (px, f) => {
        const cols = Math.floor(W / 9);
        const x = (f % cols) * 9;
        const y = (Math.floor(f / cols) * 18) % (H - 18);
        glyph(px, x, y, rnd, ink, bg);
        return [{ x, y, width: 9, height: 18 }];
      },
    };
  },
};

const WORKLOADS = Object.fromEntries(
  Object.entries(ALL_WORKLOADS).filter(([n]) => !process.env.BENCH_WORKLOADS || n.includes(process.env.BENCH_WORKLOADS)),
);

const ENCODINGS: Array<[string, number[]]> = [
  ['Raw', [RfbEncoding.Raw]],
  ['RRE', [RfbEncoding.RRE]],
  ['Hextile', [RfbEncoding.Hextile]],
  ['Zlib', [RfbEncoding.Zlib]],
  ['ZRLE', [RfbEncoding.ZRLE]],
  ['Tight', [RfbEncoding.Tight]],
  ['Tight+JPEG q6', [RfbEncoding.Tight, -32 + 6]],
  ['TightPNG', [RfbEncoding.TightPNG]],
].filter(([n]) => !process.env.BENCH_ONLY || (n as string).includes(process.env.BENCH_ONLY)) as Array<[string, number[]]>;

function newSurface(): { surface: Surface; px: Uint32Array } {
  const data = new Uint8Array(W * H * 4);
  return { surface: { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data }, px: new Uint32Array(data.buffer) };
}

function encodeRow(make: () => Workload, list: number[]): { mbps: number; ms: number; cpu: number; bytes: number } {
  const { surface, px } = newSurface();
  const wl = make();
  wl.init(px);
  const m = new EncodeManager();
  m.setClientEncodings(list);
  let ms = 0;
  let cpu = 0;
  let bytes = 0;
  let pixels = 0;
  for (let f = 0; f < FRAMES; f++) {
    const damage = wl.step(px, f);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const w = new ByteWriter(1 << 20);
    for (const r of m.split(damage)) m.encodeRect(surface, r, PIXEL_FORMAT_XRGB8888, w);
    ms += performance.now() - t0;
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1000;
    bytes += w.length;
    pixels += damage.reduce((n, r) => n + r.width * r.height, 0);
  }
  return { mbps: (pixels * 4) / 1e6 / (ms / 1000), ms: ms / FRAMES, cpu: cpu / FRAMES, bytes: bytes / FRAMES };
}

async function fpsRow(make: () => Workload, list: number[]): Promise<{ fps: number; mbit: number }> {
  const { surface, px } = newSurface();
  const wl = make();
  wl.init(px);
  const display = new TestDisplay(surface);
  const server = new VncServer({ display, input: new RecordingInput(), websocket: false });
  const { port } = await server.listen('127.0.0.1', 0);
  const client = await RfbStreamClient.connect(port, { encodings: list });
  let f = 0;
  const tick = setInterval(() => display.emit('damage', wl.step(px, f++)), WORKLOAD_TICK_MS);
  // The first (full) update is not counted.
  while (client.updates < 1) await new Promise((r) => setTimeout(r, 5));
  const u0 = client.updates;
  const b0 = client.bytes;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ROW_MS));
  const s = (performance.now() - t0) / 1000;
  const fps = (client.updates - u0) / s;
  const mbit = ((client.bytes - b0) * 8) / 1e6 / s;
  clearInterval(tick);
  client.close();
  await server.close();
  return { fps, mbit };
}

async function main(): Promise<void> {
  console.log(
    `xenvfb VNC encoders, ${W}x${H} XRGB8888, encode: ${FRAMES} frames; fps: ${ROW_MS} ms over loopback per row, ` +
      `node ${process.version}, Tight JPEG by ${jpegPath()}\n`,
  );
  const cols = ['workload', 'encoding', 'MB/s in', 'ms/frame', 'cpu ms/frame', 'bytes/frame', 'fps', 'Mbit/s'];
  const fmt = (row: string[]): string => row.map((s, i) => (i < 2 ? s.padEnd(17) : s.padStart(13))).join('');
  console.log(fmt(cols));
  for (const [wname, make] of Object.entries(WORKLOADS)) {
    for (const [ename, list] of ENCODINGS) {
      const e = encodeRow(make, list);
      const d = await fpsRow(make, list);
      console.log(
        fmt([
          wname,
          ename,
          e.mbps.toFixed(1),
          e.ms.toFixed(2),
          e.cpu.toFixed(2),
          String(Math.round(e.bytes)),
          d.fps.toFixed(1),
          d.mbit.toFixed(1),
        ]),
      );
    }
  }
}

void main();
