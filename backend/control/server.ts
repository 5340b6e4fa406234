// The control socket of a backend (and of the watch daemon): a unix socket, mode 0600 in a
// directory of its own, JSON lines (protocol.ts). Requests on one connection are answered in
// order; at most CTL_MAX_CONNECTIONS connections at once, each closed after CTL_IDLE_MS
// without a request, so a stuck or hostile local client costs a bounded amount.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { xerror } from '../../shared/errors';
import { type Logger, silentLogger } from '../../shared/log';
import { CTL_MAX_LINE, type ControlRequest, encodeError, encodeReply, LineSplitter, parseRequest, requestIdOf } from './protocol';

export const CTL_MAX_CONNECTIONS = 8;
export const CTL_IDLE_MS = 60_000;

export type ControlHandler<R = ControlRequest> = (req: R) => Promise<unknown> | unknown;

/** One request line to a request, or a typed error (the reply says it). */
export type RequestParser<R> = (line: string) => R;

export class ControlServer<R extends { id: unknown; op: string } = ControlRequest> {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly path: string,
    private readonly handle: ControlHandler<R>,
    private readonly log: Logger,
    private readonly parse: RequestParser<R>,
  ) {
    this.server = net.createServer((s) => this.accept(s));
    this.server.maxConnections = CTL_MAX_CONNECTIONS;
  }

  /**
   * Listens on `socketPath` (its directory is created with mode 0700). A socket file left by
   * a dead process is replaced; one a live process answers on is an error. `parse` reads a
   * request line (default: a backend's ops, protocol.ts; a replay has its own).
   */
  static async listen<R extends { id: unknown; op: string } = ControlRequest>(
    socketPath: string,
    handle: ControlHandler<R>,
    log: Logger = silentLogger,
    parse: RequestParser<R> = parseRequest as unknown as RequestParser<R>,
  ): Promise<ControlServer<R>> {
    fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
    if (fs.existsSync(socketPath)) {
      if (await answers(socketPath)) {
        throw xerror(
          'NET_E_LISTEN',
          `${socketPath}: another process serves this control socket (is this domain's backend already running?)`,
          {
            flag: '--control-dir',
            path: socketPath,
          },
        );
      }
      fs.rmSync(socketPath, { force: true });
    }
    const srv = new ControlServer<R>(socketPath, handle, log, parse);
    // Created 0600 from the start: the umask covers the window between bind and chmod.
    const umask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        srv.server.once('error', reject);
        srv.server.listen(socketPath, () => {
          srv.server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(umask);
    }
    fs.chmodSync(socketPath, 0o600);
    srv.server.unref();
    return srv;
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.unref();
    socket.setTimeout(CTL_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    const lines = new LineSplitter(CTL_MAX_LINE);
    let queue = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      let got: string[];
      try {
        got = lines.push(chunk);
      } catch (e) {
        socket.end(encodeError(null, e));
        return;
      }
      for (const line of got) {
        if (line.trim() === '') continue;
        queue = queue.then(() => this.answer(socket, line));
      }
    });
  }

  private async answer(socket: net.Socket, line: string): Promise<void> {
    let reply: string;
    try {
      const req = this.parse(line);
      try {
        reply = encodeReply(req.id, await this.handle(req));
      } catch (e) {
        this.log.warn({ op: req.op, err: e }, 'control request failed');
        reply = encodeError(req.id, e);
      }
    } catch (e) {
      reply = encodeError(requestIdOf(line), e);
    }
    if (!socket.destroyed) socket.write(reply);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.path, { force: true });
  }
}

/** True when something accepts connections on the unix socket at `p`. */
function answers(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
