// Where the simulated host keeps things. One directory per simulated host ("sim dir");
// removing it removes every socket, memory file and grant table. See README.md here.

import * as path from 'node:path';

/** Largest domid a real domain can have (`xen/include/public/xen.h: DOMID_FIRST_RESERVED - 1`). */
export const DOMID_MAX = 0x7fef;
/** `DOMID_SELF` (xen.h): "the calling domain" in grant and event-channel calls. */
export const DOMID_SELF = 0x7ff0;

export function xenstoredSocketPath(dir: string): string {
  return path.join(dir, 'xenstored', 'socket');
}

export function domainDir(dir: string, domid: number): string {
  return path.join(dir, 'domains', String(domid));
}

/** The domain's own (unprivileged, for domid != 0) xenstore connection. */
export function xenbusSocketPath(dir: string, domid: number): string {
  return path.join(domainDir(dir, domid), 'xenbus');
}

export function evtchnSocketPath(dir: string, domid: number): string {
  return path.join(domainDir(dir, domid), 'evtchn');
}

/** Pseudo-physical memory of the guest: frame n is page n of this (sparse) file. */
export function memoryPath(dir: string, domid: number): string {
  return path.join(domainDir(dir, domid), 'memory');
}

/** The guest's grant table (v1 entries, NR_GRANT_FRAMES pages). */
export function grantTablePath(dir: string, domid: number): string {
  return path.join(domainDir(dir, domid), 'grant-table');
}

export function isValidDomid(domid: number): boolean {
  return Number.isInteger(domid) && domid >= 0 && domid <= DOMID_MAX;
}
