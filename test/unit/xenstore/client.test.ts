import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { isXenvfbError } from '../../../shared/errors';
import { XsClient, type WatchEvent, xsErrno } from '../../../shared/xenstore/client';
import { connectInMemory } from '../../../shared/xenstore/server/memory-transport';
import { XenstoredServer } from '../../../shared/xenstore/server/socket-server';
import { XENSTORE_PAYLOAD_MAX, XsParser, XsType, encodeMessage, stringsPayload } from '../../../shared/xenstore/wire';

const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await tick(5);
  assert.ok(cond(), what);
}

// Both socket kinds of the server: the addon's (the default) and net.Socket (its TS twin).
for (const nativeIo of [true, false])
  describe(`xenstore client over the socket server (${nativeIo ? "the addon's sockets" : 'net.Socket'})`, () => {
    let dir: string;
    let server: XenstoredServer;
    let sock: string;
    const clients: XsClient[] = [];
    const open = async (p = sock): Promise<XsClient> => {
      const c = await XsClient.connect({ path: p });
      clients.push(c);
      return c;
    };

    beforeEach(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xs-client-'));
      sock = path.join(dir, 'xenstored', 'socket');
      server = new XenstoredServer({ nativeIo });
      await server.listen(sock, { domid: 0, privileged: true });
    });
    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('pipelines requests and matches replies by req_id', async () => {
      const xs = await open();
      const writes = Array.from({ length: 100 }, (_, i) => xs.write(`/p/${i}`, `v${i}`));
      await Promise.all(writes);
      const values = await Promise.all(Array.from({ length: 100 }, (_, i) => xs.read(`/p/${i}`)));
      assert.deepEqual(
        values,
        Array.from({ length: 100 }, (_, i) => `v${i}`),
      );
      assert.equal((await xs.directory('/p')).length, 100);
    });

    it('reports errors with errno and path; tryRead gives undefined on ENOENT', async () => {
      const xs = await open();
      await assert.rejects(
        xs.read('/missing'),
        (e: unknown) => isXenvfbError(e, 'XS_E_REPLY') && e.details.errno === 'ENOENT' && e.details.path === '/missing',
      );
      assert.equal(await xs.tryRead('/missing'), undefined);
      await xs.mkdir('/d');
      assert.equal(await xs.tryRead('/d'), '');
      await xs.setPerms('/d', [
        { domid: 1, read: false, write: false },
        { domid: 2, read: true, write: false },
      ]);
      assert.deepEqual(await xs.getPerms('/d'), [
        { domid: 1, read: false, write: false },
        { domid: 2, read: true, write: false },
      ]);
      await xs.rm('/d');
      assert.equal(await xs.getDomainPath(4), '/local/domain/4');
      assert.equal(await xs.isDomainIntroduced(4), false);
      await xs.introduceDomain(4);
      assert.equal(await xs.isDomainIntroduced(4), true);
      await xs.releaseDomain(4);
    });

    it('multiplexes watches; a Watch is an async iterator and an emitter', async () => {
      const xs = await open();
      const a = await xs.watch('/wa', 'A');
      const b = await xs.watch('/wa', 'B');
      const emitted: WatchEvent[] = [];
      b.on('event', (ev: WatchEvent) => emitted.push(ev));
      const viaClient: string[] = [];
      xs.on('watch', (p: string, t: string) => viaClient.push(`${p} ${t}`));
      const it = a[Symbol.asyncIterator]();
      assert.deepEqual((await it.next()).value, { path: '/wa', token: 'A' });
      await xs.write('/wa/x', '1');
      assert.deepEqual((await it.next()).value, { path: '/wa/x', token: 'A' });
      await waitFor(() => emitted.length === 1, 'B saw the write');
      assert.deepEqual(emitted, [{ path: '/wa/x', token: 'B' }]);
      await a.close();
      assert.equal((await it.next()).done, true);
      await xs.write('/wa/y', '1');
      await waitFor(() => emitted.length === 2, 'B saw the second write');
      assert.ok(!viaClient.includes('/wa/y A'));
      assert.ok(viaClient.includes('/wa/y B'));
    });

    it('accepts the initial watch event before the WATCH ack', async () => {
      // A fake daemon that sends the event first, as oxenstored may.
      const fake = path.join(dir, 'fake.sock');
      const srv = net.createServer((s) => {
        const parser = new XsParser();
        s.on('data', (chunk) => {
          for (const m of parser.push(chunk)) {
            const [p, token] = m.payload.toString().split('\0');
            s.write(encodeMessage({ type: XsType.XS_WATCH_EVENT, payload: stringsPayload(p!, token!) }));
            s.write(encodeMessage({ type: m.type, reqId: m.reqId, payload: stringsPayload('OK') }));
          }
        });
      });
      await new Promise<void>((r) => srv.listen(fake, r));
      try {
        const xs = await open(fake);
        const w = await xs.watch('/early', 'tok');
        const first = await w[Symbol.asyncIterator]().next();
        assert.deepEqual(first.value, { path: '/early', token: 'tok' });
      } finally {
        for (const c of clients.splice(0)) c.close();
        srv.close();
      }
    });

    it('transaction retries fn from scratch under a conflicting writer', async () => {
      const xs = await open();
      const other = await open();
      await xs.write('/counter', '0');
      let runs = 0;
      const result = await xs.transaction(async (tx) => {
        runs++;
        const n = Number(await tx.read('/counter'));
        if (runs === 1) await other.write('/counter', '10'); // conflicting writer
        await tx.write('/counter', String(n + 1));
        return n + 1;
      });
      assert.equal(runs, 2);
      assert.equal(result, 11);
      assert.equal(await xs.read('/counter'), '11');
    });

    it('transaction aborts when fn throws and gives up after maxRetries', async () => {
      const xs = await open();
      const other = await open();
      await assert.rejects(
        xs.transaction(async (tx) => {
          await tx.write('/aborted', '1');
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await xs.tryRead('/aborted'), undefined);
      await xs.write('/hot', '0');
      let runs = 0;
      await assert.rejects(
        xs.transaction(
          async (tx) => {
            runs++;
            await tx.read('/hot');
            await other.write('/hot', String(runs));
          },
          { maxRetries: 2 },
        ),
        (e: unknown) => xsErrno(e) === 'EAGAIN',
      );
      assert.equal(runs, 3);
    });

    it('serves domain sockets with their own identity and reports closed connections', async () => {
      const xs = await open();
      await xs.mkdir('/local/domain/1');
      await xs.setPerms('/local/domain/1', [{ domid: 1, read: false, write: false }]);
      const guestSock = path.join(dir, 'domains', '1', 'xenbus');
      await server.listen(guestSock, { domid: 1, privileged: false });
      const closed: unknown[] = [];
      server.on('connection-closed', (id) => closed.push(id));
      const guest = await open(guestSock);
      await guest.write('device/vkbd/0/state', '1');
      assert.equal(await xs.read('/local/domain/1/device/vkbd/0/state'), '1');
      await assert.rejects(guest.write('/tool/x', '1'), (e: unknown) => xsErrno(e) === 'EACCES');
      await assert.rejects(guest.introduceDomain(3), (e: unknown) => xsErrno(e) === 'EACCES');
      guest.close();
      await waitFor(() => closed.length === 1, 'connection-closed');
      assert.deepEqual(closed, [{ domid: 1, privileged: false }]);
    });

    it('a client that sends an oversize payload is dropped; the server keeps serving', async () => {
      const bad = net.createConnection(sock);
      await new Promise((r) => bad.once('connect', r));
      const h = Buffer.alloc(16);
      h.writeUInt32LE(XsType.XS_WRITE, 0);
      h.writeUInt32LE(XENSTORE_PAYLOAD_MAX + 1, 12);
      bad.write(h);
      await new Promise((r) => bad.once('close', r));
      const xs = await open();
      assert.equal(await xs.read('/tool'), '');
    });

    it('rejects pending requests and emits close when the server goes away', async () => {
      const xs = await open();
      let closeEvents = 0;
      xs.on('close', () => closeEvents++);
      const w = await xs.watch('/z');
      await server.close();
      await waitFor(() => xs.isClosed, 'client noticed');
      await assert.rejects(xs.read('/tool'), (e: unknown) => isXenvfbError(e, 'XS_E_CLOSED'));
      const it = w[Symbol.asyncIterator]();
      await it.next(); // the queued initial event
      assert.equal((await it.next()).done, true);
      assert.equal(closeEvents, 1);
    });

    it('a client that stops reading gets every reply in order once it reads again; others are served meanwhile', async () => {
      const xs = await open();
      const value = 'v'.repeat(4000);
      await xs.write('/big', value);
      // 3000 READs of a 4 KB node: 12 MB of replies, far more than the socket buffers hold,
      // so the server meets a full socket, keeps the rest queued and resumes on writability.
      const raw = net.createConnection(sock);
      await new Promise((r) => raw.once('connect', r));
      raw.pause();
      const count = 3000;
      raw.write(
        Buffer.concat(
          Array.from({ length: count }, (_, i) => encodeMessage({ type: XsType.XS_READ, reqId: i + 1, payload: stringsPayload('/big') })),
        ),
      );
      await tick(200);
      assert.equal(await xs.read('/tool'), '', 'another client is served while this one does not read');
      const parser = new XsParser();
      const ids: number[] = [];
      raw.on('data', (d: Buffer) => {
        for (const m of parser.push(d)) {
          assert.equal(m.type, XsType.XS_READ);
          assert.equal(m.payload.length, value.length);
          ids.push(m.reqId);
        }
      });
      raw.resume();
      await waitFor(() => ids.length === count, `${count} replies`);
      assert.deepEqual(
        ids,
        Array.from({ length: count }, (_, i) => i + 1),
      );
      raw.destroy();
    });

    it('closing the server drops its clients and removes the socket file', async () => {
      const xs = await open();
      await server.close();
      await waitFor(() => xs.isClosed, 'client noticed');
      assert.equal(fs.existsSync(sock), false);
      server = new XenstoredServer({ nativeIo });
      await server.listen(sock, { domid: 0, privileged: true });
      assert.equal(await (await open()).read('/tool'), '');
    });

    it('removes a stale socket file and rejects connecting to nothing', async function () {
      await server.close();
      // A socket file left by a daemon that died: bound, never unlinked (python's bind does that).
      try {
        execFileSync('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', sock]);
      } catch {
        console.log('pending: python3 is needed to leave a stale unix socket behind');
        this.skip();
      }
      assert.ok(fs.lstatSync(sock).isSocket());
      server = new XenstoredServer({ nativeIo });
      await server.listen(sock, { domid: 0, privileged: true });
      const xs = await open();
      assert.equal(await xs.read('/tool'), '');
      await assert.rejects(XsClient.connect({ path: path.join(dir, 'none') }), (e: unknown) => isXenvfbError(e, 'XS_E_CLOSED'));
    });
  });

describe('xenstore client in memory', () => {
  it('talks to an engine without sockets, as dom0 or as a domain', async () => {
    const server = new XenstoredServer();
    const dom0 = connectInMemory(server.engine, { domid: 0, privileged: true });
    const dom2 = connectInMemory(server.engine, { domid: 2, privileged: false });
    await dom0.mkdir('/local/domain/2');
    await dom0.setPerms('/local/domain/2', [{ domid: 2, read: false, write: false }]);
    const w = await dom0.watch('/local/domain/2');
    const it = w[Symbol.asyncIterator]();
    await it.next();
    await dom2.write('data', 'x');
    assert.deepEqual((await it.next()).value, { path: '/local/domain/2/data', token: '' });
    await w.close();
    let closed = false;
    dom2.on('close', () => (closed = true));
    server.releaseDomain(2); // not introduced: nothing happens
    server.introduceDomain(2);
    server.releaseDomain(2);
    await waitFor(() => closed, 'domain connection dropped on release');
    dom0.close();
    await assert.rejects(dom0.read('/'), (e: unknown) => isXenvfbError(e, 'XS_E_CLOSED'));
  });
});
