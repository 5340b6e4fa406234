// The simulator's event-channel "hypervisor": per-domain port tables with Xen's states
// (xen/common/event_channel.c: ECS_FREE, ECS_UNBOUND, ECS_INTERDOMAIN) and delivery
// between processes. EvtchnRelay is the engine (bytes in, bytes out per connection);
// listen() is the thin unix-socket adapter. It lives in the sim host process.

import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { isXenvfbError, xerror, type XenvfbError } from '../../errors';
import type { Logger } from '../../log';
import { silentLogger } from '../../log';
import { type EvtchnClientMessage, type EvtchnFrameDecoder, clientMessageDecoder, encodeServerMessage } from './evtchn-wire';
import { DOMID_SELF, isValidDomid } from './layout';

/** Ports per domain: the 2-level ABI's limit for a 64-bit guest (EVTCHN_2L_NR_CHANNELS). */
export const EVTCHN_MAX_PORTS = 4096;

export type EvtchnPortStatus =
  { state: 'free' } | { state: 'unbound'; remoteDomid: number } | { state: 'interdomain'; remoteDomid: number; remotePort: number };

interface Port {
  readonly domid: number;
  readonly port: number;
  readonly owner: RelayConnection;
  remoteDomid: number;
  /** Set while ECS_INTERDOMAIN. */
  remotePort?: number;
  /** An EVENT was sent and not yet unmasked by the owner. */
  pending: boolean;
  /** A notify arrived while pending: deliver once more at unmask, so nothing is lost. */
  again: boolean;
}

export interface RelayTransport {
  write(bytes: Buffer): void;
  /** Drop the connection (after a protocol error). */
  destroy(): void;
}

/** One client connection of one domain (an open /dev/xen/evtchn, in Xen terms). */
export class RelayConnection {
  private readonly decoder: EvtchnFrameDecoder<EvtchnClientMessage> = clientMessageDecoder();
  readonly ports = new Set<number>();
  closed = false;

  constructor(
    readonly domid: number,
    private readonly relay: EvtchnRelay,
    readonly transport: RelayTransport,
  ) {}

  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    let messages: EvtchnClientMessage[];
    try {
      messages = this.decoder.push(chunk);
    } catch (e) {
      this.relay.protocolError(this, e);
      return;
    }
    for (const m of messages) this.relay.handle(this, m);
  }

  /** The transport closed: every port of this connection is closed as by unbind. */
  detach(): void {
    this.relay.detach(this);
  }
}

export class EvtchnRelay extends EventEmitter {
  private readonly tables = new Map<number, Map<number, Port>>();
  private readonly connections = new Map<number, Set<RelayConnection>>();
  private readonly servers = new Map<number, { server: net.Server; path: string; sockets: Set<net.Socket> }>();

  constructor(private readonly log: Logger = silentLogger) {
    super();
  }

  /** A new connection for `domid`. Emits 'connection' (domid). */
  attach(domid: number, transport: RelayTransport): RelayConnection {
    const conn = new RelayConnection(domid, this, transport);
    let set = this.connections.get(domid);
    if (!set) this.connections.set(domid, (set = new Set()));
    set.add(conn);
    this.emit('connection', domid);
    return conn;
  }

  connectionCount(domid: number): number {
    return this.connections.get(domid)?.size ?? 0;
  }

  /** EVTCHNOP_status. */
  status(domid: number, port: number): EvtchnPortStatus {
    const p = this.tables.get(domid)?.get(port);
    if (!p) return { state: 'free' };
    if (p.remotePort === undefined) return { state: 'unbound', remoteDomid: p.remoteDomid };
    return { state: 'interdomain', remoteDomid: p.remoteDomid, remotePort: p.remotePort };
  }

  /** Ports of a domain in use now (any state), ascending. */
  ports(domid: number): number[] {
    return [...(this.tables.get(domid)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** Close every port of the domain (crash or destroy); peers become unbound. */
  closeDomainPorts(domid: number): void {
    for (const port of this.ports(domid)) this.closePort(domid, port);
  }

  /** Drop every connection of the domain, closing their ports. */
  disconnectDomain(domid: number): void {
    for (const conn of [...(this.connections.get(domid) ?? [])]) {
      conn.transport.destroy();
      this.detach(conn);
    }
    this.closeDomainPorts(domid);
  }

  detach(conn: RelayConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    for (const port of [...conn.ports]) this.closePort(conn.domid, port);
    const set = this.connections.get(conn.domid);
    set?.delete(conn);
    if (set && set.size === 0) this.connections.delete(conn.domid);
    this.emit('connection-closed', conn.domid);
  }

  protocolError(conn: RelayConnection, e: unknown): void {
    this.log.warn({ domid: conn.domid, err: String(e) }, 'dropping event channel connection after protocol error');
    conn.transport.destroy();
    this.detach(conn);
  }

  handle(conn: RelayConnection, m: EvtchnClientMessage): void {
    switch (m.type) {
      case 'notify':
        return this.notify(conn, m.port);
      case 'unmask':
        return this.unmask(conn, m.port);
      default:
        break;
    }
    try {
      let port = 0;
      if (m.type === 'alloc-unbound') port = this.allocUnbound(conn, m.remoteDomid);
      else if (m.type === 'bind-interdomain') port = this.bindInterdomain(conn, m.remoteDomid, m.remotePort);
      else this.unbind(conn, m.port);
      conn.transport.write(encodeServerMessage({ type: 'reply', reqId: m.reqId, port }));
    } catch (e) {
      const err: XenvfbError = isXenvfbError(e) ? e : xerror('SIM_E_PROTOCOL', String(e));
      conn.transport.write(encodeServerMessage({ type: 'error', reqId: m.reqId, code: err.code, message: err.message }));
    }
  }

  // EVTCHNOP_alloc_unbound: a port of ours that `remoteDomid` may bind to.
  private allocUnbound(conn: RelayConnection, remoteDomid: number): number {
    const remote = remoteDomid === DOMID_SELF ? conn.domid : remoteDomid;
    if (!isValidDomid(remote)) throw xerror('SIM_E_NO_DOMAIN', `domid ${remoteDomid} is not a domain`);
    return this.newPort(conn, remote).port;
  }

  // EVTCHNOP_bind_interdomain: the remote port must be unbound and meant for us.
  private bindInterdomain(conn: RelayConnection, remoteDomid: number, remotePort: number): number {
    const remoteDom = remoteDomid === DOMID_SELF ? conn.domid : remoteDomid;
    const peer = this.tables.get(remoteDom)?.get(remotePort);
    if (!peer || peer.remotePort !== undefined || peer.remoteDomid !== conn.domid) {
      const why = !peer ? 'is not allocated' : peer.remotePort !== undefined ? 'is already bound' : `is for d${peer.remoteDomid}`;
      throw xerror('EVTCHN_E_BAD_PORT', `d${remoteDom} port ${remotePort} ${why}`, { remoteDomid, remotePort });
    }
    const ours = this.newPort(conn, remoteDom);
    ours.remotePort = peer.port;
    peer.remotePort = ours.port;
    return ours.port;
  }

  // EVTCHNOP_close.
  private unbind(conn: RelayConnection, port: number): void {
    if (!conn.ports.has(port)) {
      throw xerror('EVTCHN_E_BAD_PORT', `d${conn.domid} port ${port} is not bound on this connection`, { port });
    }
    this.closePort(conn.domid, port);
  }

  // EVTCHNOP_send: sending on an unbound port is silently ignored, as in Xen.
  private notify(conn: RelayConnection, port: number): void {
    const p = this.tables.get(conn.domid)?.get(port);
    if (!p || p.owner !== conn || p.remotePort === undefined) return;
    const peer = this.tables.get(p.remoteDomid)?.get(p.remotePort);
    if (!peer) return;
    if (peer.pending) {
      peer.again = true;
      return;
    }
    peer.pending = true;
    this.deliver(peer);
  }

  private unmask(conn: RelayConnection, port: number): void {
    const p = this.tables.get(conn.domid)?.get(port);
    if (!p || p.owner !== conn) return;
    if (p.again) {
      p.again = false;
      this.deliver(p);
    } else {
      p.pending = false;
    }
  }

  private deliver(p: Port): void {
    if (p.owner.closed) return;
    p.owner.transport.write(encodeServerMessage({ type: 'event', port: p.port }));
  }

  private newPort(conn: RelayConnection, remoteDomid: number): Port {
    let table = this.tables.get(conn.domid);
    if (!table) this.tables.set(conn.domid, (table = new Map()));
    let port = 1;
    while (table.has(port) && port < EVTCHN_MAX_PORTS) port += 1;
    if (port >= EVTCHN_MAX_PORTS) {
      throw xerror('EVTCHN_E_NO_SPACE', `d${conn.domid} has all ${EVTCHN_MAX_PORTS - 1} ports in use`);
    }
    const p: Port = { domid: conn.domid, port, owner: conn, remoteDomid, pending: false, again: false };
    table.set(port, p);
    conn.ports.add(port);
    return p;
  }

  /** evtchn_close: free our port; an interdomain peer goes back to ECS_UNBOUND. */
  private closePort(domid: number, port: number): void {
    const table = this.tables.get(domid);
    const p = table?.get(port);
    if (!table || !p) return;
    table.delete(port);
    if (table.size === 0) this.tables.delete(domid);
    p.owner.ports.delete(port);
    if (p.remotePort !== undefined) {
      const peer = this.tables.get(p.remoteDomid)?.get(p.remotePort);
      if (peer && peer.remotePort === port && peer.remoteDomid === domid) {
        peer.remotePort = undefined;
        peer.remoteDomid = domid;
      }
    }
  }

  /** Serve `domid`'s event channel socket at `socketPath` (replacing a stale file). */
  async listen(domid: number, socketPath: string): Promise<void> {
    if (this.servers.has(domid)) throw xerror('SIM_E_PROTOCOL', `d${domid} event channels are already served`);
    fs.rmSync(socketPath, { force: true });
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      const conn = this.attach(domid, {
        write: (b) => {
          if (!socket.destroyed) socket.write(b);
        },
        destroy: () => socket.destroy(),
      });
      socket.on('data', (chunk) => conn.receive(chunk));
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        conn.detach();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.set(domid, { server, path: socketPath, sockets });
  }

  /** Stop serving `domid` and drop its connections (their ports close). */
  async unlisten(domid: number): Promise<void> {
    const s = this.servers.get(domid);
    if (!s) return;
    this.servers.delete(domid);
    const closed = new Promise<void>((resolve) => s.server.close(() => resolve()));
    for (const socket of s.sockets) socket.destroy();
    this.disconnectDomain(domid);
    await closed;
    fs.rmSync(s.path, { force: true });
  }

  async close(): Promise<void> {
    await Promise.all([...this.servers.keys()].map((d) => this.unlisten(d)));
    for (const domid of [...this.connections.keys()]) this.disconnectDomain(domid);
  }
}
