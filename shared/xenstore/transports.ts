// Byte transports for XsClient. The client only frames and matches messages; a transport
// moves bytes. Unix socket and the Linux `/dev/xen/xenbus` device here; the in-memory pipe
// to the embedded engine lives in server/memory-transport.ts.

import * as fs from 'node:fs';
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
  /** Largest whole message (header + payload) the transport can carry, if limited. */
  readonly maxMessageBytes?: number;
  /**
   * XS_WATCH / XS_UNWATCH may only be sent while no other request of this connection awaits
   * its reply (XsClient holds them, and what follows them, until then). See XenbusDevTransport.
   */
  readonly watchNeedsQuiet?: boolean;
}

export const DEFAULT_XENSTORED_PATH = '/var/run/xenstored/socket';
/** The kernel's xenstore device (used when xenstored runs in another domain). */
export const XENBUS_DEVICE_PATH = '/dev/xen/xenbus';
/** xenbus_dev_frontend.c buffers one message of header + payload in a 4096-byte page. */
export const XENBUS_DEV_MESSAGE_MAX = 4096;

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

/** What XenbusDevTransport needs from the device: whole-message writes and a byte stream. */
export interface XenbusDeviceIo {
  write(bytes: Buffer): void;
  /** Starts reading; `onData` gets chunks of the reply stream, `onEnd` once. */
  read(onData: (chunk: Buffer) => void, onEnd: (error?: Error) => void): void;
  /** Idempotent. */
  close(): void;
}

/**
 * `/dev/xen/xenbus` (Linux drivers/xen/xenbus/xenbus_dev_frontend.c): each write must be
 * one whole message of at most XENBUS_DEV_MESSAGE_MAX bytes; reads give a byte stream.
 * WATCH_EVENTs the kernel synthesises carry uninitialised req_id/tx_id: XsClient matches
 * events by token only, never by those fields.
 *
 * The driver registers a watch inside write(2), holding the file's message mutex while it
 * waits for xenstored's answer; the kernel's one xenbus thread takes that same mutex to hand
 * over a reply to an earlier request of the file (xenbus_dev_queue_reply). A WATCH written
 * while such a reply is due deadlocks that thread, and with it every xenstore user of the
 * domain, kernel included. libxenstore never has two requests out on a handle; XsClient
 * pipelines, so this transport asks for `watchNeedsQuiet`. (Found by the lab: the domU's
 * Node guest and its shell both hung in xenstore, one run in three.)
 */
export class XenbusDevTransport implements XsTransport {
  readonly maxMessageBytes = XENBUS_DEV_MESSAGE_MAX;
  readonly watchNeedsQuiet = true;
  private closed = false;

  constructor(private readonly io: XenbusDeviceIo) {}

  /**
   * Opens the device through the native addon: O_NONBLOCK, read when libuv reports it
   * readable. (A blocking read would hold a thread-pool thread per connection until the
   * next reply, and closing the fd does not end it.) Fails with XS_E_CLOSED and the errno.
   */
  static async open(path = XENBUS_DEVICE_PATH): Promise<XenbusDevTransport> {
    // Loaded here only: a client of a xenstored socket needs no addon.
    const native = await import('../../native');
    type Delivery = [error: Error | null, bytes: Buffer | null | undefined];
    const early: Delivery[] = [];
    let deliver: ((...d: Delivery) => void) | undefined;
    let device: ReturnType<typeof native.openXenbusDev>;
    try {
      device = native.openXenbusDev((error, bytes) => (deliver ? deliver(error, bytes) : early.push([error, bytes])), path);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw xerror('XS_E_CLOSED', `cannot open ${path}: ${err.message}`, { path, errno: err.code, syscall: err.syscall ?? 'open' });
    }
    return new XenbusDevTransport({
      write: (bytes) => device.write(bytes), // the driver takes a whole message per write(2)
      read: (onData, onEnd) => {
        deliver = (error, bytes) => {
          if (!error && bytes) return onData(bytes);
          device.close();
          onEnd(error ?? undefined);
        };
        for (const d of early.splice(0)) deliver(...d);
      },
      close: () => device.close(),
    });
  }

  start(h: TransportHandlers): void {
    this.io.read(
      (chunk) => h.onData(chunk),
      (error) => {
        if (this.closed) return;
        this.closed = true;
        h.onClose(error);
      },
    );
  }

  send(bytes: Buffer): void {
    if (bytes.length > XENBUS_DEV_MESSAGE_MAX) {
      throw xerror('XS_E_OVERSIZE', `message of ${bytes.length} bytes exceeds the ${XENBUS_DEV_MESSAGE_MAX}-byte xenbus device buffer`, {
        len: bytes.length,
      });
    }
    if (!this.closed) this.io.write(bytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.io.close();
  }
}

/**
 * libxenstore's xs_open() order: the unix socket (explicit path, XENSTORED_PATH or the
 * default), then, when no path was forced and the socket is missing, /dev/xen/xenbus.
 */
export async function connectTransport(explicit?: string, device = XENBUS_DEVICE_PATH): Promise<XsTransport> {
  const socketPath = xenstoredSocketPath(explicit);
  try {
    return await UnixSocketTransport.connect(socketPath);
  } catch (e) {
    const errno = (e as { details?: { errno?: string } }).details?.errno;
    const forced = explicit !== undefined || process.env.XENSTORED_PATH !== undefined;
    if (forced || (errno !== 'ENOENT' && errno !== 'ECONNREFUSED') || !fs.existsSync(device)) throw e;
    return await XenbusDevTransport.open(device);
  }
}
