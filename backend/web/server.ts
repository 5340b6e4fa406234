// WebServer: serves the noVNC web client (our page + the @novnc/novnc package's core/ and
// vendor/ modules) and routes WebSocket upgrades by path to the display servers (RFB for
// noVNC at /websockify, others at their own paths), on the same origin. "/" redirects to the
// page with autoconnect on; the page connects back to the host and port it was loaded from,
// so one forwarded port is enough.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { type Logger, silentLogger } from '../../shared/log';
import { type Mount, resolveStatic } from './static';
import { listenOn } from '../listen';
import { ConnectionCounter, type NetLimits, type NetLimitsOptions, resolveNetLimits } from '../net/limits';

/** Paths where noVNC's WebSocket is accepted ("websockify" is noVNC's default path). */
export const WEB_VNC_WEBSOCKET_PATHS: readonly string[] = ['/websockify', '/'];
/** Where "/" sends a browser. */
export const WEB_DEFAULT_PAGE = '/vnc.html?autoconnect=1&resize=scale&path=websockify';

/** Whoever takes WebSocket upgrades for a protocol (a DisplayServer). */
export interface UpgradeHandler {
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** WebSocket upgrades on `path` go to `handler`. */
export interface WebSocketRoute {
  path: string;
  handler: UpgradeHandler;
}

export interface WebServerOptions {
  /** Where WebSocket upgrades go, by path; an upgrade on another path gets 404. */
  webSockets?: readonly WebSocketRoute[];
  /** The @novnc/novnc package directory (default: resolved from node_modules). */
  noVncDir?: string;
  /** More files served besides noVNC's (e.g. spice-html5 under /spice/, backend/spice/web-client.ts). */
  extraMounts?: readonly Mount[];
  /** Exact paths answered with a 302 to another URL (e.g. "/spice" to the spice-html5 page). */
  redirects?: Readonly<Record<string, string>>;
  log?: Logger;
  /** Connection limits and the request-head deadline (default: backend/net/limits.ts). */
  limits?: NetLimitsOptions;
}

export interface WebAddress {
  host: string;
  port: number;
}

/** The installed @novnc/novnc package's directory (its "exports" hide package.json). */
export function noVncPackageDir(): string {
  return path.resolve(path.dirname(require.resolve('@novnc/novnc')), '..');
}

export const WEB_PAGE_DIR = path.join(__dirname, 'page');

export function webMounts(noVncDir: string): Mount[] {
  const page = path.join(WEB_PAGE_DIR, 'vnc.html');
  return [
    { path: '/vnc.html', file: page },
    // The name noVNC's own minimal page has, so links written for noVNC work.
    { path: '/vnc_lite.html', file: page },
    { path: '/vnc.js', file: path.join(WEB_PAGE_DIR, 'vnc.js') },
    { prefix: '/core/', dir: path.join(noVncDir, 'core') },
    { prefix: '/vendor/', dir: path.join(noVncDir, 'vendor') },
  ];
}

export class WebServer {
  private readonly server: http.Server;
  private readonly log: Logger;
  private readonly mounts: Mount[];
  readonly limits: NetLimits;
  private readonly counter: ConnectionCounter;
  /** Connections refused for being over a limit. */
  refused = 0;

  constructor(private readonly opts: WebServerOptions = {}) {
    this.log = opts.log ?? silentLogger;
    this.mounts = [...webMounts(opts.noVncDir ?? noVncPackageDir()), ...(opts.extraMounts ?? [])];
    this.limits = resolveNetLimits(opts.limits);
    this.counter = new ConnectionCounter(this.limits);
    // Node enforces headersTimeout on a listening server, checked every connectionsCheckingInterval.
    const head = this.limits.httpHeadMs;
    const options: http.ServerOptions = {
      headersTimeout: head,
      requestTimeout: 3 * head,
      connectionsCheckingInterval: Math.min(1000, head),
    };
    this.server = http.createServer(options, (req, res) => this.request(req, res));
    this.server.on('connection', (socket) => {
      const address = socket.remoteAddress ?? '';
      if (this.counter.admit(address) !== 'ok') {
        this.refused += 1;
        if (this.refused === 1 || this.refused % 100 === 0)
          this.log.warn({ address, refused: this.refused }, 'web connection refused: over the connection limit');
        return void socket.destroy();
      }
      socket.once('close', () => this.counter.release(address));
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.server.on('error', (err) => this.log.error({ err }, 'web listener error'));
  }

  /** Bind and listen; port 0 picks a free port. Resolves to the bound address. */
  listen(host: string, port: number): Promise<WebAddress> {
    return listenOn(this.server, host, port);
  }

  /** Stop listening and drop open HTTP connections (WebSockets belong to the VNC server). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private request(req: http.IncomingMessage, res: http.ServerResponse): void {
    const pathname = requestPath(req);
    if (pathname === null) return this.fail(res, 400);
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.fail(res, 405, { allow: 'GET, HEAD' });
    const redirects = this.opts.redirects ?? {};
    const redirect = pathname === '/' ? WEB_DEFAULT_PAGE : Object.hasOwn(redirects, pathname) ? redirects[pathname] : undefined;
    if (redirect !== undefined) {
      res.writeHead(302, { location: redirect, 'cache-control': 'no-cache' });
      return void res.end();
    }
    const found = resolveStatic(pathname, this.mounts);
    if ('status' in found) return this.fail(res, found.status);
    this.sendFile(req, res, found.file, found.mime);
  }

  private sendFile(req: http.IncomingMessage, res: http.ServerResponse, file: string, mime: string): void {
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) return this.fail(res, 404);
      res.writeHead(200, {
        'content-type': mime,
        'content-length': st.size,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      });
      if (req.method === 'HEAD') return void res.end();
      const stream = fs.createReadStream(file);
      stream.on('error', (e) => {
        this.log.warn({ err: e.message, file }, 'web file read failed');
        res.destroy();
      });
      stream.pipe(res);
    });
  }

  private fail(res: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders = {}): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
    res.end(`${status} ${http.STATUS_CODES[status] ?? ''}\n`);
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const pathname = requestPath(req);
    if (pathname === null) return void socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    const route = this.opts.webSockets?.find((r) => r.path === pathname);
    if (!route) return void socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    route.handler.handleUpgrade(req, socket, head);
  }
}

/** The path of a request's target, or null when it is not a valid URL path (e.g. "//x:99999"). */
export function requestPath(req: http.IncomingMessage): string | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return null;
  }
}
