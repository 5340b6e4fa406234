// Persistent zlib for RFB (Zlib / ZRLE / Tight streams) without blocking the event loop? Three
// ways to keep one deflate stream per connection, each rect ending on a Z_SYNC_FLUSH boundary,
// measured on 1920x1080 frames cut into Tight-sized rects (65536 px):
//   sync    DeflateStream (zstream.ts): deflateRawSync per rect, last 32 KiB as preset dictionary
//   async   zlib.createDeflateRaw(): write(rect) + flush(Z_SYNC_FLUSH, cb) per rect (libuv pool)
//   worker  a worker_thread owning DeflateStreams; the frame's rects are posted (copied) to it
// Columns: wall ms per frame, the longest main-thread block during it (event-loop delay
// probe: a 1 ms interval timer's worst lateness), and compressed bytes. Run: npm run bench:vnc-zlib

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { DeflateStream } from '../../backend/vnc/encoders/zstream';

const W = 1920;
const H = 1080;
const RECT_PX = 65536;
const FRAMES = Number(process.env.BENCH_FRAMES ?? 6);

function makeFrame(kind: 'text' | 'noise', f: number): Buffer[] {
  const data = Buffer.alloc(W * H * 4);
  let seed = 99 + f;
  const rnd = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = (y * W + x) * 4;
      if (kind === 'noise') {
        data[i] = rnd() * 256;
        data[i + 1] = rnd() * 256;
        data[i + 2] = rnd() * 256;
      } else {
        const ink = (y + f) % 18 < 12 && x % 9 < 6 && rnd() < 0.45;
        data.fill(ink ? 20 : 250, i, i + 3);
      }
    }
  }
  const rects: Buffer[] = [];
  for (let o = 0; o < data.length; o += RECT_PX * 4) rects.push(data.subarray(o, Math.min(data.length, o + RECT_PX * 4)));
  return rects;
}

interface Row {
  ms: number;
  blockMs: number;
  bytes: number;
}

async function measure(run: () => Promise<number>): Promise<Row> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const bytes = await run();
  const ms = (performance.now() - t0) / FRAMES;
  h.disable();
  return { ms, blockMs: h.max / 1e6, bytes: bytes / FRAMES };
}

async function syncWay(frames: Buffer[][], level: number): Promise<Row> {
  const z = new DeflateStream(level);
  return measure(async () => {
    let bytes = 0;
    for (const fr of frames) {
      for (const r of fr) bytes += z.compress(r).length;
      await new Promise((r) => setImmediate(r)); // frames are separate event-loop turns
    }
    return bytes;
  });
}

async function asyncWay(frames: Buffer[][], level: number): Promise<Row> {
  const d = zlib.createDeflateRaw({ level });
  let got = 0;
  d.on('data', (c: Buffer) => (got += c.length));
  const rect = (r: Buffer): Promise<void> =>
    new Promise((resolve) => {
      d.write(r);
      d.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve());
    });
  const row = await measure(async () => {
    for (const fr of frames) for (const r of fr) await rect(r);
    return got;
  });
  d.destroy();
  return row;
}

const WORKER_SRC = `
const { parentPort } = require('node:worker_threads');
require('ts-node').register({ transpileOnly: true });
const { DeflateStream } = require(${JSON.stringify(require.resolve('../../backend/vnc/encoders/zstream'))});
let z = null;
parentPort.on('message', ({ level, rects }) => {
  z ??= new DeflateStream(level);
  const out = rects.map((r) => z.compress(r));
  parentPort.postMessage(out.reduce((n, b) => n + b.length, 0));
});`;

async function workerWay(frames: Buffer[][], level: number): Promise<Row> {
  const w = new Worker(WORKER_SRC, { eval: true });
  const ask = (rects: Uint8Array[]): Promise<number> =>
    new Promise((resolve) => {
      w.once('message', resolve);
      w.postMessage({ level, rects });
    });
  await ask([Buffer.alloc(16)]); // warm-up: ts-node load
  const row = await measure(async () => {
    let bytes = 0;
    for (const fr of frames) bytes += await ask(fr.map((r) => new Uint8Array(r)));
    return bytes;
  });
  await w.terminate();
  return row;
}

async function main(): Promise<void> {
  console.log(`persistent zlib, ${W}x${H}x4 frames in ${RECT_PX}-px rects, ${FRAMES} frames per cell, node ${process.version}\n`);
  const cols = ['content', 'level', 'way', 'ms/frame', 'max block ms', 'bytes/frame'];
  console.log(cols.map((s, i) => (i < 3 ? s.padEnd(9) : s.padStart(14))).join(''));
  for (const kind of ['text', 'noise'] as const) {
    const frames = Array.from({ length: FRAMES }, (_, f) => makeFrame(kind, f));
    for (const level of [1, 2, 6]) {
      for (const [way, fn] of [
        ['sync', syncWay],
        ['async', asyncWay],
        ['worker', workerWay],
      ] as const) {
        const r = await fn(frames, level);
        const row = [kind, String(level), way, r.ms.toFixed(1), r.blockMs.toFixed(1), String(Math.round(r.bytes))];
        console.log(row.map((s, i) => (i < 3 ? s.padEnd(9) : s.padStart(14))).join(''));
      }
    }
  }
}

void main();
