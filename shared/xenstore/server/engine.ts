// The embedded xenstored: a pure engine in the shape of ocaml-xenstore's server
// (`reply(store, conn, request)`). `handle(conn, message)` returns the messages to deliver
// (watch events first, then the reply, as C xenstored queues them) and connections to drop.
// Connections are byte sessions: `engine.connect(identity, sink)` + `conn.receive(chunk)`;
// the socket, ring or in-memory pipe is a thin adapter around that.

import { isXenvfbError } from '../../errors';
import {
  type XsErrno,
  type XsMessage,
  XsParser,
  XsType,
  encodeMessage,
  errorPayload,
  parseExactStrings,
  parseStrings,
  stringsPayload,
} from '../wire';
import { type ControlHost, runControl } from './control';
import * as ops from './operations';
import { OK, type OpContext, failWith } from './operations';
import { type XsIdentity, canRead } from './perms';
import { type DomainUsage, QUOTA_PATH_MAX, QUOTA_TRANSACTIONS_PER_DOMAIN, Quotas } from './quota';
import { Store, childPath, nodeRecordSize } from './store';
import { type PendingEvent, Transaction } from './transactions';
import { WatchList } from './watches';

export type { XsIdentity } from './perms';

/** Open transactions one unprivileged connection may hold by default (C quota_max_transaction). */
export const MAX_TRANSACTIONS_PER_CONN = QUOTA_TRANSACTIONS_PER_DOMAIN;
const DOMID_MAX = 0x7fef; // DOMID_FIRST_RESERVED - 1 (xen/include/public/xen.h)

export interface ConnectionSink {
  write(bytes: Buffer): void;
  /** The engine dropped the connection (oversize packet, domain released, close()). */
  close(): void;
}

export type Delivery =
  { kind: 'message'; conn: XsServerConnection; message: XsMessage; afterReply?: boolean } | { kind: 'close'; conn: XsServerConnection };

/** One client connection: its identity, watches and transactions, and its byte stream. */
export class XsServerConnection {
  readonly watches = new WatchList();
  readonly transactions = new Map<number, Transaction>();
  private readonly parser = new XsParser();
  closed = false;

  constructor(
    readonly id: number,
    readonly identity: XsIdentity,
    private readonly engine: XenstoreEngine,
    private readonly sink: ConnectionSink,
  ) {}

  /** Bytes from the client. A payload over XENSTORE_PAYLOAD_MAX drops the connection. */
  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    let messages: XsMessage[];
    try {
      messages = this.parser.push(chunk);
    } catch {
      this.engine.disconnect(this);
      return;
    }
    for (const m of messages) {
      if (this.closed) return;
      this.engine.deliver(this.engine.handle(this, m));
    }
  }

  send(message: XsMessage): void {
    if (!this.closed) this.sink.write(encodeMessage(message));
  }

  /** Called by the engine only; use engine.disconnect(conn) to drop a connection. */
  shutdown(): void {
    this.closed = true;
    this.watches.clear();
    this.transactions.clear();
    this.sink.close();
  }
}

type Handler = (engine: XenstoreEngine, conn: XsServerConnection, msg: XsMessage, out: Delivery[]) => Buffer;

export interface EngineOptions {
  /** Where CONTROL 'print' text (and, with 'log on', request traces) goes. */
  log?: (line: string) => void;
}

export class XenstoreEngine implements ControlHost {
  readonly store = new Store();
  readonly quotas = new Quotas();
  private readonly connections = new Set<XsServerConnection>();
  private readonly introduced = new Set<number>();
  /** SET_TARGET: domain -> the domain it acts for. */
  private readonly targets = new Map<number, number>();
  private logging = false;
  private nextConnId = 1;
  private nextTxId = 1;

  constructor(readonly options: EngineOptions = {}) {}

  connect(identity: XsIdentity, sink: ConnectionSink): XsServerConnection {
    const target = this.targets.get(identity.domid);
    const id = { ...identity, ...(target !== undefined && !identity.privileged ? { target } : {}) };
    const conn = new XsServerConnection(this.nextConnId++, id, this, sink);
    this.connections.add(conn);
    return conn;
  }

  /** Drops a connection: its watches go and its transactions are aborted. Idempotent. */
  disconnect(conn: XsServerConnection): void {
    if (!this.connections.delete(conn)) return;
    conn.shutdown();
  }

  deliver(deliveries: Delivery[]): void {
    for (const d of deliveries) {
      if (d.kind === 'message') d.conn.send(d.message);
      else this.disconnect(d.conn);
    }
  }

  /**
   * One request in, its watch events and reply out. Never throws on client input.
   * C xenstored queues the events a request fires before its reply (so a connection
   * changing a node it watches sees the event first); only WATCH's own initial event
   * follows its OK (marked afterReply).
   */
  handle(conn: XsServerConnection, msg: XsMessage): Delivery[] {
    const out: Delivery[] = [];
    let reply: XsMessage;
    try {
      const handler = HANDLERS[msg.type];
      if (!handler) throw failWith('ENOSYS', `type ${msg.type}`);
      reply = { type: msg.type, reqId: msg.reqId, txId: msg.txId, payload: handler(this, conn, msg, out) };
    } catch (e) {
      out.length = 0;
      reply = { type: XsType.XS_ERROR, reqId: msg.reqId, txId: msg.txId, payload: errorPayload(errnoOf(e)) };
    }
    if (this.logging) this.log(`conn ${conn.id} dom${conn.identity.domid}: type ${msg.type} -> type ${reply.type}`);
    const after = (d: Delivery): boolean => d.kind === 'message' && d.afterReply === true;
    return [...out.filter((d) => !after(d)), { kind: 'message', conn, message: reply }, ...out.filter(after)];
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
    const conns = [...this.connections].filter((c) => c.identity.domid === domid && !c.identity.privileged);
    let memory = 0;
    for (const [path, node] of this.store.walk('/')) {
      if (node.perms[0]?.domid === domid) memory += Buffer.byteLength(path) + nodeRecordSize(node);
    }
    return {
      nodes: this.store.ownedBy(domid),
      watches: conns.reduce((n, c) => n + c.watches.size, 0),
      transactions: conns.reduce((n, c) => n + c.transactions.size, 0),
      outstanding: 0,
      memory,
    };
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
  fire(events: PendingEvent[]): Delivery[] {
    const out: Delivery[] = [];
    for (const ev of events) {
      for (const conn of this.connections) {
        for (const hit of conn.watches.fire(ev)) {
          if (!this.mayReceive(conn, ev)) continue;
          out.push({ kind: 'message', conn, message: watchEvent(hit.path, hit.token) });
        }
      }
    }
    return out;
  }

  private mayReceive(conn: XsServerConnection, ev: PendingEvent): boolean {
    if (conn.identity.privileged) return true;
    if (ev.path.startsWith('@')) return canRead(conn.identity, this.store.get(ev.path)?.perms ?? []);
    return ev.perms.some((p) => canRead(conn.identity, p));
  }

  newTransactionId(): number {
    const id = this.nextTxId;
    this.nextTxId = this.nextTxId >= 0xffffffff ? 1 : this.nextTxId + 1;
    return id;
  }

  introduce(domid: number): Delivery[] {
    if (this.introduced.has(domid)) return [];
    this.introduced.add(domid);
    return this.fire([{ path: '@introduceDomain', exact: false, perms: [], domid }]);
  }

  release(domid: number): Delivery[] {
    if (!this.introduced.delete(domid)) throw failWith('ENOENT', `domain ${domid} not introduced`);
    this.targets.delete(domid);
    const out = this.fire([{ path: '@releaseDomain', exact: false, perms: [], domid }]);
    for (const c of this.connections) {
      if (c.identity.domid === domid && !c.identity.privileged) out.push({ kind: 'close', conn: c });
    }
    return out;
  }
}

function watchEvent(path: string, token: string): XsMessage {
  // path \0 token \0 with req_id = tx_id = 0
  return { type: XsType.XS_WATCH_EVENT, reqId: 0, txId: 0, payload: stringsPayload(path, token) };
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
  const local = DOMAIN_PREFIX.exec(abs)?.[0].length ?? 0;
  if (Buffer.byteLength(abs) - local > pathMax) throw failWith('EINVAL', 'path too long');
  if (!PATH_CHARS.test(abs)) throw failWith('EINVAL', 'character outside [A-Za-z0-9-/_@]');
  return abs;
}

function parseDomid(s: string | undefined): number {
  if (s === undefined || !/^[0-9]{1,5}$/.test(s) || Number(s) > DOMID_MAX) throw failWith('EINVAL', `bad domid ${s}`);
  return Number(s);
}

function requirePrivileged(conn: XsServerConnection): void {
  if (!conn.identity.privileged) throw failWith('EACCES', 'privileged operation');
}

const nodeOp =
  (op: (ctx: OpContext, payload: Buffer) => Buffer): Handler =>
  (engine, conn, msg, out) => {
    const ctx = engine.context(conn, msg.txId);
    const reply = op(ctx, msg.payload);
    if (!ctx.tx) out.push(...engine.fire(ctx.events)); // in a transaction they wait for commit
    return reply;
  };

// path \0 token \0 [depth \0]  ->  OK, then one immediate WATCH_EVENT
const onWatch: Handler = (engine, conn, msg, out) => {
  const args = parseStrings(msg.payload);
  if (args.length < 2 || args.length > 3) throw failWith('EINVAL', 'WATCH needs path and token');
  const [rawPath, token, rawDepth] = args as [string, string, string | undefined];
  const path = engine.canonical(conn, rawPath, true);
  if (rawDepth !== undefined && !/^[0-9]{1,4}$/.test(rawDepth)) throw failWith('EINVAL', 'bad depth');
  if (conn.watches.has(path, token)) throw failWith('EEXIST', 'duplicate watch');
  if (!conn.identity.privileged && conn.watches.size >= engine.quotas.get('watches')) throw failWith('E2BIG', 'watches quota');
  const relative = !rawPath.startsWith('/') && !rawPath.startsWith('@');
  conn.watches.add({
    path,
    token,
    ...(relative ? { relativeTo: `/local/domain/${conn.identity.domid}` } : {}),
    ...(rawDepth !== undefined ? { depth: Number(rawDepth) } : {}),
  });
  out.push({ kind: 'message', conn, message: watchEvent(rawPath, token), afterReply: true });
  return OK;
};

// path \0 token \0  ->  OK
const onUnwatch: Handler = (engine, conn, msg) => {
  const [rawPath, token] = parseExactStrings(msg.payload, 2) as [string, string];
  if (!conn.watches.remove(engine.canonical(conn, rawPath, true), token)) throw failWith('ENOENT', 'no such watch');
  return OK;
};

// \0  ->  OK
const onResetWatches: Handler = (_engine, conn) => {
  conn.watches.clear();
  conn.transactions.clear();
  return OK;
};

// \0 (tx_id 0)  ->  <decimal id> \0
const onTransactionStart: Handler = (engine, conn, msg) => {
  if (msg.txId !== 0) throw failWith('EBUSY', 'nested transaction');
  if (!conn.identity.privileged && conn.transactions.size >= engine.quotas.get('transactions'))
    throw failWith('ENOSPC', 'transactions quota');
  const tx = new Transaction(engine.newTransactionId(), engine.store);
  conn.transactions.set(tx.id, tx);
  return stringsPayload(String(tx.id));
};

// T \0 commit | F \0 abort  ->  OK or EAGAIN
const onTransactionEnd: Handler = (engine, conn, msg, out) => {
  const [flag] = parseExactStrings(msg.payload, 1);
  if (flag !== 'T' && flag !== 'F') throw failWith('EINVAL', 'TRANSACTION_END needs T or F');
  const tx = conn.transactions.get(msg.txId);
  if (!tx) throw failWith('ENOENT', `no transaction ${msg.txId}`);
  conn.transactions.delete(msg.txId);
  if (flag === 'F') return OK;
  if (tx.conflicts().length > 0) throw failWith('EAGAIN', 'transaction conflict');
  tx.apply();
  out.push(...engine.fire(tx.events));
  return OK;
};

// domid \0  ->  /local/domain/<domid> \0
const onGetDomainPath: Handler = (_e, _c, msg) => stringsPayload(`/local/domain/${parseDomid(parseExactStrings(msg.payload, 1)[0])}`);

// domid \0  ->  T \0 | F \0
const onIsIntroduced: Handler = (engine, _c, msg) =>
  stringsPayload(engine.isDomainIntroduced(parseDomid(parseExactStrings(msg.payload, 1)[0])) ? 'T' : 'F');

// domid \0 gfn \0 evtchn \0  ->  OK, fires @introduceDomain
const onIntroduce: Handler = (engine, conn, msg, out) => {
  requirePrivileged(conn);
  const args = parseStrings(msg.payload);
  if (args.length < 3) throw failWith('EINVAL', 'INTRODUCE needs domid, gfn, evtchn');
  out.push(...engine.introduce(parseDomid(args[0])));
  return OK;
};

// domid \0  ->  OK, fires @releaseDomain and drops the domain's connections
const onRelease: Handler = (engine, conn, msg, out) => {
  requirePrivileged(conn);
  const domid = parseDomid(parseExactStrings(msg.payload, 1)[0]);
  if (domid === 0) throw failWith('EINVAL', 'cannot release dom0');
  out.push(...engine.release(domid));
  return OK;
};

// domid \0  ->  OK (clears a suspended domain's shutdown state; nothing to clear here)
const onResume: Handler = (engine, conn, msg) => {
  requirePrivileged(conn);
  const domid = parseDomid(parseExactStrings(msg.payload, 1)[0]);
  if (domid === 0) throw failWith('EINVAL', 'dom0 has no ring connection to resume'); // as C 4.17
  if (!engine.isDomainIntroduced(domid)) throw failWith('ENOENT', 'not introduced');
  return OK;
};

// domid \0 target-domid \0  ->  OK
const onSetTarget: Handler = (engine, conn, msg) => {
  requirePrivileged(conn);
  const [rawDomid, rawTarget] = parseExactStrings(msg.payload, 2);
  const domid = parseDomid(rawDomid);
  const target = parseDomid(rawTarget);
  if (!engine.isDomainIntroduced(domid)) throw failWith('ENOENT', `domain ${domid} not introduced`);
  if (!engine.isDomainIntroduced(target)) throw failWith('ENOENT', `target ${target} not introduced`);
  engine.setTarget(domid, target);
  return OK;
};

// cmd \0 [arg \0]...  ->  OK or text \0 (control.ts)
const onControl: Handler = (engine, conn, msg) => {
  requirePrivileged(conn);
  const [cmd, ...args] = parseStrings(msg.payload);
  return runControl(engine, cmd, args);
};

const HANDLERS: Partial<Record<number, Handler>> = {
  [XsType.XS_CONTROL]: onControl,
  [XsType.XS_DIRECTORY]: nodeOp(ops.opDirectory),
  [XsType.XS_READ]: nodeOp(ops.opRead),
  [XsType.XS_GET_PERMS]: nodeOp(ops.opGetPerms),
  [XsType.XS_WATCH]: onWatch,
  [XsType.XS_UNWATCH]: onUnwatch,
  [XsType.XS_TRANSACTION_START]: onTransactionStart,
  [XsType.XS_TRANSACTION_END]: onTransactionEnd,
  [XsType.XS_INTRODUCE]: onIntroduce,
  [XsType.XS_RELEASE]: onRelease,
  [XsType.XS_GET_DOMAIN_PATH]: onGetDomainPath,
  [XsType.XS_WRITE]: nodeOp(ops.opWrite),
  [XsType.XS_MKDIR]: nodeOp(ops.opMkdir),
  [XsType.XS_RM]: nodeOp(ops.opRm),
  [XsType.XS_SET_PERMS]: nodeOp(ops.opSetPerms),
  [XsType.XS_IS_DOMAIN_INTRODUCED]: onIsIntroduced,
  [XsType.XS_RESUME]: onResume,
  [XsType.XS_SET_TARGET]: onSetTarget,
  [XsType.XS_RESET_WATCHES]: onResetWatches,
  [XsType.XS_DIRECTORY_PART]: nodeOp(ops.opDirectoryPart),
};
