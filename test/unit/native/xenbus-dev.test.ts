// The addon's /dev/xen/xenbus handle off Xen, on a FIFO opened read-write: what the handle
// writes comes back to it as the "reply stream", so writes, polled non-blocking reads,
// close and teardown are all exercised without a kernel driver. On a Xen guest the lab
// runs the real device (test/lab/native-xen.test.ts, XsClient over /dev/xen/xenbus).

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { XEN_DEVICE_PATHS, openXenbusDev, type NativeError, type XenbusDevHandle, type XenbusListener } from '../../../native';
import { fifoDevice } from '../../helpers/fifo-device';
import { XENBUS_DEV_MESSAGE_MAX, XenbusDevTransport } from '../../../shared/xenstore/transports';
import { XsParser, XsType, encodeMessage, stringsPayload } from '../../../shared/xenstore/wire';

const badType = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' };
const outOfRange = { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' };
type Loose = (...args: unknown[]) => unknown;

describe('native: /dev/xen/xenbus handle (on a FIFO)', () => {
  const device = fifoDevice('xenbus');
  let dir: string;
  let fifo: string;
  before(() => ({ dir, path: fifo } = device));

  function open(onData: XenbusListener): XenbusDevHandle {
    return device.track(openXenbusDev(onData, fifo));
  }

  /** Collects delivered bytes until `want` of them arrived. */
  function collector(want: number): { listener: XenbusListener; bytes: Promise<Buffer>; calls: () => number } {
    const chunks: Buffer[] = [];
    let calls = 0;
    let resolve!: (b: Buffer) => void;
    const bytes = new Promise<Buffer>((r) => (resolve = r));
    const listener: XenbusListener = (err, chunk) => {
      assert.equal(err, null);
      calls++;
      chunks.push(chunk!);
      const all = Buffer.concat(chunks);
      if (all.length >= want) resolve(all);
    };
    return { listener, bytes, calls: () => calls };
  }

  it('opening a missing device: ENOENT with errno/code/syscall/path', () => {
    assert.throws(
      () => openXenbusDev(() => undefined, path.join(dir, 'missing')),
      (e: NativeError) => e.code === 'ENOENT' && e.syscall === 'open' && e.path === path.join(dir, 'missing'),
    );
    assert.equal(XEN_DEVICE_PATHS.xenbus, '/dev/xen/xenbus');
  });

  it('checks its arguments: a listener function, 1..4096 bytes of Uint8Array', () => {
    assert.throws(() => (openXenbusDev as unknown as Loose)(undefined, fifo), badType);
    const h = open(() => undefined);
    const write = (b: unknown) => (h.write as unknown as Loose).call(h, b);
    assert.throws(() => write('XS_READ'), badType);
    assert.throws(() => write(new Uint16Array(4)), badType);
    assert.throws(() => write(Buffer.alloc(0)), outOfRange);
    assert.throws(() => write(Buffer.alloc(XENBUS_DEV_MESSAGE_MAX + 1)), outOfRange);
  });

  it('delivers the reply stream through the event loop, several writes in one batch when they wait together', async () => {
    const a = encodeMessage({ type: XsType.XS_READ, reqId: 1, payload: stringsPayload('domid') });
    const b = encodeMessage({ type: XsType.XS_DIRECTORY, reqId: 2, payload: stringsPayload('device') });
    const c = collector(a.length + b.length);
    const h = open(c.listener);
    h.write(a);
    h.write(b);
    const got = await c.bytes;
    assert.deepEqual(got, Buffer.concat([a, b]));
    assert.equal(c.calls(), 1, 'both messages were waiting on the first readable callback');
    assert.deepEqual(
      new XsParser().push(got).map((m) => m.reqId),
      [1, 2],
    );
  });

  it('a full 4096-byte message goes through in one write', async () => {
    const big = encodeMessage({ type: XsType.XS_WRITE, reqId: 3, payload: Buffer.alloc(XENBUS_DEV_MESSAGE_MAX - 16, 0x61) });
    assert.equal(big.length, XENBUS_DEV_MESSAGE_MAX);
    const c = collector(big.length);
    open(c.listener).write(big);
    assert.deepEqual(await c.bytes, big);
  });

  it('close() is idempotent, stops delivery, and later writes throw EBADF', async () => {
    let delivered = 0;
    const h = open(() => delivered++);
    assert.equal(h.closed, false);
    h.write(Buffer.from('ab'));
    h.close();
    h.close();
    assert.equal(h.closed, true);
    assert.throws(() => h.write(Buffer.from('x')), { code: 'EBADF', syscall: 'write' });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(delivered, 0, 'nothing arrives after close()');
  });

  it('a listener may close the handle while bytes are being delivered', async () => {
    const seen: string[] = [];
    const closed = new Promise<void>((resolve) => {
      const h = open((_e, bytes) => {
        seen.push(String(bytes));
        h.close();
        resolve();
      });
      h.write(Buffer.from('one'));
    });
    await closed;
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['one']);
  });

  it('workers ending with a handle open (terminated, or unref()ed and done) close it safely', async () => {
    const binary = path.resolve(__dirname, '../../../native/build/Release/xenvfb_native.node');
    for (let k = 0; k < 6; k++) {
      const unref = k % 2 === 1;
      const worker = new Worker(
        `const n = require(${JSON.stringify(binary)});
         const h = new n.XenbusDev(() => {}, ${JSON.stringify(fifo)});
         h.write(Buffer.from('pending'));
         if (${unref}) h.unref();
         require('node:worker_threads').parentPort.postMessage('up');`,
        { eval: true },
      );
      await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      if (unref) await new Promise((resolve) => worker.once('exit', resolve));
      else await worker.terminate();
    }
  });

  it('unref() lets the process exit with a handle open (child process)', () => {
    const script = `
      const n = require(${JSON.stringify(path.resolve(__dirname, '../../../native'))});
      n.openXenbusDev(() => {}, ${JSON.stringify(fifo)}).unref();`;
    execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { timeout: 15_000 });
  });

  describe('XenbusDevTransport.open', () => {
    it('moves whole messages out and the stream in; a missing device is XS_E_CLOSED with the errno', async () => {
      await assert.rejects(XenbusDevTransport.open(path.join(dir, 'missing')), { code: 'XS_E_CLOSED' });
      const t = await XenbusDevTransport.open(fifo);
      const msg = encodeMessage({ type: XsType.XS_READ, reqId: 7, payload: stringsPayload('domid') });
      // Sent before start(): what comes back waits for the client.
      t.send(msg);
      await new Promise((r) => setTimeout(r, 20));
      const got = await new Promise<Buffer>((resolve) => {
        t.start({ onData: (c) => resolve(Buffer.from(c)), onClose: () => assert.fail('closed') });
      });
      assert.deepEqual(got, msg);
      assert.throws(() => t.send(Buffer.alloc(XENBUS_DEV_MESSAGE_MAX + 1)), { code: 'XS_E_OVERSIZE' });
      t.close();
      t.close();
    });
  });
});
