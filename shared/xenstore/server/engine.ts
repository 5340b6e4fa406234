// The embedded xenstored: a pure engine in the shape of ocaml-xenstore's server
// (`reply(store, conn, request)`). `handle(conn, message)` returns the deliveries a request
// makes (watch events first, then the reply, as C xenstored queues them; connections to
// drop); `deliver()` puts them on the connections' output queues (connection.ts).
// Connections are byte sessions: `engine.connect(identity, sink)` + `conn.receive(chunk)`;
// the socket, ring or in-memory pipe is a thin adapter around that.

import { isXenvfbError } from '../../errors';
import { type XsErrno, type XsMessage, XsType, errorPayload } from '../wire';
import { DomainAccount, RequestRef } from './accounts';
import { type ConnectionHost, type ConnectionSink, XsServerConnection } from './connection';
import type { ControlHost } from './control';
import type { Delivery, HandlerHost } from './handler-host';
import { failWith } from './fail';
import { HANDLERS } from './handlers';
import type { OpContext } from './operations';
import { type XsIdentity, canRead } from './perms';
import { type DomainUsage, QUOTA_PATH_MAX, Quotas } from './quota';
import { Store, childPath, parentOf } from './store';
import type { PendingEvent, Transaction } from './transactions';
import { type Watch, WatchIndex } from './watches';

export type { XsIdentity } from './perms';
export type { ConnectionSink } from './connection';
export { XsServerConnection } from './connection';

export type { Delivery } from './handler-host';

export interface EngineOptions {
  /** Where CONTROL 'print' text (and, with 'log on', request traces) goes. */
  log?: (line: string) => void;
  /** Clock for rate-limited logs and event timeouts (ms); Date.now by default. */
  now?: () => number;
  /** How long an event for an unprivileged domain may wait in its queue; 0 = forever. */
  watchEventTimeoutMs?: number;
}

/** MEM_WARN_MINTIME_SEC in C's domain.c. */
const MEMORY_LOG_INTERVAL_MS = 10_000;

/** C timeout_watch_event_msec (`xenstored --timeout watch-event=20`): 20 s. */
export const WATCH_EVENT_TIMEOUT_MS = 20_000;

/** Request types whose single path argument C reads with onearg() (see malformedPathErrno). */
const ONEARG_LOOKUPS = new Set<number>([XsType.XS_READ, XsType.XS_DIRECTORY, XsType.XS_GET_PERMS]);

export class XenstoreEngine implements ControlHost, ConnectionHost, HandlerHost {
  readonly store = new Store();
  readonly quotas = new Quotas();
  private readonly connections = new Set<XsServerConnection>();
  private readonly accounts = new Map<number, DomainAccount>();
  private readonly watchIndex = new WatchIndex<XsServerConnection>();
  private readonly introduced = new Set<number>();
  /** SET_TARGET: domain -> the domain it acts for. */
  private readonly targets = new Map<number, number>();
  /** Connections with requests held back by their domain's quotas. */
  private readonly stalled = new Set<XsServerConnection>();
  private readonly runnable = new Set<XsServerConnection>();
  /** Unprivileged connections whose transport is full with output queued. */
  private readonly backlog = new Set<XsServerConnection>();
  private pumping = false;
  /** The request being handled: the cause its watch events point back to. */
  private cause: RequestRef | undefined;
  /** C's process-wide errno as the last node lookup left it (malformedPathErrno). */
  private lookupErrno: XsErrno | undefined = 'ENOENT';
  private logging = false;
  private nextConnId = 1;
  private nextTxId = 1;

  constructor(readonly options: EngineOptions = {}) {}

  connect(identity: XsIdentity, sink: ConnectionSink): XsServerConnection {
    const target = this.targets.get(identity.domid);
    const id = { ...identity, ...(target !== undefined && !identity.privileged ? { target } : {}) };
    const conn = new XsServerConnection(this.nextConnId++, id, this.accountFor(id), this, sink);
    this.connections.add(conn);
    return conn;
  }

  private accountFor(identity: XsIdentity): DomainAccount | undefined {
    if (identity.privileged) return undefined;
    let a = this.accounts.get(identity.domid);
    if (!a) this.accounts.set(identity.domid, (a = new DomainAccount(identity.domid)));
    return a;
  }

  /** Drops a connection: its watches go and its transactions are aborted. Idempotent. */
  disconnect(conn: XsServerConnection): void {
    if (!this.connections.delete(conn)) return;
    this.stalled.delete(conn);
    this.backlog.delete(conn);
    this.runnable.delete(conn);
    conn.shutdown();
    if (conn.account) this.released(conn.account);
  }

  deliver(deliveries: Delivery[]): void {
    for (const d of deliveries) {
      if (d.kind === 'message') d.conn.queueReply(d.message, d.ref);
      else if (d.kind === 'event') d.conn.queueEvent(d.path, d.token, d.cause);
      else this.disconnect(d.conn);
    }
  }

  // ---- ConnectionHost: scheduling requests under the domain quotas ---------------------

  process(conn: XsServerConnection, msg: XsMessage): void {
    this.deliver(this.handle(conn, msg));
  }

  /** C domain_can_read(): an unprivileged domain at its outstanding or memory quota waits. */
  mayRead(conn: XsServerConnection): boolean {
    const a = conn.account;
    if (!a) return true;
    if (a.outstanding >= this.quotas.get('outstanding')) return this.stall(conn);
    const memory = this.quotas.get('memory');
    if (memory > 0 && this.memoryOf(a) >= memory) return this.stall(conn);
    if (a.memoryReported && this.now() - a.memoryLoggedAt >= MEMORY_LOG_INTERVAL_MS) {
      a.memoryReported = false;
      a.memoryLoggedAt = this.now();
      this.log(`Domain ${a.domid} below hard memory quota again`);
    }
    return true;
  }

  eventDeadline(): number | undefined {
    const t = this.options.watchEventTimeoutMs ?? WATCH_EVENT_TIMEOUT_MS;
    return t > 0 ? this.now() + t : undefined;
  }

  backedUp(conn: XsServerConnection, on: boolean): void {
    if (on) this.backlog.add(conn);
    else this.backlog.delete(conn);
  }

  /**
   * Drops events that waited past their deadline in a full connection's queue; returns
   * the next deadline (the adapter arms one timer for it), or undefined when none waits.
   */
  expireEvents(): number | undefined {
    if (this.backlog.size === 0) return undefined; // the usual case, after every loop turn
    const now = this.now();
    let next: number | undefined;
    for (const c of [...this.backlog]) {
      const n = c.expire(now);
      if (n !== undefined && (next === undefined || n < next)) next = n;
    }
    return next;
  }

  /** C domain_chk_quota(): the crossing is logged once, and again at most every 10 s. */
  overMemory(a: DomainAccount): void {
    if (a.memoryReported) return;
    a.memoryReported = true;
    a.memoryLoggedAt = this.now();
    this.log(`Domain ${a.domid} exceeds hard memory quota, watch events dropped and requests stalled`);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private underQuotas(a: DomainAccount | undefined): boolean {
    if (!a) return true;
    const memory = this.quotas.get('memory');
    return a.outstanding < this.quotas.get('outstanding') && !(memory > 0 && this.memoryOf(a) >= memory);
  }

  private stall(conn: XsServerConnection): false {
    this.stalled.add(conn);
    return false;
  }

  /** Runs `conn`'s queued requests (now, or after the current one when called inside). */
  wake(conn: XsServerConnection): void {
    if (this.pumping) {
      this.runnable.add(conn);
      return;
    }
    this.pumping = true;
    try {
      for (let next: XsServerConnection | undefined = conn; next;) {
        if (next.run() && this.stalled.size > 0) this.stalled.delete(next);
        next = undefined;
        if (this.runnable.size > 0) {
          next = this.runnable.values().next().value;
          this.runnable.delete(next!);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Output of `account`'s connections left their queues: wake whoever may read again. */
  released(account: DomainAccount): void {
    if (this.stalled.size === 0) return;
    // Any stalled domain may be under its quotas now: output of `account` can also settle
    // requests of other domains whose events it carried.
    const ready = [...this.stalled].filter((c) => c.account === account || this.underQuotas(c.account));
    for (const c of ready) this.stalled.delete(c);
    for (const c of ready) this.wake(c);
  }

  memoryOf(a: DomainAccount): number {
    return this.store.memoryOf(a.domid) + a.watchBytes + a.queuedBytes;
  }

  memoryQuota(): number {
    return this.quotas.get('memory');
  }

  /**
   * One request in, its watch events and reply out. Never throws on client input.
   * C xenstored queues the events a request fires before its reply (so a connection
   * changing a node it watches sees the event first); only WATCH's own initial event
   * follows its OK (marked afterReply).
   */
  handle(conn: XsServerConnection, msg: XsMessage): Delivery[] {
    const out: Delivery[] = [];
    const ref = conn.account ? new RequestRef(conn.account) : undefined;
    let reply: XsMessage;
    this.cause = ref;
    try {
      const handler = HANDLERS[msg.type];
      if (!handler) throw failWith('ENOSYS', `type ${msg.type}`);
      reply = { type: msg.type, reqId: msg.reqId, txId: msg.txId, payload: handler(this, conn, msg, out) };
      this.noteSuccess(msg.type);
    } catch (e) {
      out.length = 0;
      const errno = ONEARG_LOOKUPS.has(msg.type) && !isOneArg(msg.payload) ? this.malformedPathErrno() : errnoOf(e);
      this.noteFailure(msg.type, errno);
      reply = { type: XsType.XS_ERROR, reqId: msg.reqId, txId: msg.txId, payload: errorPayload(errno) };
    } finally {
      this.cause = undefined;
    }
    if (this.logging) this.log(`conn ${conn.id} dom${conn.identity.domid}: type ${msg.type} -> type ${reply.type}`);
    // Objects of one shape whatever the request (no spreads): this runs for every request.
    const message: Delivery = { kind: 'message', conn, message: reply, ref };
    if (out.length === 0) return [message];
    const result: Delivery[] = [];
    for (const d of out) if (!(d.kind === 'event' && d.afterReply)) result.push(d);
    result.push(message);
    for (const d of out) if (d.kind === 'event' && d.afterReply) result.push(d);
    return result;
  }

  /**
   * C 4.17 reads the path of READ, DIRECTORY and GET_PERMS with onearg(), which gives NULL
   * unless the payload is exactly one NUL-terminated string; canonicalize(NULL) then
   * returns NULL without setting errno, so the reply carries whatever errno the daemon's
   * last node lookup left: ENOENT on a fresh daemon and after a lookup of a missing node,
   * EINVAL after an invalid path, EACCES after a refused one. A successful WATCH leaves 0
   * (C then sends no reply and aborts on `assert(conn->in == NULL)`); we answer EINVAL.
   */
  private malformedPathErrno(): XsErrno {
    return this.lookupErrno ?? 'EINVAL';
  }

  private noteFailure(type: number, errno: XsErrno): void {
    // Errors C returns directly (not through errno) leave the stale errno alone.
    if (NODE_LOOKUPS.has(type) && (errno === 'ENOENT' || errno === 'EINVAL' || errno === 'EACCES')) this.lookupErrno = errno;
  }

  private noteSuccess(type: number): void {
    if (type === XsType.XS_WATCH)
      this.lookupErrno = undefined; // errno = check_watch_path() == 0
    else if (type === XsType.XS_WRITE || type === XsType.XS_MKDIR) this.lookupErrno = 'ENOENT'; // read_node misses first
  }

  // ---- ControlHost ----------------------------------------------------------------------

  log(line: string): void {
    this.options.log?.(line);
  }

  setLogging(on: boolean): void {
    this.logging = on;
  }

  checkTree(): boolean {
    for (const [path, node] of this.store.walk('/')) {
      if (node.children.some((c) => !this.store.get(childPath(path, c)))) return false;
    }
    return true;
  }

  /** What `quota <domid>` reports; socket connections of dom0 are not charged, as in C. */
  usage(domid: number): DomainUsage | undefined {
    if (!this.isDomainIntroduced(domid)) return undefined;
    const a = this.accounts.get(domid);
    return {
      nodes: this.store.ownedBy(domid),
      watches: a?.watches ?? 0,
      transactions: a?.transactions ?? 0,
      outstanding: a?.outstanding ?? 0,
      memory: a ? this.memoryOf(a) : this.store.memoryOf(domid),
    };
  }

  /** The shared account of an unprivileged domain (tests and stats). */
  account(domid: number): DomainAccount | undefined {
    return this.accounts.get(domid);
  }

  // ---- in-process API (the simulator's toolstack side) ---------------------------------

  introduceDomain(domid: number): void {
    this.deliver(this.introduce(domid));
  }

  /** False if the domain was not introduced. */
  releaseDomain(domid: number): boolean {
    if (!this.introduced.has(domid)) return false;
    this.deliver(this.release(domid));
    return true;
  }

  isDomainIntroduced(domid: number): boolean {
    return domid === 0 || this.introduced.has(domid);
  }

  /** Every node at or below `path` (debugging and tests). */
  dump(path = '/'): Array<{ path: string; value: string; perms: string[] }> {
    return [...this.store.walk(path)].map(([p, n]) => ({
      path: p,
      value: n.value.toString('utf8'),
      perms: n.perms.map((x) => `${x.read ? (x.write ? 'b' : 'r') : x.write ? 'w' : 'n'}${x.domid}`),
    }));
  }

  // ---- internals used by the handlers -------------------------------------------------

  context(conn: XsServerConnection, txId: number): OpContext & { tx?: Transaction } {
    const tx = txId === 0 ? undefined : conn.transactions.get(txId);
    if (txId !== 0 && !tx) throw failWith('ENOENT', `no transaction ${txId}`);
    return {
      who: conn.identity,
      view: tx ?? this.store,
      events: tx ? tx.events : [],
      canonical: (path, allowSpecial) => this.canonical(conn, path, allowSpecial),
      quotas: this.quotas,
      ...(tx ? { tx } : {}),
    };
  }

  canonical(conn: XsServerConnection, path: string, allowSpecial = false): string {
    return canonicalPath(conn.identity.domid, path, allowSpecial, this.quotas.get('path-max'));
  }

  /** SET_TARGET: `domid`'s connections act with owner rights over `target`'s nodes. */
  setTarget(domid: number, target: number): void {
    this.targets.set(domid, target);
    for (const c of this.connections) {
      if (c.identity.domid === domid && !c.identity.privileged) c.identity.target = target;
    }
  }

  /** Watch events for `events`, checked against each connection's read permission. */
  fire(events: PendingEvent[], out: Delivery[]): void {
    const cause = this.cause;
    for (const ev of events) {
      let last: XsServerConnection | undefined;
      let allowed = false;
      for (const { entry, path } of this.watchIndex.fire(ev)) {
        const conn = entry.owner;
        if (conn !== last) {
          last = conn;
          allowed = this.mayReceive(conn, ev);
        }
        if (allowed) out.push({ kind: 'event', conn, path, token: entry.watch.token, cause });
      }
    }
  }

  watchAdded(conn: XsServerConnection, w: Watch): void {
    this.watchIndex.add(conn, w);
  }

  watchRemoved(conn: XsServerConnection, w: Watch): void {
    this.watchIndex.remove(conn, w);
  }

  /**
   * C watch_permitted(): the watcher must be able to read the node's old perms, the node,
   * or its parent; with none of them known (a node created and removed in one
   * transaction) nobody gets the event, privileged or not.
   */
  private mayReceive(conn: XsServerConnection, ev: PendingEvent): boolean {
    if (ev.path.startsWith('@')) return conn.identity.privileged || canRead(conn.identity, this.store.get(ev.path)?.perms ?? []);
    if (ev.perms.length === 0) return false;
    if (conn.identity.privileged) return true;
    if (ev.perms.some((p) => canRead(conn.identity, p))) return true;
    if (ev.noParent) return false;
    const parent = parentOf(ev.path);
    const node = parent === undefined ? undefined : this.store.get(parent);
    return node !== undefined && canRead(conn.identity, node.perms);
  }

  newTransactionId(): number {
    const id = this.nextTxId;
    this.nextTxId = this.nextTxId >= 0xffffffff ? 1 : this.nextTxId + 1;
    return id;
  }

  introduce(domid: number): Delivery[] {
    if (this.introduced.has(domid)) return [];
    this.introduced.add(domid);
    const out: Delivery[] = [];
    this.fire([{ path: '@introduceDomain', exact: false, perms: [], domid }], out);
    return out;
  }

  release(domid: number): Delivery[] {
    if (!this.introduced.delete(domid)) throw failWith('ENOENT', `domain ${domid} not introduced`);
    this.targets.delete(domid);
    const out: Delivery[] = [];
    this.fire([{ path: '@releaseDomain', exact: false, perms: [], domid }], out);
    for (const c of this.connections) {
      if (c.identity.domid === domid && !c.identity.privileged) out.push({ kind: 'close', conn: c });
    }
    return out;
  }
}

/** Node operations whose failures come from C's get_node()/read_node(), which set errno. */
const NODE_LOOKUPS = new Set<number>([
  XsType.XS_READ,
  XsType.XS_DIRECTORY,
  XsType.XS_GET_PERMS,
  XsType.XS_WRITE,
  XsType.XS_MKDIR,
  XsType.XS_RM,
  XsType.XS_SET_PERMS,
  XsType.XS_DIRECTORY_PART,
]);

/** C onearg(): the payload is exactly one string, its only NUL at the end. */
function isOneArg(payload: Buffer): boolean {
  return payload.length > 0 && payload.indexOf(0) === payload.length - 1;
}

function errnoOf(e: unknown): XsErrno {
  if (isXenvfbError(e, 'XS_E_REPLY') && typeof e.details.errno === 'string') return e.details.errno as XsErrno;
  if (isXenvfbError(e)) return 'EINVAL'; // bad payload, path or perms from the client
  return 'EIO';
}

const PATH_CHARS = /^[A-Za-z0-9\-/_@]*$/;
/** sscanf(node, "/local/domain/%5u/%n") in C's is_valid_nodename. */
const DOMAIN_PREFIX = /^\/local\/domain\/[0-9]{1,5}\//;

/**
 * C 4.17 canonicalize() + is_valid_nodename(): relative paths are below
 * /local/domain/<domid>; `@...` paths only where special nodes are allowed (any name:
 * watches take them); the part after /local/domain/<id>/, or the whole path elsewhere,
 * may be at most path-max (quota_max_path_len, XENSTORE_REL_PATH_MAX) bytes.
 */
export function canonicalPath(domid: number, path: string, allowSpecial = false, pathMax = QUOTA_PATH_MAX): string {
  const abs = path.startsWith('/') || path.startsWith('@') ? path : `/local/domain/${domid}/${path}`;
  if (path.length === 0) throw failWith('EINVAL', 'empty path');
  if (abs.startsWith('@') && !allowSpecial) throw failWith('EINVAL', 'special path not allowed here');
  if (abs.endsWith('/') && abs !== '/') throw failWith('EINVAL', 'trailing /');
  if (abs.includes('//')) throw failWith('EINVAL', 'empty path component');
  if (!PATH_CHARS.test(abs)) throw failWith('EINVAL', 'character outside [A-Za-z0-9-/_@]');
  // Both EINVAL, so the order of the checks does not show; ASCII only now, so length = bytes.
  const local = abs.startsWith('/local/domain/') ? (DOMAIN_PREFIX.exec(abs)?.[0].length ?? 0) : 0;
  if (abs.length - local > pathMax) throw failWith('EINVAL', 'path too long');
  return abs;
}
