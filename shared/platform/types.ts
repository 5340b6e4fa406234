// What the devices need from the host: the interfaces both platforms (real Xen through the
// native addon, and the simulator) implement. Devices never know which one they run on.

import type { EventEmitter } from 'node:events';
import type { XsClient } from '../xenstore/client';

/** A mapping of pages into this process. `buffer` is detached (byteLength 0) after unmap(). */
export interface MappedRegion {
  readonly buffer: ArrayBuffer;
  readonly length: number;
  readonly writable: boolean;
  readonly mapped: boolean;
  unmap(): void;
}

/** privcmd: map frames of another domain (only a privileged domain may). */
export interface ForeignMapper {
  /**
   * Maps `frames` (guest frame numbers, in order) into one contiguous region.
   * Throws MAP_E_BAD_FRAME (details.errors = per-page errno, 0 = ok) if any page fails.
   */
  mapFrames(domid: number, frames: readonly number[], writable: boolean): MappedRegion;
}

/** gntdev: map pages another domain granted to us. */
export interface GrantMapper {
  /** Throws GNT_E_BAD_REF / GNT_E_PERM with Xen's rules (only the named domain; ro grants map ro). */
  mapGrants(domid: number, refs: readonly number[], writable: boolean): MappedRegion;
}

/** Pages of our own memory shared with another domain (gntalloc, or the guest's grant table). */
export interface SharedPages {
  readonly refs: readonly number[];
  /** Our own frame numbers of the pages (what a stock frontend writes as page-ref / pd[]). */
  readonly frames: readonly number[];
  readonly region: MappedRegion;
  unshare(): void;
}

export interface GrantSharer {
  /** Allocate `count` zeroed pages and grant them to `remoteDomid`. */
  share(remoteDomid: number, count: number, writable: boolean): SharedPages;
}

/** A guest's own pseudo-physical memory: pages with frame numbers (sim guests only). */
export interface GuestMemory {
  /** Allocate `count` zeroed pages; returns their frame numbers and a contiguous mapping. */
  alloc(count: number): { frames: number[]; region: MappedRegion };
  /** Grant existing frames of ours to a domain (Xen grant table v1 rules). Returns refs. */
  grant(remoteDomid: number, frames: readonly number[], writable: boolean): number[];
  /** End the grants (the guest's gnttab_end_foreign_access). */
  endGrants(refs: readonly number[]): void;
  free(frames: readonly number[]): void;
}

/**
 * Event channels (evtchn device). Emits 'event' (port) when a bound port fires and
 * 'error' on transport failure. Ports are per domain, as on Xen.
 */
export interface EventChannels extends EventEmitter {
  allocUnbound(remoteDomid: number): Promise<number>;
  bindInterdomain(remoteDomid: number, remotePort: number): Promise<number>;
  notify(port: number): void;
  unbind(port: number): Promise<void>;
  close(): void;
}

export interface Platform {
  readonly kind: 'sim' | 'xen';
  /** Our own domain id (0 for dom0). */
  readonly domid: number;
  xenstore(): Promise<XsClient>;
  eventChannels(): Promise<EventChannels>;
  /** Present in privileged domains. */
  readonly foreign?: ForeignMapper;
  readonly grants: GrantMapper;
  /** Present in sim guests. */
  readonly memory?: GuestMemory;
  readonly sharer?: GrantSharer;
  close(): Promise<void>;
}
