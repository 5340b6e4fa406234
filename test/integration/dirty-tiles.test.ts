// The dirty-tile extension wired end to end on the simulator (docs/dirty-tiles.md §2):
// negotiation both ways, the grant-based framebuffer, idle costing nothing on either side,
// the first mark after idle, and a restarted backend re-attaching to a running guest's page.
// Guest and backend run in this process, each with its own platform and xenstore connection.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { addDevice } from '../../shared/platform/sim/toolstack';
import { createSimPlatform, type SimPlatform } from '../../shared/platform/sim/platform';
import { DomainBackend } from '../../backend/daemon';
import { DemoGuest } from '../../frontend/demo-guest';
import type { VfbFrontendOptions } from '../../frontend/vfb-frontend';
import { readTileHeader } from '../../shared/dirty-tiles/page';
import { captureLogger } from '../helpers/capture-logger';
import type { Rect } from '../../shared/region';

const PERIOD_MS = 20;

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function covers(rects: readonly Rect[], want: Rect): boolean {
  return rects.some(
    (r) => r.x <= want.x && r.y <= want.y && r.x + r.width >= want.x + want.width && r.y + r.height >= want.y + want.height,
  );
}

interface Pair {
  domid: number;
  guestPlatform: SimPlatform;
  backend: DomainBackend;
  guest: DemoGuest;
  damage: Rect[][];
}

describe('dirty tiles end to end (sim, in process)', function () {
  this.timeout(30000);
  let dir: string;
  let hv: SimHypervisor;
  let p0: SimPlatform;
  const pairs: Pair[] = [];
  let nextDomid = 1;

  before(async function () {
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-dt-'));
    hv = await SimHypervisor.start({ dir });
    p0 = await createSimPlatform({ dir, domid: 0 });
    // One event-channel connection serves every backend of this file.
    (await p0.eventChannels()).setMaxListeners(50);
  });

  after(async function () {
    for (const p of pairs) {
      await p.guest.stop().catch(() => undefined);
      await p.backend.stop().catch(() => undefined);
      await p.guestPlatform.close().catch(() => undefined);
    }
    await p0?.close();
    await hv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function startBackend(domid: number, dirtyTiles = true, periodMs = PERIOD_MS): DomainBackend {
    // refineDamage off: these tests watch the tile path's own damage, not the shadow's verdict on it.
    return new DomainBackend(p0, {
      domid,
      vnc: null,
      dirtyTiles,
      tilePeriodMs: periodMs,
      refineDamage: false,
      log: captureLogger().logger,
    });
  }

  async function connected(pair: Pair): Promise<void> {
    await until(
      () => pair.backend.vfbs.get(0)?.tileStats !== undefined && pair.backend.display.surface() !== null,
      'backend mapped the fb',
    );
    await until(async () => (await hv.xenstore.tryRead(`/local/domain/${pair.domid}/device/vfb/0/state`)) === '4', 'frontend connected');
    await until(async () => (await hv.xenstore.tryRead(`/local/domain/0/backend/vfb/${pair.domid}/0/state`)) === '4', 'backend connected');
    // backendConnected (the frontend reads request-dirty-tiles) runs right after both are 4.
    await sleep(50);
  }

  async function startPair(opts: { backendTiles?: boolean; vfb?: VfbFrontendOptions; periodMs?: number } = {}): Promise<Pair> {
    const domid = nextDomid++;
    await hv.createDomain(domid, { name: `dt-${domid}`, memoryMiB: 16 });
    await addDevice(hv.xenstore, { kind: 'vfb', domid, devid: 0 });
    await addDevice(hv.xenstore, { kind: 'vkbd', domid, devid: 0 });
    const backend = startBackend(domid, opts.backendTiles ?? true, opts.periodMs);
    await backend.start();
    const guestPlatform = await createSimPlatform({ dir, domid });
    const guest = await DemoGuest.start(guestPlatform, { workload: 'pattern', log: captureLogger().logger, vfb: opts.vfb });
    const pair: Pair = { domid, guestPlatform, backend, guest, damage: [] };
    pairs.push(pair);
    guest.workload.stop();
    backend.display.on('damage', (rects: Rect[]) => pair.damage.push(rects));
    await connected(pair);
    guest.workload.stop();
    return pair;
  }

  /** Draw a rect of `colour` in the guest and report it; resolves with the damage latency. */
  async function drawAndSee(pair: Pair, rect: Rect, colour: number): Promise<number> {
    const fb = pair.guest.vfb;
    const px = new Uint32Array(fb.data.buffer, fb.data.byteOffset, fb.data.byteLength / 4);
    for (let y = rect.y; y < rect.y + rect.height; y++)
      px.fill(colour, (y * fb.stride) / 4 + rect.x, (y * fb.stride) / 4 + rect.x + rect.width);
    pair.damage.length = 0;
    const t0 = performance.now();
    fb.damage(rect);
    await until(() => pair.damage.some((d) => covers(d, rect)), `damage for ${JSON.stringify(rect)}`, 5000);
    const latency = performance.now() - t0;
    // The backend's mapping shows the guest's pixels: the pages it mapped are the right ones.
    const s = pair.backend.display.surface()!;
    const view = new DataView(s.data.buffer, s.data.byteOffset, s.data.byteLength);
    assert.equal(view.getUint32(rect.y * s.stride + rect.x * 4, true) & 0xffffff, colour & 0xffffff);
    return latency;
  }

  const feNode = (p: Pair, k: string) => hv.xenstore.tryRead(`/local/domain/${p.domid}/device/vfb/0/${k}`);
  const beNode = (p: Pair, k: string) => hv.xenstore.tryRead(`/local/domain/0/backend/vfb/${p.domid}/0/${k}`);

  it('both sides on: grant-fb + dirty tiles negotiated, damage goes through the tile page', async function () {
    const p = await startPair();
    assert.equal(await beNode(p, 'feature-dirty-tiles'), '1');
    assert.equal(await beNode(p, 'feature-grant-fb'), '1');
    assert.equal(await feNode(p, 'grant-fb'), '1');
    assert.match((await feNode(p, 'page-gref')) ?? '', /^\d+$/);
    assert.equal(await feNode(p, 'page-ref'), undefined);
    assert.match((await feNode(p, 'dirty-tiles-gref')) ?? '', /^\d+$/);
    assert.equal(await beNode(p, 'request-dirty-tiles'), '1');
    const vfb = p.backend.vfbs.get(0)!;
    assert.ok(vfb.grantFb && vfb.dirtyTiles && p.guest.vfb.dirtyTiles);
    const updates = vfb.stats.updates;
    await drawAndSee(p, { x: 10, y: 20, width: 30, height: 40 }, 0x123456);
    await drawAndSee(p, { x: p.guest.vfb.width - 5, y: p.guest.vfb.height - 3, width: 5, height: 3 }, 0xabcdef);
    assert.equal(vfb.stats.updates, updates, 'no UPDATE events on the tile path');
    assert.ok(p.guest.vfb.stats.marks >= 2);
    assert.ok(vfb.tileStats!.tiles > 0 && vfb.tileStats!.rects > 0);
  });

  it('frontend without dirty tiles: UPDATE events (grant-fb still on)', async function () {
    const p = await startPair({ vfb: { dirtyTiles: false } });
    assert.equal(await feNode(p, 'dirty-tiles-gref'), undefined);
    assert.equal(await beNode(p, 'request-dirty-tiles'), undefined);
    const vfb = p.backend.vfbs.get(0)!;
    assert.ok(vfb.grantFb && !vfb.dirtyTiles && !p.guest.vfb.dirtyTiles);
    assert.equal(vfb.tileStats, null);
    const updates = vfb.stats.updates;
    const acks = vfb.stats.acks;
    await drawAndSee(p, { x: 1, y: 2, width: 3, height: 4 }, 0x00ff00);
    assert.ok(vfb.stats.updates > updates);
    assert.ok(vfb.stats.acks > acks, 'a pass that consumed UPDATE events notifies the frontend back');
  });

  it('backend without the feature: the frontend keeps sending UPDATE events', async function () {
    const p = await startPair({ backendTiles: false });
    assert.equal(await beNode(p, 'feature-dirty-tiles'), undefined);
    assert.equal(await feNode(p, 'dirty-tiles-gref'), undefined);
    const vfb = p.backend.vfbs.get(0)!;
    assert.ok(!vfb.dirtyTiles && !p.guest.vfb.dirtyTiles);
    const updates = vfb.stats.updates;
    await drawAndSee(p, { x: 7, y: 7, width: 9, height: 9 }, 0xff0000);
    assert.ok(vfb.stats.updates > updates);
  });

  it('stock frontend (no grant-fb): frames are foreign-mapped, tiles still work', async function () {
    const p = await startPair({ vfb: { grantFb: false } });
    assert.equal(await feNode(p, 'grant-fb'), undefined);
    assert.match((await feNode(p, 'page-ref')) ?? '', /^\d+$/);
    const vfb = p.backend.vfbs.get(0)!;
    assert.ok(!vfb.grantFb && vfb.dirtyTiles);
    await drawAndSee(p, { x: 100, y: 50, width: 20, height: 20 }, 0x0000ff);
  });

  it('idle: nothing runs on either side while the screen is still; the first mark wakes both within a period', async function () {
    const p = await startPair();
    const vfb = p.backend.vfbs.get(0)!;
    // 30 empty scans of PERIOD_MS, then the frontend's timer stops at its next tick.
    await until(() => !vfb.tileTimerRunning && !p.guest.vfb.tileSwitcher!.running, 'both sides idle', 5000);
    const ticks = vfb.tileStats!.timerTicks;
    const scans = vfb.tileStats!.scans;
    const switches = p.guest.vfb.tileSwitcher!.switches;
    const notifies = vfb.tileStats!.notifiesReceived;
    await sleep(1000);
    assert.equal(vfb.tileStats!.timerTicks, ticks, 'backend scan timer stayed still');
    assert.equal(vfb.tileStats!.scans, scans);
    assert.equal(vfb.tileStats!.notifiesReceived, notifies);
    assert.equal(p.guest.vfb.tileSwitcher!.switches, switches, 'frontend switcher stayed still');
    assert.equal(readTileHeader(tilePageOf(p)).periodMs, 0);
    const wakeups = vfb.tileStats!.wakeups;
    const ticksBefore = vfb.tileStats!.timerTicks;
    const latency = await drawAndSee(p, { x: 40, y: 40, width: 8, height: 8 }, 0x777777);
    // "Within one period" counted in scan-timer ticks rather than milliseconds, so a loaded
    // host cannot fail it: the wake restarts the timer and its first tick delivers the mark
    // (one more tick is allowed for a late round trip). The time is printed; bench:dirty
    // measures it properly.
    const wakeTicks = vfb.tileStats!.timerTicks - ticksBefore;
    console.log(`      first mark after idle: ${latency.toFixed(1)} ms, ${wakeTicks} scan tick(s) (period ${PERIOD_MS} ms)`);
    assert.ok(wakeTicks <= 2, `first mark after idle needed ${wakeTicks} scan ticks (${latency.toFixed(1)} ms)`);
    assert.equal(vfb.tileStats!.wakeups, wakeups + 1);
    assert.equal(p.guest.vfb.stats.wokeNotifies >= 1, true);
    assert.ok(vfb.tileTimerRunning, 'scanning again after the wake-up');
  });

  it('paced (r8): while active, a mark reaches the display within one period of when it was made', async function () {
    const p = await startPair({ vfb: { tileSwitchOnMark: false } });
    assert.equal(await feNode(p, 'dirty-tiles-switch-on-mark'), undefined);
    assert.equal(await beNode(p, 'dirty-tiles-paced'), '1');
    assert.equal(p.guest.vfb.tileSwitcher!.paced, true);
    assert.equal(p.guest.vfb.tileSwitcher!.running, false, 'no switch timer in the guest');
    const lat: number[] = [];
    const ticks: number[] = [];
    let seed = 99;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    const vfb = p.backend.vfbs.get(0)!;
    const acks = vfb.stats.acks;
    for (let i = 0; i < 24; i++) {
      const before = vfb.tileStats!.timerTicks;
      lat.push(await drawAndSee(p, { x: 8 * rnd(70), y: 8 * rnd(50), width: 8, height: 8 }, 0x010101 * (i + 1)));
      ticks.push(vfb.tileStats!.timerTicks - before);
      await sleep(rnd(PERIOD_MS));
    }
    lat.sort((a, b) => a - b);
    ticks.sort((a, b) => a - b);
    // Independent timers (v1) wait for the frontend's switch and then the backend's scan: up
    // to two scan ticks. Paced: the next tick plus a round trip, so at most one tick for the
    // typical mark. Counted in ticks so load cannot fail it; milliseconds are printed.
    console.log(`      paced latency ms: median ${lat[lat.length >> 1]!.toFixed(1)}, max ${lat.at(-1)!.toFixed(1)} (period ${PERIOD_MS})`);
    assert.ok(ticks[ticks.length >> 1]! <= 1, `median scan ticks per mark ${ticks[ticks.length >> 1]}: ${ticks.join(' ')}`);
    const stats = p.backend.vfbs.get(0)!.tileStats!;
    assert.ok(stats.pacedSwitches > 0 && stats.garbage === 0, JSON.stringify(stats));
    // The frontend's switch answers carry no ring events: they are not acknowledged (an ack
    // per answer woke the guest once a period for nothing).
    assert.ok(stats.notifiesReceived > 0, JSON.stringify(stats));
    assert.equal(vfb.stats.acks - acks, 0, JSON.stringify(vfb.stats));
    assert.equal(stats.markRequests, 0, 'the frontend did not offer switch-on-mark');
  });

  it('switch on mark (r9): every mark reaches the display by its own switch, not by a scan tick', async function () {
    // A 2 s scan period: marks that waited for ticks would need 24 of them.
    const slowTick = 2000;
    const p = await startPair({ periodMs: slowTick });
    assert.equal(await feNode(p, 'dirty-tiles-switch-on-mark'), '1');
    const vfb = p.backend.vfbs.get(0)!;
    const switcher = p.guest.vfb.tileSwitcher!;
    const lat: number[] = [];
    const before = { ...vfb.tileStats! };
    let seed = 7;
    const rnd = (n: number) => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n;
    for (let i = 0; i < 24; i++) {
      const switches = switcher.markSwitches;
      lat.push(await drawAndSee(p, { x: 8 * rnd(70), y: 8 * rnd(50), width: 8, height: 8 }, 0x030201 * (i + 1)));
      // The backend had set bit 2 after its last scan: this mark took it and switched.
      assert.equal(switcher.markSwitches - switches, 1, `draw ${i}: one switch on mark`);
      await sleep(rnd(PERIOD_MS));
    }
    lat.sort((a, b) => a - b);
    console.log(
      `      switch-on-mark latency ms: median ${lat[lat.length >> 1]!.toFixed(1)}, max ${lat.at(-1)!.toFixed(1)} (scan period ${slowTick})`,
    );
    const stats = vfb.tileStats!;
    assert.ok(stats.timerTicks - before.timerTicks < 12, `${stats.timerTicks - before.timerTicks} scan ticks for 24 marks`);
    assert.ok(stats.notifyScans - before.notifyScans >= 24, JSON.stringify(stats));
    assert.ok(stats.markRequests - before.markRequests >= 24 && stats.garbage === 0, JSON.stringify(stats));
    assert.equal(stats.pacedSwitches, before.pacedSwitches, 'no tick had to ask for a switch');
  });

  it('a restarted backend re-attaches to the running page without losing damage', async function () {
    const p = await startPair();
    await drawAndSee(p, { x: 0, y: 0, width: 16, height: 16 }, 0x101010);
    const page = p.guest.vfb.sharedFrames.tilePage;
    assert.ok(page !== undefined);
    const tilesGref = await feNode(p, 'dirty-tiles-gref');
    await p.backend.stop();
    // Drawn while no backend runs: the page was left idle, so the mark sets WOKE.
    const fb = p.guest.vfb;
    const px = new Uint32Array(fb.data.buffer, fb.data.byteOffset, fb.data.byteLength / 4);
    px[(60 * fb.stride) / 4 + 60] = 0x00c0ffee;
    fb.damage({ x: 60, y: 60, width: 1, height: 1 });
    const header = readTileHeader(tilePageOf(p));
    p.backend = startBackend(p.domid);
    p.damage.length = 0;
    p.backend.display.on('damage', (rects: Rect[]) => p.damage.push(rects));
    await p.backend.start();
    await until(() => p.backend.vfbs.get(0)?.dirtyTiles === true && p.backend.display.surface() !== null, 're-attached with tiles');
    const s = p.backend.display.surface()!;
    await until(() => p.damage.some((d) => covers(d, { x: 0, y: 0, width: s.width, height: s.height })), 'full refresh at re-attach');
    // Not just the full refresh: the tile marked while detached is drained from the page.
    const isFull = (r: Rect) => r.width === s.width && r.height === s.height;
    await until(
      () => p.damage.some((d) => !d.some(isFull) && covers(d, { x: 60, y: 60, width: 1, height: 1 })),
      'the mark made while detached',
    );
    assert.equal(await feNode(p, 'dirty-tiles-gref'), tilesGref, 'same page, not renegotiated');
    await until(() => readTileHeader(tilePageOf(p)).generation !== header.generation, 'the frontend switched for the new backend');
    const after = readTileHeader(tilePageOf(p));
    assert.deepEqual([after.cols, after.rows, after.tileW, after.tileH], [header.cols, header.rows, header.tileW, header.tileH]);
    const moved = after.generation - header.generation;
    assert.ok(
      moved >= 1 && moved < 1000,
      `the page kept its generation (not re-initialised) and switched on: ${header.generation} -> ${after.generation}`,
    );
    await drawAndSee(p, { x: 30, y: 70, width: 10, height: 10 }, 0x203040);
  });

  function tilePageOf(p: Pair): Uint8Array {
    const page = p.guest.vfb.tilePageBytes;
    assert.ok(page, 'the guest has a tile page');
    return page;
  }
});
