// The demo's terminal workload scrolls its log with copyWithin (as fbcon does); through the
// real backend (DomainBackend on the simulated hypervisor, dirty tiles, shadow refinement on
// by default) a CopyRect-capable client (libvncclient "copyrect raw") must get CopyRects, as
// the VNC server's per-client stats show. Missing libvncclient makes it pending.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DomainBackend } from '../../backend/daemon';
import { DemoGuest } from '../../frontend/demo-guest';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { createSimPlatform, type SimPlatform } from '../../shared/platform/sim/platform';
import { addDevice } from '../../shared/platform/sim/toolstack';
import { captureLogger } from '../helpers/capture-logger';
import { buildVncSnap, runSnap } from '../helpers/libvncclient';

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('clients/libvncclient: demo terminal workload sends CopyRect', function () {
  this.timeout(60000);
  let dir = '';

  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('the scrolling log reaches a CopyRect client as CopyRect rects', async function () {
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-termcopy-'));
    const built = buildVncSnap(dir);
    if ('missing' in built) {
      console.log(`      pending: ${built.missing}`);
      this.skip();
    }
    const hv = await SimHypervisor.start({ dir });
    let p0: SimPlatform | undefined;
    let p1: SimPlatform | undefined;
    let backend: DomainBackend | undefined;
    let guest: DemoGuest | undefined;
    try {
      await hv.createDomain(1, { name: 'terminal', memoryMiB: 16 });
      await addDevice(hv.xenstore, { kind: 'vfb', domid: 1, devid: 0 });
      await addDevice(hv.xenstore, { kind: 'vkbd', domid: 1, devid: 0 });
      p0 = await createSimPlatform({ dir, domid: 0 });
      p1 = await createSimPlatform({ dir, domid: 1 });
      const logs = captureLogger();
      backend = new DomainBackend(p0, { domid: 1, vnc: { host: '127.0.0.1', port: 0 }, log: logs.logger });
      await backend.start();
      guest = await DemoGuest.start(p1, { workload: 'terminal', log: logs.logger });
      const b = backend;
      await until(() => b.display.surface() !== null, 'backend mapped the framebuffer');
      const port = b.vncAddress!.port;
      const out = path.join(dir, 'terminal.ppm');
      const snapDone = runSnap([built.bin, '127.0.0.1', String(port), 'copyrect raw', '-1', '-1', '100000', '100000', out], 40000);
      const copyRects = (): number => b.vnc!.clients()[0]?.session.encoders.CopyRect?.rects ?? 0;
      await until(() => copyRects() >= 3, 'three CopyRects sent', 30000);
      assert.ok(b.display.stats.copies >= 3, `copy hints: ${b.display.stats.copies}`);
      await backend.stop();
      backend = undefined;
      await snapDone;
    } finally {
      await guest?.stop().catch(() => undefined);
      await backend?.stop();
      await p1?.close();
      await p0?.close();
      await hv.stop();
    }
  });
});
