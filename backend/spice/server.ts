// SpiceServer: the thin TCP/WebSocket adapter around SpiceConnection. It owns the sockets,
// tells WebSocket clients (spice-html5) from plain SPICE by the first bytes (spice-server
// does the same since 0.14.3: reds.cpp reds_handle_read_magic_done), applies backpressure,
// and closes a client that stops reading before its output grows without bound. It shares the
// VNC server's network limits (backend/net/limits.ts): connections in total and per address
// (each SPICE channel is one connection: a client uses 3 or 4), the link-stage deadline and the
// ticket throttle.

import type { IncomingMessage } from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { xerror } from '../../shared/errors';
import { type Logger, silentLogger } from '../../shared/log';
import { SpiceChannel as SpiceChannelType, SPICE_INPUTS_CAP_KEY_SCANCODE, SpiceDisplayCap, capsWords } from '../../shared/spice/constants';
import type { Display } from '../display/display';
import type { InputSink } from '../input/input-sink';
import { listenOn } from '../listen';
import type { DisplayClientInfo, DisplayServer } from '../display-server';
import { AuthThrottle } from '../auth/throttle';
import { ConnectionCounter, type NetLimits, type NetLimitsOptions, resolveNetLimits } from '../net/limits';
import { WebSocketBridge } from '../web/websocket/bridge';
import { WebSocketGateway } from '../web/websocket/gateway';
import { sniffConnection, SNIFF_WAIT_MS } from '../web/websocket/sniff';
import { SpiceConnection } from './connection';
import type { ImageCodecName } from './image-codecs';
import { SpiceSessions } from './sessions';
import { type SpiceTicketing, TicketKeyPool } from './ticket';

/** No new update is sent while a socket holds more unsent bytes than this. */
export const SPICE_MAX_SOCKET_BACKLOG = 4 * 1024 * 1024;
/** A client whose unsent output passes this (it sends but never reads) is closed. */
export const SPICE_HARD_SOCKET_BACKLOG = 64 * 1024 * 1024;
/** How long a closing socket may take to flush before it is destroyed. */
export const SPICE_CLOSE_GRACE_MS = 2000;

export interface SpiceServerOptions {
  display: Display;
  input: InputSink;
  ticketing: SpiceTicketing;
  /** Domain name and UUID for MAIN_NAME / MAIN_UUID. */
  name?: string;
  uuid?: Uint8Array;
  /** Several clients at once (--spice-shared) instead of the newest taking over. */
  shared?: boolean;
  /** Force one image codec (tests, benchmarks). */
  codec?: ImageCodecName;
  /** Photo-like rects as JPEG, re-sent losslessly once still (--spice-jpeg). */
  jpegPhotos?: boolean;
  /** Still time before JPEG areas are re-sent losslessly (default LOSSLESS_REFRESH_MS; tests). */
  losslessRefreshMs?: number;
  /** false: no MJPEG video streams (--no-spice-streams); default on for clients that decode MJPEG. */
  streams?: boolean;
  /** Still time before a video stream is destroyed (tests). */
  streamIdleMs?: number;
  /** Also take SPICE over WebSocket on this port (spice-html5), told apart by the first bytes (default true). */
  websocket?: boolean;
  allowOrigins?: readonly string[];
  /** Connection limits, the link deadline (handshakeStageMs) and the ticket throttle (default: backend/net/limits.ts). */
  limits?: NetLimitsOptions;
  log?: Logger;
}

/** Channel caps we advertise: inputs KEY_SCANCODE; display STREAM_REPORT (clients then report on our streams). */
function serverChannelCaps(type: number): number[] {
  if (type === SpiceChannelType.INPUTS) return capsWords([SPICE_INPUTS_CAP_KEY_SCANCODE]);
  if (type === SpiceChannelType.DISPLAY) return capsWords([SpiceDisplayCap.STREAM_REPORT]);
  return [];
}

export interface SpiceAddress {
  host: string;
  port: number;
}

interface Connection {
  id: number;
  peer: string;
  websocket: boolean;
  socket: net.Socket;
  conn: SpiceConnection;
  /** Bytes to the client and unsent bytes over WebSocket (ws keeps its own queue). */
  bytesOut: number;
  queued(): number;
}

export class SpiceServer implements DisplayServer {
  readonly protocol = 'spice';
  private readonly server: net.Server;
  private readonly log: Logger;
  private readonly keys = new TicketKeyPool();
  private readonly throttle: AuthThrottle;
  readonly limits: NetLimits;
  private readonly counter: ConnectionCounter;
  /** Connections refused for being over a limit. */
  readonly refused = { total: 0, address: 0 };
  private lastRefusalLog = 0;
  readonly sessions: SpiceSessions;
  private readonly connections = new Set<Connection>();
  private readonly pending = new Set<net.Socket>();
  private readonly gateway: WebSocketGateway;
  private nextId = 1;

  constructor(private readonly opts: SpiceServerOptions) {
    this.log = opts.log ?? silentLogger;
    this.limits = resolveNetLimits(opts.limits);
    this.counter = new ConnectionCounter(this.limits);
    this.throttle = new AuthThrottle(this.limits.auth);
    this.sessions = new SpiceSessions({
      display: opts.display,
      input: opts.input,
      log: this.log,
      ...(opts.name ? { name: opts.name } : {}),
      ...(opts.uuid ? { uuid: opts.uuid } : {}),
      ...(opts.shared ? { shared: true } : {}),
      ...(opts.codec ? { codec: opts.codec } : {}),
      ...(opts.losslessRefreshMs !== undefined ? { losslessRefreshMs: opts.losslessRefreshMs } : {}),
      ...(opts.jpegPhotos ? { jpegPhotos: true } : {}),
      ...(opts.streams === false ? { streams: false } : {}),
      ...(opts.streamIdleMs !== undefined ? { streamIdleMs: opts.streamIdleMs } : {}),
    });
    this.gateway = new WebSocketGateway({
      log: this.log,
      allowOrigins: opts.allowOrigins,
      plainHttpText: 'This port speaks SPICE, directly or over WebSocket (spice-html5).\n',
      onWebSocket: (ws, socket) => this.acceptWebSocket(ws, socket),
    });
    this.server = net.createServer((socket) => this.incoming(socket));
    this.server.on('error', (err) => this.log.error({ err }, 'spice listener error'));
  }

  /** Connections in the link stage or serving a channel. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Per connection (one per channel): unsent bytes stay below SPICE_HARD_SOCKET_BACKLOG. */
  clientInfo(): DisplayClientInfo[] {
    return [...this.connections].map((c) => ({
      id: c.id,
      peer: c.peer,
      websocket: c.websocket,
      bytesOut: c.bytesOut,
      updates: c.conn.engine?.stats.messagesSent ?? 0,
      queuedBytes: c.queued(),
    }));
  }

  listen(host: string, port: number): Promise<SpiceAddress> {
    return listenOn(this.server, host, port);
  }

  close(): Promise<void> {
    this.gateway.close();
    for (const s of [...this.pending]) s.destroy();
    this.sessions.closeAll('server closing');
    for (const c of [...this.connections]) {
      c.conn.close('server closing');
      c.socket.destroy();
    }
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  /** An HTTP upgrade for SPICE over WebSocket from another server (the web server's /spice page). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.admit(socket as net.Socket)) return void socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
    this.gateway.handleUpgrade(req, socket, head);
  }

  /** Count a new connection against the limits (released when its socket closes), or refuse it (logged at most once a second). */
  private admit(socket: net.Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const verdict = this.counter.admit(address);
    if (verdict === 'ok') {
      socket.once('close', () => this.counter.release(address));
      return true;
    }
    this.refused[verdict] += 1;
    const now = Date.now();
    if (now - this.lastRefusalLog >= 1000) {
      this.lastRefusalLog = now;
      const max = verdict === 'total' ? this.limits.maxConnections : this.limits.maxConnectionsPerAddress;
      this.log.warn({ address, limit: verdict, max, refused: { ...this.refused } }, 'spice connection refused: over the connection limit');
    }
    return false;
  }

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

  private connectionBase(log: Logger, remoteAddress: string | undefined) {
    return {
      log,
      keys: this.keys,
      ticketing: this.opts.ticketing,
      sessions: this.sessions,
      authGate: this.throttle.gate(remoteAddress ?? ''),
      linkTimeoutMs: this.limits.handshakeStageMs,
      serverChannelCaps: serverChannelCaps,
    };
  }

  private accept(socket: net.Socket, head?: Buffer): void {
    const id = this.nextId++;
    const log = this.log.child({ spice: id, peer: `${socket.remoteAddress}:${socket.remotePort}` });
    socket.setNoDelay(true);
    const entry = {
      id,
      peer: `${socket.remoteAddress}:${socket.remotePort}`,
      websocket: false,
      socket,
      bytesOut: 0,
      queued: () => socket.writableLength,
    } as Connection;
    const write = (bytes: Uint8Array): void => {
      if (socket.destroyed || !socket.writable) return;
      entry.bytesOut += bytes.length;
      if (socket.writableLength > SPICE_HARD_SOCKET_BACKLOG) {
        entry.conn.close('client does not read', xerror('SPICE_E_OVERSIZE', `client left ${socket.writableLength} bytes unread`));
        return;
      }
      socket.write(bytes);
    };
    entry.conn = new SpiceConnection({
      ...this.connectionBase(log, socket.remoteAddress),
      write,
      backpressured: () => socket.writableLength > SPICE_MAX_SOCKET_BACKLOG,
      onClose: (reason, error) => {
        this.connections.delete(entry);
        log.info({ reason, code: (error as { code?: string } | undefined)?.code }, 'spice connection closed');
        if (socket.destroyed) return;
        socket.end();
        setTimeout(() => socket.destroy(), SPICE_CLOSE_GRACE_MS).unref();
      },
    });
    this.connections.add(entry);
    if (head && head.length > 0) entry.conn.receive(head);
    socket.on('data', (chunk: Buffer) => entry.conn.receive(chunk));
    socket.on('drain', () => entry.conn.resume());
    socket.on('error', (err) => log.debug({ err: err.message }, 'spice socket error'));
    socket.on('close', () => {
      this.connections.delete(entry);
      entry.conn.close('client disconnected');
    });
    socket.resume();
  }

  /** One SPICE connection per WebSocket (spice-html5 opens one per channel). */
  private acceptWebSocket(ws: WebSocket, socket: Duplex): void {
    const raw = socket as net.Socket;
    this.pending.delete(raw);
    const id = this.nextId++;
    const log = this.log.child({ spice: id, peer: `${raw.remoteAddress}:${raw.remotePort}`, websocket: true });
    const bridge = new WebSocketBridge(ws, socket, { maxBacklog: SPICE_MAX_SOCKET_BACKLOG, closeGraceMs: SPICE_CLOSE_GRACE_MS, log });
    const entry = {
      id,
      peer: `${raw.remoteAddress}:${raw.remotePort}`,
      websocket: true,
      socket: raw,
      bytesOut: 0,
      queued: () => ws.bufferedAmount,
    } as Connection;
    entry.conn = new SpiceConnection({
      ...this.connectionBase(log, raw.remoteAddress),
      write: (bytes) => {
        if (ws.bufferedAmount > SPICE_HARD_SOCKET_BACKLOG) {
          entry.conn.close('client does not read', xerror('SPICE_E_OVERSIZE', `client left ${ws.bufferedAmount} bytes unread`));
          return;
        }
        entry.bytesOut += bytes.length;
        bridge.write(bytes);
      },
      backpressured: bridge.backpressured,
      onClose: (reason) => {
        this.connections.delete(entry);
        bridge.end(reason);
      },
    });
    this.connections.add(entry);
    bridge.attach({ receive: (c) => entry.conn.receive(c), resume: () => entry.conn.resume(), close: (r) => entry.conn.close(r) }, () =>
      this.connections.delete(entry),
    );
  }
}
