// Issue 15 item 10: a backend that goes away must not leave xenstore advertising it, and a
// new backend for the domain takes over cleanly. `xenvfb backend` runs as a child process
// (SIGTERM is the real path); the simulated host and a demo guest run here.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { addDevice } from '../../shared/platform/sim/toolstack';
import { createSimPlatform, type SimPlatform } from '../../shared/platform/sim/platform';
import { DomainBackend } from '../../backend/daemon';
import { DemoGuest } from '../../frontend/demo-guest';
import { encodeFbOutEvent, XENFB_OUT_RING_LEN } from '../../shared/fbif';
import { captureLogger } from '../helpers/capture-logger';
import { XENVFB } from '../helpers/demo-process';

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('backend takeover: stale console nodes and device state (issue 15 item 10)', function () {
  this.timeout(60000);
  let dir: string;
  let hv: SimHypervisor;
  let p1: SimPlatform | undefined;
  let guest: DemoGuest | undefined;
  let child: ChildProcess | undefined;
  const backends: DomainBackend[] = [];
  const read = (p: string): Promise<string | undefined> => hv.xenstore.tryRead(p);

  before(async function () {
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-takeover-'));
    hv = await SimHypervisor.start({ dir });
    await hv.createDomain(1, { name: 'takeover', memoryMiB: 16 });
    await addDevice(hv.xenstore, { kind: 'vfb', domid: 1, devid: 0 });
    await addDevice(hv.xenstore, { kind: 'vkbd', domid: 1, devid: 0 });
  });

  after(async function () {
    child?.kill('SIGKILL');
    await guest?.stop().catch(() => undefined);
    for (const b of backends) await b.stop();
    await p1?.close();
    await hv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function startBackend(domid: number, vnc: boolean): Promise<DomainBackend> {
    const p0 = await createSimPlatform({ dir, domid: 0 });
    const b = new DomainBackend(p0, { domid, vnc: vnc ? { host: '127.0.0.1', port: 0 } : null, log: captureLogger().logger });
    backends.push(b);
    await b.start();
    return b;
  }

  it('a new backend removes the console nodes a dead backend left behind', async function () {
    // What a backend killed with SIGKILL leaves: its VNC port, which nobody serves now.
    await hv.xenstore.write('/local/domain/1/console/vnc-port', '5999');
    await hv.xenstore.write('/local/domain/1/console/vnc-listen', '127.0.0.1');
    await hv.xenstore.write('/local/domain/1/console/spice-port', '6999');
    const b = await startBackend(1, false);
    assert.equal(await read('/local/domain/1/console/vnc-port'), undefined);
    assert.equal(await read('/local/domain/1/console/vnc-listen'), undefined);
    assert.equal(await read('/local/domain/1/console/spice-port'), undefined);
    await b.stop();
    backends.splice(backends.indexOf(b), 1);
  });

  it('SIGTERM: the backend cleans what it wrote; the guest stays; a new backend connects to it', async function () {
    const be = '/local/domain/0/backend/vfb/1/0';
    child = spawn(process.execPath, [XENVFB, 'backend', '--domid', '1', '--sim-dir', dir, '--vnc', '127.0.0.1:0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', () => undefined);
    p1 = await createSimPlatform({ dir, domid: 1 });
    guest = await DemoGuest.start(p1, { workload: 'still', log: captureLogger().logger });
    await until(async () => (await read(`${be}/state`)) === '4' && (await read('/local/domain/1/device/vfb/0/state')) === '4', 'connected');
    const port = await read('/local/domain/1/console/vnc-port');
    assert.match(port ?? '', /^\d+$/, 'the backend published its VNC port');
    assert.equal(await read(`${be}/request-update`), '1');

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    child = undefined;
    assert.equal(await read('/local/domain/1/console/vnc-port'), undefined, 'vnc-port removed');
    assert.equal(await read('/local/domain/1/console/vnc-listen'), undefined, 'vnc-listen removed');
    assert.equal(await read(`${be}/state`), '2', 'backend state InitWait (nothing bound), not a stale Connected');
    assert.equal(await read(`${be}/request-update`), undefined, 'the connection answer is gone');
    assert.equal(await read(`${be}/hotplug-status`), undefined);
    assert.equal(await read('/local/domain/0/backend/vkbd/1/0/state'), '2');
    // Frontends stay Connected on a backend in InitWait (as Linux xen-fbfront does).
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await read('/local/domain/1/device/vfb/0/state'), '4');

    const b = await startBackend(1, true);
    await until(
      async () => (await read(`${be}/state`)) === '4' && (await read('/local/domain/1/device/vfb/0/state')) === '4',
      'reconnected',
    );
    await until(() => b.display.surface() !== null, 'surface mapped');
    assert.equal(await read(`${be}/request-update`), '1');
    assert.equal(await read('/local/domain/1/console/vnc-port'), String(b.vncAddress!.port));
  });

  it('a backend re-attaching to a guest whose ring filled while no backend listened drains it at once', async function () {
    const old = backends.pop()!;
    await old.stop(); // unbinds our port: the guest's notifies below reach nobody
    let queued = 0;
    while (guest!.vfb.sendRawEvent(encodeFbOutEvent({ type: 'update', x: 0, y: 0, width: 4, height: 4 }))) queued++;
    assert.equal(queued, XENFB_OUT_RING_LEN, 'the ring is full; the guest waits for our notify');
    const b = await startBackend(1, false);
    await until(() => (b.vfbs.get(0)?.stats.updates ?? 0) >= queued, 'the queued UPDATEs were read', 5000);
    assert.ok(guest!.vfb.sendRawEvent(encodeFbOutEvent({ type: 'update', x: 0, y: 0, width: 1, height: 1 })), 'room again');
  });

  it('a backend retiring during a toolstack teardown answers Closed, not InitWait', async function () {
    await hv.createDomain(2, { name: 'teardown', memoryMiB: 16 });
    const paths = await addDevice(hv.xenstore, { kind: 'vfb', domid: 2, devid: 0 });
    const b = await startBackend(2, false);
    await until(async () => (await read(`${paths.backend}/state`)) === '2', 'InitWait');
    // libxl__initiate_device_generic_remove: online=0 and Closing in one transaction.
    await hv.xenstore.transaction(async (tx) => {
      await tx.write(`${paths.backend}/online`, '0');
      await tx.write(`${paths.backend}/state`, '5');
    });
    await b.retire();
    backends.splice(backends.indexOf(b), 1);
    assert.equal(await read(`${paths.backend}/state`), '6');
    assert.equal(await read(`${paths.backend}/hotplug-status`), undefined);
  });
});
