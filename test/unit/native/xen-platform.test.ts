// The xen platform off Xen: what it refuses and how native errors become typed ones.
// Device handles are stand-ins (fakes of the addon's handle interfaces, or /dev/null);
// the real devices are exercised by test/lab/native-xen.test.ts inside the Xen lab.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { XsClient } from '../../../shared/xenstore/client';
import { openPlatform } from '../../../scripts/cli/platform';
import { XEN_DEVICE_PATHS, type NativeError, type NativeMapping, type PrivcmdHandle } from '../../../native';
import { XenEventChannels } from '../../../shared/platform/xen/evtchn';
import { XenForeignMapper } from '../../../shared/platform/xen/foreign';
import { XenGrantMapper, XenGrantSharer } from '../../../shared/platform/xen/grants';
import { createXenPlatform, readOwnDomid } from '../../../shared/platform/xen/platform';
import { isControlDomain, presentXenDevices } from '../../../shared/platform/xen/devices';
import { startOurXenstored, type XenstoredUnderTest } from '../../helpers/real-xenstored';

function nativeError(code: string, errno: number, syscall: string, extra: object = {}): NativeError {
  return Object.assign(new Error(`${syscall} failed (${code})`), { code, errno, syscall }, extra) as NativeError;
}

function fakePrivcmd(mapForeign: PrivcmdHandle['mapForeign']): PrivcmdHandle & { closedCalls: number } {
  const h = {
    closedCalls: 0,
    closed: false,
    mapForeign,
    close() {
      h.closedCalls++;
    },
  };
  return h;
}

describe('xen platform off Xen', () => {
  const onXen = presentXenDevices().length > 0;

  it('createXenPlatform refuses a host without /dev/xen/evtchn and privcmd (DEV_E_CONFIG)', async function () {
    if (onXen) this.skip();
    await assert.rejects(createXenPlatform({ domid: 0 }), (e: { code: string; details: { present: string[] } }) => {
      assert.equal(e.code, 'DEV_E_CONFIG');
      assert.deepEqual(e.details.present, []);
      return true;
    });
  });

  it('openPlatform without a sim dir says what is missing and how to use the simulator (CLI_E_USAGE)', async function () {
    if (onXen) this.skip();
    const saved = { sim: process.env.XENVFB_SIM_DIR, xs: process.env.XENSTORED_PATH };
    delete process.env.XENVFB_SIM_DIR;
    delete process.env.XENSTORED_PATH;
    try {
      await assert.rejects(openPlatform(0), (e: Error & { code: string }) => {
        assert.equal(e.code, 'CLI_E_USAGE');
        assert.ok(e.message.includes(XEN_DEVICE_PATHS.privcmd) && e.message.includes('--sim-dir'));
        return true;
      });
    } finally {
      if (saved.sim !== undefined) process.env.XENVFB_SIM_DIR = saved.sim;
      if (saved.xs !== undefined) process.env.XENSTORED_PATH = saved.xs;
    }
  });

  it('isControlDomain reads control_d from the xenfs capabilities file', () => {
    const file = `/tmp/xenvfb-caps-${process.pid}`;
    try {
      fs.writeFileSync(file, 'control_d\n');
      assert.equal(isControlDomain(file), true);
      fs.writeFileSync(file, '\n');
      assert.equal(isControlDomain(file), false);
      assert.equal(isControlDomain('/nonexistent/capabilities'), false);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  describe('readOwnDomid (relative "domid" on our xenstore connection)', () => {
    let xs: XenstoredUnderTest;
    before(async () => {
      xs = await startOurXenstored();
    });
    after(async () => xs.stop());

    it('missing -> DEV_E_CONFIG off Xen (no control_d)', async function () {
      if (isControlDomain()) this.skip();
      await assert.rejects(readOwnDomid({ path: xs.socketPath }), { code: 'DEV_E_CONFIG' });
    });

    it('reads the number under our home', async () => {
      const c = await XsClient.connect({ path: xs.socketPath });
      try {
        await c.write('/local/domain/0/domid', '0');
      } finally {
        c.close();
      }
      assert.equal(await readOwnDomid({ path: xs.socketPath }), 0);
    });

    it('garbage -> DEV_E_CONFIG', async () => {
      const c = await XsClient.connect({ path: xs.socketPath });
      try {
        await c.write('/local/domain/0/domid', 'zero');
      } finally {
        c.close();
      }
      await assert.rejects(readOwnDomid({ path: xs.socketPath }), { code: 'DEV_E_CONFIG' });
    });
  });

  describe('XenForeignMapper', () => {
    it('per-page errors from MMAPBATCH_V2 become MAP_E_BAD_FRAME with details.errors', () => {
      const privcmd = fakePrivcmd(() => {
        throw nativeError('EINVAL', 22, 'ioctl', { errors: [0, -22, 0] });
      });
      assert.throws(
        () => new XenForeignMapper(privcmd).mapFrames(3, [1, 2, 3], false),
        (e: { code: string; details: Record<string, unknown> }) => {
          assert.equal(e.code, 'MAP_E_BAD_FRAME');
          assert.deepEqual(e.details.errors, [0, -22, 0]);
          assert.equal(e.details.domid, 3);
          assert.equal(e.details.errno, 22);
          return true;
        },
      );
    });

    it('a global failure (EPERM: not privileged) stays the native error', () => {
      const privcmd = fakePrivcmd(() => {
        throw nativeError('EPERM', 1, 'ioctl');
      });
      assert.throws(() => new XenForeignMapper(privcmd).mapFrames(3, [1], true), { code: 'EPERM', syscall: 'ioctl' });
    });

    it('empty or oversized lists and non-domains are MAP_E_BAD_FRAME before the device', () => {
      let calls = 0;
      const mapper = new XenForeignMapper(
        fakePrivcmd(() => {
          calls++;
          return {} as NativeMapping;
        }),
      );
      assert.throws(() => mapper.mapFrames(1, [], true), { code: 'MAP_E_BAD_FRAME' });
      assert.throws(() => mapper.mapFrames(0x7ff0, [1], true), { code: 'MAP_E_BAD_FRAME' });
      assert.throws(() => mapper.mapFrames(-1, [1], true), { code: 'MAP_E_BAD_FRAME' });
      assert.equal(calls, 0);
      mapper.mapFrames(1, [1], true);
      assert.equal(calls, 1);
    });
  });

  describe('XenGrantMapper / XenGrantSharer', () => {
    it('bad counts, refs and domids are GNT_E_BAD_REF before any device is opened', () => {
      const mapper = new XenGrantMapper('/nonexistent/gntdev');
      assert.throws(() => mapper.mapGrants(1, [], true), { code: 'GNT_E_BAD_REF' });
      assert.throws(() => mapper.mapGrants(1, [-1], true), { code: 'GNT_E_BAD_REF' });
      assert.throws(() => mapper.mapGrants(1, [2 ** 32], true), { code: 'GNT_E_BAD_REF' });
      assert.throws(() => mapper.mapGrants(0x7ff0, [1], true), { code: 'GNT_E_BAD_REF' });
      // a good call opens the device: off Xen that is the native ENOENT
      assert.throws(() => mapper.mapGrants(1, [1], true), { code: 'ENOENT', syscall: 'open', path: '/nonexistent/gntdev' });
    });

    it('device errors other than a refused map pass through (ENOTTY on /dev/null)', () => {
      const mapper = new XenGrantMapper('/dev/null');
      try {
        assert.throws(() => mapper.mapGrants(1, [1], true), { code: 'ENOTTY', syscall: 'ioctl' });
      } finally {
        mapper.close();
      }
    });

    it('the sharer checks domid and count (GNT_E_BAD_REF / GNT_E_FULL)', () => {
      const sharer = new XenGrantSharer('/dev/null');
      try {
        assert.throws(() => sharer.share(-1, 1, true), { code: 'GNT_E_BAD_REF' });
        assert.throws(() => sharer.share(1, 0, true), { code: 'GNT_E_FULL' });
        assert.throws(() => sharer.share(1, 1, true), { code: 'ENOTTY' });
      } finally {
        sharer.close();
      }
    });
  });

  describe('XenEventChannels (on a FIFO)', () => {
    let dir: string;
    let fifo: string;
    before(function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-xevt-'));
      fifo = path.join(dir, 'evtchn');
      try {
        execFileSync('mkfifo', [fifo]);
      } catch {
        this.skip();
      }
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('off Xen the default device is ENOENT', function () {
      if (fs.existsSync(XEN_DEVICE_PATHS.evtchn)) this.skip();
      assert.throws(() => new XenEventChannels(), { code: 'ENOENT', syscall: 'open' });
    });

    it('ports not bound here are EVTCHN_E_BAD_PORT without a system call; bad domids too', async () => {
      const ch = new XenEventChannels(fifo);
      try {
        assert.throws(() => ch.notify(5), { code: 'EVTCHN_E_BAD_PORT' });
        await assert.rejects(ch.unbind(5), { code: 'EVTCHN_E_BAD_PORT' });
        await assert.rejects(ch.allocUnbound(0x7ff1), { code: 'EVTCHN_E_BAD_PORT' });
        await assert.rejects(ch.bindInterdomain(1, -1), { code: 'EVTCHN_E_BAD_PORT' });
        // reaches the ioctl: a FIFO answers ENOTTY, passed through as the native error
        await assert.rejects(ch.allocUnbound(0), { code: 'ENOTTY', syscall: 'ioctl' });
      } finally {
        ch.close();
      }
    });

    it('fired ports that are not bound here are ignored; close() emits close once and ends calls', async () => {
      const ch = new XenEventChannels(fifo);
      const events: number[] = [];
      let closes = 0;
      ch.on('event', (p: number) => events.push(p));
      ch.on('close', () => closes++);
      const fd = fs.openSync(fifo, 'r+');
      try {
        fs.writeSync(fd, Buffer.from([9, 0, 0, 0]));
      } finally {
        fs.closeSync(fd);
      }
      await new Promise((r) => setTimeout(r, 30));
      assert.deepEqual(events, []);
      ch.close();
      ch.close();
      assert.equal(closes, 1);
      await assert.rejects(ch.allocUnbound(0), { code: 'EVTCHN_E_CLOSED' });
    });
  });
});
