// The simulator end to end: a SimHypervisor in this process (dom0 side too), a guest in a
// child process. Grants, event channels and xenstore cross the process boundary, and
// kill -9 of the guest is seen as a domain crash.

import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { isXenvfbError } from '../../shared/errors';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { type SimPlatform, createSimPlatform } from '../../shared/platform/sim/platform';
import { addDevice, removeDevice } from '../../shared/platform/sim/toolstack';
import type { EventChannels } from '../../shared/platform/types';
import { type Watch, type WatchEvent, XsClient, formatPerms } from '../../shared/xenstore/client';
import { PATTERN_SEED } from './fixtures/sim-guest';

const GUEST = path.join(__dirname, 'fixtures', 'sim-guest.ts');
const DOMID = 1;
const FE = `/local/domain/${DOMID}/device/vfb/0`;

interface GuestReady {
  event: 'ready';
  gref: number;
  frame: number;
  port: number;
  denied: boolean;
}

function spawnGuest(dir: string): { child: ChildProcess; ready: Promise<GuestReady> } {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', GUEST, dir, String(DOMID)], {
    cwd: path.join(__dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = new Promise<GuestReady>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as { event: string };
      if (msg.event === 'ready') resolve(msg as GuestReady);
    });
    child.once('exit', (code, signal) => reject(new Error(`guest exited (${code ?? signal}) before ready: ${stderr}`)));
  });
  return { child, ready };
}

function once<T>(emitter: NodeJS.EventEmitter, event: string, timeoutMs = 8000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (v: T) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

/** The next event of a watch (queued ones first: the registration event may come before the ack). */
function nextEvent(watch: Watch, timeoutMs = 8000): Promise<WatchEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no event on ${watch.path} within ${timeoutMs} ms`)), timeoutMs);
    void watch[Symbol.asyncIterator]()
      .next()
      .then((r) => {
        clearTimeout(timer);
        if (r.done) reject(new Error(`watch on ${watch.path} closed`));
        else resolve(r.value);
      });
  });
}

describe('sim platform (multi-process)', function () {
  this.timeout(20000);
  let dir: string;
  let hv: SimHypervisor;
  let dom0: SimPlatform;
  let xs: XsClient;
  let evtchn: EventChannels;
  let guest: ChildProcess | undefined;

  before(async () => {
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-sim-'));
    hv = await SimHypervisor.start({ dir });
    await hv.createDomain(DOMID, { name: 'guest', memoryMiB: 4 });
    dom0 = await createSimPlatform({ dir, domid: 0 });
    xs = await dom0.xenstore();
    evtchn = await dom0.eventChannels();
    await addDevice(xs, { kind: 'vfb', domid: DOMID, devid: 0, backendNodes: { 'feature-resize': '1' } });
  });

  after(async () => {
    guest?.kill('SIGKILL');
    await dom0?.close();
    await hv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the base tree and the domain with libxl permissions', async () => {
    assert.equal(await xs.read('/local/domain/0/name'), 'Domain-0');
    assert.equal(await xs.read(`/local/domain/${DOMID}/name`), 'guest');
    assert.deepEqual(formatPerms(await xs.getPerms(`/local/domain/${DOMID}`)), ['n0', `r${DOMID}`]);
    assert.deepEqual(formatPerms(await xs.getPerms(`/local/domain/${DOMID}/data`)), [`n${DOMID}`]);
    assert.deepEqual(formatPerms(await xs.getPerms(FE)), [`n${DOMID}`, 'r0']);
    assert.deepEqual(formatPerms(await xs.getPerms(`/local/domain/0/backend/vfb/${DOMID}/0`)), ['n0', `r${DOMID}`]);
    assert.equal(await xs.read(`/local/domain/0/backend/vfb/${DOMID}/0/frontend`), FE);
    assert.equal(await xs.read(`/local/domain/0/backend/vfb/${DOMID}/0/feature-resize`), '1');
    assert.equal(await xs.read(`${FE}/backend-id`), '0');
    assert.equal(await xs.isDomainIntroduced(DOMID), true);
    assert.deepEqual(
      hv.domains().map((d) => [d.domid, d.name, d.state]),
      [[DOMID, 'guest', 'created']],
    );
    assert.equal(dom0.memory, undefined);
    assert.ok(dom0.foreign);
  });

  let ready: GuestReady;
  let bport: number;

  it('a guest process shares a page by grant and an event channel with dom0', async () => {
    const started = once<number>(hv, 'domain-started');
    const g = spawnGuest(dir);
    guest = g.child;
    ready = await g.ready;
    assert.equal(await started, DOMID);
    assert.equal(ready.denied, true, 'guest must not write into dom0 nodes');
    assert.equal(await xs.read(`${FE}/page-gref`), String(ready.gref));
    const port = Number(await xs.read(`${FE}/event-channel`));

    const page = dom0.grants.mapGrants(DOMID, [ready.gref], true);
    const bytes = new Uint8Array(page.buffer);
    for (let i = 0; i < 100; i += 1) assert.equal(bytes[i], (i ^ PATTERN_SEED) & 0xff);
    // The same page through privcmd, by frame number.
    const byFrame = dom0.foreign!.mapFrames(DOMID, [ready.frame], false);
    assert.equal(new Uint8Array(byFrame.buffer)[5], 5 ^ PATTERN_SEED);
    byFrame.unmap();

    bport = await evtchn.bindInterdomain(DOMID, port);
    assert.deepEqual(hv.evtchnStatus(0, bport), { state: 'interdomain', remoteDomid: DOMID, remotePort: port });
    for (const value of [7, 200]) {
      bytes[100] = value;
      const back = once<number>(evtchn, 'event');
      evtchn.notify(bport);
      assert.equal(await back, bport);
      assert.equal(bytes[101], value + 1);
    }
    // A second bind of the same port is refused, as on Xen.
    await assert.rejects(evtchn.bindInterdomain(DOMID, port), (e) => isXenvfbError(e, 'EVTCHN_E_BAD_PORT'));
    page.unmap();
  });

  it('kill -9 of the guest is a crash: ports unbound, @releaseDomain fires, memory stays', async () => {
    const release = await xs.watch('@releaseDomain', 'test');
    await nextEvent(release); // the registration event
    const crashed = once<number>(hv, 'domain-crashed');
    const released = nextEvent(release);
    guest!.kill('SIGKILL');
    assert.equal(await crashed, DOMID);
    await released;
    await release.close();
    assert.deepEqual(hv.evtchnStatus(0, bport), { state: 'unbound', remoteDomid: DOMID });
    assert.equal(await xs.isDomainIntroduced(DOMID), false);
    assert.equal(hv.domainInfo(DOMID)!.state, 'crashed');
    assert.equal(await xs.read(`${FE}/page-gref`), String(ready.gref), 'nodes stay');
    const m = dom0.foreign!.mapFrames(DOMID, [ready.frame], false);
    assert.equal(new Uint8Array(m.buffer)[3], 3 ^ PATTERN_SEED, 'memory stays');
    m.unmap();
    evtchn.notify(bport); // notify on an unbound port is ignored, not an error
  });

  it('a new guest process restarts the domain (@introduceDomain, domain-started)', async () => {
    const intro = await xs.watch('@introduceDomain', 'test');
    await nextEvent(intro);
    const started = once<number>(hv, 'domain-started');
    const introduced = nextEvent(intro);
    const g = spawnGuest(dir);
    guest = g.child;
    const again = await g.ready;
    assert.equal(await started, DOMID);
    await introduced;
    await intro.close();
    assert.equal(await xs.isDomainIntroduced(DOMID), true);
    assert.equal(hv.domainInfo(DOMID)!.state, 'running');
    const page = dom0.grants.mapGrants(DOMID, [again.gref], false);
    assert.equal(new Uint8Array(page.buffer)[9], 9 ^ PATTERN_SEED);
    page.unmap();
    const port2 = await evtchn.bindInterdomain(DOMID, again.port);
    const back = once<number>(evtchn, 'event');
    evtchn.notify(port2);
    assert.equal(await back, port2);
  });

  it('removeDevice follows libxl teardown and reports whether the backend answered', async () => {
    const be = `/local/domain/0/backend/vfb/${DOMID}/0`;
    const watch = await xs.watch(`${be}/state`, 'backend');
    watch.on('event', () => {
      void xs.tryRead(`${be}/state`).then((s) => (s === '5' ? xs.write(`${be}/state`, '6') : undefined));
    });
    assert.equal(await removeDevice(xs, { kind: 'vfb', domid: DOMID, devid: 0 }, { timeoutMs: 3000 }), true);
    await watch.close();
    assert.equal(await xs.tryRead(be), undefined);
    assert.equal(await xs.tryRead(FE), undefined);
    await addDevice(xs, { kind: 'vkbd', domid: DOMID, devid: 0 });
    assert.equal(await removeDevice(xs, { kind: 'vkbd', domid: DOMID, devid: 0 }, { timeoutMs: 200 }), false);
    assert.equal(await xs.tryRead(`/local/domain/0/backend/vkbd/${DOMID}/0`), undefined);
  });

  it('destroyDomain removes the domain; its platform can no longer be opened', async () => {
    guest!.kill('SIGKILL');
    await hv.destroyDomain(DOMID);
    assert.deepEqual(hv.domains(), []);
    assert.equal(await xs.tryRead(`/local/domain/${DOMID}`), undefined);
    await assert.rejects(createSimPlatform({ dir, domid: DOMID }), (e) => isXenvfbError(e, 'SIM_E_NO_DOMAIN'));
  });
});
