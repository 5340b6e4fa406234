// What the per-domain backend (daemon.ts) and the web server need of a display protocol
// server (VNC today, SPICE beside it): start and stop it, list its clients, and hand it the
// WebSocket upgrades the web server routes to its path. Each server reads the same Display
// and feeds the same InputSink; this interface is how they are held side by side.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { BoundAddress } from './listen';

/** One connected client, as status and metrics show it. */
export interface DisplayClientInfo {
  id: number;
  /** "address:port" of the peer. */
  peer: string;
  /** Came in over WebSocket (a browser console). */
  websocket: boolean;
  /** Bytes written to the client. */
  bytesOut: number;
  /** Updates (frames) sent. */
  updates: number;
  /** Output queued in the socket, not yet taken by the kernel. */
  queuedBytes: number;
  /** When the client connected (Date.now()), for rates over its first interval. */
  connectedAt?: number;
}

export interface DisplayServer {
  /** "vnc", "spice": the protocol's name in logs, xenstore and status. */
  readonly protocol: string;
  /** Bind and listen; port 0 picks a free port. Resolves to the bound address. */
  listen(host: string, port: number): Promise<BoundAddress>;
  /** Stop listening and drop every client. */
  close(): Promise<void>;
  clientInfo(): DisplayClientInfo[];
  /** A WebSocket upgrade request the web server routed to this protocol. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}
