// The real-Xen handles of the addon off Xen: opening /dev/xen/* fails with ENOENT carrying
// errno/code/syscall/path; arguments are checked in C++ before any system call (driven
// through stand-in nodes: /dev/null for the ioctl devices, a FIFO for evtchn); the ABI
// structs as compiled match Linux include/uapi/xen/*.h (x86_64). What needs a Xen host
// is in test/lab/native-xen.test.ts.

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import {
  MAX_GRANTS_PER_CALL,
  XEN_DEVICE_PATHS,
  openEvtchn,
  openGntalloc,
  openGntdev,
  openPrivcmd,
  xenLayout,
  type EvtchnHandle,
  type NativeError,
} from '../../../native';
import { fifoDevice } from '../../helpers/fifo-device';

const badType = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' };
const badValue = { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' };
const outOfRange = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };
const enotty = (syscall: string) => ({ code: 'ENOTTY', errno: os.constants.errno.ENOTTY, syscall });

// Call with what TS would reject.
type Loose = (...args: unknown[]) => unknown;
const loose = (f: unknown): Loose => f as Loose;

describe('native: xen devices off Xen', () => {
  describe('open', () => {
    const opens: Array<[string, () => unknown, string]> = [
      ['privcmd', () => openPrivcmd(), XEN_DEVICE_PATHS.privcmd],
      ['gntdev', () => openGntdev(), XEN_DEVICE_PATHS.gntdev],
      ['gntalloc', () => openGntalloc(), XEN_DEVICE_PATHS.gntalloc],
      ['evtchn', () => openEvtchn(() => undefined), XEN_DEVICE_PATHS.evtchn],
    ];
    for (const [name, open, devicePath] of opens) {
      it(`${name}: ENOENT with errno/code/syscall/path when ${devicePath} is missing`, function () {
        if (fs.existsSync(devicePath)) this.skip(); // a Xen host: test/lab covers it
        assert.throws(open, (e: NativeError) => {
          assert.equal(e.code, 'ENOENT');
          assert.equal(e.errno, os.constants.errno.ENOENT);
          assert.equal(e.syscall, 'open');
          assert.equal(e.path, devicePath);
          return true;
        });
      });
    }

    it('a path that is not a string is a TypeError; an empty one ERR_INVALID_ARG_VALUE', () => {
      assert.throws(() => loose(openGntdev)(42), badType);
      assert.throws(() => loose(openPrivcmd)(''), badValue);
      assert.throws(() => loose(openEvtchn)(() => undefined, {}), badType);
    });

    it('evtchn needs a listener function', () => {
      assert.throws(() => loose(openEvtchn)(undefined), badType);
    });
  });

  describe('privcmd arguments (on /dev/null)', () => {
    const privcmd = () => openPrivcmd('/dev/null');

    it('checks domid, frames and writable before any system call', () => {
      const p = privcmd();
      try {
        const map = loose(p.mapForeign.bind(p));
        assert.throws(() => map('1', [1], true), badType);
        assert.throws(() => map(-1, [1], true), outOfRange);
        assert.throws(() => map(0x7ff0, [1], true), outOfRange); // DOMID_SELF is not a real domain
        assert.throws(() => map(1.5, [1], true), outOfRange);
        assert.throws(() => map(1, 5, true), badType);
        assert.throws(() => map(1, [], true), outOfRange);
        assert.throws(() => map(1, [-1], true), outOfRange);
        assert.throws(() => map(1, [2 ** 53], true), outOfRange);
        assert.throws(() => map(1, ['7'], true), badType);
        assert.throws(() => map(1, [1], 'yes'), badType);
      } finally {
        p.close();
      }
    });

    it('domid 0x7fef and frame 2^53-1 pass the checks and reach mmap (ENODEV on /dev/null)', () => {
      const p = privcmd();
      try {
        assert.throws(() => p.mapForeign(0x7fef, [2 ** 53 - 1], false), { code: 'ENODEV', syscall: 'mmap', path: '/dev/null' });
      } finally {
        p.close();
      }
    });

    it('a closed handle throws EBADF and stays closed', () => {
      const p = privcmd();
      assert.equal(p.closed, false);
      p.close();
      p.close();
      assert.equal(p.closed, true);
      assert.throws(() => p.mapForeign(1, [1], false), { code: 'EBADF', errno: os.constants.errno.EBADF, syscall: 'mmap' });
    });
  });

  describe('gntdev arguments (on /dev/null)', () => {
    it('checks domid, refs, writable and notify; a good call reaches the ioctl', () => {
      const g = openGntdev('/dev/null');
      try {
        const map = loose(g.mapGrants.bind(g));
        assert.throws(() => map(0x7ff0, [1], true), outOfRange);
        assert.throws(() => map(1, [], true), outOfRange);
        assert.throws(() => map(1, new Array(MAX_GRANTS_PER_CALL + 1).fill(1), true), outOfRange);
        assert.throws(() => map(1, [2 ** 32], true), outOfRange);
        assert.throws(() => map(1, [1], 1), badType);
        assert.throws(() => map(1, [1], true, 5), badType);
        assert.throws(() => map(1, [1], true, {}), badValue);
        assert.throws(() => map(1, [1], true, { offset: 4096 }), outOfRange); // one page: 0..4095
        assert.throws(() => map(1, [1], true, { port: -1 }), outOfRange);
        assert.throws(() => g.mapGrants(1, [0xffffffff], true, { offset: 4095, port: 0xffffffff }), enotty('ioctl'));
        assert.throws(() => g.mapGrants(1, new Array(MAX_GRANTS_PER_CALL).fill(8), false), enotty('ioctl'));
      } finally {
        g.close();
      }
      assert.throws(() => g.mapGrants(1, [1], true), { code: 'EBADF' });
    });
  });

  describe('gntalloc arguments (on /dev/null)', () => {
    it('checks domid, count, writable and notify; a good call reaches the ioctl', () => {
      const a = openGntalloc('/dev/null');
      try {
        const share = loose(a.share.bind(a));
        assert.throws(() => share(-1, 1, true), outOfRange);
        assert.throws(() => share(1, 0, true), outOfRange);
        assert.throws(() => share(1, MAX_GRANTS_PER_CALL + 1, true), outOfRange);
        assert.throws(() => share(1, '1', true), badType);
        assert.throws(() => share(1, 1, null), badType);
        assert.throws(() => share(1, 2, true, { offset: 8192 }), outOfRange);
        assert.throws(() => a.share(1, 2, true, { offset: 8191 }), enotty('ioctl'));
        assert.throws(() => a.share(0x7fef, MAX_GRANTS_PER_CALL, false), enotty('ioctl'));
      } finally {
        a.close();
      }
    });
  });

  describe('evtchn (on a FIFO)', () => {
    const device = fifoDevice('evtchn');
    let fifo: string;
    before(() => (fifo = device.path));

    function open(onEvents: Parameters<typeof openEvtchn>[0]): EvtchnHandle {
      return device.track(openEvtchn(onEvents, fifo));
    }

    it('checks ports and domids; ioctls reach the device (ENOTTY on a FIFO)', () => {
      const h = open(() => undefined);
      const call = (name: keyof EvtchnHandle, ...args: unknown[]) => loose((h[name] as Loose).bind(h))(...args);
      assert.throws(() => call('notify', -1), outOfRange);
      assert.throws(() => call('notify', 2 ** 32), outOfRange);
      assert.throws(() => call('unbind', '3'), badType);
      assert.throws(() => call('unmask', 1.5), outOfRange);
      assert.throws(() => call('bindUnboundPort', 0x7ff1), outOfRange);
      assert.throws(() => call('bindInterdomain', 1, -1), outOfRange);
      assert.throws(() => h.notify(3), { ...enotty('ioctl'), path: fifo });
      assert.throws(() => h.unbind(3), enotty('ioctl'));
      assert.throws(() => h.reset(), enotty('ioctl'));
      assert.throws(() => h.bindUnboundPort(0x7ff0), enotty('ioctl')); // DOMID_SELF allowed here
      assert.throws(() => h.bindInterdomain(0, 0xffffffff), enotty('ioctl'));
    });

    it('delivers the u32 ports read from the fd through the event loop, batched', async () => {
      const got: number[][] = [];
      let h!: EvtchnHandle;
      const done = new Promise<void>((resolve) => {
        h = open((err, ports) => {
          assert.equal(err, null);
          got.push(ports!);
          if (got.flat().length === 3) resolve();
        });
      });
      // On the real device unmask() writes the port back; on a FIFO that write is what we read.
      h.unmask(7);
      h.unmask(0xffffffff);
      h.unmask(1);
      await done;
      assert.deepEqual(got.flat(), [7, 0xffffffff, 1]);
    });

    it('close() stops delivery, is idempotent, and later calls throw EBADF', async () => {
      let calls = 0;
      const h = open(() => calls++);
      h.close();
      h.close();
      assert.equal(h.closed, true);
      assert.throws(() => h.unmask(1), { code: 'EBADF', syscall: 'write' });
      assert.throws(() => h.notify(1), { code: 'EBADF', syscall: 'ioctl' });
      assert.throws(() => h.resume(), { code: 'EBADF' });
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(calls, 0);
    });

    it('a listener may close the handle while ports are being delivered', async () => {
      const seen: number[] = [];
      const closedInside = new Promise<void>((resolve) => {
        const h = open((_err, ports) => {
          seen.push(...ports!);
          h.close();
          resolve();
        });
      });
      const ports = Buffer.alloc(8);
      ports.writeUInt32LE(5, 0);
      ports.writeUInt32LE(6, 4);
      const fd = fs.openSync(fifo, 'r+');
      try {
        fs.writeSync(fd, ports);
      } finally {
        fs.closeSync(fd);
      }
      await closedInside;
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(seen, [5, 6]);
    });

    it('an exception thrown by the listener becomes an uncaught exception', async () => {
      const mochaHandlers = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      try {
        const caught = new Promise<Error>((resolve) => process.once('uncaughtException', resolve));
        const h = open(() => {
          throw new Error('from the listener');
        });
        h.unmask(9);
        assert.equal((await caught).message, 'from the listener');
      } finally {
        for (const l of mochaHandlers) process.on('uncaughtException', l);
      }
    });

    it('workers ending with a handle open (terminated, or unref()ed and done) close it safely', async () => {
      const binary = path.resolve(__dirname, '../../../native/build/Release/xenvfb_native.node');
      // A crash here is a segfault of this whole process: the poll's close callback must
      // run before the worker unloads the addon.
      for (let k = 0; k < 8; k++) {
        const unref = k % 2 === 1;
        const worker = new Worker(
          `const n = require(${JSON.stringify(binary)});
           const h = new n.Evtchn(() => {}, ${JSON.stringify(fifo)});
           new n.Evtchn(() => {}, ${JSON.stringify(fifo)}).close();
           if (${unref}) h.unref();
           require('node:worker_threads').parentPort.postMessage('up');`,
          { eval: true },
        );
        await new Promise((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        });
        // An unref()ed worker ends by itself (the next test checks that for a process); here
        // what matters is that its ending closes the handle safely, so one that has not ended
        // within a few seconds on a loaded machine is terminated instead.
        if (unref) {
          const exited = await new Promise<boolean>((resolve) => {
            const t = setTimeout(() => resolve(false), 5000);
            worker.once('exit', () => (clearTimeout(t), resolve(true)));
          });
          if (!exited) await worker.terminate();
        } else await worker.terminate();
      }
    });

    it('unref() lets the process exit with a handle open (child process)', () => {
      const script = `
        const n = require(${JSON.stringify(path.resolve(__dirname, '../../../native'))});
        const h = n.openEvtchn(() => {}, ${JSON.stringify(fifo)});
        h.unref();
        setTimeout(() => {}, 10);`;
      execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { timeout: 15_000 });
    });
  });

  describe('ABI layout (Linux include/uapi/xen/*.h, x86_64)', () => {
    const layout = xenLayout();

    it('ioctl numbers are the documented _IOC(_IOC_NONE, type, nr, size) values', () => {
      assert.deepEqual(layout.ioctls, {
        IOCTL_PRIVCMD_MMAPBATCH_V2: 0x00205004,
        IOCTL_GNTDEV_MAP_GRANT_REF: 0x00184700,
        IOCTL_GNTDEV_UNMAP_GRANT_REF: 0x00104701,
        IOCTL_GNTDEV_SET_UNMAP_NOTIFY: 0x00104707,
        IOCTL_GNTALLOC_ALLOC_GREF: 0x00184705,
        IOCTL_GNTALLOC_DEALLOC_GREF: 0x00104706,
        IOCTL_GNTALLOC_SET_UNMAP_NOTIFY: 0x00104707,
        IOCTL_EVTCHN_BIND_INTERDOMAIN: 0x00084501,
        IOCTL_EVTCHN_BIND_UNBOUND_PORT: 0x00044502,
        IOCTL_EVTCHN_UNBIND: 0x00044503,
        IOCTL_EVTCHN_NOTIFY: 0x00044504,
        IOCTL_EVTCHN_RESET: 0x00004505,
      });
    });

    it('the size in each ioctl number is the size of its struct', () => {
      const sizeOf = (n: number) => (n >>> 16) & 0x3fff;
      const s = layout.structs;
      assert.equal(sizeOf(layout.ioctls.IOCTL_PRIVCMD_MMAPBATCH_V2!), s.privcmd_mmapbatch_v2!.size);
      assert.equal(sizeOf(layout.ioctls.IOCTL_GNTDEV_MAP_GRANT_REF!), s.ioctl_gntdev_map_grant_ref!.size);
      assert.equal(sizeOf(layout.ioctls.IOCTL_GNTALLOC_ALLOC_GREF!), s.ioctl_gntalloc_alloc_gref!.size);
      assert.equal(sizeOf(layout.ioctls.IOCTL_EVTCHN_BIND_INTERDOMAIN!), s.ioctl_evtchn_bind_interdomain!.size);
    });

    it('struct sizes and field offsets', () => {
      assert.deepEqual(layout.structs, {
        privcmd_mmapbatch_v2: { size: 32, num: 0, dom: 4, addr: 8, arr: 16, err: 24 },
        ioctl_gntdev_grant_ref: { size: 8, domid: 0, ref: 4 },
        ioctl_gntdev_map_grant_ref: { size: 24, count: 0, pad: 4, index: 8, refs: 16 },
        ioctl_gntdev_unmap_grant_ref: { size: 16, index: 0, count: 8, pad: 12 },
        ioctl_unmap_notify: { size: 16, index: 0, action: 8, event_channel_port: 12 },
        ioctl_gntalloc_alloc_gref: { size: 24, domid: 0, flags: 2, count: 4, index: 8, gref_ids: 16 },
        ioctl_gntalloc_dealloc_gref: { size: 16, index: 0, count: 8 },
        ioctl_evtchn_bind_interdomain: { size: 8, remote_domain: 0, remote_port: 4 },
        ioctl_evtchn_bind_unbound_port: { size: 4, remote_domain: 0 },
        ioctl_evtchn_port: { size: 4, port: 0 },
      });
    });

    it('reports whether the build host had the kernel uapi headers to cross-check', () => {
      assert.equal(typeof layout.checkedAgainstUapi, 'boolean');
    });
  });
});
