// The thin unix-socket adapter around XenstoreEngine. Each listening socket has its own
// identity: `<dir>/xenstored/socket` is dom0 (privileged) like the real daemon's; a
// simulated guest's `<dir>/domains/<id>/xenbus` stands in for its ring and is domain <id>.
// The sockets are the addon's (socket-io.ts) unless XENVFB_NO_NATIVE_XENSTORED_IO=1.

import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type EngineOptions, XenstoreEngine, type XsIdentity } from './engine';
import { type XsListener, type XsSocket, listenXs, nativeIoFromEnv } from './socket-io';

/**
 * Emits 'connection' (identity) and 'connection-closed' (identity) for every client,
 * which is how the simulator notices a guest that went away.
 */
export class XenstoredServer extends EventEmitter {
  readonly engine: XenstoreEngine;
  private readonly servers = new Map<string, XsListener>();
  private readonly sockets = new Set<XsSocket>();
  /** The addon's sockets (true) or net.Socket. */
  readonly nativeIo: boolean;
  /** Connections with output to write at the end of this loop turn (one setImmediate for all). */
  private readonly flushes: Array<() => void> = [];
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(opts: { engine?: XenstoreEngine; nativeIo?: boolean } & EngineOptions = {}) {
    super();
    this.engine = opts.engine ?? new XenstoreEngine(opts);
    this.nativeIo = opts.nativeIo ?? nativeIoFromEnv();
  }

  /** Listens on `socketPath` (its directory is created; a stale socket file is removed). */
  async listen(socketPath: string, identity: XsIdentity): Promise<void> {
    fs.mkdirSync(path.dirname(socketPath), { recursive: true });
    removeStaleSocket(socketPath);
    const server = await listenXs(socketPath, this.nativeIo, (socket) => this.accept(socket, identity));
    this.servers.set(socketPath, server);
  }

  /** Stops listening on one path (e.g. a guest that was destroyed). */
  async unlisten(socketPath: string): Promise<void> {
    const server = this.servers.get(socketPath);
    if (!server) return;
    this.servers.delete(socketPath);
    await server.close();
  }

  get listening(): string[] {
    return [...this.servers.keys()];
  }

  private accept(socket: XsSocket, identity: XsIdentity): void {
    this.sockets.add(socket);
    // Output leaves once per loop turn (setImmediate), like C's poll loop writes, so a
    // client's pipelined requests meet the duplicate-event check and go out in one write
    // (a connection whose queue holds no event writes its replies at the end of its chunk:
    // the same bytes, see XsServerConnection.receive); a full socket keeps the rest in the
    // connection's accounted queue until 'drain'.
    const conn = this.engine.connect(identity, {
      write: (bytes) => !socket.destroyed && socket.write(bytes),
      close: () => socket.destroy(),
      schedule: (flush) => this.scheduleFlush(flush),
      pause: () => socket.pause(),
      resume: () => socket.resume(),
    });
    this.emit('connection', { ...identity });
    socket.on('drain', () => conn.drained());
    socket.on('data', (chunk) => conn.receive(chunk));
    socket.on('error', () => undefined); // a reset by the peer ends in 'close'
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.engine.disconnect(conn);
      this.emit('connection-closed', { ...identity });
    });
  }

  private scheduleFlush(flush: () => void): void {
    this.flushes.push(flush);
    if (this.flushes.length === 1) {
      setImmediate(() => {
        for (const f of this.flushes.splice(0)) f();
        this.armExpiry();
      });
    }
  }

  /**
   * One timer, only while a guest's full socket holds events: at the earliest deadline,
   * expired events are dropped (C's 20 s watch-event timeout). Idle: no timer at all.
   */
  private armExpiry(): void {
    if (this.expiryTimer) return;
    const next = this.engine.expireEvents();
    if (next === undefined) return;
    this.expiryTimer = setTimeout(
      () => {
        this.expiryTimer = undefined;
        this.armExpiry();
      },
      Math.max(0, next - Date.now()),
    );
    this.expiryTimer.unref();
  }

  introduceDomain(domid: number): void {
    this.engine.introduceDomain(domid);
  }

  releaseDomain(domid: number): boolean {
    return this.engine.releaseDomain(domid);
  }

  isDomainIntroduced(domid: number): boolean {
    return this.engine.isDomainIntroduced(domid);
  }

  /** Stops every listener, drops every client and removes the socket files. */
  async close(): Promise<void> {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.servers.keys()].map((p) => this.unlisten(p)));
  }
}

function removeStaleSocket(socketPath: string): void {
  try {
    if (fs.lstatSync(socketPath).isSocket()) fs.unlinkSync(socketPath);
  } catch {
    // absent: nothing to remove
  }
}
