// An XsClient transport wired straight to an engine connection: no socket, same bytes.
// Delivery is deferred to a microtask in both directions so neither side re-enters the
// other while it is still handling a message.

import { XsClient, type XsClientOptions } from '../client';
import type { TransportHandlers, XsTransport } from '../transports';
import type { XenstoreEngine, XsIdentity, XsServerConnection } from './engine';

export class MemoryTransport implements XsTransport {
  private handlers: TransportHandlers | undefined;
  private conn: XsServerConnection | undefined;
  private closed = false;

  constructor(
    private readonly engine: XenstoreEngine,
    private readonly identity: XsIdentity,
  ) {}

  start(h: TransportHandlers): void {
    this.handlers = h;
    this.conn = this.engine.connect(this.identity, {
      write: (bytes) => queueMicrotask(() => this.handlers?.onData(bytes)),
      close: () => queueMicrotask(() => this.finish()),
    });
  }

  send(bytes: Buffer): void {
    const conn = this.conn;
    if (conn && !this.closed) queueMicrotask(() => conn.receive(bytes));
  }

  close(): void {
    if (this.conn) this.engine.disconnect(this.conn);
    else this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers?.onClose();
  }
}

/** A client talking to `engine` as `identity` (e.g. the simulator acting as dom0). */
export function connectInMemory(engine: XenstoreEngine, identity: XsIdentity, opts: XsClientOptions = {}): XsClient {
  return new XsClient(new MemoryTransport(engine, identity), opts);
}
