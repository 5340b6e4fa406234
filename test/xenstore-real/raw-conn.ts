// A raw xenstore wire connection for differential tests: sends encoded requests and
// keeps every message that comes back, in arrival order, so two daemons can be compared
// byte for byte (no client-side matching, retrying or token rewriting).

import * as net from 'node:net';
import { type XsMessage, XsParser, XsType, encodeMessage, stringsPayload } from '../../shared/xenstore/wire';

const REPLY_TIMEOUT_MS = 5000;

export class RawConn {
  private readonly parser = new XsParser();
  private inbox: XsMessage[] = [];
  private wake: (() => void) | undefined;
  private nextReqId = 1;
  closed = false;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.inbox.push(...this.parser.push(chunk));
      this.wake?.();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static connect(socketPath: string): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ path: socketPath });
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new RawConn(s));
      });
    });
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /**
   * Sends one request and resolves with everything received up to and including its reply
   * (watch events queued earlier come first, in wire order).
   */
  async request(type: number, payload: Buffer, txId = 0): Promise<XsMessage[]> {
    return this.requestMany([{ type, payload, txId }]);
  }

  /**
   * Sends several requests in one write (the daemon finds them all waiting, as from a
   * pipelining client) and resolves with everything up to the reply to the last one.
   */
  async requestMany(reqs: Array<{ type: number; payload: Buffer; txId?: number }>): Promise<XsMessage[]> {
    let reqId = 0;
    let type = 0;
    const bytes = reqs.map((r) => {
      reqId = this.nextReqId++;
      type = r.type;
      return encodeMessage({ type: r.type, reqId, txId: r.txId ?? 0, payload: r.payload });
    });
    this.socket.write(Buffer.concat(bytes));
    const deadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const i = this.inbox.findIndex((m) => m.type !== XsType.XS_WATCH_EVENT && m.reqId === reqId);
      if (i >= 0) return this.inbox.splice(0, i + 1);
      if (this.closed) throw new Error(`connection closed before the reply to request ${reqId} (type ${type})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply to request ${reqId} (type ${type}) in ${REPLY_TIMEOUT_MS} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /**
   * Everything the daemon queued for this connection so far: a GET_DOMAIN_PATH round trip
   * works as a barrier because a daemon writes one connection's output in order. The
   * barrier reply itself is dropped.
   */
  async drain(): Promise<XsMessage[]> {
    const msgs = await this.request(XsType.XS_GET_DOMAIN_PATH, stringsPayload('0'));
    return msgs.slice(0, -1);
  }

  close(): void {
    this.socket.destroy();
  }
}
