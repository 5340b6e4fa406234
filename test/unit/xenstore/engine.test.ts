import { strict as assert } from 'node:assert';
import * as fc from 'fast-check';
import { XENSTORE_PAYLOAD_MAX, XsType, encodeMessage, parseStrings, stringsPayload } from '../../../shared/xenstore/wire';
import { makeDomain, setup } from './harness';

describe('xenstore engine: nodes', () => {
  it('writes (creating parents), reads without NUL, lists children in order', () => {
    const { dom0 } = setup();
    assert.equal(dom0.write('/a/b/c', 'hello'), 'OK');
    assert.equal(dom0.read('/a/b/c'), '=hello');
    assert.equal(dom0.read('/a/b'), '=');
    assert.equal(dom0.write('/a/z', ''), 'OK');
    assert.equal(dom0.ls('/a'), 'b,z');
    assert.equal(dom0.read('/nope'), 'ENOENT');
    assert.equal(dom0.ls('/nope'), 'ENOENT');
    assert.equal(dom0.ls('/'), 'tool,a'); // C 4.17 creates no /local
  });
  it('mkdir leaves existing nodes alone', () => {
    const { dom0 } = setup();
    dom0.write('/a', 'v');
    assert.equal(dom0.mkdir('/a'), 'OK');
    assert.equal(dom0.read('/a'), '=v');
    assert.equal(dom0.mkdir('/x/y'), 'OK');
    assert.equal(dom0.read('/x/y'), '=');
  });
  it('rm is recursive; ENOENT only when the parent is missing', () => {
    const { dom0 } = setup();
    dom0.write('/a/b/c', '1');
    assert.equal(dom0.rm('/a/b'), 'OK');
    assert.equal(dom0.read('/a/b/c'), 'ENOENT');
    assert.equal(dom0.ls('/a'), '');
    assert.equal(dom0.rm('/a/b'), 'OK');
    assert.equal(dom0.rm('/a/b/c'), 'ENOENT');
    assert.equal(dom0.rm('/'), 'EINVAL');
  });
  it('refuses bad paths and payloads with EINVAL', () => {
    const { dom0 } = setup();
    assert.equal(dom0.read('/a/'), 'EINVAL');
    assert.equal(dom0.read('/a b'), 'EINVAL');
    assert.equal(dom0.send(XsType.XS_READ, Buffer.from('/a')).error, 'EINVAL'); // no NUL
    assert.equal(dom0.send(XsType.XS_WRITE, Buffer.from('/a')).error, 'EINVAL');
    assert.equal(dom0.setPerms('/tool', 'x9'), 'EINVAL');
  });
  it('answers unknown and reply-only types with ENOSYS', () => {
    const { dom0 } = setup();
    for (const t of [20, XsType.XS_WATCH_EVENT, XsType.XS_ERROR, 27, 99, 0xffff]) {
      assert.equal(dom0.call(t, ['x']), 'ENOSYS', String(t));
    }
  });
  it('pages DIRECTORY_PART and refuses an oversize DIRECTORY with E2BIG', () => {
    const { dom0 } = setup();
    const names = Array.from({ length: 300 }, (_, i) => `entry-with-a-long-name-${i}`);
    for (const n of names) dom0.write(`/big/${n}`, '');
    assert.equal(dom0.ls('/big'), 'E2BIG');
    const got: string[] = [];
    let offset = 0;
    for (;;) {
      const r = dom0.send(XsType.XS_DIRECTORY_PART, stringsPayload('/big', String(offset)));
      assert.ok(r.payload.length <= XENSTORE_PAYLOAD_MAX);
      const parts = r.payload.toString().split('\0');
      const body = parts.slice(1, -1);
      const done = body[body.length - 1] === '';
      const entries = done ? body.slice(0, -1) : body;
      got.push(...entries);
      offset += entries.reduce((n, e) => n + e.length + 1, 0);
      if (done) break;
    }
    assert.deepEqual(got, names);
  });
  it('answers domain queries and CONTROL print', () => {
    const lines: string[] = [];
    const { engine, dom0, connect } = setup();
    (engine.options as { log?: (l: string) => void }).log = (l) => lines.push(l);
    assert.equal(dom0.call(XsType.XS_GET_DOMAIN_PATH, ['7']), '/local/domain/7');
    assert.equal(dom0.call(XsType.XS_GET_DOMAIN_PATH, ['x']), 'EINVAL');
    assert.equal(dom0.call(XsType.XS_CONTROL, ['print', 'hello']), 'OK');
    assert.deepEqual(lines, ['hello']);
    assert.equal(connect(1).call(XsType.XS_CONTROL, ['print', 'x']), 'EACCES');
  });
});

describe('xenstore engine: permissions across domains', () => {
  it('relative paths of a domain are below /local/domain/<domid>; it owns what it creates', () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    const d1 = connect(1);
    assert.equal(d1.write('device/vfb/0/state', '1'), 'OK');
    assert.equal(dom0.read('/local/domain/1/device/vfb/0/state'), '=1');
    assert.equal(d1.perms('device/vfb/0/state'), 'n1');
    assert.equal(d1.read('/local/domain/1/device/vfb/0/state'), '=1');
  });
  it('first entry is owner and default, later entries per domain', () => {
    const { dom0, connect } = setup();
    const [d1, d2, d3] = [connect(1), connect(2), connect(3)];
    dom0.write('/shared/x', 'v');
    assert.equal(dom0.setPerms('/shared/x', 'n1', 'r2', 'w3'), 'OK');
    assert.equal(d1.read('/shared/x'), '=v'); // owner
    assert.equal(d1.write('/shared/x', 'o'), 'OK');
    assert.equal(d2.read('/shared/x'), '=o');
    assert.equal(d2.write('/shared/x', 'no'), 'EACCES');
    assert.equal(d3.read('/shared/x'), 'EACCES');
    assert.equal(d3.write('/shared/x', 'w'), 'OK');
    assert.equal(connect(4).read('/shared/x'), 'EACCES'); // default n
    assert.equal(dom0.perms('/shared/x'), 'n1,r2,w3');
  });
  it('new nodes inherit parent perms with the unprivileged creator as owner', () => {
    const { dom0, connect } = setup();
    dom0.mkdir('/pub');
    dom0.setPerms('/pub', 'r0', 'b2');
    assert.equal(connect(2).write('/pub/a/b', 'x'), 'OK');
    assert.equal(dom0.perms('/pub/a'), 'r2,b2');
    assert.equal(dom0.perms('/pub/a/b'), 'r2,b2');
    dom0.write('/pub/c', '');
    assert.equal(dom0.perms('/pub/c'), 'r0,b2');
  });
  it('says EACCES, not ENOENT, below a node the domain cannot read', () => {
    const { dom0, connect } = setup();
    dom0.mkdir('/secret');
    assert.equal(connect(1).read('/secret/missing'), 'EACCES');
    assert.equal(connect(1).write('/secret/new', 'x'), 'EACCES');
    assert.equal(connect(1).rm('/secret/new'), 'EACCES');
    dom0.setPerms('/secret', 'r0');
    assert.equal(connect(1).read('/secret/missing'), 'ENOENT');
  });
  it('only the owner sets perms and only privileged domains change the owner', () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    dom0.setPerms('/local/domain/1', 'n1', 'b2');
    const [d1, d2] = [connect(1), connect(2)];
    assert.equal(d2.setPerms('/local/domain/1', 'n2'), 'EACCES');
    assert.equal(d1.setPerms('/local/domain/1', 'n2'), 'EPERM');
    assert.equal(d1.setPerms('/local/domain/1', 'r1', 'r0'), 'OK');
    assert.equal(dom0.setPerms('/local/domain/1', 'n5'), 'OK');
  });
  it('INTRODUCE and RELEASE are privileged; RELEASE drops the domain connections', () => {
    const { dom0, engine, connect } = setup();
    const d5 = connect(5);
    assert.equal(d5.call(XsType.XS_INTRODUCE, ['5', '0', '0']), 'EACCES');
    assert.equal(dom0.call(XsType.XS_IS_DOMAIN_INTRODUCED, ['5']), 'F');
    assert.equal(dom0.call(XsType.XS_INTRODUCE, ['5', '0', '0']), 'OK');
    assert.equal(d5.call(XsType.XS_IS_DOMAIN_INTRODUCED, ['5']), 'T');
    assert.ok(engine.isDomainIntroduced(5));
    assert.equal(d5.call(XsType.XS_RELEASE, ['5']), 'EACCES');
    assert.equal(dom0.call(XsType.XS_RELEASE, ['5']), 'OK');
    assert.ok(d5.closed);
    assert.equal(dom0.call(XsType.XS_RELEASE, ['5']), 'ENOENT');
    assert.equal(dom0.call(XsType.XS_RELEASE, ['0']), 'EINVAL');
  });
});

describe('xenstore engine: watches', () => {
  it('fires once on registration, then for the path and descendants; EEXIST on duplicates', () => {
    const { dom0 } = setup();
    assert.equal(dom0.watch('/a', 't'), 'OK');
    assert.deepEqual(dom0.events(), ['/a t']);
    assert.equal(dom0.watch('/a', 't'), 'EEXIST');
    assert.equal(dom0.watch('/a', 'u'), 'OK');
    dom0.events();
    dom0.write('/a/b', '1');
    dom0.write('/ab', '1');
    dom0.setPerms('/a/b', 'r1');
    assert.deepEqual(dom0.events(), ['/a/b t', '/a/b u', '/a/b t', '/a/b u']);
    assert.equal(dom0.unwatch('/a', 'u'), 'OK');
    assert.equal(dom0.unwatch('/a', 'u'), 'ENOENT');
    dom0.rm('/a');
    assert.deepEqual(dom0.events(), ['/a t']);
  });
  it('the immediate event follows the ack', () => {
    const { dom0 } = setup();
    dom0.conn.receive(encodeMessage({ type: XsType.XS_WATCH, reqId: 9, payload: stringsPayload('/x', 'k') }));
    assert.deepEqual(
      dom0.inbox.map((m) => [m.type, parseStrings(m.payload).join(' ')]),
      [
        [XsType.XS_WATCH, 'OK'],
        [XsType.XS_WATCH_EVENT, '/x k'],
      ],
    );
  });
  it('recursive rm: ancestors get the removed path, exact watchers of descendants their own', () => {
    const { dom0 } = setup();
    dom0.write('/a/b/c', '1');
    dom0.watch('/', 'root');
    dom0.watch('/a/b', 'ab');
    dom0.watch('/a/b/c', 'abc');
    dom0.watch('/a/b/c/d', 'abcd');
    dom0.events();
    dom0.rm('/a');
    assert.deepEqual(dom0.events().sort(), ['/a root', '/a/b ab', '/a/b/c abc'].sort());
  });
  it('honours depth', () => {
    const { dom0 } = setup();
    dom0.watch('/d', 't', '1');
    dom0.events();
    dom0.write('/d/a', '');
    dom0.write('/d/a/b', '');
    assert.deepEqual(dom0.events(), ['/d/a t']);
  });
  it('delivers to a domain only what it may read, with relative paths for relative watches', () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    const d1 = connect(1);
    assert.equal(d1.watch('/', 'all'), 'OK');
    assert.equal(d1.watch('device', 'rel'), 'OK');
    assert.deepEqual(d1.events(), ['/ all', 'device rel']);
    dom0.write('/secret', 'x');
    assert.deepEqual(d1.events(), []);
    dom0.write('/local/domain/1/device/vfb', '1');
    assert.deepEqual(d1.events(), ['/local/domain/1/device/vfb all', 'device/vfb rel']);
    dom0.setPerms('/secret', 'n0', 'r1');
    assert.deepEqual(d1.events(), ['/secret all']); // readable after the change
  });
  it('@introduceDomain / @releaseDomain go to privileged connections only', () => {
    const { dom0, engine, connect } = setup();
    const d1 = connect(1);
    dom0.watch('@introduceDomain', 'i');
    dom0.watch('@releaseDomain', 'r');
    dom0.watch('@releaseDomain', 'r1', '1');
    d1.watch('@releaseDomain', 'x');
    dom0.events();
    d1.events();
    engine.introduceDomain(3);
    engine.releaseDomain(3);
    assert.deepEqual(dom0.events(), ['@introduceDomain i', '@releaseDomain r', '@releaseDomain/3 r1']);
    assert.deepEqual(d1.events(), []);
    assert.equal(engine.releaseDomain(3), false);
  });
  it('RESET_WATCHES drops every watch', () => {
    const { dom0 } = setup();
    dom0.watch('/a', 't');
    assert.equal(dom0.call(XsType.XS_RESET_WATCHES, ['']), 'OK');
    dom0.events();
    dom0.write('/a', '');
    assert.deepEqual(dom0.events(), []);
  });
});

describe('xenstore engine: transactions', () => {
  it('isolates writes and fires their events only at commit', () => {
    const { dom0, connect } = setup();
    const other = connect(0);
    other.watch('/t', 'w');
    other.events();
    const tx = dom0.txStart();
    assert.equal(dom0.write('/t/a', '1', tx), 'OK');
    assert.equal(dom0.read('/t/a', tx), '=1');
    assert.equal(dom0.read('/t/a'), 'ENOENT');
    assert.deepEqual(other.events(), []);
    assert.equal(dom0.txEnd(tx), 'OK');
    assert.deepEqual(other.events(), ['/t/a w']);
    assert.equal(dom0.read('/t/a'), '=1');
  });
  it('aborts with F, leaving no trace and no events', () => {
    const { dom0 } = setup();
    dom0.watch('/t', 'w');
    dom0.events();
    const tx = dom0.txStart();
    dom0.write('/t/a', '1', tx);
    assert.equal(dom0.txEnd(tx, false), 'OK');
    assert.equal(dom0.read('/t/a'), 'ENOENT');
    assert.deepEqual(dom0.events(), []);
    assert.equal(dom0.txEnd(tx), 'ENOENT');
  });
  it('EAGAIN only when a node read in the transaction changed', () => {
    const { dom0, connect } = setup();
    const other = connect(0);
    dom0.write('/x', '0');
    dom0.write('/y', '0');
    let tx = dom0.txStart();
    dom0.read('/x', tx);
    dom0.write('/out', 'a', tx);
    other.write('/y', 'changed'); // not read by tx
    assert.equal(dom0.txEnd(tx), 'OK');
    tx = dom0.txStart();
    dom0.read('/x', tx);
    other.write('/x', 'changed');
    dom0.write('/out', 'b', tx);
    assert.equal(dom0.txEnd(tx), 'EAGAIN');
    assert.equal(dom0.read('/out'), '=a');
  });
  it('two transactions creating siblings under one read parent: the later one retries', () => {
    const { dom0 } = setup();
    dom0.mkdir('/p');
    const t1 = dom0.txStart();
    const t2 = dom0.txStart();
    dom0.ls('/p', t1);
    dom0.ls('/p', t2);
    dom0.write('/p/a', '1', t1);
    dom0.write('/p/b', '1', t2);
    assert.equal(dom0.txEnd(t1), 'OK');
    assert.equal(dom0.txEnd(t2), 'EAGAIN');
    assert.equal(dom0.ls('/p'), 'a');
  });
  it('refuses nested starts, unknown ids and bad end flags', () => {
    const { dom0 } = setup();
    const tx = dom0.txStart();
    assert.equal(dom0.call(XsType.XS_TRANSACTION_START, [''], tx), 'EBUSY');
    assert.equal(dom0.read('/', 999), 'ENOENT');
    assert.equal(dom0.call(XsType.XS_TRANSACTION_END, ['X'], tx), 'EINVAL');
  });
  it('limits open transactions of a domain', () => {
    const { connect } = setup();
    const d1 = connect(1);
    for (let i = 0; i < 10; i++) assert.ok(d1.txStart() > 0);
    assert.equal(d1.call(XsType.XS_TRANSACTION_START, ['']), 'ENOSPC');
  });
});

describe('xenstore engine: hostile input', () => {
  it('drops a connection that announces a payload over XENSTORE_PAYLOAD_MAX', () => {
    const { dom0, connect } = setup();
    const bad = connect(1);
    const h = Buffer.alloc(16);
    h.writeUInt32LE(XsType.XS_WRITE, 0);
    h.writeUInt32LE(XENSTORE_PAYLOAD_MAX + 1, 12);
    bad.conn.receive(h);
    assert.ok(bad.closed);
    bad.conn.receive(encodeMessage({ type: XsType.XS_READ, payload: stringsPayload('/') }));
    assert.deepEqual(bad.inbox, []);
    assert.equal(dom0.read('/tool'), '=');
  });
  it('a full-size payload is accepted', () => {
    const { dom0 } = setup();
    const value = 'v'.repeat(XENSTORE_PAYLOAD_MAX - '/big'.length - 1);
    assert.equal(dom0.write('/big', value), 'OK');
    assert.equal(dom0.read('/big'), `=${value}`);
  });
  it('fuzz: any request gets exactly one reply and never throws', () => {
    const { engine, dom0, connect } = setup();
    const d1 = connect(1);
    const word = fc.constantFrom('/', '/a', '/a/b', 'rel', '@releaseDomain', '', 'T', 'F', '1', 'r1', 'b0', 'x//y', '0', '3');
    const payload = fc.oneof(
      fc.array(word, { maxLength: 4 }).map((ws) => stringsPayload(...ws)),
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), payload, fc.nat(3), fc.boolean(), (type, p, txId, priv) => {
        const c = priv ? dom0 : d1;
        const before = c.inbox.length;
        const out = engine.handle(c.conn, { type, reqId: 77, txId, payload: p });
        assert.equal(out.filter((d) => d.kind === 'message').length, 1, 'exactly one reply');
        engine.deliver(out);
        assert.ok(c.inbox.length > before || c.closed);
        c.inbox.length = 0;
      }),
      { numRuns: 1000 },
    );
  });
});
