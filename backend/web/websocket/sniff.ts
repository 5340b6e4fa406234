// Telling WebSocket clients from a protocol's own clients on one port. An HTTP client speaks
// first; so does a SPICE client ("REDQ"), while in RFB the server does (rfbproto §7.1.1). A
// new connection is given a short wait: bytes starting "GET " mean an HTTP upgrade; silence,
// or anything else, means the port's own protocol ('stream'). libvncserver does the same
// (WEBSOCKETS_CLIENT_CONNECT_WAIT_MS).

import type { Duplex } from 'node:stream';

/** How long a new connection may stay silent before it is taken for the port's own protocol. */
export const SNIFF_WAIT_MS = 100;
/** The request line of a WebSocket opening handshake (RFC 6455 §4.1: the method must be GET). */
export const HTTP_GET_PREFIX = Buffer.from('GET ', 'latin1');

export type ConnectionKind = 'http' | 'stream';

/** 'http' or 'stream' once the first bytes decide it; null while they are a strict prefix of "GET ". */
export function classifyFirstBytes(head: Uint8Array): ConnectionKind | null {
  const n = Math.min(head.length, HTTP_GET_PREFIX.length);
  for (let i = 0; i < n; i++) if (head[i] !== HTTP_GET_PREFIX[i]) return 'stream';
  return head.length >= HTTP_GET_PREFIX.length ? 'http' : null;
}

/**
 * Reads a new connection's first bytes and calls `done` once: with the kind and every byte
 * read so far (paused, no listeners of ours left), or with 'closed' if the peer went first.
 * A silent peer is 'stream' after `waitMs`; a peer that sent part of "GET " and stalls is HTTP.
 * Returns a cancel function (the caller then owns the socket again).
 */
export function sniffConnection(socket: Duplex, waitMs: number, done: (kind: ConnectionKind | 'closed', head: Buffer) => void): () => void {
  let head: Buffer = Buffer.alloc(0);
  let finished = false;
  const finish = (kind: ConnectionKind | 'closed'): void => {
    if (finished) return;
    cleanup();
    if (kind !== 'closed') socket.pause();
    done(kind, head);
  };
  const onData = (chunk: Buffer): void => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const kind = classifyFirstBytes(head);
    if (kind) finish(kind);
  };
  const onGone = (): void => finish('closed');
  const timer = setTimeout(() => finish(head.length === 0 ? 'stream' : 'http'), waitMs);
  function cleanup(): void {
    finished = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('end', onGone);
    socket.off('close', onGone);
    socket.off('error', onGone);
  }
  socket.on('data', onData);
  socket.on('end', onGone);
  socket.on('close', onGone);
  socket.on('error', onGone);
  return cleanup;
}
