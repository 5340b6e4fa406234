// EventChannels for a simulated domain: one unix-socket connection to the relay per
// process per domain (like one open /dev/xen/evtchn), several ports on it.
// A fired port is masked in the relay until we unmask it; we unmask before emitting
// 'event', so a notify that lands while a handler runs is delivered again, never lost. A
// port that fires faster than EVTCHN_EVENT_RATE stays masked until its next token
// (EventPacer), as on Xen.

import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { xerror } from '../../errors';
import { EventPacer } from '../event-pacer';
import type { EventChannels } from '../types';
import { type EvtchnClientMessage, type EvtchnServerMessage, encodeClientMessage, serverMessageDecoder } from './evtchn-wire';
import { isValidDomid, DOMID_SELF } from './layout';

/** How long a request waits for the relay before failing with EVTCHN_E_CLOSED. */
export const EVTCHN_REQUEST_TIMEOUT_MS = 10_000;

interface Pending {
  /** The request allocates or binds a port: add it to `bound` when the reply comes. */
  binds: boolean;
  resolve(port: number): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class SimEventChannels extends EventEmitter implements EventChannels {
  private readonly decoder = serverMessageDecoder();
  private readonly pending = new Map<number, Pending>();
  private readonly bound = new Set<number>();
  private readonly pacer = new EventPacer((port) => this.deliver(port));
  private nextReqId = 1;
  private closed = false;
  private closing = false;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.receive(chunk));
    socket.on('error', (e) => this.fail(xerror('EVTCHN_E_CLOSED', `event channel socket: ${e.message}`)));
    socket.on('close', () => this.fail(xerror('EVTCHN_E_CLOSED', 'event channel connection closed')));
  }

  /** Connect to a domain's event channel socket (DIR/domains/<id>/evtchn). */
  static connect(socketPath: string): Promise<SimEventChannels> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const onError = (e: Error): void =>
        reject(xerror('EVTCHN_E_CLOSED', `cannot connect to ${socketPath}: ${e.message}`, { path: socketPath }));
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new SimEventChannels(socket));
      });
    });
  }

  /** Ports bound through this connection. */
  get ports(): readonly number[] {
    return [...this.bound].sort((a, b) => a - b);
  }

  async allocUnbound(remoteDomid: number): Promise<number> {
    if (!isValidDomid(remoteDomid) && remoteDomid !== DOMID_SELF) {
      throw xerror('SIM_E_NO_DOMAIN', `domid ${remoteDomid} is not a domain`, { domid: remoteDomid });
    }
    return this.request((reqId) => ({ type: 'alloc-unbound', reqId, remoteDomid }), true);
  }

  async bindInterdomain(remoteDomid: number, remotePort: number): Promise<number> {
    if ((!isValidDomid(remoteDomid) && remoteDomid !== DOMID_SELF) || !isU32(remotePort)) {
      throw xerror('EVTCHN_E_BAD_PORT', `d${remoteDomid} port ${remotePort} is not a port`, { remoteDomid, remotePort });
    }
    return this.request((reqId) => ({ type: 'bind-interdomain', reqId, remoteDomid, remotePort }), true);
  }

  notify(port: number): void {
    if (this.closed) throw xerror('EVTCHN_E_CLOSED', 'event channels are closed');
    if (!this.bound.has(port)) throw xerror('EVTCHN_E_BAD_PORT', `port ${port} is not bound here`, { port });
    this.socket.write(encodeClientMessage({ type: 'notify', port }));
  }

  async unbind(port: number): Promise<void> {
    if (!this.bound.has(port)) throw xerror('EVTCHN_E_BAD_PORT', `port ${port} is not bound here`, { port });
    this.bound.delete(port);
    await this.request((reqId) => ({ type: 'unbind', reqId, port }));
  }

  close(): void {
    if (this.closed) return;
    this.closing = true;
    this.socket.end();
    this.socket.destroy();
    this.fail(xerror('EVTCHN_E_CLOSED', 'event channels closed'));
  }

  private request(build: (reqId: number) => EvtchnClientMessage, binds = false): Promise<number> {
    if (this.closed) return Promise.reject(xerror('EVTCHN_E_CLOSED', 'event channels are closed'));
    const reqId = this.nextReqId;
    this.nextReqId = this.nextReqId >= 0xffffffff ? 1 : this.nextReqId + 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(reqId);
        reject(xerror('EVTCHN_E_CLOSED', `event channel relay did not answer request ${reqId}`, { reqId }));
      }, EVTCHN_REQUEST_TIMEOUT_MS);
      timer.unref();
      this.pending.set(reqId, { binds, resolve, reject, timer });
      this.socket.write(encodeClientMessage(build(reqId)));
    });
  }

  private receive(chunk: Buffer): void {
    let messages: EvtchnServerMessage[];
    try {
      messages = this.decoder.push(chunk);
    } catch (e) {
      this.socket.destroy();
      this.fail(e as Error);
      return;
    }
    for (const m of messages) this.handle(m);
  }

  private handle(m: EvtchnServerMessage): void {
    if (m.type === 'event') {
      this.pacer.fired(m.port);
      return;
    }
    const p = this.pending.get(m.reqId);
    if (!p) return;
    this.pending.delete(m.reqId);
    clearTimeout(p.timer);
    // A bound port counts as ours now, not a microtask later: an event for it may be the
    // next message of this very chunk.
    if (m.type === 'reply' && p.binds) this.bound.add(m.port);
    if (m.type === 'reply') p.resolve(m.port);
    else p.reject(xerror(m.code, m.message));
  }

  /** Firings held for pacing so far (see EventPacer). */
  get pacedEvents(): number {
    return this.pacer.deferred;
  }

  private deliver(port: number): void {
    if (this.closed) return;
    // Unmask even a port we do not know (any more): a port left masked in the relay
    // would swallow every later notify on it.
    this.socket.write(encodeClientMessage({ type: 'unmask', port }));
    if (this.bound.has(port)) this.emit('event', port);
  }

  private fail(e: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.bound.clear();
    this.pacer.close();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
    // 'error' only for a transport failure nobody asked for (close() is silent), and only
    // to a listener: an unheard 'error' would kill the process.
    if (!this.closing && this.listenerCount('error') > 0) this.emit('error', e);
    this.emit('close');
  }
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}
