// A multiplexing xenstore client over a byte transport (like ocaml-xenstore's client_unix).
// Requests are pipelined and matched by req_id; many watches share one connection by
// carrying their own token on the wire as `<n>:<user token>`.

import { EventEmitter } from 'node:events';
import { type XenvfbError, isXenvfbError, xerror } from '../errors';
import {
  type Perm,
  type XsMessage,
  XsParser,
  XsType,
  encodeMessage,
  formatPerms,
  parseErrorPayload,
  parsePerms,
  parseStrings,
  stringsPayload,
  writePayload,
  xsTypeName,
} from './wire';
import { type XsTransport, connectTransport } from './transports';

export { type Perm, parsePerm, formatPerm, parsePerms, formatPerms } from './wire';
export type { XsTransport, TransportHandlers } from './transports';

/** Events a Watch queues for its async iterator before old ones are dropped. */
export const WATCH_QUEUE_MAX = 1024;
export const DEFAULT_TRANSACTION_RETRIES = 16;

export interface XsClientOptions {
  /** Reject a request with XS_E_TIMEOUT after this many ms (0 / absent: wait forever). */
  timeoutMs?: number;
}

export interface WatchEvent {
  path: string;
  token: string;
}

interface Pending {
  type: XsType;
  path: string | undefined;
  resolve(payload: Buffer): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

/** A registered watch: an EventEmitter ('event', WatchEvent) and an AsyncIterable. */
export class Watch extends EventEmitter implements AsyncIterable<WatchEvent> {
  private readonly queue: WatchEvent[] = [];
  private readonly waiters: Array<(r: IteratorResult<WatchEvent>) => void> = [];
  private closed = false;

  constructor(
    readonly path: string,
    readonly token: string,
    private readonly unwatch: () => Promise<void>,
  ) {
    super();
  }

  /** Called by the client for each event of this watch. */
  deliver(ev: WatchEvent): void {
    if (this.closed) return;
    this.emit('event', ev);
    const waiter = this.waiters.shift();
    if (waiter) return waiter({ value: ev, done: false });
    if (this.queue.length >= WATCH_QUEUE_MAX) this.queue.shift();
    this.queue.push(ev);
  }

  /** Unwatch on the server and end any iteration. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.end();
    // Best effort: on a closed connection the server dropped the watch already.
    await this.unwatch().catch(() => undefined);
  }

  /** Ends iteration without talking to the server (connection gone). */
  end(): void {
    this.closed = true;
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
    this.emit('close');
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return {
      next: () => {
        const ev = this.queue.shift();
        if (ev) return Promise.resolve({ value: ev, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiters.push(resolve));
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}

/** A running transaction: pass it as `tx` to the client's methods, or call its own. */
export class Transaction {
  constructor(
    readonly client: XsClient,
    readonly id: number,
  ) {}
  read(path: string): Promise<string> {
    return this.client.read(path, this);
  }
  tryRead(path: string): Promise<string | undefined> {
    return this.client.tryRead(path, this);
  }
  write(path: string, value: string | Uint8Array): Promise<void> {
    return this.client.write(path, value, this);
  }
  mkdir(path: string): Promise<void> {
    return this.client.mkdir(path, this);
  }
  rm(path: string): Promise<void> {
    return this.client.rm(path, this);
  }
  rmIfExists(path: string): Promise<void> {
    return this.client.rmIfExists(path, this);
  }
  directory(path: string): Promise<string[]> {
    return this.client.directory(path, this);
  }
  getPerms(path: string): Promise<Perm[]> {
    return this.client.getPerms(path, this);
  }
  setPerms(path: string, perms: Perm[]): Promise<void> {
    return this.client.setPerms(path, perms, this);
  }
}

/** A transaction object, a raw tx_id, or none. */
export type TxArg = Transaction | number | undefined;
const txIdOf = (tx: TxArg): number => (tx === undefined ? 0 : typeof tx === 'number' ? tx : tx.id);

/** The errno name of a failed request (`ENOENT`, `EAGAIN`...), or undefined. */
export function xsErrno(e: unknown): string | undefined {
  return isXenvfbError(e, 'XS_E_REPLY') ? (e.details.errno as string) : undefined;
}

/** Emits 'watch' (path, token) for every watch event and 'close' (error?) once. */
export class XsClient extends EventEmitter {
  private readonly parser = new XsParser();
  private readonly pending = new Map<number, Pending>();
  /** Requests sent whose reply has not come back (timed-out ones included). */
  private inFlight = 0;
  /** Requests waiting their turn behind a WATCH/UNWATCH (transport.watchNeedsQuiet). */
  private readonly held: Array<{ reqId: number; type: XsType; bytes: Buffer }> = [];
  private readonly watches = new Map<string, Watch>();
  private nextReqId = 1;
  private nextWatchId = 1;
  private closed = false;

  constructor(
    private readonly transport: XsTransport,
    private readonly options: XsClientOptions = {},
  ) {
    super();
    transport.start({ onData: (chunk) => this.onData(chunk), onClose: (e) => this.finish(e) });
  }

  /**
   * Connects like xs_open(): the unix socket opts.path ?? $XENSTORED_PATH ??
   * /var/run/xenstored/socket, else (socket missing, no path forced) /dev/xen/xenbus.
   */
  static async connect(opts: { path?: string; device?: string } & XsClientOptions = {}): Promise<XsClient> {
    return new XsClient(await connectTransport(opts.path, opts.device), opts);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- operations ----------------------------------------------------------------------

  async readBytes(path: string, tx?: TxArg): Promise<Buffer> {
    return this.request(XsType.XS_READ, stringsPayload(path), tx, path);
  }
  async read(path: string, tx?: TxArg): Promise<string> {
    return (await this.readBytes(path, tx)).toString('utf8');
  }
  async tryRead(path: string, tx?: TxArg): Promise<string | undefined> {
    try {
      return await this.read(path, tx);
    } catch (e) {
      if (xsErrno(e) === 'ENOENT') return undefined;
      throw e;
    }
  }
  async write(path: string, value: string | Uint8Array, tx?: TxArg): Promise<void> {
    await this.request(XsType.XS_WRITE, writePayload(path, value), tx, path);
  }
  async mkdir(path: string, tx?: TxArg): Promise<void> {
    await this.request(XsType.XS_MKDIR, stringsPayload(path), tx, path);
  }
  async rm(path: string, tx?: TxArg): Promise<void> {
    await this.request(XsType.XS_RM, stringsPayload(path), tx, path);
  }
  /**
   * `rm` for cleanup: a node (or its parent) already gone is fine, anything else (a closed
   * connection, EACCES, a failed transaction) still rejects.
   */
  async rmIfExists(path: string, tx?: TxArg): Promise<void> {
    try {
      await this.rm(path, tx);
    } catch (e) {
      if (xsErrno(e) !== 'ENOENT') throw e;
    }
  }
  async directory(path: string, tx?: TxArg): Promise<string[]> {
    return parseStrings(await this.request(XsType.XS_DIRECTORY, stringsPayload(path), tx, path));
  }
  async getPerms(path: string, tx?: TxArg): Promise<Perm[]> {
    return parsePerms(parseStrings(await this.request(XsType.XS_GET_PERMS, stringsPayload(path), tx, path)));
  }
  async setPerms(path: string, perms: Perm[], tx?: TxArg): Promise<void> {
    await this.request(XsType.XS_SET_PERMS, stringsPayload(path, ...formatPerms(perms)), tx, path);
  }
  async getDomainPath(domid: number): Promise<string> {
    return parseStrings(await this.request(XsType.XS_GET_DOMAIN_PATH, stringsPayload(String(domid))))[0] ?? '';
  }
  async isDomainIntroduced(domid: number): Promise<boolean> {
    return parseStrings(await this.request(XsType.XS_IS_DOMAIN_INTRODUCED, stringsPayload(String(domid))))[0] === 'T';
  }
  /** Privileged: tell xenstored about a domain's ring page and event channel. */
  async introduceDomain(domid: number, gfn = 0, evtchn = 0): Promise<void> {
    await this.request(XsType.XS_INTRODUCE, stringsPayload(String(domid), String(gfn), String(evtchn)));
  }
  async releaseDomain(domid: number): Promise<void> {
    await this.request(XsType.XS_RELEASE, stringsPayload(String(domid)));
  }
  async control(cmd: string, ...args: string[]): Promise<string> {
    return parseStrings(await this.request(XsType.XS_CONTROL, stringsPayload(cmd, ...args))).join('\n');
  }

  /** Registers a watch; its first event (the registration itself) may precede the ack. */
  async watch(path: string, token = ''): Promise<Watch> {
    const wireToken = `${this.nextWatchId++}:${token}`;
    const w = new Watch(path, token, async () => {
      if (this.watches.get(wireToken) !== w) return;
      this.watches.delete(wireToken);
      if (!this.closed) await this.request(XsType.XS_UNWATCH, stringsPayload(path, wireToken));
    });
    this.watches.set(wireToken, w);
    try {
      await this.request(XsType.XS_WATCH, stringsPayload(path, wireToken), undefined, path);
    } catch (e) {
      this.watches.delete(wireToken);
      w.end();
      throw e;
    }
    return w;
  }

  /**
   * Runs `fn` in a transaction and commits. On EAGAIN the whole of `fn` runs again (as
   * libxl and Linux do); if `fn` throws, the transaction is aborted and the error rethrown.
   */
  async transaction<T>(fn: (tx: Transaction) => Promise<T>, opts: { maxRetries?: number } = {}): Promise<T> {
    const maxRetries = opts.maxRetries ?? DEFAULT_TRANSACTION_RETRIES;
    for (let attempt = 0; ; attempt++) {
      const id = Number(parseStrings(await this.request(XsType.XS_TRANSACTION_START, stringsPayload('')))[0]);
      const tx = new Transaction(this, id);
      let result: T;
      try {
        result = await fn(tx);
      } catch (e) {
        // Abort best effort: fn's error is the one to report, and a transaction whose abort
        // is lost dies with the connection.
        await this.request(XsType.XS_TRANSACTION_END, stringsPayload('F'), id).catch(() => undefined);
        throw e;
      }
      try {
        await this.request(XsType.XS_TRANSACTION_END, stringsPayload('T'), id);
        return result;
      } catch (e) {
        if (xsErrno(e) !== 'EAGAIN' || attempt >= maxRetries) throw e;
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.transport.close();
    this.finish();
  }

  // ---- plumbing ------------------------------------------------------------------------

  /** Sends one request and resolves with the reply payload; XS_ERROR becomes XS_E_REPLY. */
  request(type: XsType, payload: Buffer, tx?: TxArg, path?: string): Promise<Buffer> {
    if (this.closed) return Promise.reject(xerror('XS_E_CLOSED', `${xsTypeName(type)} on a closed connection`, { path }));
    const reqId = this.nextReqId;
    this.nextReqId = this.nextReqId >= 0xffffffff ? 1 : this.nextReqId + 1;
    let bytes: Buffer;
    try {
      bytes = encodeMessage({ type, reqId, txId: txIdOf(tx), payload });
    } catch (e) {
      return Promise.reject(e);
    }
    const max = this.transport.maxMessageBytes;
    if (max !== undefined && bytes.length > max) {
      return Promise.reject(
        xerror('XS_E_OVERSIZE', `${xsTypeName(type)} of ${bytes.length} bytes exceeds the transport's ${max}`, { path, len: bytes.length }),
      );
    }
    return new Promise((resolve, reject) => {
      const p: Pending = { type, path, resolve, reject };
      if (this.options.timeoutMs) {
        p.timer = setTimeout(() => {
          this.pending.delete(reqId);
          const at = this.held.findIndex((h) => h.reqId === reqId);
          if (at >= 0) this.held.splice(at, 1);
          reject(xerror('XS_E_TIMEOUT', `${xsTypeName(type)} ${path ?? ''} got no reply in ${this.options.timeoutMs} ms`, { path }));
        }, this.options.timeoutMs);
      }
      this.pending.set(reqId, p);
      this.held.push({ reqId, type, bytes });
      this.sendHeld();
    });
  }

  /**
   * Sends held requests in order. With transport.watchNeedsQuiet a WATCH/UNWATCH waits
   * until nothing else is in flight, and everything after it waits behind it.
   */
  private sendHeld(): void {
    while (this.held.length > 0 && !this.closed) {
      const next = this.held[0]!;
      const isWatch = next.type === XsType.XS_WATCH || next.type === XsType.XS_UNWATCH;
      if (isWatch && this.transport.watchNeedsQuiet && this.inFlight > 0) return;
      this.held.shift();
      try {
        this.transport.send(next.bytes);
        this.inFlight++;
      } catch (e) {
        const p = this.pending.get(next.reqId);
        this.pending.delete(next.reqId);
        if (p?.timer) clearTimeout(p.timer);
        p?.reject(e as Error);
      }
    }
  }

  private onData(chunk: Uint8Array): void {
    let messages: XsMessage[];
    try {
      messages = this.parser.push(chunk);
    } catch (e) {
      this.transport.close();
      this.finish(e as Error);
      return;
    }
    for (const m of messages) this.onMessage(m);
  }

  private onMessage(m: XsMessage): void {
    if (m.type === XsType.XS_WATCH_EVENT) {
      // path \0 token \0 (req_id/tx_id are meaningless here, see xenbus_dev_frontend.c)
      const [path, wireToken] = parseStrings(m.payload);
      const w = wireToken === undefined ? undefined : this.watches.get(wireToken);
      if (path === undefined || !w) return;
      w.deliver({ path, token: w.token });
      this.emit('watch', path, w.token);
      return;
    }
    if (this.inFlight > 0) this.inFlight--;
    if (this.held.length > 0) this.sendHeld();
    const p = this.pending.get(m.reqId);
    if (!p) return; // a reply to a timed-out request
    this.pending.delete(m.reqId);
    if (p.timer) clearTimeout(p.timer);
    if (m.type === XsType.XS_ERROR) {
      const errno = parseErrorPayload(m.payload);
      p.reject(
        xerror('XS_E_REPLY', `${xsTypeName(p.type)}${p.path ? ` ${p.path}` : ''}: ${errno}`, {
          errno,
          path: p.path,
          type: xsTypeName(p.type),
        }),
      );
    } else if (m.type !== p.type) {
      p.reject(xerror('XS_E_BAD_TYPE', `${xsTypeName(m.type)} in reply to ${xsTypeName(p.type)}`, { type: m.type }));
    } else {
      p.resolve(m.payload);
    }
  }

  private finish(error?: Error): void {
    const first = !this.closed;
    this.closed = true;
    const closedError: XenvfbError = xerror('XS_E_CLOSED', `xenstore connection closed${error ? `: ${error.message}` : ''}`);
    this.held.length = 0;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      p.reject(closedError);
    }
    for (const w of this.watches.values()) w.end();
    this.watches.clear();
    if (first) this.emit('close', error);
  }
}
