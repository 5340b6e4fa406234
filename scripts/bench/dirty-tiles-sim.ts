// The end-to-end half of `npm run bench:dirty`: the simulator in this process, our backend
// (with its VNC server) and our frontend, tile path against UPDATE path.
//   - damage -> client latency per workload (typing, scrolling terminal, video-like, window
//     drag at 640x480): frames drawn open loop at jittered intervals, each frame's rects
//     painted with the frame's own colour; a frame counts as seen when a VNC client (Raw,
//     incremental requests) shows that frame or a later one at every rect's probe pixel;
//   - rectangles and bytes the client received per second during that run, and the event
//     channel notifies per second the tile path spent (its switch round trips);
//   - CPU of N idle domains (backend + frontend each) over a window, process.cpuUsage.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { addDevice } from '../../shared/platform/sim/toolstack';
import { createSimPlatform, type SimPlatform } from '../../shared/platform/sim/platform';
import { DomainBackend } from '../../backend/daemon';
import { XenbusFrontendDevice } from '../../frontend/xenbus-frontend';
import { VfbFrontend } from '../../frontend/vfb-frontend';
import { createLogger } from '../../shared/log';
import type { Rect } from '../../shared/region';
import { TinyRfbClient } from '../../test/helpers/rfb-client';

const W = 640;
const H = 480;
const log = createLogger({ name: 'bench', level: 'error' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Guest {
  platform: SimPlatform;
  vfb: VfbFrontend;
  dev: XenbusFrontendDevice;
  backend: DomainBackend;
}

export interface LatencyResult {
  p50: number;
  p99: number;
  /** Frames never seen by the client (must be 0: lossless). */
  unseen: number;
  rectsPerS: number;
  bytesPerS: number;
  /** Tile path: event-channel notifies per second, both directions (0 on the UPDATE path). */
  notifiesPerS: number;
}

/**
 * How a guest is wired:
 *  - tiles: dirty tiles as they ship: the backend paces switches (docs/dirty-tiles.md §4.7,
 *    r8) and asks to hear of each next mark (§4.8, r9);
 *  - tiles-r8: paced by the backend's tick alone (before r9);
 *  - tiles-v1: dirty tiles, frontend switch timer and backend scan timer at independent
 *    phases (the behaviour before r8);
 *  - tiles-v1-guest: our backend pacing a v1 frontend that still runs its own timer;
 *  - update: UPDATE events at the refresh period given (the backend's default is 20 ms).
 */
export type PathMode = 'tiles' | 'tiles-r8' | 'tiles-v1' | 'tiles-v1-guest' | 'update';

/** One frame of a workload at 640x480: the rects it redraws. */
export type SimWorkload = { name: string; frame: (i: number) => Rect[]; intervalMs: (rnd: (n: number) => number) => number };

export const SIM_WORKLOADS: SimWorkload[] = [
  // a character cell near a cursor walking along a line, the cursor drawn every other key
  {
    name: 'typing',
    frame: (i) => [
      { x: 8 * (i % 78), y: 100 + 16 * (Math.floor(i / 78) % 20), width: 8, height: 16 },
      ...(i % 2 ? [] : [{ x: 8 * (i % 78) + 8, y: 100 + 16 * (Math.floor(i / 78) % 20), width: 2, height: 16 }]),
    ],
    intervalMs: (rnd) => 15 + rnd(30),
  },
  // a terminal printing fast: 3 full-width 16 px line bands + the status line
  {
    name: 'scrolling terminal',
    frame: (i) =>
      [0, 1, 2]
        .map((k) => ({ x: 0, y: 16 * ((i * 3 + k * 7) % 28), width: W, height: 16 }))
        .concat([{ x: 0, y: H - 16, width: W, height: 16 }]),
    intervalMs: (rnd) => 6 + rnd(12),
  },
  // a 284x160 video at about 30 frames a second, plus its progress bar
  {
    name: 'video-like',
    frame: () => [
      { x: 178, y: 100, width: 284, height: 160 },
      { x: 178, y: 264, width: 284, height: 2 },
    ],
    intervalMs: (rnd) => 31 + rnd(5),
  },
  // a 134x100 window dragged diagonally at mouse rate: old and new positions
  {
    name: 'window drag',
    frame: (i) => {
      const at = (q: number): Rect => ({ x: (q * 3) % (W - 134), y: (q * 2) % (H - 100), width: 134, height: 100 });
      return [at(i), at(i + 1)];
    },
    intervalMs: (rnd) => 12 + rnd(8),
  },
];

class SimHost {
  private constructor(
    readonly dir: string,
    readonly hv: SimHypervisor,
    readonly p0: SimPlatform,
  ) {}

  static async start(): Promise<SimHost> {
    const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-bench-'));
    const hv = await SimHypervisor.start({ dir });
    const p0 = await createSimPlatform({ dir, domid: 0 });
    (await p0.eventChannels()).setMaxListeners(0);
    return new SimHost(dir, hv, p0);
  }

  async guest(domid: number, mode: PathMode, periodMs: number, vnc: boolean): Promise<Guest> {
    const tiles = mode !== 'update';
    await this.hv.createDomain(domid, { name: `bench-${domid}`, memoryMiB: 8 });
    await addDevice(this.hv.xenstore, { kind: 'vfb', domid, devid: 0 });
    const backend = new DomainBackend(this.p0, {
      domid,
      vnc: vnc ? { host: '127.0.0.1', port: 0 } : null,
      tilePeriodMs: periodMs,
      tilePaced: mode !== 'tiles-v1',
      refreshPeriodMs: periodMs,
      log,
    });
    await backend.start();
    const platform = await createSimPlatform({ dir: this.dir, domid });
    const vfb = new VfbFrontend(platform.memory!, W, H, {
      dirtyTiles: tiles,
      tilePaced: mode === 'tiles' || mode === 'tiles-r8',
      tileSwitchOnMark: mode === 'tiles',
      maxWidth: W,
      maxHeight: H,
    });
    const dev = await XenbusFrontendDevice.open(await platform.xenstore(), platform, vfb, 0, log);
    await new Promise<void>((resolve) => dev.once('connected', () => resolve()));
    if (vfb.dirtyTiles !== tiles) throw new Error(`domain ${domid}: dirty tiles ${vfb.dirtyTiles}, wanted ${tiles}`);
    return { platform, vfb, dev, backend };
  }

  async stopGuest(g: Guest): Promise<void> {
    // Backend first: a frontend closing under it would start a reconcile we then cut short.
    await g.backend.stop();
    await g.dev.close();
    g.vfb.release();
    await g.platform.close();
  }

  async stop(): Promise<void> {
    await this.p0.close();
    await this.hv.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function fill(vfb: VfbFrontend, r: Rect, colour: number): void {
  const px = new Uint32Array(vfb.data.buffer, vfb.data.byteOffset, vfb.data.byteLength / 4);
  for (let y = r.y; y < r.y + r.height; y++) px.fill(colour, (y * vfb.stride) / 4 + r.x, (y * vfb.stride) / 4 + r.x + r.width);
}

/**
 * Damage -> VNC client latency of `frames` frames of `wl`, drawn open loop (the next frame
 * does not wait for the last one to be seen) at the workload's jittered intervals.
 */
export async function measureLatency(mode: PathMode, wl: SimWorkload, periodMs: number, frames: number): Promise<LatencyResult> {
  const host = await SimHost.start();
  const g = await host.guest(1, mode, periodMs, true);
  fill(g.vfb, { x: 0, y: 0, width: W, height: H }, 0);
  g.vfb.damage({ x: 0, y: 0, width: W, height: H });
  const client = await TinyRfbClient.connect('127.0.0.1', g.backend.vncAddress!.port);
  client.startUpdates();
  await sleep(300);
  const tileStats = () => g.backend.vfbs.get(0)?.tileStats;
  const notifies = () => (tileStats()?.notifiesSent ?? 0) + (tileStats()?.notifiesReceived ?? 0);
  const rects0 = client.rects;
  const bytes0 = client.bytes;
  const notifies0 = notifies();
  const t0 = performance.now();
  // Frame i is painted with colour i + 1 (the screen starts at 0): a probe showing a colour
  // >= i + 1 shows frame i or something drawn after it.
  const outstanding: Array<{ colour: number; probes: number[]; start: number }> = [];
  const lat: number[] = [];
  const check = () => {
    const now = performance.now();
    for (let k = outstanding.length - 1; k >= 0; k--) {
      const f = outstanding[k]!;
      if (f.probes.every((p) => client.fb[p]! >= f.colour)) {
        lat.push(now - f.start);
        outstanding.splice(k, 1);
      }
    }
  };
  client.onUpdate = check;
  let seed = 7;
  const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  for (let i = 0; i < frames; i++) {
    const colour = i + 1;
    const rects = wl.frame(i);
    for (const r of rects) fill(g.vfb, r, colour);
    outstanding.push({ colour, probes: rects.map((r) => r.y * W + r.x), start: performance.now() });
    for (const r of rects) g.vfb.damage(r);
    await sleep(wl.intervalMs(rnd));
  }
  const deadline = performance.now() + 2000;
  while (outstanding.length > 0 && performance.now() < deadline) await sleep(5);
  const secs = (performance.now() - t0) / 1000;
  const sorted = [...lat].sort((a, b) => a - b);
  const out: LatencyResult = {
    p50: sorted.length ? percentile(sorted, 50) : NaN,
    p99: sorted.length ? percentile(sorted, 99) : NaN,
    unseen: outstanding.length,
    rectsPerS: (client.rects - rects0) / secs,
    bytesPerS: (client.bytes - bytes0) / secs,
    notifiesPerS: (notifies() - notifies0) / secs,
  };
  client.onUpdate = undefined;
  client.close();
  await host.stopGuest(g);
  await host.stop();
  return out;
}

/** CPU (user + system ms per second of wall time) of `n` idle domains, over `windowMs`. */
export async function measureIdleCpu(mode: PathMode, n: number, periodMs: number, windowMs: number): Promise<number> {
  const host = await SimHost.start();
  const guests: Guest[] = [];
  for (let d = 1; d <= n; d++) guests.push(await host.guest(d, mode, periodMs, false));
  for (const g of guests) {
    fill(g.vfb, { x: 0, y: 0, width: W, height: H }, 0x336699);
    g.vfb.damage({ x: 0, y: 0, width: W, height: H });
  }
  // Let the first frame go out and the tile pages go idle (30 empty scans).
  await sleep(30 * periodMs + 1500);
  const before = process.cpuUsage();
  const t0 = performance.now();
  await sleep(windowMs);
  const used = process.cpuUsage(before);
  const wall = performance.now() - t0;
  for (const g of guests) await host.stopGuest(g);
  await host.stop();
  return (used.user + used.system) / 1000 / (wall / 1000);
}
