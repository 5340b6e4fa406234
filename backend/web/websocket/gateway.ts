// The HTTP side of a byte-stream protocol (RFB, SPICE) over WebSocket: takes a sniffed
// connection (or an upgrade request routed by the web server), checks it is a WebSocket opening handshake (RFC 6455 §4.2.1) from an
// allowed origin, and hands the open WebSocket on. HTTP is parsed by Node's own parser on an
// http.Server that never listens; the handshake is done by `ws` in noServer mode.

import * as http from 'node:http';
import type * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { type Logger, silentLogger } from '../../../shared/log';

/** Largest WebSocket message a client may send (a client message, or a run of them). */
export const WS_MAX_CLIENT_MESSAGE = 4 * 1024 * 1024;
/** How long a sniffed HTTP connection may take to send its request head. */
export const WS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** The subprotocol websockify, noVNC and spice-html5 name a binary stream with; accepted when offered. */
export const WS_SUBPROTOCOL_BINARY = 'binary';

export interface WebSocketGatewayOptions {
  /** Called with each open WebSocket and the socket under it. */
  onWebSocket(ws: WebSocket, socket: Duplex, req: http.IncomingMessage): void;
  /**
   * Origins (e.g. "http://host:6080") allowed besides the same origin and clients that send
   * none (non-browser clients); "*" allows any. Browsers let any page open a WebSocket to any
   * port, so without this check a page from anywhere could watch an unauthenticated console.
   */
  allowOrigins?: readonly string[];
  /** What a plain HTTP request on this port is told (e.g. "This port speaks VNC (RFB)..."). */
  plainHttpText?: string;
  /** A sniffed connection's request head must be complete within this, however slowly it trickles (default WS_HANDSHAKE_TIMEOUT_MS). */
  headMs?: number;
  log?: Logger;
}

/** A request's Origin is acceptable: absent, same host:port as the request, or listed. */
export function originAllowed(origin: string | undefined, host: string | undefined, allow: readonly string[] = []): boolean {
  if (origin === undefined) return true;
  if (allow.includes('*') || allow.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Subprotocol choice: 'binary' if offered, else none (noVNC offers none; RFC 6455 §4.2.2). */
export function chooseSubprotocol(offered: ReadonlySet<string>): string | false {
  return offered.has(WS_SUBPROTOCOL_BINARY) ? WS_SUBPROTOCOL_BINARY : false;
}

export class WebSocketGateway {
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly log: Logger;
  /** Head deadlines of sniffed connections, cleared when their WebSocket opens. */
  private readonly headDeadlines = new WeakMap<Duplex, NodeJS.Timeout>();

  constructor(private readonly opts: WebSocketGatewayOptions) {
    this.log = opts.log ?? silentLogger;
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: WS_MAX_CLIENT_MESSAGE,
      handleProtocols: (offered) => chooseSubprotocol(offered),
      verifyClient: ({ origin, req }: { origin: string; req: http.IncomingMessage }, allow: (ok: boolean, code?: number) => void) =>
        allow(originAllowed(origin || undefined, req.headers.host, opts.allowOrigins), 403),
    });
    this.http = http.createServer({ requestTimeout: WS_HANDSHAKE_TIMEOUT_MS, headersTimeout: WS_HANDSHAKE_TIMEOUT_MS }, (_req, res) => {
      // A plain HTTP request on a protocol port: say what the port speaks.
      res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket', connection: 'close' });
      res.end(opts.plainHttpText ?? 'This port takes WebSocket upgrades only.\n');
    });
    this.http.on('upgrade', (req, socket, head) => this.handleUpgrade(req, socket, head));
    this.http.on('clientError', (err, socket) => {
      this.log.debug({ err: err.message }, 'bad HTTP request on a protocol port');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
  }

  /** A connection whose first bytes (`head`, already read) looked like HTTP. */
  acceptSniffed(socket: net.Socket, head: Buffer): void {
    // An http.Server that never listens does not police slow heads itself. An idle timeout
    // is not enough (a byte every few seconds resets it): the head has a hard deadline,
    // cleared once the WebSocket is open.
    const deadline = setTimeout(() => {
      this.log.debug({ ms: this.opts.headMs ?? WS_HANDSHAKE_TIMEOUT_MS }, 'HTTP request head not complete in time: closing');
      socket.destroy();
    }, this.opts.headMs ?? WS_HANDSHAKE_TIMEOUT_MS);
    deadline.unref();
    this.headDeadlines.set(socket, deadline);
    socket.once('close', () => clearTimeout(deadline));
    socket.unshift(head);
    this.http.emit('connection', socket);
    socket.resume();
  }

  /** An HTTP upgrade request (from this gateway's parser or from another http.Server). */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'websocket socket error'));
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      clearTimeout(this.headDeadlines.get(socket));
      this.opts.onWebSocket(ws, socket, req);
    });
  }

  close(): void {
    this.wss.close();
    this.http.close();
  }
}
