// EventChannels over /dev/xen/evtchn: one open device per platform (like one
// xenevtchn_handle), several ports on it. Fired ports come from the addon's libuv poll;
// each is unmasked before 'event' is emitted, so a notify that lands while a handler runs
// fires again instead of being lost (the same order as SimEventChannels). A port that fires
// faster than EVTCHN_EVENT_RATE stays masked until its next token (EventPacer): a peer's
// notify storm costs this process a bounded number of wakeups.

import { EventEmitter } from 'node:events';
import * as native from '../../../native';
import { xerror } from '../../errors';
import { EventPacer } from '../event-pacer';
import type { EventChannels } from '../types';
import { DOMID_MAX, DOMID_SELF, isNativeError, nativeDetails } from './devices';

export class XenEventChannels extends EventEmitter implements EventChannels {
  private readonly device: native.EvtchnHandle;
  private readonly bound = new Set<number>();
  private readonly pacer = new EventPacer((port) => this.deliver(port));
  private closed = false;

  /** Opens the device (ENOENT off Xen, from the addon). */
  constructor(devicePath: string = native.XEN_DEVICE_PATHS.evtchn) {
    super();
    this.device = native.openEvtchn((error, ports) => (error ? this.onReadError(error) : this.onPorts(ports ?? [])), devicePath);
  }

  /** Ports bound through this device. */
  get ports(): readonly number[] {
    return [...this.bound].sort((a, b) => a - b);
  }

  async allocUnbound(remoteDomid: number): Promise<number> {
    this.checkDomid(remoteDomid);
    const port = this.call(() => this.device.bindUnboundPort(remoteDomid), { remoteDomid });
    this.bound.add(port);
    return port;
  }

  async bindInterdomain(remoteDomid: number, remotePort: number): Promise<number> {
    this.checkDomid(remoteDomid);
    if (!isU32(remotePort))
      throw xerror('EVTCHN_E_BAD_PORT', `d${remoteDomid} port ${remotePort} is not a port`, { remoteDomid, remotePort });
    const port = this.call(() => this.device.bindInterdomain(remoteDomid, remotePort), { remoteDomid, remotePort });
    this.bound.add(port);
    return port;
  }

  notify(port: number): void {
    this.checkBound(port);
    this.call(() => this.device.notify(port), { port });
  }

  async unbind(port: number): Promise<void> {
    this.checkBound(port);
    this.bound.delete(port);
    this.pacer.forget(port);
    this.call(() => this.device.unbind(port), { port });
  }

  /** Let the process exit while ports are bound (the device handle holds the loop by default). */
  unref(): void {
    this.device.unref();
  }

  ref(): void {
    this.device.ref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bound.clear();
    this.pacer.close();
    this.device.close();
    this.emit('close');
  }

  /** Firings held for pacing so far (see EventPacer). */
  get pacedEvents(): number {
    return this.pacer.deferred;
  }

  private onPorts(ports: readonly number[]): void {
    for (const port of ports) {
      if (this.closed) return;
      if (this.bound.has(port)) this.pacer.fired(port);
    }
  }

  private deliver(port: number): void {
    if (this.closed || !this.bound.has(port)) return;
    this.device.unmask(port);
    this.emit('event', port);
  }

  // EFBIG: the kernel's pending ring overflowed and some events are lost. Start over and
  // report every bound port once: a spurious event is harmless (handlers re-check their
  // rings), a lost one would stall a device.
  private onReadError(error: native.NativeError): void {
    if (this.closed) return;
    if (error.code === 'EFBIG') {
      try {
        this.device.reset();
        this.device.resume();
        for (const port of this.bound) this.device.unmask(port);
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      for (const port of [...this.bound]) if (!this.closed) this.emit('event', port);
      return;
    }
    this.fail(xerror('EVTCHN_E_CLOSED', `reading ${native.XEN_DEVICE_PATHS.evtchn}: ${error.message}`, nativeDetails(error)));
  }

  private fail(e: Error): void {
    if (this.closed) return;
    // 'error' only to a listener: an unheard 'error' would kill the process.
    if (this.listenerCount('error') > 0) this.emit('error', e);
    this.close();
  }

  // Kernel and hypervisor answers that mean "no such port here" become typed errors.
  private call<T>(op: () => T, details: Record<string, unknown>): T {
    if (this.closed) throw xerror('EVTCHN_E_CLOSED', 'event channels are closed');
    try {
      return op();
    } catch (e) {
      if (!isNativeError(e)) throw e;
      const more = { ...details, ...nativeDetails(e) };
      if (e.code === 'ENOSPC') throw xerror('EVTCHN_E_NO_SPACE', e.message, more);
      if (e.code === 'EINVAL' || e.code === 'ENOTCONN' || e.code === 'ESRCH') throw xerror('EVTCHN_E_BAD_PORT', e.message, more);
      throw e;
    }
  }

  private checkDomid(domid: number): void {
    if (domid === DOMID_SELF) return;
    if (!Number.isInteger(domid) || domid < 0 || domid > DOMID_MAX) {
      throw xerror('EVTCHN_E_BAD_PORT', `domid ${domid} is not a domain`, { domid });
    }
  }

  private checkBound(port: number): void {
    if (this.closed) throw xerror('EVTCHN_E_CLOSED', 'event channels are closed');
    if (!this.bound.has(port)) throw xerror('EVTCHN_E_BAD_PORT', `port ${port} is not bound here`, { port });
  }
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}
