// VncServer: the thin TCP adapter around RfbSession. It owns the sockets, feeds bytes in,
// applies backpressure, and keeps one failing client from touching the others.

import * as net from 'node:net';
import type { Display, InputSink } from '../display/display';
import type { Encoder } from './encoders/encoder';
import { type Logger, noopLogger, withFields } from './logger';
import { RfbSession } from './session';

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
  encoders?: readonly Encoder[];
}

export interface VncAddress {
  host: string;
  port: number;
}

interface Connection {
  id: number;
  socket: net.Socket;
  session: RfbSession;
}

export class VncServer {
  private readonly server: net.Server;
  private readonly log: Logger;
  private readonly connections = new Set<Connection>();
  private nextId = 1;

  constructor(private readonly opts: VncServerOptions) {
    this.log = opts.log ?? noopLogger;
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (err) => this.log.error({ err }, 'vnc listener error'));
  }

  /** Number of connected clients (in handshake or serving). */
  get sessions(): number {
    return this.connections.size;
  }

  /** Bind and listen; port 0 picks a free port. Resolves to the bound address. */
  listen(host: string, port: number): Promise<VncAddress> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const a = this.server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stop listening and drop every client. */
  close(): Promise<void> {
    for (const c of [...this.connections]) {
      c.session.close('server closing');
      c.socket.destroy();
    }
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }

  private accept(socket: net.Socket): void {
    const id = this.nextId++;
    const log = withFields(this.log, { session: id, peer: `${socket.remoteAddress}:${socket.remotePort}` });
    socket.setNoDelay(true);
    const conn = {} as Connection;
    conn.id = id;
    conn.socket = socket;
    this.connections.add(conn);
    log.info({}, 'vnc client connected');
    try {
      conn.session = new RfbSession({
        display: this.opts.display,
        input: this.opts.input,
        log,
        name: this.opts.name,
        encoders: this.opts.encoders,
        write: (bytes) => {
          if (!socket.destroyed && socket.writable) socket.write(bytes);
        },
        backpressured: () => socket.writableLength > VNC_MAX_SOCKET_BACKLOG,
        onClose: () => this.endSocket(socket),
        onExclusive: () => this.dropOthers(conn),
      });
    } catch (err) {
      log.error({ err }, 'vnc session could not start');
      this.connections.delete(conn);
      socket.destroy();
      return;
    }
    socket.on('data', (chunk: Buffer) => conn.session.receive(chunk));
    socket.on('drain', () => conn.session.resume());
    socket.on('error', (err) => log.debug({ err: err.message }, 'vnc socket error'));
    socket.on('close', () => {
      this.connections.delete(conn);
      conn.session.close('client disconnected');
    });
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
