// One spec for our XsClient against any xenstore daemon on a unix socket: run against our
// XenstoredServer and against Debian's C xenstored, so both must behave the same way.

import { strict as assert } from 'node:assert';
import { XsClient, type Watch, type WatchEvent, xsErrno } from '../../shared/xenstore/client';
import { XsType, stringsPayload, writePayload, xsTypeName } from '../../shared/xenstore/wire';
import { type XenstoredUnderTest, retryConnect } from '../helpers/real-xenstored';
import { RawConn } from './raw-conn';

export interface SpecTarget {
  start(ctx: Mocha.Context): Promise<XenstoredUnderTest>;
  /** A socket on which the daemon treats the peer as unprivileged domain `domid`, if any. */
  guestSocket?(d: XenstoredUnderTest, domid: number): Promise<string>;
  /** Why guestSocket is missing (printed when those tests go pending). */
  noGuestReason?: string;
}

async function errnoOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    const errno = xsErrno(e);
    if (!errno) throw e;
    return errno;
  }
}

/** Next event of a watch (queued ones first), or a timeout error. */
async function nextEvent(w: Watch, ms = 2000): Promise<WatchEvent> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no watch event on ${w.path} in ${ms} ms`)), ms);
  });
  try {
    const r = await Promise.race([w[Symbol.asyncIterator]().next(), timeout]);
    if (r.done) throw new Error(`watch on ${w.path} ended`);
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

export function xsClientSpec(title: string, target: SpecTarget): void {
  describe(`XsClient against ${title}`, function () {
    this.timeout(10000);
    let daemon: XenstoredUnderTest | undefined;
    let xs: XsClient;
    let other: XsClient;

    before(async function () {
      daemon = await target.start(this);
    });
    after(async () => {
      await daemon?.stop();
    });
    beforeEach(async () => {
      xs = await retryConnect(() => XsClient.connect({ path: daemon!.socketPath, timeoutMs: 3000 }));
      other = await retryConnect(() => XsClient.connect({ path: daemon!.socketPath, timeoutMs: 3000 }));
      await xs.rm('/spec');
      await xs.mkdir('/spec');
    });
    afterEach(() => {
      xs?.close();
      other?.close();
    });

    it('writes, reads, lists and removes nodes', async () => {
      await xs.write('/spec/a/b', 'hello');
      assert.equal(await xs.read('/spec/a/b'), 'hello');
      assert.equal(await xs.read('/spec/a'), '', 'WRITE creates missing parents empty');
      await xs.write('/spec/bin', Buffer.from([0, 1, 255]));
      assert.deepEqual([...(await xs.readBytes('/spec/bin'))], [0, 1, 255]);
      await xs.mkdir('/spec/m');
      await xs.mkdir('/spec/m'); // existing: still OK
      assert.deepEqual(await xs.directory('/spec'), ['a', 'bin', 'm'], 'creation order');
      await xs.rm('/spec/a');
      assert.equal(await xs.tryRead('/spec/a/b'), undefined, 'rm is recursive');
      await xs.rm('/spec/a'); // missing leaf under an existing parent: OK
      assert.equal(await errnoOf(xs.rm('/spec/nope/deeper')), 'ENOENT');
    });

    it('reports ENOENT and EINVAL like xenstored', async () => {
      assert.equal(await errnoOf(xs.read('/spec/missing')), 'ENOENT');
      assert.equal(await errnoOf(xs.directory('/spec/missing')), 'ENOENT');
      assert.equal(await errnoOf(xs.write('/spec//x', 'v')), 'EINVAL');
      assert.equal(await errnoOf(xs.write('/spec/x/', 'v')), 'EINVAL');
      assert.equal(await errnoOf(xs.read('/spec/a b')), 'EINVAL');
      assert.equal(await errnoOf(xs.rm('/')), 'EINVAL');
    });

    it('refuses @-paths other than the two special watches with EINVAL', async () => {
      assert.equal(await errnoOf(xs.read('@bogus')), 'EINVAL');
      assert.equal(await errnoOf(xs.rm('@bogus')), 'EINVAL');
      assert.equal(await errnoOf(xs.getPerms('@releaseDomain')), 'EINVAL', 'C 4.17 does not GET_PERMS special nodes');
    });

    it('limits paths and directory listings like xenstored', async () => {
      // quota_max_path_len (XENSTORE_REL_PATH_MAX) counts the whole path outside /local/domain/<id>/.
      assert.equal(await errnoOf(xs.write(`/${'p'.repeat(2047)}`, 'v')), undefined, '2048-byte path');
      await xs.rm(`/${'p'.repeat(2047)}`);
      assert.equal(await errnoOf(xs.write(`/${'p'.repeat(2048)}`, 'v')), 'EINVAL', '2049-byte path');
      const local = `/local/domain/7/${'p'.repeat(2048)}`;
      assert.equal(await errnoOf(xs.write(local, 'v')), undefined, '2048 bytes below /local/domain/7/');
      await xs.rm('/local/domain/7');
      assert.equal(await errnoOf(xs.write(`${local}p`, 'v')), 'EINVAL', '2049 bytes below /local/domain/7/');
      const name = 'n'.repeat(40);
      await Promise.all(Array.from({ length: 110 }, (_, i) => xs.write(`/spec/big/${name}${i}`, '')));
      assert.equal(await errnoOf(xs.directory('/spec/big')), 'E2BIG', 'listing over XENSTORE_PAYLOAD_MAX');
    });

    it('sets and gets permissions; children inherit them', async () => {
      await xs.write('/spec/p', 'v');
      assert.deepEqual(await xs.getPerms('/spec/p'), [{ domid: 0, read: false, write: false }]);
      const perms = [
        { domid: 5, read: false, write: false },
        { domid: 0, read: true, write: false },
        { domid: 7, read: true, write: true },
      ];
      await xs.setPerms('/spec/p', perms);
      assert.deepEqual(await xs.getPerms('/spec/p'), perms);
      await xs.write('/spec/p/child', 'c');
      assert.deepEqual(await xs.getPerms('/spec/p/child'), perms, 'a dom0-created child keeps the parent list');
      const bad = await errnoOf(xs.request(XsType.XS_SET_PERMS, stringsPayload('/spec/p', 'x1')));
      assert.equal(bad, 'EINVAL');
    });

    it('refuses an unprivileged domain with EACCES', async function () {
      if (!target.guestSocket) {
        console.log(`      (pending: ${target.noGuestReason})`);
        this.skip();
      }
      await xs.write('/spec/private', 'secret');
      await xs.setPerms('/spec/private', [{ domid: 0, read: false, write: false }]);
      const guest = await XsClient.connect({ path: await target.guestSocket(daemon!, 5), timeoutMs: 3000 });
      try {
        assert.equal(await errnoOf(guest.read('/spec/private')), 'EACCES');
        assert.equal(await errnoOf(guest.write('/spec/private', 'x')), 'EACCES');
        await xs.setPerms('/spec/private', [
          { domid: 0, read: false, write: false },
          { domid: 5, read: true, write: false },
        ]);
        assert.equal(await guest.read('/spec/private'), 'secret');
      } finally {
        guest.close();
      }
    });

    it('fires a watch at once, then for writes and removals below it', async () => {
      await xs.write('/spec/w/x', '1');
      const w = await other.watch('/spec/w', 'tok');
      assert.deepEqual(await nextEvent(w), { path: '/spec/w', token: 'tok' }, 'the registration event');
      const seen: string[] = [];
      w.on('event', (ev: WatchEvent) => seen.push(ev.path));
      await xs.write('/spec/w/x', '2');
      await xs.write('/spec/other', 'no');
      await xs.rm('/spec/w');
      await other.read('/spec'); // round trip: events queued before it have arrived
      assert.deepEqual(seen, ['/spec/w/x', '/spec/w']);
      await w.close();
    });

    it('orders watch events around replies as C xenstored does', async () => {
      const raw = await retryConnect(() => RawConn.connect(daemon!.socketPath));
      try {
        const names = (ms: { type: number }[]): string[] => ms.map((m) => xsTypeName(m.type));
        const watched = await raw.request(XsType.XS_WATCH, stringsPayload('/spec', 'r'));
        assert.deepEqual(names(watched), ['XS_WATCH'], 'the WATCH ack comes first');
        assert.deepEqual(names(await raw.drain()), ['XS_WATCH_EVENT'], 'then the initial event');
        // A change by the watching connection itself: the event precedes the reply.
        assert.deepEqual(names(await raw.request(XsType.XS_WRITE, writePayload('/spec/self', 'v'))), ['XS_WATCH_EVENT', 'XS_WRITE']);
      } finally {
        raw.close();
      }
    });

    it('retries a transaction that lost against a conflicting writer (EAGAIN)', async () => {
      await xs.write('/spec/tx/counter', '0');
      let attempts = 0;
      const result = await xs.transaction(async (tx) => {
        attempts++;
        const n = Number(await tx.read('/spec/tx/counter'));
        if (attempts === 1) await other.write('/spec/tx/counter', '10'); // lands between read and commit
        await tx.write('/spec/tx/counter', String(n + 1));
        return n + 1;
      });
      assert.equal(attempts, 2);
      assert.equal(result, 11);
      assert.equal(await xs.read('/spec/tx/counter'), '11');
    });

    it('keeps transaction writes invisible until commit and drops them on abort', async () => {
      const w = await other.watch('/spec/iso', 'iso');
      await nextEvent(w);
      const events: string[] = [];
      w.on('event', (ev: WatchEvent) => events.push(ev.path));
      const failing = xs.transaction(async (tx) => {
        await tx.write('/spec/iso/a', 'x');
        assert.equal(await other.tryRead('/spec/iso/a'), undefined);
        throw new Error('abort');
      });
      await assert.rejects(failing, /abort/);
      assert.equal(await xs.tryRead('/spec/iso/a'), undefined);
      await xs.transaction(async (tx) => tx.write('/spec/iso/b', 'y'));
      await other.read('/spec');
      assert.deepEqual(events, ['/spec/iso/b']);
      assert.equal(await errnoOf(xs.read('/spec', 0x7fff_ffff)), 'ENOENT', 'unknown transaction id');
    });
  });
}
