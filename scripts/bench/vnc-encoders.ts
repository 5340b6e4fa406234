// Encoder throughput on 1920x1080 XRGB8888 frames: per workload and encoding, input MB/s,
// ms per frame and bytes per frame, through an EncodeManager (so rect splitting, per-rect
// choices and persistent zlib streams are as in a session). Run: npm run bench:vnc
// Each cell encodes FRAMES successive frames (the content shifts a little each time).

import { ByteWriter } from '../../shared/bytes';
import { PIXEL_FORMAT_XRGB8888, type Surface } from '../../backend/display/display';
import { EncodeManager } from '../../backend/vnc/encode-manager';
import { RfbEncoding } from '../../backend/vnc/messages';

const W = 1920;
const H = 1080;
const FRAMES = Number(process.env.BENCH_FRAMES ?? 3);

type Painter = (x: number, y: number, f: number, rnd: () => number) => [number, number, number];
const WORKLOADS: Record<string, Painter> = {
  'video-like noise': (_x, _y, _f, rnd) => [rnd() * 256, rnd() * 256, rnd() * 256],
  'gradient/scroll': (x, y, f) => [(x + f * 8) & 255, (y + f * 8) & 255, ((x + y) >> 2) & 255],
  'text-like': (x, y, f, rnd) => ((y + f) % 18 < 12 && (x % 9 < 6) && rnd() < 0.45 ? [20, 20, 20] : y % 200 < 24 ? [60, 90, 160] : [250, 250, 250]),
  solid: () => [40, 80, 120],
};

const ENCODINGS: Array<[string, number[]]> = [
  ['Raw', [RfbEncoding.Raw]],
  ['RRE', [RfbEncoding.RRE]],
  ['Hextile', [RfbEncoding.Hextile]],
  ['Zlib', [RfbEncoding.Zlib]],
  ['ZRLE', [RfbEncoding.ZRLE]],
  ['Tight', [RfbEncoding.Tight]],
  ['Tight+JPEG q6', [RfbEncoding.Tight, -32 + 6]],
  ['TightPNG', [RfbEncoding.TightPNG]],
];

function frame(paint: Painter, f: number): Surface {
  const data = new Uint8Array(W * H * 4);
  let seed = 12345 + f;
  const rnd = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const [r, g, b] = paint(x, y, f, rnd);
      const i = (y * W + x) * 4;
      data[i] = b;
      data[i + 1] = g;
      data[i + 2] = r;
    }
  }
  return { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data };
}

function main(): void {
  console.log(`xenvfb VNC encoders, ${W}x${H} XRGB8888, ${FRAMES} frames each, node ${process.version}\n`);
  console.log(['workload', 'encoding', 'MB/s in', 'ms/frame', 'bytes/frame', 'ratio'].map((s, i) => (i < 2 ? s.padEnd(18) : s.padStart(12))).join(''));
  for (const [wname, paint] of Object.entries(WORKLOADS)) {
    const frames = Array.from({ length: FRAMES }, (_, f) => frame(paint, f));
    for (const [ename, list] of ENCODINGS) {
      const m = new EncodeManager();
      m.setClientEncodings(list);
      let bytes = 0;
      const started = process.hrtime.bigint();
      for (const s of frames) {
        const w = new ByteWriter(1 << 20);
        for (const r of m.split([{ x: 0, y: 0, width: W, height: H }])) m.encodeRect(s, r, PIXEL_FORMAT_XRGB8888, w);
        bytes += w.length;
      }
      const ms = Number(process.hrtime.bigint() - started) / 1e6 / FRAMES;
      const inMB = (W * H * 4) / 1e6;
      const row = [wname, ename, (inMB / (ms / 1000)).toFixed(1), ms.toFixed(1), String(Math.round(bytes / FRAMES)), ((W * H * 4) / (bytes / FRAMES)).toFixed(1) + ':1'];
      console.log(row.map((s, i) => (i < 2 ? s.padEnd(18) : s.padStart(12))).join(''));
    }
  }
}

main();
