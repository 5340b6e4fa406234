// XenbusDevTransport against a fake /dev/xen/xenbus: writes must be whole messages of at
// most 4096 bytes; replies come back over a real unix socket pair as a byte stream, and
// WATCH_EVENTs carry garbage req_id/tx_id (the kernel leaves them uninitialised).

import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { XsClient } from '../../../shared/xenstore/client';
import { XenstoreEngine } from '../../../shared/xenstore/server/engine';
import { XENBUS_DEV_MESSAGE_MAX, XenbusDevTransport, connectTransport } from '../../../shared/xenstore/transports';
import { XS_HEADER_SIZE, XsParser, XsType, encodeMessage } from '../../../shared/xenstore/wire';

interface FakeDevice {
  transport: XenbusDevTransport;
  writes: Buffer[];
  stop(): void;
}

async function fakeDevice(): Promise<FakeDevice> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenbus-'));
  const sock = path.join(dir, 's');
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(sock, r));
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const reader = net.createConnection(sock);
  const kernelSide = await accepted;
  const engine = new XenstoreEngine();
  let garbage = 0x1234;
  const conn = engine.connect(
    { domid: 0, privileged: true },
    {
      write: (bytes) => {
        // Split the stream at odd places and scribble on WATCH_EVENT req_id/tx_id.
        for (const m of new XsParser().push(bytes)) {
          const out = m.type === XsType.XS_WATCH_EVENT ? { ...m, reqId: garbage++, txId: 0xdeadbeef } : m;
          const b = encodeMessage(out);
          kernelSide.write(b.subarray(0, 5));
          kernelSide.write(b.subarray(5));
        }
      },
      close: () => kernelSide.destroy(),
    },
  );
  const writes: Buffer[] = [];
  const transport = new XenbusDevTransport({
    write: (bytes) => {
      writes.push(Buffer.from(bytes));
      conn.receive(bytes);
    },
    read: (onData, onEnd) => {
      reader.on('data', onData);
      reader.on('close', () => onEnd());
    },
    close: () => reader.destroy(),
  });
  return {
    transport,
    writes,
    stop: () => {
      reader.destroy();
      kernelSide.destroy();
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('XenbusDevTransport (fake /dev/xen/xenbus)', () => {
  it('writes whole messages, reads a split byte stream, ignores garbage ids on watch events', async () => {
    const dev = await fakeDevice();
    const xs = new XsClient(dev.transport);
    try {
      const w = await xs.watch('/dev', 'tok');
      const it = w[Symbol.asyncIterator]();
      assert.deepEqual((await it.next()).value, { path: '/dev', token: 'tok' });
      // Watch events now carry req_ids 0x1234.. that collide with nothing or with pending requests.
      for (let i = 0; i < 5; i++) await xs.write(`/dev/n${i}`, `v${i}`);
      for (let i = 0; i < 5; i++) assert.equal(await xs.read(`/dev/n${i}`), `v${i}`);
      for (let i = 0; i < 5; i++) assert.deepEqual((await it.next()).value, { path: `/dev/n${i}`, token: 'tok' });
      for (const b of dev.writes) assert.equal(b.readUInt32LE(12) + XS_HEADER_SIZE, b.length, 'one whole message per write');
    } finally {
      xs.close();
      dev.stop();
    }
  });
  it(`accepts a ${XENBUS_DEV_MESSAGE_MAX}-byte message and refuses one byte more with XS_E_OVERSIZE before sending`, async () => {
    const dev = await fakeDevice();
    const xs = new XsClient(dev.transport);
    try {
      const path0 = '/v';
      const room = XENBUS_DEV_MESSAGE_MAX - XS_HEADER_SIZE - path0.length - 1;
      await xs.write(path0, 'x'.repeat(room));
      const sent = dev.writes.length;
      await assert.rejects(xs.write(path0, 'x'.repeat(room + 1)), { code: 'XS_E_OVERSIZE' });
      assert.equal(dev.writes.length, sent, 'nothing written');
      assert.throws(() => dev.transport.send(Buffer.alloc(XENBUS_DEV_MESSAGE_MAX + 1)), { code: 'XS_E_OVERSIZE' });
      assert.equal((await xs.read(path0)).length, room);
    } finally {
      xs.close();
      dev.stop();
    }
  });
  it('connectTransport: the socket first; /dev/xen/xenbus only when the socket is missing and no path is forced', async () => {
    const saved = process.env.XENSTORED_PATH;
    delete process.env.XENSTORED_PATH;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenbus-dev-'));
    try {
      await assert.rejects(connectTransport(path.join(dir, 'no-socket'), path.join(dir, 'dev')), { code: 'XS_E_CLOSED' });
      // With no forced path the default socket is missing on this host; a missing device keeps the socket error.
      if (!fs.existsSync('/var/run/xenstored/socket')) {
        await assert.rejects(connectTransport(undefined, path.join(dir, 'dev')), { code: 'XS_E_CLOSED' });
        execFileSync('mkfifo', [path.join(dir, 'dev')]); // a FIFO stands in for the device node
        const t = await connectTransport(undefined, path.join(dir, 'dev'));
        assert.ok(t instanceof XenbusDevTransport);
        t.close();
      }
    } finally {
      if (saved !== undefined) process.env.XENSTORED_PATH = saved;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
