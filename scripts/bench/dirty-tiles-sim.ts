// The end-to-end half of `npm run bench:dirty`: the simulator in this process, our backend
// (with its VNC server) and our frontend, tile path against UPDATE path.
//   - damage -> client latency: a rectangle is drawn and reported, a VNC client (Raw,
//     incremental requests) sees its pixels; p50/p99 over many samples at random phases;
//   - rectangles and bytes the client received per second during that run;
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
  rectsPerS: number;
  bytesPerS: number;
}

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

  async guest(domid: number, tiles: boolean, periodMs: number, vnc: boolean): Promise<Guest> {
    await this.hv.createDomain(domid, { name: `bench-${domid}`, memoryMiB: 8 });
    await addDevice(this.hv.xenstore, { kind: 'vfb', domid, devid: 0 });
    const backend = new DomainBackend(this.p0, { domid, vnc: vnc ? { host: '127.0.0.1', port: 0 } : null, tilePeriodMs: periodMs, log });
    await backend.start();
    const platform = await createSimPlatform({ dir: this.dir, domid });
    const vfb = new VfbFrontend(platform.memory!, W, H, { dirtyTiles: tiles, maxWidth: W, maxHeight: H });
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

/** Damage -> VNC client latency: `samples` rectangles, each waited for, at random phases. */
export async function measureLatency(tiles: boolean, periodMs: number, samples: number): Promise<LatencyResult> {
  const host = await SimHost.start();
  const g = await host.guest(1, tiles, periodMs, true);
  const client = await TinyRfbClient.connect('127.0.0.1', g.backend.vncAddress!.port);
  client.startUpdates();
  await sleep(300);
  const rects0 = client.rects;
  const bytes0 = client.bytes;
  const t0 = performance.now();
  const lat: number[] = [];
  let seed = 7;
  const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
  for (let i = 0; i < samples; i++) {
    const r = { x: rnd(W - 32), y: rnd(H - 16), width: 8 + rnd(24), height: 4 + rnd(12) };
    const colour = (0x100000 + i * 7919) & 0xffffff;
    fill(g.vfb, r, colour);
    const start = performance.now();
    const seen = new Promise<void>((resolve) => {
      const check = () => {
        if (client.fb[r.y * W + r.x] === colour) {
          client.onUpdate = undefined;
          resolve();
        }
      };
      client.onUpdate = check;
    });
    g.vfb.damage(r);
    await seen;
    lat.push(performance.now() - start);
    await sleep(rnd(periodMs + 5));
  }
  const secs = (performance.now() - t0) / 1000;
  const out = {
    p50: percentile(
      [...lat].sort((a, b) => a - b),
      50,
    ),
    p99: percentile(
      [...lat].sort((a, b) => a - b),
      99,
    ),
    rectsPerS: (client.rects - rects0) / secs,
    bytesPerS: (client.bytes - bytes0) / secs,
  };
  client.close();
  await host.stopGuest(g);
  await host.stop();
  return out;
}

/** CPU (user + system ms per second of wall time) of `n` idle domains, over `windowMs`. */
export async function measureIdleCpu(tiles: boolean, n: number, periodMs: number, windowMs: number): Promise<number> {
  const host = await SimHost.start();
  const guests: Guest[] = [];
  for (let d = 1; d <= n; d++) guests.push(await host.guest(d, tiles, periodMs, false));
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
