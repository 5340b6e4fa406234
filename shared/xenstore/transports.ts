// Byte transports for XsClient. The client only frames and matches messages; a transport
// moves bytes. Unix socket here; the in-memory pipe to the embedded engine lives in
// server/memory-transport.ts. A `/dev/xen/xenbus` transport fits the same interface:
// send() writes whole messages to the fd, reads arrive as onData chunks.

import * as net from 'node:net';
import { xerror } from '../errors';

export interface TransportHandlers {
  /** Bytes from xenstored, in any chunking. */
  onData(chunk: Uint8Array): void;
  /** The transport is gone (called once). */
  onClose(error?: Error): void;
}

export interface XsTransport {
  /** Begins delivery to the client; called exactly once, before any send(). */
  start(handlers: TransportHandlers): void;
  /** Sends one whole encoded message. */
  send(bytes: Buffer): void;
  close(): void;
}

export const DEFAULT_XENSTORED_PATH = '/var/run/xenstored/socket';

/** The socket libxenstore would use: `XENSTORED_PATH` overrides the default. */
export function xenstoredSocketPath(explicit?: string): string {
  return explicit ?? process.env.XENSTORED_PATH ?? DEFAULT_XENSTORED_PATH;
}

export class UnixSocketTransport implements XsTransport {
  private constructor(private readonly socket: net.Socket) {}

  static connect(path: string): Promise<UnixSocketTransport> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path });
      const onError = (e: NodeJS.ErrnoException): void => {
        reject(xerror('XS_E_CLOSED', `cannot connect to xenstored at ${path}: ${e.message}`, { path, errno: e.code, syscall: e.syscall }));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new UnixSocketTransport(socket));
      });
    });
  }

  start(h: TransportHandlers): void {
    let closeError: Error | undefined;
    this.socket.on('data', (chunk) => h.onData(chunk));
    this.socket.on('error', (e) => {
      closeError = e;
    });
    this.socket.on('close', () => h.onClose(closeError));
  }

  send(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  close(): void {
    this.socket.destroy();
  }
}
