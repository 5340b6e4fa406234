// Issue 15 items 6-9 at the engine level: quotas counted per domain across its connections,
// the nodes quota at transaction commit, transaction-nodes, bounded output queues with C's
// duplicate-event rule, the outstanding quota, and C's answers to malformed path payloads.

import { strict as assert } from 'node:assert';
import {
  QUOTA_MEMORY_PER_DOMAIN,
  QUOTA_NODES_PER_DOMAIN,
  QUOTA_OUTSTANDING_PER_DOMAIN,
  QUOTA_TRANSACTION_NODES,
  QUOTA_TRANSACTIONS_PER_DOMAIN,
  QUOTA_WATCHES_PER_DOMAIN,
} from '../../../shared/xenstore/server/quota';
import { XsType, encodeMessage, stringsPayload, writePayload } from '../../../shared/xenstore/wire';
import { XenstoreEngine } from '../../../shared/xenstore/server/engine';
import { TestConn, makeDomain, setup } from './harness';

describe('xenstore engine: quotas count per domain, not per connection (item 8)', () => {
  it(`20 connections of one domain share ${QUOTA_WATCHES_PER_DOMAIN} watches and ${QUOTA_TRANSACTIONS_PER_DOMAIN} transactions`, () => {
    const { engine, dom0, connect } = setup();
    makeDomain(dom0, 1);
    engine.introduceDomain(1);
    const conns = Array.from({ length: 20 }, () => connect(1));
    let watches = 0;
    let txs = 0;
    for (const c of conns) {
      for (let i = 0; i < QUOTA_WATCHES_PER_DOMAIN; i++) if (c.watch(`w${i}`, `t${c.conn.id}`) === 'OK') watches++;
      for (let i = 0; i < QUOTA_TRANSACTIONS_PER_DOMAIN; i++) if (c.call(XsType.XS_TRANSACTION_START, ['']) !== 'ENOSPC') txs++;
    }
    console.log(`      20 connections of domain 1 got ${watches} watches and ${txs} transactions (before: 2,560 and 200)`);
    assert.equal(watches, QUOTA_WATCHES_PER_DOMAIN);
    assert.equal(txs, QUOTA_TRANSACTIONS_PER_DOMAIN);
    assert.deepEqual(
      { w: engine.usage(1)!.watches, t: engine.usage(1)!.transactions },
      { w: QUOTA_WATCHES_PER_DOMAIN, t: QUOTA_TRANSACTIONS_PER_DOMAIN },
    );
    // Closing a connection gives its share back.
    const holder = conns.find((c) => c.conn.watches.size > 0)!;
    const held = holder.conn.watches.size;
    engine.disconnect(holder.conn);
    assert.equal(engine.usage(1)!.watches, QUOTA_WATCHES_PER_DOMAIN - held);
    assert.equal(conns[19]!.watch('again', 'x'), 'OK');
  });

  it('10 concurrent transactions that each fill the nodes quota cannot all commit', () => {
    const { engine, dom0, connect } = setup();
    makeDomain(dom0, 1);
    assert.equal(dom0.call(XsType.XS_CONTROL, ['quota', 'set', 'node-size', '1000000']), 'OK');
    const d1 = connect(1);
    for (let t = 0; t < 10; t++) assert.equal(d1.mkdir(`t${t}`), 'OK'); // separate parents: no EAGAIN
    const txs = Array.from({ length: 10 }, () => d1.txStart());
    for (const [t, tx] of txs.entries()) {
      let i = 0;
      while (d1.write(`t${t}/n${i}`, '', tx) === 'OK') i++;
    }
    const results = txs.map((tx) => d1.txEnd(tx));
    const owned = engine.store.ownedBy(1);
    console.log(
      `      commits: ${JSON.stringify(results.reduce<Record<string, number>>((m, r) => ({ ...m, [r]: (m[r] ?? 0) + 1 }), {}))}; domain 1 owns ${owned} nodes (quota ${QUOTA_NODES_PER_DOMAIN}; before: 9,667)`,
    );
    assert.ok(results.filter((r) => r === 'OK').length <= 1);
    assert.ok(results.every((r) => r === 'OK' || r === 'ENOSPC'));
    assert.ok(owned <= QUOTA_NODES_PER_DOMAIN, `domain 1 owns ${owned} nodes`);

    // Ten that each stay under the quota alone commit until the sum would reach it.
    const more = Array.from({ length: 10 }, () => d1.txStart());
    for (const [t, tx] of more.entries()) for (let i = 0; i < 150; i++) assert.equal(d1.write(`t${t}/m${i}`, '', tx), 'OK');
    const second = more.map((tx) => d1.txEnd(tx));
    assert.deepEqual(second, [...Array(6).fill('OK'), ...Array(4).fill('ENOSPC')]);
    assert.equal(engine.store.ownedBy(1), owned + 6 * 150);
  });

  it('a transaction under the quota commits; dom0 transactions are not limited', () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    const d1 = connect(1);
    const tx = d1.txStart();
    assert.equal(d1.write('a', '', tx), 'OK');
    assert.equal(d1.txEnd(tx), 'OK');
    assert.equal(d1.read('a'), '=');
    const t0 = dom0.txStart();
    for (let i = 0; i < QUOTA_TRANSACTION_NODES + 10; i++) assert.equal(dom0.read(`/m/${i}`, t0), 'ENOENT');
    assert.equal(dom0.txEnd(t0), 'OK');
  });

  it(`transaction-nodes: the access past ${QUOTA_TRANSACTION_NODES} nodes is ENOSPC and the commit ENOMEM (item 7)`, () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    const d1 = connect(1);
    const tx = d1.txStart();
    const answers = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const r = d1.read(`x${i}`, tx);
      answers.set(r, (answers.get(r) ?? 0) + 1);
    }
    // Every read also accesses /local/domain/1, the closest existing ancestor.
    assert.deepEqual(
      [...answers],
      [
        ['ENOENT', QUOTA_TRANSACTION_NODES - 1],
        ['ENOSPC', 2000 - QUOTA_TRANSACTION_NODES + 1],
      ],
    );
    assert.equal(d1.read('x0', tx), 'ENOENT', 'nodes already accessed still answer');
    assert.equal(d1.txEnd(tx), 'ENOMEM');
    assert.equal(d1.call(XsType.XS_TRANSACTION_START, ['']) !== 'ENOSPC', true, 'the transaction is gone');
  });
});

describe('xenstore engine: output queues (item 6) and the outstanding quota', () => {
  /** A domain connection whose transport is full: nothing it is sent leaves the queue. */
  function stuck(
    engine: XenstoreEngine,
    domid: number,
  ): { conn: ReturnType<XenstoreEngine['connect']>; drain(): void; block(): void; got: number } {
    const state = { got: 0, full: true };
    const conn = engine.connect(
      { domid, privileged: false },
      {
        write: () => {
          state.got++;
          return !state.full;
        },
        close: () => undefined,
      },
    );
    return {
      conn,
      drain: () => {
        state.full = false;
        conn.drained();
      },
      block: () => {
        state.full = true;
      },
      get got() {
        return state.got;
      },
    };
  }

  it(`a domain that never reads holds at most its memory quota (${QUOTA_MEMORY_PER_DOMAIN} bytes) of events`, () => {
    const { engine, dom0 } = setup();
    makeDomain(dom0, 1);
    engine.introduceDomain(1);
    const w = stuck(engine, 1);
    const token = (k: number): string => `${k}-${'t'.repeat(100)}`;
    for (let k = 0; k < 4; k++) {
      w.conn.receive(encodeMessage({ type: XsType.XS_WATCH, reqId: k, txId: 0, payload: stringsPayload('/local/domain/1', token(k)) }));
    }
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 20000; i++) dom0.write(`/local/domain/1/n${i % 6000}`, String(i));
    const a = engine.account(1)!;
    console.log(
      `      queued ${a.queuedBytes} bytes; ${a.droppedEvents} events dropped at the memory quota, ${a.duplicateEvents} as duplicates; ` +
        `heap +${((process.memoryUsage().heapUsed - before) / 1048576).toFixed(1)} MiB`,
    );
    // dom0's writes may take the domain's node memory past the quota; the queue never does.
    assert.ok(a.queuedBytes < QUOTA_MEMORY_PER_DOMAIN, `${a.queuedBytes} bytes queued`);
    assert.ok(a.queuedBytes > QUOTA_MEMORY_PER_DOMAIN / 2, 'the queue filled up to near the quota');
    assert.ok(a.droppedEvents > 0);
    assert.equal(engine.usage(1)!.memory, engine.memoryOf(a));
  });

  it('the memory quota crossing is logged once, and again at most every 10 s (C MEM_WARN_MINTIME_SEC)', () => {
    let now = 0;
    const lines: string[] = [];
    const engine = new XenstoreEngine({ log: (l) => lines.push(l), now: () => now });
    engine.quotas.set('memory', 20000);
    const dom0 = new TestConn(engine, { domid: 0, privileged: true });
    makeDomain(dom0, 1);
    engine.introduceDomain(1);
    const w = stuck(engine, 1);
    const token = 't'.repeat(200);
    w.conn.receive(encodeMessage({ type: XsType.XS_WATCH, reqId: 1, txId: 0, payload: stringsPayload('/local/domain/1', token) }));
    // 100 nodes (~7 KB of node memory) and events of ~240 bytes: the queue reaches the quota.
    const flood = (from: number): void => {
      for (let i = from; i < from + 1000; i++) dom0.write(`/local/domain/1/n${i % 100}`, '');
    };
    const read = (): void =>
      w.conn.receive(encodeMessage({ type: XsType.XS_READ, reqId: 9, txId: 0, payload: stringsPayload('/local/domain/1') }));
    flood(0);
    assert.equal(lines.filter((l) => l.includes('exceeds')).length, 1);
    w.drain();
    w.block();
    now = 1000;
    read();
    flood(1000);
    assert.ok(engine.account(1)!.droppedEvents > 1000, 'the queue filled again');
    assert.equal(lines.length, 1, 'crossing again within 10 s: nothing more is logged');
    w.drain();
    w.block();
    now = 12000;
    read();
    assert.ok(lines[1]!.includes('below hard memory quota again'));
    flood(2000);
    assert.equal(lines.filter((l) => l.includes('exceeds')).length, 2);
  });

  it('events a guest never reads expire after 20 s, releasing the other domain they held at its outstanding quota', () => {
    let now = 0;
    const engine = new XenstoreEngine({ now: () => now });
    const dom0 = new TestConn(engine, { domid: 0, privileged: true });
    makeDomain(dom0, 1);
    assert.equal(dom0.setPerms('/local/domain/1', 'n1', 'r2'), 'OK');
    engine.introduceDomain(1);
    engine.introduceDomain(2);
    const reader = stuck(engine, 2);
    reader.conn.receive(encodeMessage({ type: XsType.XS_WATCH, reqId: 1, txId: 0, payload: stringsPayload('/local/domain/1', 'w') }));
    const d1 = new TestConn(engine, { domid: 1, privileged: false });
    for (let i = 0; i < 30; i++) d1.post(XsType.XS_WRITE, writePayload(`n${i}`, 'v'));
    assert.equal(engine.usage(1)!.outstanding, QUOTA_OUTSTANDING_PER_DOMAIN, "domain 2's unread events hold domain 1's requests");
    assert.equal(d1.conn.waitingRequests, 30 - QUOTA_OUTSTANDING_PER_DOMAIN);
    now = 19999;
    assert.equal(engine.expireEvents(), 20000);
    assert.equal(d1.conn.waitingRequests, 10);
    now = 20000;
    engine.expireEvents();
    assert.equal(engine.account(2)!.expiredEvents, 1 + QUOTA_OUTSTANDING_PER_DOMAIN, 'its registration event and 20 more');
    assert.equal(d1.conn.waitingRequests, 0, 'domain 1 runs again');
    assert.equal(d1.inbox.filter((m) => m.type === XsType.XS_WRITE).length, 30);
  });

  it('an event identical to one still queued is dropped (C send_event), @ events are not', () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    const d1 = connect(1, { deferred: true });
    d1.post(XsType.XS_WATCH, stringsPayload('/local/domain/1/a', 'tok'));
    d1.post(XsType.XS_WATCH, stringsPayload('@releaseDomain', 'rel'));
    d1.flush();
    assert.deepEqual(d1.events(), ['/local/domain/1/a tok', '@releaseDomain rel']);
    dom0.write('/local/domain/1/a', '1');
    dom0.write('/local/domain/1/a', '2');
    dom0.write('/local/domain/1/a/b', '3');
    d1.flush();
    assert.deepEqual(d1.events(), ['/local/domain/1/a tok', '/local/domain/1/a/b tok']);
  });

  it('item 9a: WATCH tok2 then RM from another connection before the output is written: 2 events, as C', () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    dom0.write('/local/domain/1/w', 'x');
    const a = connect(1, { deferred: true });
    const b = connect(1);
    a.post(XsType.XS_WATCH, stringsPayload('w', 'tok1'));
    a.flush();
    assert.deepEqual(a.events(), ['w tok1']);
    a.post(XsType.XS_WATCH, stringsPayload('w', 'tok1'));
    a.flush();
    assert.equal(a.inbox.pop()!.type, XsType.XS_ERROR);
    a.post(XsType.XS_WATCH, stringsPayload('w', 'tok2'));
    assert.equal(b.rm('w'), 'OK');
    a.flush();
    assert.deepEqual(a.events(), ['w tok2', 'w tok1']);
  });

  it('replies leave at the end of their chunk while no event is queued; with one queued, output waits for the batch', () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    const a = connect(1, { deferred: true });
    const b = connect(1);
    a.post(XsType.XS_WRITE, writePayload('w', 'x'));
    a.post(XsType.XS_READ, stringsPayload('w'));
    assert.deepEqual(
      a.inbox.map((m) => m.type),
      [XsType.XS_WRITE, XsType.XS_READ],
      'written before the end of the turn: nothing later could merge with them',
    );
    a.inbox.length = 0;
    a.post(XsType.XS_WATCH, stringsPayload('w', 'tok'));
    assert.equal(a.inbox.length, 0, 'the WATCH reply and its queued event wait for the batch');
    assert.equal(b.write('w', 'y'), 'OK');
    a.flush();
    assert.deepEqual(
      a.inbox.map((m) => m.type),
      [XsType.XS_WATCH, XsType.XS_WATCH_EVENT],
      "b's change merged with the event still queued, as in C",
    );
  });

  it(`outstanding: a domain whose replies are not taken stops being read after ${QUOTA_OUTSTANDING_PER_DOMAIN} requests`, () => {
    const { engine, dom0, connect } = setup();
    makeDomain(dom0, 1);
    engine.introduceDomain(1);
    const s = stuck(engine, 1);
    for (let i = 0; i < 50; i++)
      s.conn.receive(encodeMessage({ type: XsType.XS_WRITE, reqId: i, txId: 0, payload: writePayload(`/local/domain/1/s${i}`, '') }));
    assert.equal(s.got, 1, 'one write to the transport, which said it is full');
    assert.equal(engine.usage(1)!.outstanding, QUOTA_OUTSTANDING_PER_DOMAIN);
    // The first reply went out (then the transport was full); 20 more wait in the queue.
    assert.equal(s.conn.waitingRequests, 50 - 1 - QUOTA_OUTSTANDING_PER_DOMAIN);
    const other = connect(1);
    other.conn.receive(encodeMessage({ type: XsType.XS_READ, reqId: 7, txId: 0, payload: stringsPayload('s0') }));
    assert.equal(other.inbox.length, 0, 'the same domain on another connection waits too');
    assert.equal(dom0.read('/local/domain/1/s0'), '=', 'dom0 is not held');
    s.drain();
    assert.equal(s.conn.waitingRequests, 0);
    assert.equal(engine.usage(1)!.outstanding, 0);
    assert.equal(other.inbox.length, 1, 'the other connection ran once the domain was under its quota');
  });
});

describe('xenstore engine: C answers to malformed path payloads (item 9b)', () => {
  it('READ/DIRECTORY/GET_PERMS without one NUL-terminated path answer the errno of the last lookup', () => {
    const engine = new XenstoreEngine();
    const c = new TestConn(engine, { domid: 0, privileged: true });
    const raw = (type: number, text: string): string => c.send(type, Buffer.from(text)).error ?? 'OK';
    assert.equal(raw(XsType.XS_READ, '/nonul'), 'ENOENT', 'a fresh daemon: ENOENT');
    assert.equal(c.read('/tool'), '=');
    assert.equal(raw(XsType.XS_READ, '/tool'), 'ENOENT', 'C: the errno is stale, the node exists');
    assert.equal(c.read('/a//b'), 'EINVAL');
    assert.equal(raw(XsType.XS_DIRECTORY, '/nonul'), 'EINVAL', 'after an invalid path: EINVAL');
    assert.equal(raw(XsType.XS_GET_PERMS, '/a\0/b\0'), 'EINVAL', 'two strings: not one argument either');
    assert.equal(c.write('/new', 'v'), 'OK');
    assert.equal(raw(XsType.XS_READ, ''), 'ENOENT', 'creating a node looked up a missing one first');
    assert.equal(c.watch('/new', 't'), 'OK');
    assert.equal(raw(XsType.XS_READ, '/nonul'), 'EINVAL', 'C aborts here (errno 0); we answer EINVAL');
    assert.equal(c.read('/new'), '=v', 'well-formed requests are unaffected');
  });
});

describe('xenstore engine: who sees a watch event (C watch_permitted)', () => {
  it('a domain sees events of a node it cannot read when it can read the parent', () => {
    const { dom0, connect } = setup();
    makeDomain(dom0, 1);
    assert.equal(dom0.write('/local/domain/1/secret', 'x'), 'OK');
    assert.equal(dom0.setPerms('/local/domain/1/secret', 'n0'), 'OK');
    const d1 = connect(1);
    assert.equal(d1.watch('secret', 't'), 'OK');
    d1.events();
    assert.equal(dom0.write('/local/domain/1/secret', 'y'), 'OK');
    assert.deepEqual(d1.events(), ['secret t'], 'the parent /local/domain/1 is readable');
    assert.equal(dom0.write('/hidden/a', 'x'), 'OK');
    assert.equal(d1.watch('/hidden/a', 'h'), 'OK');
    d1.events();
    assert.equal(dom0.write('/hidden/a', 'y'), 'OK');
    assert.deepEqual(d1.events(), [], 'neither /hidden/a nor /hidden is readable');
  });
  it('a node created and removed inside one transaction fires for nobody', () => {
    const { dom0 } = setup();
    assert.equal(dom0.watch('/', 'all'), 'OK');
    dom0.events();
    const tx = dom0.txStart();
    assert.equal(dom0.write('/tmp/x', 'v', tx), 'OK');
    assert.equal(dom0.write('/keep', 'v', tx), 'OK');
    assert.equal(dom0.rm('/tmp', tx), 'OK');
    assert.equal(dom0.txEnd(tx), 'OK');
    assert.deepEqual(dom0.events(), ['/keep all'], '/tmp and /tmp/x: no perms before, no node after');
  });
});
