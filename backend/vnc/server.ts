// VncServer: the thin TCP adapter around RfbSession. It owns the sockets, feeds bytes in,
// applies backpressure, and keeps one failing client from touching the others.

import type { IncomingMessage } from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { Display } from '../display/display';
import type { InputSink } from '../input/input-sink';
import type { EncoderFactory } from './encoders/encoder';
import { type Logger, silentLogger } from '../../shared/log';
import { RfbSession, type RfbSessionStats } from './session';
import { encodeModeFromEnv, type EncodeMode } from './encode-frame';
import { rfbEncodePool } from './worker-frame-encoder';
import type { DisplayClientInfo, DisplayServer } from '../display-server';
import { resolveSecurity, type SecurityConfig, type TlsKind, type VncSecurityOptions } from './security/options';
import { AuthThrottle } from '../auth/throttle';
import { createTlsContexts, type TlsContexts, wrapServerTls } from './security/tls-context';
import { xerror } from '../../shared/errors';
import { WebSocketBridge } from '../web/websocket/bridge';
import { WebSocketGateway } from '../web/websocket/gateway';
import { sniffConnection, SNIFF_WAIT_MS } from '../web/websocket/sniff';
import { listenOn } from '../listen';
import { budgeted, InputBudget } from '../net/input-budget';
import { ConnectionCounter, type NetLimits, type NetLimitsOptions, resolveNetLimits } from '../net/limits';

/** No new frame is encoded while a socket holds more unsent bytes than this. */
export const VNC_MAX_SOCKET_BACKLOG = 4 * 1024 * 1024;
/** How long a closing socket may take to flush before it is destroyed. */
export const VNC_CLOSE_GRACE_MS = 2000;

export interface VncServerOptions {
  display: Display;
  input: InputSink;
  /** Desktop name in ServerInit (default: display.name). */
  name?: string;
  log?: Logger;
  encoders?: readonly EncoderFactory[];
  /** Offered security types and their secrets (default: None only). */
  security?: VncSecurityOptions;
  /** Also take RFB over WebSocket on this port (noVNC), told apart by the first bytes (default true). */
  websocket?: boolean;
  /** WebSocket Origins allowed besides same-origin and none (see WebSocketGatewayOptions). */
  allowOrigins?: readonly string[];
  /** Where sessions encode updates (default: XENVFB_VNC_ENCODE, else the worker; encode-frame.ts). */
  encode?: EncodeMode;
  /** Connection limits, deadlines and the auth throttle (default: backend/net/limits.ts). */
  limits?: NetLimitsOptions;
}

export interface VncAddress {
  host: string;
  port: number;
}

export interface VncClientStats {
  id: number;
  /** "address:port" of the peer. */
  peer: string;
  websocket: boolean;
  connectedAt: number;
  /** Bytes written to the socket and not yet taken by the kernel. */
  queuedBytes: number;
  session: RfbSessionStats;
}

interface Connection {
  id: number;
  peer: string;
  websocket: boolean;
  connectedAt: number;
  /** The raw socket, or the TLS socket over it once VeNCrypt started TLS. */
  socket: net.Socket;
  session: RfbSession;
  /** Session output held back while the TLS handshake runs. */
  beforeSecure?: Uint8Array[];
  /** This client's share of the event loop (input-budget.ts). */
  budget: InputBudget;
}

export class VncServer implements DisplayServer {
  readonly protocol = 'vnc';
  private readonly server: net.Server;
  private readonly log: Logger;
  private readonly connections = new Set<Connection>();
  /** Sockets still being sniffed or in their HTTP handshake. */
  private readonly pending = new Set<net.Socket>();
  private readonly gateway: WebSocketGateway;
  private nextId = 1;
  private security: SecurityConfig;
  private tlsContexts: TlsContexts;
  private readonly throttle: AuthThrottle;
  readonly limits: NetLimits;
  private readonly counter: ConnectionCounter;
  /** Connections refused for being over a limit, by limit (status, tests). */
  readonly refused = { total: 0, address: 0 };
  private readonly encodeMode: EncodeMode;
  /** This server holds a warm worker in the encode pool (while any connection is open). */
  private warm = false;
  /** Connections admitted and not yet closed (TCP and WebSocket upgrades). */
  private admitted = 0;

  constructor(private readonly opts: VncServerOptions) {
    this.log = opts.log ?? silentLogger;
    this.limits = resolveNetLimits(opts.limits);
    this.counter = new ConnectionCounter(this.limits);
    this.throttle = new AuthThrottle(this.limits.auth);
    this.encodeMode = opts.encode ?? encodeModeFromEnv();
    this.security = resolveSecurity(opts.security, this.log);
    this.tlsContexts = createTlsContexts(this.security, opts.security?.tls);
    this.gateway = new WebSocketGateway({
      log: this.log,
      allowOrigins: opts.allowOrigins,
      plainHttpText: 'This port speaks VNC (RFB), directly or over WebSocket.\n',
      headMs: this.limits.httpHeadMs,
      onWebSocket: (ws, socket) => this.acceptWebSocket(ws, socket),
    });
    this.server = net.createServer((socket) => this.incoming(socket));
    this.server.on('error', (err) => this.log.error({ err }, 'vnc listener error'));
  }

  /** Number of connected clients (in handshake or serving). */
  get sessions(): number {
    return this.connections.size;
  }

  /** Per client: output still queued in its socket (bounded by VNC_MAX_SOCKET_BACKLOG + one update) and session stats. */
  clients(): VncClientStats[] {
    return [...this.connections]
      .filter((c) => c.session)
      .map((c) => ({
        id: c.id,
        peer: c.peer,
        websocket: c.websocket,
        connectedAt: c.connectedAt,
        queuedBytes: c.socket.writableLength,
        session: c.session.stats(),
      }));
  }

  clientInfo(): DisplayClientInfo[] {
    return this.clients().map((c) => ({
      id: c.id,
      peer: c.peer,
      websocket: c.websocket,
      bytesOut: c.session.bytesOut,
      updates: c.session.updates,
      queuedBytes: c.queuedBytes,
      connectedAt: c.connectedAt,
    }));
  }

  /** Close one client (the control socket's `disconnect`); false when no client has this id. */
  disconnect(id: number, reason = 'disconnected by the operator'): boolean {
    for (const c of this.connections) {
      if (c.id !== id) continue;
      c.session.close(reason);
      this.endSocket(c.socket);
      return true;
    }
    return false;
  }

  /**
   * New passwords and certificates for the connections that come next (the control
   * socket's `reload`); connected clients keep their session. Invalid options throw and
   * leave the current ones in place.
   */
  reloadSecurity(security: VncSecurityOptions): void {
    const resolved = resolveSecurity(security, this.log);
    const contexts = createTlsContexts(resolved, security.tls);
    this.security = resolved;
    this.tlsContexts = contexts;
  }

  /** Bind and listen; port 0 picks a free port. Resolves to the bound address. */
  async listen(host: string, port: number): Promise<VncAddress> {
    return listenOn(this.server, host, port);
  }

  /**
   * The first open connection starts an encode worker (~0.3 s, ~10 MB of RSS) while the
   * client does its handshake, so its first frame does not wait for it; the last one to
   * close lets it go (it ends after ENCODE_WORKER_IDLE_MS). An idle backend has no worker.
   */
  private connectionOpened(): void {
    this.admitted += 1;
    if (this.encodeMode !== 'worker' || this.warm) return;
    this.warm = true;
    void rfbEncodePool.retain();
  }

  private connectionClosed(): void {
    this.admitted = Math.max(0, this.admitted - 1);
    if (this.admitted > 0 || !this.warm) return;
    this.warm = false;
    rfbEncodePool.release();
  }

  /** Stop listening and drop every client. */
  close(): Promise<void> {
    if (this.warm) rfbEncodePool.release();
    this.warm = false;
    this.admitted = 0;
    this.gateway.close();
    for (const s of [...this.pending]) s.destroy();
    for (const c of [...this.connections]) {
      c.session.close('server closing');
      c.socket.destroy();
    }
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  /** An HTTP upgrade request for RFB over WebSocket from another server (the web server). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.admit(socket as net.Socket)) return void socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
    this.gateway.handleUpgrade(req, socket, head);
  }

  /**
   * Count a new connection against the limits (released when its socket closes), or refuse it.
   * Refusals are counted, and logged at most once a second.
   */
  private admit(socket: net.Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const verdict = this.counter.admit(address);
    if (verdict === 'ok') {
      this.connectionOpened();
      socket.once('close', () => {
        this.counter.release(address);
        this.connectionClosed();
      });
      return true;
    }
    this.refused[verdict] += 1;
    const now = Date.now();
    if (now - this.lastRefusalLog >= 1000) {
      this.lastRefusalLog = now;
      const limit = verdict === 'total' ? this.limits.maxConnections : this.limits.maxConnectionsPerAddress;
      this.log.warn(
        { address, limit: verdict, max: limit, refused: { ...this.refused } },
        'vnc connection refused: over the connection limit',
      );
    }
    return false;
  }
  private lastRefusalLog = 0;

  /** Plain RFB or an HTTP upgrade? The first bytes tell (websocket/sniff.ts). */
  private incoming(socket: net.Socket): void {
    if (!this.admit(socket)) return void socket.destroy();
    if (this.opts.websocket === false) return this.accept(socket);
    this.pending.add(socket);
    socket.once('close', () => this.pending.delete(socket));
    sniffConnection(socket, SNIFF_WAIT_MS, (kind, head) => {
      if (kind === 'closed') return socket.destroy();
      if (kind === 'http') return this.gateway.acceptSniffed(socket, head);
      this.pending.delete(socket);
      this.accept(socket, head);
    });
  }

  /** One RFB session per WebSocket; the session sees the same write/backpressure/close as on TCP. */
  private acceptWebSocket(ws: WebSocket, socket: Duplex): void {
    const id = this.nextId++;
    const raw = socket as net.Socket;
    const peer = `${raw.remoteAddress}:${raw.remotePort}`;
    const log = this.log.child({ session: id, peer, websocket: true });
    this.pending.delete(raw);
    const budget = new InputBudget();
    const bridge = new WebSocketBridge(ws, socket, {
      maxBacklog: VNC_MAX_SOCKET_BACKLOG,
      closeGraceMs: VNC_CLOSE_GRACE_MS,
      log,
      budget,
      contended: () => this.connections.size > 1,
    });
    const conn = { id, peer, websocket: true, connectedAt: Date.now(), socket: raw, budget } as Connection;
    this.connections.add(conn);
    log.info({ protocol: ws.protocol || null }, 'vnc client connected');
    try {
      conn.session = new RfbSession({
        ...this.sessionBase(log, raw.remoteAddress),
        write: bridge.write,
        backpressured: bridge.backpressured,
        onClose: bridge.end,
        onExclusive: () => this.dropOthers(conn),
      });
    } catch (err) {
      log.error({ err }, 'vnc session could not start');
      this.connections.delete(conn);
      ws.terminate();
      return;
    }
    bridge.attach(conn.session, () => this.connections.delete(conn));
  }

  /** What every session gets, whatever its transport. */
  private sessionBase(log: Logger, remoteAddress: string | undefined) {
    return {
      display: this.opts.display,
      input: this.opts.input,
      log,
      name: this.opts.name,
      encoders: this.opts.encoders,
      encode: this.encodeMode,
      security: this.security,
      authGate: this.throttle.gate(remoteAddress ?? ''),
      deadlines: { stageMs: this.limits.handshakeStageMs, authMs: this.limits.authResponseMs, surfaceMs: this.limits.surfaceWaitMs },
    };
  }

  private accept(socket: net.Socket, head?: Buffer): void {
    const id = this.nextId++;
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const log = this.log.child({ session: id, peer });
    socket.setNoDelay(true);
    const conn = {} as Connection;
    conn.id = id;
    conn.peer = peer;
    conn.websocket = false;
    conn.connectedAt = Date.now();
    conn.socket = socket;
    conn.budget = new InputBudget();
    this.connections.add(conn);
    log.info({}, 'vnc client connected');
    try {
      conn.session = new RfbSession({
        ...this.sessionBase(log, socket.remoteAddress),
        startTls: (kind) => this.startTls(conn, kind, log),
        write: (bytes, release) => {
          // Node's write callback runs once the socket (or TLS) is done with the bytes, error or not.
          if (!conn.beforeSecure && !conn.socket.destroyed && conn.socket.writable)
            return void conn.socket.write(bytes, release && (() => release()));
          conn.beforeSecure?.push(Buffer.from(bytes));
          release?.();
        },
        backpressured: () => conn.socket.writableLength > VNC_MAX_SOCKET_BACKLOG,
        onClose: () => this.endSocket(conn.socket),
        onExclusive: () => this.dropOthers(conn),
      });
    } catch (err) {
      log.error({ err }, 'vnc session could not start');
      this.connections.delete(conn);
      socket.destroy();
      return;
    }
    if (head && head.length > 0) conn.session.receive(head);
    socket.on('data', this.feed(conn, socket));
    socket.on('drain', () => conn.session.resume());
    socket.on('error', (err) => log.debug({ err: err.message }, 'vnc socket error'));
    socket.on('close', () => {
      this.connections.delete(conn);
      conn.session.close('client disconnected');
    });
    socket.resume(); // sniffing left it paused; a 'data' listener alone does not restart it
  }

  /**
   * VeNCrypt asked for TLS: from now on the TLS socket reads the raw socket's bytes (Node moves
   * the handle to it) and the session's output goes into TLS.
   */
  private startTls(conn: Connection, kind: TlsKind, log: Logger): void {
    const context = this.tlsContexts[kind];
    if (!context) throw xerror('RFB_E_TLS', `no ${kind} TLS context configured`, { kind });
    const raw = conn.socket;
    raw.removeAllListeners('data');
    const secure = wrapServerTls(raw, context);
    conn.socket = secure;
    // Written before the handshake ends, TLS 1.3 application data stalled GnuTLS clients
    // (xtigervncviewer X509Vnc never got an answer to its response): hold it until 'secure'.
    conn.beforeSecure = [];
    // A TLS handshake stalled halfway: its own deadline, whatever stage the session is in.
    const stalled = setTimeout(() => {
      log.warn({ ms: this.limits.handshakeStageMs }, 'TLS handshake not finished in time: closing');
      conn.session.close('TLS handshake timed out', xerror('RFB_E_TIMEOUT', 'TLS handshake not finished in time', { kind }));
      secure.destroy();
    }, this.limits.handshakeStageMs);
    stalled.unref();
    secure.once('close', () => clearTimeout(stalled));
    secure.on('secure', () => {
      clearTimeout(stalled);
      log.info({ tls: secure.getProtocol(), cipher: secure.getCipher()?.name }, 'TLS established');
      const held = conn.beforeSecure ?? [];
      conn.beforeSecure = undefined;
      for (const b of held) secure.write(b);
    });
    secure.on('data', this.feed(conn, secure));
    secure.on('drain', () => conn.session.resume());
    secure.on('error', (err) => {
      conn.session.close('TLS failed', xerror('RFB_E_TLS', err.message, { kind }));
      secure.destroy();
    });
    secure.on('close', () => {
      this.connections.delete(conn);
      conn.session.close('client disconnected');
      raw.destroy();
    });
  }

  /** The session's input, under its share of the event loop while others are connected. */
  private feed(conn: Connection, source: net.Socket): (chunk: Buffer) => void {
    return budgeted(
      conn.budget,
      source,
      () => this.connections.size > 1,
      (chunk: Buffer) => conn.session.receive(chunk),
      () => conn.session.takeFrameWorkMs(),
    );
  }

  private endSocket(socket: net.Socket): void {
    if (socket.destroyed) return;
    socket.end();
    setTimeout(() => socket.destroy(), VNC_CLOSE_GRACE_MS).unref();
  }

  /** ClientInit shared-flag 0: every other client of this server goes. */
  private dropOthers(keep: Connection): void {
    for (const c of [...this.connections]) {
      if (c === keep) continue;
      c.session?.close('another client asked for exclusive access');
    }
  }
}
