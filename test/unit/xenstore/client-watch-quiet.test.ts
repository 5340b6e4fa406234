// XsClient on a transport with watchNeedsQuiet (/dev/xen/xenbus): a WATCH or UNWATCH goes out
// only when no other request of the connection awaits its reply, and what was asked after it
// waits behind it, in order. Linux deadlocks its xenbus thread otherwise (transports.ts).

import { strict as assert } from 'node:assert';
import { XsClient } from '../../../shared/xenstore/client';
import type { TransportHandlers, XsTransport } from '../../../shared/xenstore/transports';
import { XsParser, XsType, encodeMessage, parseStrings, stringsPayload, type XsMessage } from '../../../shared/xenstore/wire';

/** Records what the client sends; the test answers by hand. */
class ManualTransport implements XsTransport {
  readonly sent: XsMessage[] = [];
  private handlers!: TransportHandlers;
  private readonly parser = new XsParser();
  constructor(readonly watchNeedsQuiet: boolean) {}
  start(h: TransportHandlers): void {
    this.handlers = h;
  }
  send(bytes: Buffer): void {
    this.sent.push(...this.parser.push(bytes));
  }
  close(): void {}
  /** Replies to the n-th sent request with `value` (OK for watches). */
  answer(n: number, value = 'OK'): void {
    const m = this.sent[n]!;
    const payload = m.type === XsType.XS_READ ? Buffer.from(value) : stringsPayload(value);
    this.handlers.onData(encodeMessage({ type: m.type, reqId: m.reqId, txId: m.txId, payload }));
  }
  summary(): string[] {
    return this.sent.map((m) => `${XsType[m.type]} ${parseStrings(m.payload)[0]}`);
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('xenstore client: watches on a transport that needs quiet', () => {
  it('holds a WATCH (and what follows it) until the reads before it have their replies', async () => {
    const t = new ManualTransport(true);
    const xs = new XsClient(t);
    const a = xs.read('a');
    const w = xs.watch('/w', 'tok');
    const b = xs.read('b');
    await tick();
    assert.deepEqual(t.summary(), ['XS_READ a'], 'the watch waits for the read in flight');
    t.answer(0, 'A');
    assert.equal(await a, 'A');
    await tick();
    assert.deepEqual(t.summary(), ['XS_READ a', 'XS_WATCH /w', 'XS_READ b'], 'then the watch, then what was asked after it');
    t.answer(1);
    t.answer(2, 'B');
    await w;
    assert.equal(await b, 'B');
    // UNWATCH obeys the same rule.
    const c = xs.read('c');
    const closing = (await w).close();
    await tick();
    assert.deepEqual(t.summary().slice(3), ['XS_READ c']);
    t.answer(3, 'C');
    assert.equal(await c, 'C');
    await tick();
    assert.deepEqual(t.summary().slice(3), ['XS_READ c', 'XS_UNWATCH /w']);
    t.answer(4);
    await closing;
    xs.close();
  });

  it('a reply to a timed-out request still counts, so a later WATCH is not held forever', async () => {
    const t = new ManualTransport(true);
    const xs = new XsClient(t, { timeoutMs: 5 });
    await assert.rejects(xs.read('slow'), { code: 'XS_E_TIMEOUT' });
    const w = xs.watch('/w');
    await tick();
    assert.deepEqual(t.summary(), ['XS_READ slow']);
    t.answer(0, 'late');
    await tick();
    assert.deepEqual(t.summary(), ['XS_READ slow', 'XS_WATCH /w']);
    t.answer(1);
    await w;
    xs.close();
  });

  it('without the flag (sockets) everything is pipelined at once', async () => {
    const t = new ManualTransport(false);
    const xs = new XsClient(t);
    const all = [xs.read('a'), xs.watch('/w'), xs.read('b')];
    await tick();
    assert.deepEqual(t.summary(), ['XS_READ a', 'XS_WATCH /w', 'XS_READ b']);
    t.answer(0, 'A');
    t.answer(1);
    t.answer(2, 'B');
    await Promise.all(all);
    xs.close();
  });
});
