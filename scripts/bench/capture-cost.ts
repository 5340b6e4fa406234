// What does recording cost the backend? Runs `xenvfb demo --workload pattern` (800x600,
// animating) with and without --capture, interleaved ROUNDS times, and prints the backend
// process's CPU use (utime + stime from /proc/PID/stat) over WINDOW seconds once the guest is
// connected, plus the capture's size. No VNC client is connected, so the backend's own work
// (tile scans, shadow refinement) is the baseline the recorder adds to. On a shared machine
// single numbers are noisy: compare the medians of the interleaved runs.
// Run: npm run bench:capture-cost   (BENCH_ROUNDS=3, BENCH_WINDOW=10)

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

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
