// Runs INSIDE the Xen lab (scripts/lab): the addon's real /dev/xen paths against Xen 4.17
// and Linux 6.1. Not in the default mocha globs; on a host without /dev/xen/evtchn every
// test is pending, with the reason printed.
//
// Environment (all optional):
//   XENVFB_LAB_DOMID            our domid (default: xenstore 'domid', else DOMID_SELF)
//   XENVFB_LAB_FOREIGN_DOMID    a running domU whose frame dom0 maps through privcmd
//   XENVFB_LAB_FOREIGN_FRAME    the frame to map (default: that domU's console/ring-ref)
//
// Run from dom0 (all groups) and from a domU (evtchn, grants; privcmd must be refused).

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as native from '../../native';
import { XsClient } from '../../shared/xenstore/client';
import { XenbusDevTransport } from '../../shared/xenstore/transports';
import { DOMID_SELF, XEN_DEVICE_PATHS, isControlDomain } from '../../shared/platform/xen/devices';
import { XenEventChannels } from '../../shared/platform/xen/evtchn';
import { createXenPlatform, readOwnDomid } from '../../shared/platform/xen/platform';

const PAGE = native.PAGE_SIZE;

function skipWithReason(ctx: Mocha.Context, reason: string): never {
  console.log(`      (pending: ${reason})`);
  ctx.skip();
}

function requireDevice(ctx: Mocha.Context, device: keyof typeof XEN_DEVICE_PATHS): void {
  if (!fs.existsSync(XEN_DEVICE_PATHS[device])) skipWithReason(ctx, `${XEN_DEVICE_PATHS[device]} does not exist: not a Xen domain`);
}

async function ownDomid(): Promise<number> {
  if (process.env.XENVFB_LAB_DOMID) return Number(process.env.XENVFB_LAB_DOMID);
  return readOwnDomid().catch(() => DOMID_SELF);
}

/** Resolves with the next ports delivered to a raw handle's listener. */
function portsOnce(listeners: Array<(ports: number[]) => void>): Promise<number[]> {
  return new Promise((resolve) => listeners.push(resolve));
}

describe('lab: native Xen devices', function () {
  this.timeout(30_000);
  let domid: number;

  before(async function () {
    requireDevice(this, 'evtchn');
    domid = await ownDomid();
    console.log(`      (domain ${domid}${isControlDomain() ? ', control domain' : ''})`);
  });

  describe('evtchn', () => {
    it('bind an unbound port on one fd, bind it interdomain on another, notify both ways', async () => {
      const waitA: Array<(ports: number[]) => void> = [];
      const waitB: Array<(ports: number[]) => void> = [];
      const a = native.openEvtchn((err, ports) => {
        assert.equal(err, null);
        for (const p of ports!) a.unmask(p);
        waitA.shift()?.(ports!);
      });
      const b = native.openEvtchn((err, ports) => {
        assert.equal(err, null);
        for (const p of ports!) b.unmask(p);
        waitB.shift()?.(ports!);
      });
      try {
        const portA = a.bindUnboundPort(domid);
        const portB = b.bindInterdomain(domid, portA);
        assert.ok(portA > 0 && portB > 0 && portA !== portB);

        const gotA = portsOnce(waitA);
        b.notify(portB);
        assert.deepEqual(await gotA, [portA]);

        const gotB = portsOnce(waitB);
        a.notify(portA);
        assert.deepEqual(await gotB, [portB]);

        // unmasked: it fires again
        const again = portsOnce(waitA);
        b.notify(portB);
        assert.deepEqual(await again, [portA]);

        b.unbind(portB);
        assert.throws(() => b.notify(portB), { syscall: 'ioctl' });
        a.reset();
      } finally {
        a.close();
        b.close();
      }
    });

    it('XenEventChannels: allocUnbound / bindInterdomain / notify -> event; unbound ports are typed errors', async () => {
      const a = new XenEventChannels();
      const b = new XenEventChannels();
      try {
        const portA = await a.allocUnbound(domid);
        const portB = await b.bindInterdomain(domid, portA);
        const fired = new Promise<number>((resolve) => a.once('event', resolve));
        b.notify(portB);
        assert.equal(await fired, portA);
        await b.unbind(portB);
        assert.throws(() => b.notify(portB), { code: 'EVTCHN_E_BAD_PORT' });
        await assert.rejects(b.bindInterdomain(domid, 0xfffff), { code: 'EVTCHN_E_BAD_PORT' });
      } finally {
        a.close();
        b.close();
      }
    });
  });

  describe('gntalloc + gntdev in one domain', () => {
    before(function () {
      requireDevice(this, 'gntalloc');
      requireDevice(this, 'gntdev');
      if (domid === DOMID_SELF) skipWithReason(this, 'our domid is unknown (set XENVFB_LAB_DOMID)');
    });

    // Xen lets a domain map its own grants (the granting and mapping domain may be the
    // same); if this Xen refuses, the reason is printed and the group needs two domains.
    function mapOwn(ctx: Mocha.Context, gntdev: native.GntdevHandle, refs: number[], writable: boolean, notify?: native.UnmapNotify) {
      try {
        return gntdev.mapGrants(domid, refs, writable, notify);
      } catch (e) {
        if ((e as native.NativeError).code === 'EINVAL') {
          skipWithReason(ctx, `Xen refused mapping d${domid}'s own grants (EINVAL): needs a second domain`);
        }
        throw e;
      }
    }

    it('shares pages and maps them back: both views see each other’s writes', function () {
      const gntalloc = native.openGntalloc();
      const gntdev = native.openGntdev();
      try {
        const shared = gntalloc.share(domid, 2, true);
        assert.equal(shared.refs.length, 2);
        assert.equal(shared.mapping.length, 2 * PAGE);
        const mine = new Uint8Array(shared.mapping.buffer);
        assert.ok(
          mine.every((b) => b === 0),
          'gntalloc pages come zeroed',
        );
        mine[0] = 0xa5;
        mine[PAGE + 7] = 0x5a;

        const theirs = mapOwn(this, gntdev, shared.refs, true);
        const view = new Uint8Array(theirs.buffer);
        assert.equal(view[0], 0xa5);
        assert.equal(view[PAGE + 7], 0x5a);
        view[1] = 0x42;
        assert.equal(mine[1], 0x42);

        theirs.unmap();
        assert.equal(theirs.mapped, false);
        assert.equal(theirs.buffer.byteLength, 0);
        shared.mapping.unmap();
      } finally {
        gntdev.close();
        gntalloc.close();
      }
    });

    it('a read-only grant maps read-only, and refuses a writable map', function () {
      const gntalloc = native.openGntalloc();
      const gntdev = native.openGntdev();
      try {
        const shared = gntalloc.share(domid, 1, false);
        new Uint8Array(shared.mapping.buffer)[0] = 9;
        const ro = mapOwn(this, gntdev, shared.refs, false);
        assert.equal(new Uint8Array(ro.buffer)[0], 9);
        ro.unmap();
        assert.throws(() => gntdev.mapGrants(domid, shared.refs, true), { code: 'EINVAL', syscall: 'mmap' });
        shared.mapping.unmap();
      } finally {
        gntdev.close();
        gntalloc.close();
      }
    });

    it('unmap notify: gntdev clears a byte and sends an event when its mapping goes', async function () {
      const gntalloc = native.openGntalloc();
      const gntdev = native.openGntdev();
      const events = new XenEventChannels();
      const peer = new XenEventChannels();
      try {
        const portA = await events.allocUnbound(domid);
        const portB = await peer.bindInterdomain(domid, portA);
        const shared = gntalloc.share(domid, 1, true);
        const mine = new Uint8Array(shared.mapping.buffer);
        mine[3] = 1;
        const theirs = mapOwn(this, gntdev, shared.refs, true, { offset: 3, port: portB });
        const fired = new Promise<number>((resolve) => events.once('event', resolve));
        theirs.unmap();
        assert.equal(await fired, portA);
        assert.equal(mine[3], 0);
        shared.mapping.unmap();
      } finally {
        events.close();
        peer.close();
        gntdev.close();
        gntalloc.close();
      }
    });

    it('a ref that was never granted fails the map (GNT_E_BAD_REF through the platform)', async function () {
      const platform = await createXenPlatform({ domid });
      try {
        assert.throws(() => platform.grants.mapGrants(domid, [0xfffff], false), { code: 'GNT_E_BAD_REF' });
      } finally {
        await platform.close();
      }
    });
  });

  describe('privcmd', () => {
    it('outside the control domain the platform offers no foreign mapping', async function () {
      if (isControlDomain()) skipWithReason(this, 'this is the control domain');
      const platform = await createXenPlatform();
      try {
        assert.equal(platform.foreign, undefined);
        assert.equal(platform.memory, undefined);
      } finally {
        await platform.close();
      }
    });

    it('dom0 maps a frame of a domU (XENVFB_LAB_FOREIGN_DOMID), and bad frames report per page', async function () {
      requireDevice(this, 'privcmd');
      if (!isControlDomain()) skipWithReason(this, 'not the control domain');
      const target = process.env.XENVFB_LAB_FOREIGN_DOMID;
      if (!target) skipWithReason(this, 'set XENVFB_LAB_FOREIGN_DOMID to a running domU');
      const foreignDomid = Number(target);
      let frame = Number(process.env.XENVFB_LAB_FOREIGN_FRAME ?? NaN);
      if (!Number.isInteger(frame)) {
        const xs = await XsClient.connect();
        try {
          frame = Number(await xs.read(`/local/domain/${foreignDomid}/console/ring-ref`));
        } finally {
          xs.close();
        }
      }
      const platform = await createXenPlatform();
      try {
        assert.ok(platform.foreign, 'dom0 gets foreign mapping');
        const region = platform.foreign.mapFrames(foreignDomid, [frame], false);
        assert.equal(region.length, PAGE);
        void new Uint8Array(region.buffer)[0]; // readable without a fault
        region.unmap();
        assert.throws(
          () => platform.foreign!.mapFrames(foreignDomid, [frame, 2 ** 40], false),
          (e: { code: string; details: { errors: number[] } }) => {
            assert.equal(e.code, 'MAP_E_BAD_FRAME');
            assert.equal(e.details.errors.length, 2);
            assert.equal(e.details.errors[0], 0);
            assert.ok(e.details.errors[1]! < 0);
            return true;
          },
        );
      } finally {
        await platform.close();
      }
    });
  });

  describe('xenbus device', () => {
    before(function () {
      requireDevice(this, 'xenbus');
    });

    const overDevice = async () => new XsClient(await XenbusDevTransport.open());

    it('XsClient over /dev/xen/xenbus: read, write, directory, a transaction, and a watch event', async () => {
      const xs = await overDevice();
      try {
        const home = `/local/domain/${domid === DOMID_SELF ? 0 : domid}`;
        assert.equal(await xs.read(`${home}/domid`), String(domid === DOMID_SELF ? 0 : domid));
        const node = `${home}/data/xenvfb-native-test`;
        const watch = await xs.watch(node, 'lab');
        // Iterated, not listened to: the initial event can come in the same read as the reply.
        const events = watch[Symbol.asyncIterator]();
        assert.deepEqual((await events.next()).value, { path: node, token: 'lab' }); // the initial event
        await xs.transaction(async (tx) => tx.write(node, 'from-a-transaction'));
        assert.deepEqual((await events.next()).value, { path: node, token: 'lab' });
        assert.equal(await xs.read(node), 'from-a-transaction');
        assert.ok((await xs.directory(`${home}/data`)).includes('xenvfb-native-test'));
        await watch.close();
        await xs.rm(node);
      } finally {
        xs.close();
      }
    });

    it('eight connections, each with a watch and a request in flight, leave the thread pool free', async () => {
      const clients = await Promise.all(Array.from({ length: 8 }, overDevice));
      try {
        await Promise.all(clients.map((xs, k) => xs.watch(`/xenvfb-none-${k}`, 'idle')));
        // Blocking reads in libuv's pool (4 threads) would starve this fs call.
        const self = await fs.promises.readFile(__filename, 'utf8');
        assert.ok(self.includes('leave the thread pool free'));
        assert.deepEqual(
          await Promise.all(clients.map((xs) => xs.read('domid').catch(() => 'none'))),
          clients.map(() => (domid === DOMID_SELF ? 'none' : String(domid))),
        );
      } finally {
        for (const xs of clients) xs.close();
      }
    });

    it('watches pipelined with reads do not wedge the domain (Linux holds a mutex across WATCH)', async () => {
      // Without XsClient holding WATCH/UNWATCH until the connection is quiet, this hangs the
      // kernel's xenbus thread and every xenstore user of the domain (transports.ts).
      const xs = await overDevice();
      try {
        for (let round = 0; round < 20; round++) {
          const reads = Array.from({ length: 8 }, () => xs.tryRead('domid'));
          const watch = xs.watch(`/xenvfb-none-${round}`, 'race');
          const more = Array.from({ length: 8 }, () => xs.tryRead('domid'));
          const w = await watch;
          const closing = w.close();
          await Promise.all([...reads, ...more, closing]);
        }
      } finally {
        xs.close();
      }
    });

    it('a process that closes its connection exits (no read left pending in the kernel)', () => {
      const repo = path.resolve(__dirname, '../..');
      const script = `
        const { XsClient } = require(${JSON.stringify(path.join(repo, 'shared/xenstore/client'))});
        const { XenbusDevTransport } = require(${JSON.stringify(path.join(repo, 'shared/xenstore/transports'))});
        (async () => {
          const xs = new XsClient(await XenbusDevTransport.open());
          await xs.watch('/xenvfb-none', 'idle');
          xs.close();
        })();`;
      const env = { ...process.env };
      // Under the lab's pre-transpiled tree the .js files are there; from source, ts-node.
      const args = fs.existsSync(path.join(repo, 'shared/xenstore/client.js'))
        ? ['-e', script]
        : ['-r', 'ts-node/register/transpile-only', '-e', script];
      execFileSync(process.execPath, args, { timeout: 20_000, env, cwd: repo });
    });
  });

  describe('createXenPlatform', () => {
    it('learns our domid from xenstore and hands out working event channels', async () => {
      const platform = await createXenPlatform();
      try {
        assert.equal(platform.kind, 'xen');
        if (domid !== DOMID_SELF) assert.equal(platform.domid, domid);
        const ch = await platform.eventChannels();
        assert.equal(await platform.eventChannels(), ch);
        const peer = new XenEventChannels();
        try {
          const port = await ch.allocUnbound(platform.domid);
          const other = await peer.bindInterdomain(platform.domid, port);
          const fired = new Promise<number>((resolve) => ch.once('event', resolve));
          peer.notify(other);
          assert.equal(await fired, port);
        } finally {
          peer.close();
        }
        const xs = await platform.xenstore();
        assert.equal(await xs.read('domid'), String(platform.domid));
      } finally {
        await platform.close();
      }
    });
  });
});
