// bench:spice side by side with spice-server: the same 1920x1080 workloads, frame by frame, into
// (a) our SpiceServer in a process of its own (xenvfb-host.ts) and (b) Debian's Xspice (Xorg with
// the spiceqxl driver, linking libspice-server), drawn there by an X client (c/xspice-draw.c,
// XPutImage to the root window). Both servers run their defaults (ours: codec per rect and MJPEG
// streams; spice-server: auto_glz images and its "filter" video streaming). One spice-gtk client
// (frames-client.py, SpiceClientGLib) watches each: it reads back the frame number the
// workload stamps into every frame, so "frames/s" counts frames that reached the client's
// picture, lossy or not. Server CPU is the whole server process (Xorg with its spice-server
// threads; our node process), taking the pixels in included.

import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { cpuMs } from '../lib/proc';
import { cacheDir, compileC, ensureDebianPackages } from '../peers/setup';
import { median } from '../peers/table';
import { onLines, spawnTracked, stopTracked } from '../lib/processes';
import { startXspice } from './xspice';
import { crop, H, stampMarker, W, type Workload } from './workloads';

const PYTHON = '/usr/bin/python3';
const CLIENT = path.join(__dirname, 'frames-client.py');
const HOST = path.join(__dirname, 'xenvfb-host.ts');
const DRAWER = path.join(__dirname, 'c', 'xspice-draw.c');
const START_TIMEOUT_MS = 60_000;
/** Time for both servers to settle (spice-server starts streams after a few frames, so do we). */
const WARMUP_MS = 2000;

export const SIDE_BY_SIDE_PACKAGES = [
  'xserver-xspice',
  'python3-gi',
  'gir1.2-spiceclientglib-2.0',
  'gcc',
  'libc6-dev',
  'pkg-config',
  'libx11-dev',
];

export type ServerName = 'xenvfb' | 'xspice';

/** A server being fed: frames go to `feeder`'s stdin, one byte comes back per frame taken. */
interface Fed {
  port: number;
  /** The process charged for the server's CPU. */
  pid: number;
  feeder: ChildProcess;
  stop(): Promise<void>;
}

/** The first line the child prints (its JSON "ready"), then one call of onAck per byte after it. */
function readyThenAcks(child: ChildProcess, what: string, onAck: () => void): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    let text = '';
    let ready = false;
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${what} exited (${signal ?? `code ${code}`}) while starting: ${err.trim()}`));
    });
    child.stdout!.on('data', (d: Buffer) => {
      if (ready) {
        for (let i = 0; i < d.length; i++) onAck();
        return;
      }
      text += d.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      ready = true;
      clearTimeout(timer);
      for (let i = nl + 1; i < text.length; i++) onAck();
      resolve(JSON.parse(text.slice(0, nl)) as Record<string, number>);
    });
  });
}

async function startFed(server: ServerName, drawer: string, onAck: () => void): Promise<Fed> {
  const stdio: ['pipe', 'pipe', 'pipe'] = ['pipe', 'pipe', 'pipe'];
  if (server === 'xenvfb') {
    const child = spawnTracked(
      process.execPath,
      [...(process.env.BENCH_HOST_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '-r', 'ts-node/register/transpile-only', HOST],
      {
        stdio,
        env: { ...process.env, XENVFB_LOG_LEVEL: 'warn' },
      },
    );
    const { port } = await readyThenAcks(child, 'xenvfb-host (our SpiceServer)', onAck);
    return { port: port!, pid: child.pid!, feeder: child, stop: () => stopTracked(child) };
  }
  const x = await startXspice(W, H);
  const child = spawnTracked(drawer, [], { stdio, env: { ...process.env, DISPLAY: x.display } });
  try {
    await readyThenAcks(child, 'xspice-draw (X client)', onAck);
  } catch (e) {
    await x.stop();
    throw e;
  }
  return {
    port: x.port,
    pid: x.pid,
    feeder: child,
    stop: async () => {
      await stopTracked(child);
      await x.stop();
    },
  };
}

interface ClientReport {
  frames: number;
  bytes: number;
}

/** frames-client.py on the server; resolves once it has the display surface. */
async function startClient(port: number, mx: number, my: number): Promise<{ report(): Promise<ClientReport>; stop(): Promise<void> }> {
  const child = spawnTracked(PYTHON, [CLIENT, '127.0.0.1', String(port), String(mx), String(my)], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => undefined); // a client gone: its report times out
  const waiting: Array<(r: ClientReport) => void> = [];
  let primary: (() => void) | undefined;
  onLines(child, 'stdout', (line) => {
    const m = JSON.parse(line) as { event: string } & ClientReport;
    if (m.event === 'primary') primary?.();
    else if (m.event === 'report') waiting.shift()?.(m);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the spice-gtk client got no display surface within 20 s')), 20_000);
    primary = () => {
      clearTimeout(timer);
      resolve();
    };
    child.once('exit', (code) =>
      reject(new Error(`frames-client.py exited (code ${code}); is python3-gi with SpiceClientGLib installed?`)),
    );
  });
  return {
    report: () =>
      new Promise<ClientReport>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the spice-gtk client did not report within 10 s')), 10_000);
        waiting.push((r) => {
          clearTimeout(timer);
          resolve(r);
        });
        child.stdin!.write('report\n');
      }),
    stop: () => stopTracked(child, 2000),
  };
}

function frameBytes(px: Uint32Array, r: { x: number; y: number; width: number; height: number }): Buffer {
  const head = Buffer.alloc(16);
  [r.x, r.y, r.width, r.height].forEach((v, i) => head.writeUInt32LE(v, i * 4));
  const body = crop(px, r);
  return Buffer.concat([head, Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
}

export interface RowResult {
  offeredFps: number;
  fps: number;
  mbps: number;
  cpuPct: number;
  cpuMsPerFrame: number;
}

/** One workload into one server for `rowMs` after the warm-up. */
export async function sideBySideRow(w: Workload, server: ServerName, rowMs: number, drawer: string): Promise<RowResult> {
  const px = new Uint32Array(W * H);
  w.init(px);
  let acked = 0;
  let wake: (() => void) | undefined;
  const fed = await startFed(server, drawer, () => {
    acked++;
    wake?.();
  });
  const stops: Array<() => Promise<void>> = [fed.stop];
  let died: string | undefined;
  let running = true;
  fed.feeder.stdin!.on('error', () => undefined); // a feeder that exits: told by 'exit' below
  fed.feeder.once('exit', (code, signal) => {
    died = `the ${server} feeder exited (${signal ?? `code ${code}`}) during the row`;
    wake?.();
  });
  try {
    const first = w.step(px, 0)[0]!;
    let sent = 0;
    const send = (f: number) => {
      const rects = f === 0 ? [{ x: 0, y: 0, width: W, height: H }] : w.step(px, f);
      stampMarker(px, rects[0]!.x, rects[0]!.y, f);
      for (const r of rects) {
        fed.feeder.stdin!.write(frameBytes(px, r));
        sent++;
      }
    };
    send(0);
    const client = await startClient(fed.port, first.x, first.y);
    stops.unshift(client.stop);
    const period = 1000 / w.fps;
    let offered = 0;
    const pump = (async () => {
      for (let f = 1; running; f++) {
        const due = performance.now() + period;
        send(f);
        offered++;
        while (acked < sent && running && !died) await new Promise<void>((r) => (wake = r));
        const left = due - performance.now();
        if (left > 0) await new Promise((r) => setTimeout(r, left));
      }
    })();
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const [r0, c0, o0, t0] = [await client.report(), cpuMs(fed.pid) ?? 0, offered, performance.now()];
    await new Promise((r) => setTimeout(r, rowMs));
    const [r1, c1, o1] = [await client.report(), cpuMs(fed.pid) ?? 0, offered];
    const secs = (performance.now() - t0) / 1000;
    running = false;
    wake?.();
    await pump;
    if (died) throw new Error(died);
    const frames = r1.frames - r0.frames;
    return {
      offeredFps: (o1 - o0) / secs,
      fps: frames / secs,
      mbps: (r1.bytes - r0.bytes) / secs / 1e6,
      cpuPct: (c1 - c0) / 10 / secs,
      cpuMsPerFrame: frames > 0 ? (c1 - c0) / frames : NaN,
    };
  } finally {
    running = false; // the pump ends at its next turn (a failed report leaves it going otherwise)
    wake?.();
    for (const stop of stops) await stop();
  }
}

/** Install what the rows need (root), build the X client; returns its path. */
export function prepareSideBySide(say: (line: string) => void): string {
  ensureDebianPackages(SIDE_BY_SIDE_PACKAGES, say);
  return compileC(DRAWER, 'x11', path.join(cacheDir(), 'bin'));
}

/** Every workload, servers interleaved, `runs` times; prints medians. */
export async function sideBySide(workloads: readonly Workload[], runs: number, rowMs: number, say: (line: string) => void): Promise<void> {
  const drawer = prepareSideBySide(say);
  say(
    `\nSide by side with spice-server (Debian Xspice), the same frames fed to both, one spice-gtk client (SpiceClientGLib) ` +
      `counting the frames it shows; medians of ${runs} interleaved runs of ${rowMs / 1000} s`,
  );
  say('workload                        server   offered fps  frames/s at client  MB/s on the wire  server CPU %  CPU ms/frame');
  for (const w of workloads) {
    const results: Record<ServerName, RowResult[]> = { xenvfb: [], xspice: [] };
    for (let i = 0; i < runs; i++) {
      for (const s of ['xenvfb', 'xspice'] as const) {
        try {
          results[s].push(await sideBySideRow(w, s, rowMs, drawer));
        } catch (e) {
          say(`  ${w.name} / ${s}: ${(e as Error).message}`);
        }
      }
    }
    for (const s of ['xenvfb', 'xspice'] as const) {
      const rs = results[s];
      if (rs.length === 0) continue;
      const m = (k: keyof RowResult) => median(rs.map((r) => r[k]));
      say(
        `${w.name.padEnd(32)}${s.padEnd(9)}${m('offeredFps').toFixed(1).padStart(12)}${m('fps').toFixed(1).padStart(20)}` +
          `${m('mbps').toFixed(1).padStart(18)}${m('cpuPct').toFixed(0).padStart(14)}${m('cpuMsPerFrame').toFixed(1).padStart(14)}`,
      );
    }
  }
}
