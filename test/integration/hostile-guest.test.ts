// The vfb backend against a guest that sends garbage: out-of-range UPDATE rects, unknown
// events, an overflowing ring, an impossible framebuffer geometry. Guest and backend run in
// this process here (each with its own platform and xenstore connection, as separate
// processes would), so the test can look at the backend's counters and logs.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { addDevice } from '../../shared/platform/sim/toolstack';
import { createSimPlatform, type SimPlatform } from '../../shared/platform/sim/platform';
import { DomainBackend } from '../../backend/daemon';
import { DemoGuest } from '../../frontend/demo-guest';
import { XenbusFrontendDevice } from '../../frontend/xenbus-frontend';
import { VfbFrontend } from '../../frontend/vfb-frontend';
import { FbPageOffsets, XENFB_OUT_RING_LEN } from '../../shared/fbif';
import { captureLogger, type CapturedLog } from '../helpers/capture-logger';
import type { Rect } from '../../shared/region';

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function slot(type: number, fields: [number, number][]): Uint8Array {
  const b = Buffer.alloc(40);
  b[0] = type;
  for (const [off, v] of fields) b.writeInt32LE(v, off);
  return b;
}

describe('vfb backend with a hostile guest', function () {
  this.timeout(30000);
  let dir: string;
  let hv: SimHypervisor;
  let p0: SimPlatform;
  let p1: SimPlatform;
  let backend: DomainBackend;
  let guest: DemoGuest;
  let logs: CapturedLog;
  const damage: Rect[][] = [];

  before(async function () {
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-hostile-'));
    hv = await SimHypervisor.start({ dir });
    await hv.createDomain(1, { name: 'hostile', memoryMiB: 16 });
    await addDevice(hv.xenstore, { kind: 'vfb', domid: 1, devid: 0 });
    await addDevice(hv.xenstore, { kind: 'vkbd', domid: 1, devid: 0 });
    p0 = await createSimPlatform({ dir, domid: 0 });
    p1 = await createSimPlatform({ dir, domid: 1 });
    logs = captureLogger();
    // refineDamage off: these tests check the damage the device forwards (clipped, full refresh), unrefined.
    backend = new DomainBackend(p0, { domid: 1, vnc: null, refineDamage: false, log: logs.logger });
    await backend.start();
    backend.display.on('damage', (rects: Rect[]) => damage.push(rects));
    guest = await DemoGuest.start(p1, { workload: 'pattern', log: logs.logger });
    await until(() => backend.vfbs.get(0) !== undefined && backend.display.surface() !== null, 'backend mapped the framebuffer');
    await until(async () => (await hv.xenstore.tryRead('/local/domain/1/device/vfb/0/state')) === '4', 'frontend connected');
    guest.workload.stop();
  });

  after(async function () {
    await guest?.stop().catch(() => undefined);
    await backend?.stop();
    await p1?.close();
    await p0?.close();
    await hv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('clips an out-of-range UPDATE, logs it, and stays connected', async function () {
    const vfb = backend.vfbs.get(0)!;
    const before = vfb.stats.clipped;
    damage.length = 0;
    assert.ok(
      guest.vfb.sendRawEvent(
        slot(2, [
          [4, -50],
          [8, 10],
          [12, 100000],
          [16, 5],
        ]),
      ),
    );
    await until(() => vfb.stats.clipped > before, 'clipped counter');
    await until(() => damage.length > 0, 'damage delivered');
    const s = backend.display.surface()!;
    for (const r of damage.flat()) {
      assert.ok(r.x >= 0 && r.y >= 0 && r.x + r.width <= s.width && r.y + r.height <= s.height, JSON.stringify(r));
    }
    assert.deepEqual(damage.flat()[0], { x: 0, y: 10, width: s.width, height: 5 });
    assert.ok(
      logs.lines.some((l) => l.level === 'warn' && /clipped/.test(l.msg)),
      'a warning was logged',
    );
    assert.equal(await hv.xenstore.read('/local/domain/0/backend/vfb/1/0/state'), '4');
  });

  it('ignores unknown event types and integer-overflowing rects', async function () {
    const vfb = backend.vfbs.get(0)!;
    const bad = vfb.stats.badEvents;
    const clipped = vfb.stats.clipped;
    guest.vfb.sendRawEvent(slot(99, []));
    guest.vfb.sendRawEvent(
      slot(2, [
        [4, 0x7fffffff],
        [8, 0x7fffffff],
        [12, 0x7fffffff],
        [16, 0x7fffffff],
      ]),
    );
    await until(() => vfb.stats.badEvents > bad && vfb.stats.clipped > clipped, 'both counted');
    assert.equal(await hv.xenstore.read('/local/domain/0/backend/vfb/1/0/state'), '4');
  });

  it('turns an impossible ring producer into a full refresh', async function () {
    const vfb = backend.vfbs.get(0)!;
    const overflows = vfb.stats.overflows;
    damage.length = 0;
    const page = new DataView(guest.vfb.sharedPage.buffer, guest.vfb.sharedPage.byteOffset);
    const cons = page.getUint32(FbPageOffsets.outCons, true);
    page.setUint32(FbPageOffsets.outProd, (cons + XENFB_OUT_RING_LEN + 7) >>> 0, true);
    guest.vfb.kick();
    await until(() => vfb.stats.overflows > overflows, 'overflow counted');
    const s = backend.display.surface()!;
    await until(() => damage.flat().some((r) => r.width === s.width && r.height === s.height), 'full refresh');
  });

  it('refuses a framebuffer whose geometry does not fit its memory, without crashing', async function () {
    await hv.createDomain(2, { name: 'liar', memoryMiB: 16 });
    await addDevice(hv.xenstore, { kind: 'vfb', domid: 2, devid: 0 });
    const logs2 = captureLogger();
    const be2 = new DomainBackend(p0, { domid: 2, vnc: null, log: logs2.logger });
    await be2.start();
    const p2 = await createSimPlatform({ dir, domid: 2 });
    const liar = new VfbFrontend(p2.memory!, 64, 64);
    const ops = {
      kind: 'vfb',
      connect: async (ctx: Parameters<VfbFrontend['connect']>[0]) => {
        const nodes = await liar.connect(ctx);
        // Claim a 4096x4096 screen in a 16 KiB framebuffer.
        const page = new DataView(liar.sharedPage.buffer, liar.sharedPage.byteOffset);
        page.setInt32(FbPageOffsets.width, 4096, true);
        page.setInt32(FbPageOffsets.height, 4096, true);
        page.setUint32(FbPageOffsets.lineLength, 4096 * 4, true);
        return nodes;
      },
      disconnect: () => liar.disconnect(),
    };
    const xs2 = await p2.xenstore();
    const dev = await XenbusFrontendDevice.open(xs2, p2, ops, 0, logs2.logger);
    try {
      await until(() => logs2.lines.some((l) => l.level === 'error' && /cannot connect/.test(l.msg)), 'backend refused');
      assert.equal(await hv.xenstore.read('/local/domain/0/backend/vfb/2/0/state'), '2', 'backend stays in InitWait');
      assert.equal(be2.display.surface(), null);
      const err = logs2.lines.find((l) => /cannot connect/.test(l.msg))!;
      assert.match(String(err.obj.code), /^FB_E_/);
    } finally {
      await dev.close();
      await be2.stop();
      await p2.close();
    }
  });
});
