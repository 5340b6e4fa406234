// What does recording cost the backend? Runs `xenvfb demo --workload pattern` (800x600,
// animating) with and without --capture, interleaved ROUNDS times, and prints the backend
// process's CPU use (utime + stime from /proc/PID/stat) over WINDOW seconds once the guest is
// connected, plus the capture's size. No VNC client is connected, so the backend's own work
// (tile scans, shadow refinement) is the baseline the recorder adds to. On a shared machine
// single numbers are noisy: compare the medians of the interleaved runs.
// First, in this process, the recorder's own time per damage event at 1920x1080.
// Run: npm run bench:capture-cost   (BENCH_ROUNDS=3, BENCH_WINDOW=10)

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { CaptureRecorder } from '../../backend/capture/recorder';
import { GuestDisplay } from '../../backend/display/guest-display';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';

const XENVFB = path.join(__dirname, '..', 'bin', 'xenvfb.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW_S = Number(process.env.BENCH_WINDOW ?? 10);
const TICKS = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
}

async function run(port: number, capture: string | null): Promise<{ cpu: number; bytes: number }> {
  const args = [
    XENVFB,
    'demo',
    '--vnc',
    `127.0.0.1:${port}`,
    '--no-web',
    '--workload',
    'pattern',
    ...(capture ? ['--capture', capture] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let backendPid = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('demo did not connect in 60 s')), 60_000);
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = /^backend pid (\d+)/.exec(l);
      if (m) backendPid = Number(m[1]);
      if (/is connected/.test(l)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await new Promise((r) => setTimeout(r, 2000)); // past start-up
  const t0 = cpuTicks(backendPid);
  const w0 = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_S * 1000));
  const cpu = ((cpuTicks(backendPid) - t0) / TICKS / ((performance.now() - w0) / 1000)) * 100;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return { cpu, bytes: capture && fs.existsSync(capture) ? fs.statSync(capture).size : 0 };
}

/** In-process: the recorder's own time per record at 1920x1080 (pack + deflate level 1 + write). */
function recorderCost(dir: string): void {
  const W = 1920;
  const H = 1080;
  const display = new GuestDisplay('bench');
  const guest = { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data: new Uint8Array(W * H * 4) };
  let seed = 1;
  for (let i = 0; i < guest.data.length; i += 4) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    guest.data.fill((i >> 12) % 18 < 12 && seed % 3 === 0 ? 20 : 240, i, i + 3); // text-like
  }
  display.setSurface(guest);
  let clock = 0;
  const rec = new CaptureRecorder(display, path.join(dir, 'cost.xvc'), { now: () => clock, keyframeIntervalMs: 0 });
  for (const [label, rect, n] of [
    ['full screen', { x: 0, y: 0, width: W, height: H }, 20],
    ['one 16-row line', { x: 0, y: 500, width: W, height: 16 }, 200],
    ['a 64x64 tile', { x: 640, y: 320, width: 64, height: 64 }, 500],
  ] as const) {
    const before = rec.stats.busyMs;
    const keys = rec.stats.keyframes;
    for (let i = 0; i < n; i++) {
      clock += 16;
      guest.data[(rect.y * W + rect.x) * 4] ^= 0xff;
      display.damage([rect]);
    }
    const extra = rec.stats.keyframes - keys;
    console.log(
      `recorder, ${label}: ${((rec.stats.busyMs - before) / n).toFixed(2)} ms per damage event (${n} events${extra ? `, ${extra} became keyframes` : ''})`,
    );
  }
  rec.close();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-bench-capcost-'));
  const port = 5990 - (process.pid % 40);
  const without: number[] = [];
  const withCap: number[] = [];
  try {
    recorderCost(dir);
    for (let i = 0; i < ROUNDS; i++) {
      const a = await run(port, null);
      without.push(a.cpu);
      const b = await run(port, path.join(dir, `r${i}.xvc`));
      withCap.push(b.cpu);
      console.log(
        `round ${i + 1}: backend CPU ${a.cpu.toFixed(1)} % without, ${b.cpu.toFixed(1)} % with --capture (${(b.bytes / 1e6).toFixed(1)} MB written)`,
      );
    }
    console.log(
      `median: ${median(without).toFixed(1)} % without, ${median(withCap).toFixed(1)} % with --capture (ratio ${(median(withCap) / median(without)).toFixed(2)}), over ${WINDOW_S} s windows, ${os.loadavg()[0]!.toFixed(1)} load average`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main();
