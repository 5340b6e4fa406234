// One client connection of the embedded xenstored: its identity, watches and transactions,
// the requests it sent that are not handled yet, and its output queue. The queue is C
// xenstored's conn->out_list (tools/xenstored/core.c): replies and watch events wait there
// until the transport takes them, and while an event waits an identical one (same path
// and token) is dropped, as send_event() does. For an unprivileged domain every queued
// byte is charged to the domain's memory, an event that would reach the `memory` quota is
// dropped, and a domain at its `outstanding` or `memory` quota is not read from
// (domain_can_read()). So a guest that never reads costs at most its memory quota.

import { XS_HEADER_SIZE, type XsMessage, XsParser, XsType, encodeMessage } from '../wire';
import type { DomainAccount, RequestRef } from './accounts';
import type { XsIdentity } from './perms';
import type { Transaction } from './transactions';
import { type Watch, WatchList } from './watches';

export interface ConnectionSink {
  /**
   * Bytes for the client. Returning false means the transport is full: the connection
   * keeps further output queued until the sink calls drained() (e.g. on 'drain').
   */
  write(bytes: Buffer): boolean | void;
  /** The engine dropped the connection (oversize packet, domain released, close()). */
  close(): void;
  /**
   * When given, queued output is written later: the connection calls this once per batch
   * and the sink calls `flush` back (the socket adapter uses setImmediate, one write per
   * loop turn, like C's poll loop). Without it output is written at once.
   */
  schedule?(flush: () => void): void;
  /** Stop reading from the client: its domain is at its outstanding or memory quota. */
  pause?(): void;
  /** Read again. */
  resume?(): void;
}

/** What the connection needs from the engine (kept narrow so the two files stay apart). */
export interface ConnectionHost {
  /** Runs the connection's queued requests (conn.run()), never re-entering a running one. */
  wake(conn: XsServerConnection): void;
  /** A watch was registered or dropped (the engine's index of all watches). */
  watchAdded(conn: XsServerConnection, w: Watch): void;
  watchRemoved(conn: XsServerConnection, w: Watch): void;
  /** Handles one request and queues its reply and events. */
  process(conn: XsServerConnection, msg: XsMessage): void;
  /** Drops the connection (oversize packet). */
  disconnect(conn: XsServerConnection): void;
  /** Domain memory as C counts it: nodes, watches and queued output. */
  memoryOf(account: DomainAccount): number;
  /** True while the domain is under its outstanding and memory quotas. */
  mayRead(conn: XsServerConnection): boolean;
  /** Output left a domain's queues: its stalled connections may read again. */
  released(account: DomainAccount): void;
  /** The `memory` quota in bytes (0 = none). */
  memoryQuota(): number;
  /** An event was dropped at the domain's memory quota (the engine logs, rate-limited). */
  overMemory(account: DomainAccount): void;
  /** When an event queued now for an unprivileged domain expires (ms), or undefined. */
  eventDeadline(): number | undefined;
  /** The transport is full with output still queued (true) or the queue emptied (false). */
  backedUp(conn: XsServerConnection, on: boolean): void;
}

/**
 * A queued message. Events stay text until they are written: thousands of small Buffers
 * alive for long would each pin a slab of Node's Buffer pool, far more than they count.
 * Every field is always set (one object shape on the per-request path).
 */
interface OutItem {
  /** An encoded reply. */
  bytes: Buffer | undefined;
  /** An event's payload, `path \0 token \0`; also its duplicate-check key on normal paths. */
  event: string | undefined;
  /** Bytes on the wire, header included: what the domain's memory is charged. */
  size: number;
  /** For a reply: its request; for an event: the request that caused it. */
  ref: RequestRef | undefined;
  /** The event is in queuedEvents. */
  keyed: boolean;
  /** Unprivileged receivers: when the event is dropped if still queued (ms). */
  expires: number | undefined;
}

/** At most this many bytes go to the transport in one write. */
const FLUSH_BATCH_BYTES = 64 * 1024;

export class XsServerConnection {
  readonly watches = new WatchList();
  readonly transactions = new Map<number, Transaction>();
  private readonly parser = new XsParser();
  private inbox: XsMessage[] = [];
  private inboxHead = 0;
  private out: OutItem[] = [];
  private outHead = 0;
  private readonly queuedEvents = new Set<string>();
  private flushScheduled = false;
  /** receive() is running this connection's requests: it writes their output when done. */
  private receiving = false;
  private readonly flushLater = (): void => this.flush();
  /** The transport said it is full: nothing more is written until drained(). */
  private blocked = false;
  private paused = false;
  closed = false;

  constructor(
    readonly id: number,
    readonly identity: XsIdentity,
    /** The domain's shared account; undefined for privileged connections (no quotas). */
    readonly account: DomainAccount | undefined,
    private readonly host: ConnectionHost,
    private readonly sink: ConnectionSink,
  ) {}

  /** Bytes from the client. A payload over XENSTORE_PAYLOAD_MAX drops the connection. */
  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    try {
      const messages = this.parser.push(chunk);
      for (const m of messages) this.inbox.push(m);
    } catch {
      this.host.disconnect(this);
      return;
    }
    this.receiving = true;
    try {
      this.host.wake(this);
    } finally {
      this.receiving = false;
    }
    if (this.outHead === this.out.length || this.flushScheduled || !this.sink.schedule) return;
    // With no event queued, nothing a later request of this loop turn does can merge with
    // this output (only an event identical to a queued one is dropped), so writing it now
    // puts the same bytes on the wire, in the same order, as the batch at the end of the
    // turn would, a turn's machinery sooner. Queued events wait for the batch, as in C.
    if (this.queuedEvents.size === 0) this.flush();
    else this.scheduleFlush();
  }

  /** Handles queued requests while the domain may be read; pauses the client otherwise. */
  run(): boolean {
    while (this.inboxHead < this.inbox.length && !this.closed) {
      if (!this.host.mayRead(this)) {
        if (!this.paused) {
          this.paused = true;
          this.sink.pause?.();
        }
        return false;
      }
      const msg = this.inbox[this.inboxHead]!;
      this.inbox[this.inboxHead++] = undefined as unknown as XsMessage;
      this.host.process(this, msg);
    }
    this.inbox = [];
    this.inboxHead = 0;
    if (this.paused && !this.closed) {
      this.paused = false;
      this.sink.resume?.();
    }
    return true;
  }

  /** Requests received but not handled yet (held while the domain is over quota). */
  get waitingRequests(): number {
    return this.inbox.length - this.inboxHead;
  }

  /** Bytes queued for this client and not yet handed to the transport. */
  get queuedBytes(): number {
    let n = 0;
    for (let i = this.outHead; i < this.out.length; i++) n += this.out[i]!.size;
    return n;
  }

  queueReply(message: XsMessage, ref: RequestRef | undefined): void {
    const bytes = encodeMessage(message);
    this.push({ bytes, event: undefined, size: bytes.length, ref, keyed: false, expires: undefined });
  }

  /**
   * Queues a watch event unless an identical one is still queued (not for `@` paths) or,
   * for an unprivileged domain, it would take the domain to its memory quota.
   */
  queueEvent(path: string, token: string, cause: RequestRef | undefined): void {
    if (this.closed) return;
    const account = this.account;
    if (account) {
      const quota = this.host.memoryQuota();
      const size = XS_HEADER_SIZE + Buffer.byteLength(path) + Buffer.byteLength(token) + 2;
      if (quota > 0 && this.host.memoryOf(account) + size >= quota) {
        account.droppedEvents++;
        this.host.overMemory(account);
        return;
      }
    }
    const { payload, size } = eventPayload(path, token);
    const keyed = path.charCodeAt(0) !== 0x40; // `@` events are never merged
    if (keyed && this.queuedEvents.has(payload)) {
      if (account) account.duplicateEvents++;
      return;
    }
    if (keyed) this.queuedEvents.add(payload);
    if (cause) cause.events++;
    const expires = account ? this.host.eventDeadline() : undefined;
    this.push({ bytes: undefined, event: payload, size, ref: cause, keyed, expires });
  }

  private push(item: OutItem): void {
    if (this.closed) {
      this.release(item);
      return;
    }
    this.out.push(item);
    if (this.account) this.account.queuedBytes += item.size;
    if (!this.sink.schedule) {
      this.flush();
    } else if (!this.flushScheduled && !this.receiving) {
      this.scheduleFlush();
    }
  }

  private scheduleFlush(): void {
    this.flushScheduled = true;
    this.sink.schedule!(this.flushLater);
  }

  /** The transport has room again. */
  drained(): void {
    this.blocked = false;
    this.flush();
  }

  /** Hands queued output to the transport until it is empty or the transport is full. */
  flush(): void {
    this.flushScheduled = false;
    if (this.blocked) {
      if (this.account && this.outHead < this.out.length) this.host.backedUp(this, true);
      return;
    }
    let freed = false;
    while (this.outHead < this.out.length && !this.closed) {
      let end = this.outHead;
      let total = 0;
      while (end < this.out.length && (total === 0 || total + this.out[end]!.size <= FLUSH_BATCH_BYTES)) {
        total += this.out[end]!.size;
        end++;
      }
      const first = this.out[this.outHead]!;
      const chunk = end === this.outHead + 1 ? (first.bytes ?? eventMessage(first.event!, first.size)) : this.encode(end, total);
      for (let i = this.outHead; i < end; i++) {
        this.release(this.out[i]!);
        this.out[i] = undefined as unknown as OutItem; // (Array#fill is a runtime call: slower for the usual one item)
      }
      this.outHead = end;
      freed = true;
      if (this.sink.write(chunk) === false) {
        this.blocked = true;
        break;
      }
    }
    if (this.outHead === this.out.length) {
      this.out = [];
      this.outHead = 0;
    }
    if (this.account) this.host.backedUp(this, this.blocked && this.outHead < this.out.length);
    if (freed && this.account) this.host.released(this.account);
  }

  /** Items outHead..end as one buffer of `total` bytes. */
  private encode(end: number, total: number): Buffer {
    const buf = Buffer.allocUnsafe(total);
    let off = 0;
    for (let i = this.outHead; i < end; i++) {
      const item = this.out[i]!;
      if (item.bytes) item.bytes.copy(buf, off);
      else writeEvent(buf, off, item.event!, item.size);
      off += item.size;
    }
    return buf;
  }

  /**
   * C check_event_timeout(): events for an unprivileged domain still queued at their
   * deadline are dropped, which also releases the requests that caused them (so a guest
   * that never reads cannot hold another domain at its outstanding quota for long).
   * Returns the next deadline still queued, if any.
   */
  expire(now: number): number | undefined {
    let next: number | undefined;
    let dropped = false;
    const kept: OutItem[] = [];
    for (let i = this.outHead; i < this.out.length; i++) {
      const item = this.out[i]!;
      if (item.expires !== undefined && item.expires <= now) {
        this.release(item);
        if (this.account) this.account.expiredEvents++;
        dropped = true;
      } else {
        kept.push(item);
        if (item.expires !== undefined && next === undefined) next = item.expires;
      }
    }
    if (dropped) {
      this.out = kept;
      this.outHead = 0;
      if (this.account) this.host.released(this.account);
    }
    return next;
  }

  private release(item: OutItem): void {
    if (this.account) this.account.queuedBytes -= item.size;
    if (item.keyed) this.queuedEvents.delete(item.event!);
    if (item.ref) {
      if (item.bytes) item.ref.replyDone();
      else item.ref.eventDone();
    }
  }

  // ---- watches and transactions, kept in step with the domain's account ---------------

  addWatch(w: Watch): void {
    this.watches.add(w);
    this.host.watchAdded(this, w);
    if (this.account) {
      this.account.watches++;
      this.account.watchBytes += watchBytes(w);
    }
  }

  removeWatch(path: string, token: string): boolean {
    const w = this.watches.remove(path, token);
    if (!w) return false;
    this.host.watchRemoved(this, w);
    if (this.account) {
      this.account.watches--;
      this.account.watchBytes -= watchBytes(w);
    }
    return true;
  }

  clearWatches(): void {
    for (const w of this.watches.all()) this.removeWatch(w.path, w.token);
  }

  addTransaction(tx: Transaction): void {
    this.transactions.set(tx.id, tx);
    if (this.account) this.account.transactions++;
  }

  /** Removes and returns a transaction (undefined if the id is not one of ours). */
  takeTransaction(id: number): Transaction | undefined {
    const tx = this.transactions.get(id);
    if (tx) {
      this.transactions.delete(id);
      if (this.account) this.account.transactions--;
    }
    return tx;
  }

  clearTransactions(): void {
    for (const id of [...this.transactions.keys()]) this.takeTransaction(id);
  }

  /** Called by the engine only; use engine.disconnect(conn) to drop a connection. */
  shutdown(): void {
    this.closed = true;
    this.clearWatches();
    this.clearTransactions();
    for (let i = this.outHead; i < this.out.length; i++) this.release(this.out[i]!);
    this.out = [];
    this.outHead = 0;
    this.inbox = [];
    this.inboxHead = 0;
    this.sink.close();
  }
}

/**
 * The last event payload built: one change fires the same path and token to every watcher
 * of it, so they share one string (built, measured and hashed for the duplicate check once).
 */
let lastPayload = { path: '', token: '', payload: '', size: 0 };

function eventPayload(path: string, token: string): { payload: string; size: number } {
  if (lastPayload.path !== path || lastPayload.token !== token) {
    const payload = `${path}\0${token}\0`;
    lastPayload = { path, token, payload, size: XS_HEADER_SIZE + Buffer.byteLength(payload) };
  }
  return lastPayload;
}

/**
 * The last event written alone, encoded: a change watched by many connections sends them
 * all the same bytes, so they are encoded once (the transports never modify what they write).
 */
let lastEvent: { payload: string; bytes: Buffer } | undefined;

function eventMessage(payload: string, size: number): Buffer {
  if (lastEvent?.payload === payload) return lastEvent.bytes;
  const bytes = Buffer.allocUnsafe(size);
  writeEvent(bytes, 0, payload, size);
  lastEvent = { payload, bytes };
  return bytes;
}

// u32 type | u32 req_id | u32 tx_id | u32 len, then path \0 token \0
function writeEvent(buf: Buffer, off: number, payload: string, size: number): void {
  buf.writeUInt32LE(XsType.XS_WATCH_EVENT, off);
  buf.writeUInt32LE(0, off + 4);
  buf.writeUInt32LE(0, off + 8);
  buf.writeUInt32LE(size - XS_HEADER_SIZE, off + 12);
  buf.write(payload, off + XS_HEADER_SIZE, 'utf8');
}

/** C charges strlen(path) + strlen(token) of each watch to the domain's memory. */
function watchBytes(w: Watch): number {
  return Buffer.byteLength(w.path) + Buffer.byteLength(w.token);
}
