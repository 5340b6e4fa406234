// Drives the xenstore engine with bytes, the way a socket would, and collects what it sends.

import { strict as assert } from 'node:assert';
import { XenstoreEngine, type XsIdentity, type XsServerConnection } from '../../../shared/xenstore/server/engine';
import { type XsMessage, XsParser, XsType, encodeMessage, parseStrings, stringsPayload, writePayload } from '../../../shared/xenstore/wire';

export class TestConn {
  readonly inbox: XsMessage[] = [];
  readonly conn: XsServerConnection;
  closed = false;
  private readonly parser = new XsParser();
  private reqId = 100;

  /** Flushes the sink has been asked for (deferred connections only). */
  private readonly pendingFlushes: Array<() => void> = [];

  /**
   * `deferred`: output waits until flush() (a socket writes once per loop turn), so events
   * queued meanwhile meet C's duplicate check.
   */
  constructor(engine: XenstoreEngine, identity: XsIdentity, opts: { deferred?: boolean } = {}) {
    this.conn = engine.connect(identity, {
      write: (bytes) => {
        this.inbox.push(...this.parser.push(bytes));
      },
      close: () => {
        this.closed = true;
      },
      ...(opts.deferred ? { schedule: (flush: () => void) => void this.pendingFlushes.push(flush) } : {}),
    });
  }

  /** Writes what a deferred connection has queued. */
  flush(): void {
    for (const f of this.pendingFlushes.splice(0)) f();
  }

  /** Sends a request without waiting for (or looking for) its reply. */
  post(type: number, payload: Buffer, txId = 0): void {
    this.conn.receive(encodeMessage({ type, reqId: ++this.reqId, txId, payload }));
  }

  /** Sends one request; returns its reply (XS_ERROR replies become { error }). */
  send(type: number, payload: Buffer, txId = 0): { payload: Buffer; error?: string; type: number } {
    const reqId = ++this.reqId;
    this.conn.receive(encodeMessage({ type, reqId, txId, payload }));
    const i = this.inbox.findIndex((m) => m.reqId === reqId && m.type !== XsType.XS_WATCH_EVENT);
    assert.ok(i >= 0, `no reply to ${type}`);
    const [m] = this.inbox.splice(i, 1) as [XsMessage];
    assert.equal(m.txId, txId);
    if (m.type === XsType.XS_ERROR) return { payload: m.payload, type: m.type, error: parseStrings(m.payload)[0] };
    assert.equal(m.type, type);
    return { payload: m.payload, type: m.type };
  }

  /** Errno name of a failed request, or 'OK' / the reply text. */
  call(type: number, strings: string[], txId = 0): string {
    const r = this.send(type, stringsPayload(...strings), txId);
    return r.error ?? parseStrings(r.payload).join(',');
  }

  read(path: string, txId = 0): string {
    const r = this.send(XsType.XS_READ, stringsPayload(path), txId);
    return r.error ?? `=${r.payload.toString()}`;
  }
  write(path: string, value: string, txId = 0): string {
    const r = this.send(XsType.XS_WRITE, writePayload(path, value), txId);
    return r.error ?? parseStrings(r.payload).join(',');
  }
  mkdir = (p: string, tx = 0): string => this.call(XsType.XS_MKDIR, [p], tx);
  rm = (p: string, tx = 0): string => this.call(XsType.XS_RM, [p], tx);
  ls = (p: string, tx = 0): string => this.call(XsType.XS_DIRECTORY, [p], tx);
  perms = (p: string): string => this.call(XsType.XS_GET_PERMS, [p]);
  setPerms = (p: string, ...perms: string[]): string => this.call(XsType.XS_SET_PERMS, [p, ...perms]);
  watch = (p: string, token: string, ...depth: string[]): string => this.call(XsType.XS_WATCH, [p, token, ...depth]);
  unwatch = (p: string, token: string): string => this.call(XsType.XS_UNWATCH, [p, token]);
  txStart(): number {
    return Number(this.call(XsType.XS_TRANSACTION_START, ['']));
  }
  txEnd = (tx: number, commit = true): string => this.call(XsType.XS_TRANSACTION_END, [commit ? 'T' : 'F'], tx);

  /** Watch events received so far, as `path token`, then forgotten. */
  events(): string[] {
    const evs = this.inbox.filter((m) => m.type === XsType.XS_WATCH_EVENT);
    this.inbox.splice(0, this.inbox.length, ...this.inbox.filter((m) => m.type !== XsType.XS_WATCH_EVENT));
    return evs.map((m) => parseStrings(m.payload).join(' '));
  }
}

export function setup(): {
  engine: XenstoreEngine;
  dom0: TestConn;
  connect(domid: number, opts?: { deferred?: boolean }): TestConn;
} {
  const engine = new XenstoreEngine();
  const dom0 = new TestConn(engine, { domid: 0, privileged: true });
  return { engine, dom0, connect: (domid, opts = {}) => new TestConn(engine, { domid, privileged: false }, opts) };
}

/** What a toolstack does for a new guest: its home directory, owned by it. */
export function makeDomain(dom0: TestConn, domid: number): void {
  assert.equal(dom0.mkdir(`/local/domain/${domid}`), 'OK');
  assert.equal(dom0.setPerms(`/local/domain/${domid}`, `n${domid}`), 'OK');
}
