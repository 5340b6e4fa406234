// The sockets of the embedded xenstored: the addon's polled unix sockets (native/src/
// unix-socket.cc) by default, or net.Socket, the TS twin (XENVFB_NO_NATIVE_XENSTORED_IO=1).
// A xenstore request is a few dozen bytes and a few microseconds of work, so per request
// net.Socket's stream pipeline (a Buffer per read, a write request and its callback per
// reply) cost more than the request itself: `npm run bench:xenstore` and docs/xenstore.md
// have the numbers. Both kinds give XenstoredServer the same small surface (XsSocket).

import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { UNIX_STREAM_EVENT, type UnixStreamHandle, listenUnix, openUnixStream } from '../../../native';

/** What XenstoredServer uses of a client socket; net.Socket has all of it. */
export interface XsSocket {
  readonly destroyed: boolean;
  /** False: the bytes are kept, but wait for 'drain' before writing more. */
  write(bytes: Buffer): boolean;
  destroy(): void;
  pause(): void;
  resume(): void;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'drain' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

export interface XsListener {
  close(): Promise<void>;
}

export const NO_NATIVE_XENSTORED_IO_ENV = 'XENVFB_NO_NATIVE_XENSTORED_IO';

/** The addon's sockets unless XENVFB_NO_NATIVE_XENSTORED_IO=1. */
export function nativeIoFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[NO_NATIVE_XENSTORED_IO_ENV] !== '1';
}

/** Listens on `socketPath` (which must not exist) and hands every client to `onSocket`. */
export async function listenXs(socketPath: string, native: boolean, onSocket: (socket: XsSocket) => void): Promise<XsListener> {
  return native ? listenNative(socketPath, onSocket) : listenNode(socketPath, onSocket);
}

async function listenNode(socketPath: string, onSocket: (socket: XsSocket) => void): Promise<XsListener> {
  const server = net.createServer(onSocket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined); // accept errors must not crash the host process
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Node's default backlog for net.Server. */
const BACKLOG = 511;
/** After an accept error (out of fds), accepting starts again this much later. */
const ACCEPT_RETRY_MS = 100;

function listenNative(socketPath: string, onSocket: (socket: XsSocket) => void): XsListener {
  let retry: NodeJS.Timeout | undefined;
  const handle = listenUnix(socketPath, BACKLOG, (error, fd) => {
    if (error || fd === null) {
      // As net.Server's 'error' on accept: nothing to report to, try again shortly.
      retry ??= setTimeout(() => {
        retry = undefined;
        handle.resume();
      }, ACCEPT_RETRY_MS).unref();
      return;
    }
    let socket: NativeUnixSocket;
    try {
      socket = new NativeUnixSocket(fd);
    } catch {
      closeFd(fd);
      return;
    }
    onSocket(socket);
  });
  return {
    close: async () => {
      if (retry) clearTimeout(retry);
      handle.close();
      // As libuv does when a listening pipe closes.
      fs.rmSync(socketPath, { force: true });
    },
  };
}

function closeFd(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already gone
  }
}

/**
 * Every read of every native socket lands here and is consumed (XsParser copies what it
 * keeps) before the next read: the loop runs one callback at a time.
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

/**
 * A connected socket on the addon's UnixStream, with the part of net.Socket's behaviour the
 * server relies on: write() takes everything and says false when some of it waits; 'drain'
 * when that went out; 'close' once, on a later tick, after destroy(), an error or the peer's
 * end.
 */
export class NativeUnixSocket extends EventEmitter implements XsSocket {
  destroyed = false;
  private readonly handle: UnixStreamHandle;
  /** Output the kernel has not taken yet (bounded by what the connection hands over before it sees false). */
  private pending: Buffer[] = [];

  constructor(fd: number) {
    super();
    this.handle = openUnixStream(fd, READ_BUFFER, (kind, value) => this.onEvent(kind, value));
  }

  private onEvent(kind: number, value: number): void {
    if (kind === UNIX_STREAM_EVENT.data) this.emit('data', READ_BUFFER.subarray(0, value));
    else if (kind === UNIX_STREAM_EVENT.writable) this.writePending();
    else this.destroy(); // the peer's end (C xenstored drops the connection too) or a read error
  }

  write(bytes: Buffer): boolean {
    if (this.destroyed) return false;
    if (this.pending.length > 0) {
      this.pending.push(bytes);
      return false;
    }
    const n = this.handle.write(bytes, 0, bytes.length);
    if (n === bytes.length) return true;
    if (n < 0) {
      this.destroy(); // EPIPE, ECONNRESET: the client is gone
      return false;
    }
    this.pending.push(n === 0 ? bytes : bytes.subarray(n));
    this.handle.setWritable(true);
    return false;
  }

  private writePending(): void {
    while (this.pending.length > 0 && !this.destroyed) {
      const head = this.pending[0]!;
      const n = this.handle.write(head, 0, head.length);
      if (n < 0) {
        this.destroy();
        return;
      }
      if (n < head.length) {
        this.pending[0] = head.subarray(n);
        return;
      }
      this.pending.shift();
    }
    if (this.destroyed) return;
    this.handle.setWritable(false);
    this.emit('drain');
  }

  pause(): void {
    if (!this.destroyed) this.handle.setReading(false);
  }

  resume(): void {
    if (!this.destroyed) this.handle.setReading(true);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.pending = [];
    this.handle.close();
    process.nextTick(() => this.emit('close'));
  }
}
