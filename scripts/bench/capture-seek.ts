// How long does seeking in a long capture take? Builds a synthetic 1-hour capture at
// 1920x1080 XRGB8888 (10 frames a second of a moving bar, a text-like line and a 32x32
// noisy patch; a keyframe every 5 s), then prints:
//   build          time to write it, file size
//   open (index)   opening with the index written at close
//   open (scan)    opening the same file cut before its index (what a kill -9 leaves): a scan
//   seek           the picture at random times (keyframe by binary search + records up to t),
//                  min / median / p95 / max over SEEKS points; the target is < 50 ms each
// Wall times on a shared machine are stretched by other processes: the CPU time per seek
// (process.cpuUsage) is printed beside them.
// Run: npm run bench:capture   (BENCH_MINUTES=60, BENCH_SEEKS=50, BENCH_DIR=/tmp)

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureFile } from '../../backend/capture/capture-file';
import { CaptureWriter } from '../../backend/capture/capture-writer';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import { FrameState } from '../../shared/capture/frame-state';
import type { CaptureRecord } from '../../shared/capture/format';

const W = 1920;
const H = 1080;
const MINUTES = Number(process.env.BENCH_MINUTES ?? 60);
const SEEKS = Number(process.env.BENCH_SEEKS ?? 50);
const FRAME_MS = 100;
const KEYFRAME_MS = 5000;
const geometry = { width: W, height: H, format: PIXEL_FORMAT_XRGB8888 };

function ms(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The damage of frame n: a moving bar, a text strip line and a noisy 64x64 patch. */
function frameRecords(n: number, t: number, seed: { s: number }): CaptureRecord[] {
  const rand = (): number => (seed.s = (Math.imul(seed.s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const bar = { x: (n * 16) % (W - 128), y: 200, width: 128, height: 300 };
  const line = { x: 0, y: 900 + (n % 8) * 16, width: W, height: 16 };
  const patch = { x: 1600, y: 600, width: 32, height: 32 };
  const px = (r: { width: number; height: number }, f: (i: number) => number): Uint8Array => {
    const out = new Uint8Array(r.width * r.height * 4);
    for (let i = 0; i < r.width * r.height; i++) out.fill(f(i), i * 4, i * 4 + 3);
    return out;
  };
  const parts = [
    px(bar, (i) => ((i % 128) + n) & 255),
    px(line, (i) => ((i % W) % 9 < 5 && ((i * 7 + n) & 15) < 6 ? 20 : 240)),
    px(patch, () => (rand() * 256) | 0),
  ];
  return [{ type: 'damage', timeMs: t, bytesPerPixel: 4, rects: [bar, line, patch], pixels: Buffer.concat(parts) }];
}

function build(file: string): { records: number; ms: number } {
  const t0 = process.hrtime.bigint();
  const w = new CaptureWriter(file, { keyframeIntervalMs: KEYFRAME_MS, startUnixMs: 0 });
  const state = new FrameState();
  const seed = { s: 1 };
  state.apply({ type: 'keyframe', timeMs: 0, geometry, pixels: new Uint8Array(W * H * 4).fill(90) });
  const end = MINUTES * 60_000;
  for (let t = 0, n = 0; t < end; t += FRAME_MS, n++) {
    if (w.keyframeDue(t)) w.append({ type: 'keyframe', timeMs: t, geometry, pixels: state.pixels });
    for (const r of frameRecords(n, t, seed)) {
      state.apply(r);
      w.append(r);
    }
    w.append({ type: 'timing', timeMs: t, kind: 1, seq: n });
  }
  w.close();
  return { records: w.recordCount, ms: ms(t0) };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'xenvfb-bench-capture-'));
  try {
    const file = path.join(dir, 'hour.xvc');
    const b = build(file);
    const size = fs.statSync(file).size;
    console.log(
      `capture: ${MINUTES} min at ${W}x${H}, ${1000 / FRAME_MS} frames/s, keyframe every ${KEYFRAME_MS / 1000} s or half a frame of damage`,
    );
    console.log(`build          ${(b.ms / 1000).toFixed(1)} s, ${b.records} records, ${(size / 1e6).toFixed(1)} MB`);

    let t0 = process.hrtime.bigint();
    const f = CaptureFile.open(file);
    console.log(`open (index)   ${ms(t0).toFixed(1)} ms, index ${f.indexHealth}, ${f.index.keyframes.length} keyframes`);

    const cut = path.join(dir, 'cut.xvc');
    fs.copyFileSync(file, cut);
    fs.truncateSync(cut, f.dataEnd);
    t0 = process.hrtime.bigint();
    const g = CaptureFile.open(cut);
    console.log(`open (scan)    ${ms(t0).toFixed(1)} ms, index ${g.indexHealth}, ${g.index.records} records`);
    g.close();

    const times: number[] = [];
    const cpu: number[] = [];
    let seed = 12345;
    for (let i = 0; i < SEEKS; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      const at = Math.floor((seed / 2 ** 32) * f.durationMs);
      t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      f.frameAt(at);
      times.push(ms(t0));
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
    }
    f.close();
    const fmt = (x: number): string => x.toFixed(1);
    const row = (xs: number[]): string =>
      `min ${fmt(pct(xs, 0))} ms, median ${fmt(pct(xs, 0.5))} ms, p95 ${fmt(pct(xs, 0.95))} ms, max ${fmt(pct(xs, 1))} ms`;
    console.log(`seek wall (${SEEKS} random points)  ${row(times)} (target < 50 ms)`);
    console.log(`seek CPU  (same points)          ${row(cpu)} (CPU time of this process: what a loaded machine stretches)`);
    console.log(
      `load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} on ${os.cpus().length} cores`,
    );
  } finally {
    if (!process.env.BENCH_KEEP) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
