// Carries one byte-stream session (RFB, SPICE) over a WebSocket: every binary message is a
// piece of the client's byte stream (message boundaries mean nothing to those protocols),
// every session write is one binary message. The session never knows; it sees write/backpressured/onClose like on TCP.

import type { Duplex } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../../../shared/log';
import { budgeted, type InputBudget } from '../../net/input-budget';

/** RFC 6455 §7.4.1 close codes used here. */
export const WS_CLOSE_NORMAL = 1000;
export const WS_CLOSE_UNSUPPORTED_DATA = 1003;
/** RFC 6455 §5.5: a close frame's payload is at most 125 bytes, 2 of them the code. */
export const WS_MAX_CLOSE_REASON = 123;

/** What a bridged session is to the bridge. */
export interface BridgedSession {
  receive(chunk: Uint8Array): void;
  /** Work done while receiving that the input budget does not count (RfbSession: frame starts). */
  takeFrameWorkMs?(): number;
  resume(): void;
  close(reason: string): void;
}

export interface WebSocketBridgeOptions {
  /** No new frame is encoded while more than this many bytes wait to be sent. */
  maxBacklog: number;
  /** How long a closing WebSocket may take to finish its close handshake. */
  closeGraceMs: number;
  log: Logger;
  /** The client's share of the event loop (input-budget.ts); none: unbounded. */
  budget?: InputBudget;
  /** Others are connected: the budget applies. */
  contended?: () => boolean;
}

/** A close reason cut to fit a close frame, on a UTF-8 character boundary. */
export function closeReason(reason: string): string {
  let bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= WS_MAX_CLOSE_REASON) return reason;
  bytes = bytes.subarray(0, WS_MAX_CLOSE_REASON);
  while (bytes.length > 0 && (bytes[bytes.length - 1]! & 0xc0) === 0x80) bytes = bytes.subarray(0, -1);
  if (bytes.length > 0 && bytes[bytes.length - 1]! >= 0xc0) bytes = bytes.subarray(0, -1);
  return bytes.toString('utf8');
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class WebSocketBridge {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly opts: WebSocketBridgeOptions,
  ) {}

  /** RfbSessionOptions.write */
  readonly write = (bytes: Uint8Array, release?: () => void): void => {
    // ws calls back once the frame is written (or failed): the bytes are free then.
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(bytes, { binary: true }, release && (() => release()));
    else release?.();
  };

  /** RfbSessionOptions.backpressured: ws counts bytes queued in it and in the socket. */
  readonly backpressured = (): boolean => this.ws.bufferedAmount > this.opts.maxBacklog;

  /** The session's onClose: close handshake, then the socket goes after a grace period. */
  readonly end = (reason: string): void => {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(WS_CLOSE_NORMAL, closeReason(reason));
    setTimeout(() => this.ws.terminate(), this.opts.closeGraceMs).unref();
  };

  /** Feed the session from the WebSocket; `gone` runs once when the connection is over. */
  attach(session: BridgedSession, gone: () => void): void {
    const { budget, contended } = this.opts;
    const receive = (data: RawData): void => session.receive(toBuffer(data));
    const exempt = session.takeFrameWorkMs ? () => session.takeFrameWorkMs!() : undefined;
    const feed = budget ? budgeted(budget, this.ws, contended ?? (() => true), receive, exempt) : receive;
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        this.opts.log.warn({}, 'websocket text message: this protocol over WebSocket is binary');
        this.ws.close(WS_CLOSE_UNSUPPORTED_DATA, 'binary messages only');
        return;
      }
      feed(data);
    });
    this.socket.on('drain', () => session.resume());
    this.ws.on('error', (err) => this.opts.log.debug({ err: err.message }, 'websocket error'));
    this.ws.on('close', (code) => {
      gone();
      session.close(code === WS_CLOSE_NORMAL || code === 1001 ? 'client disconnected' : `websocket closed (${code})`);
    });
  }
}
