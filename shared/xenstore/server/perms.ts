// Access checks as C xenstored's perm_for_conn() (tools/xenstored/core.c): privileged
// connections may do anything; the owner (first entry) has full access, and so has a
// domain whose SET_TARGET target owns the node (a device model acting for its guest); a
// later entry naming the domain applies; otherwise the first entry's flags are the default.

import type { Perm } from '../wire';

/** Who is on the other end of a connection. */
export interface XsIdentity {
  domid: number;
  privileged: boolean;
  /** Set by XS_SET_TARGET: this domain acts with owner rights over `target`'s nodes. */
  target?: number;
}

export interface Access {
  read: boolean;
  write: boolean;
  owner: boolean;
}

export function accessFor(who: XsIdentity, perms: readonly Perm[]): Access {
  if (who.privileged) return { read: true, write: true, owner: true };
  const first = perms[0];
  if (!first) return { read: false, write: false, owner: false };
  if (first.domid === who.domid || (who.target !== undefined && first.domid === who.target)) {
    return { read: true, write: true, owner: true };
  }
  for (let i = 1; i < perms.length; i++) {
    const p = perms[i]!;
    if (p.domid === who.domid) return { read: p.read, write: p.write, owner: false };
  }
  return { read: first.read, write: first.write, owner: false };
}

export function canRead(who: XsIdentity, perms: readonly Perm[]): boolean {
  return accessFor(who, perms).read;
}

export function canWrite(who: XsIdentity, perms: readonly Perm[]): boolean {
  return accessFor(who, perms).write;
}

/** Perms of a node created under a parent: inherited; an unprivileged creator becomes owner. */
export function inheritPerms(who: XsIdentity, parentPerms: readonly Perm[]): Perm[] {
  const perms = parentPerms.map((p) => ({ ...p }));
  if (!who.privileged && perms[0]) perms[0] = { ...perms[0], domid: who.domid };
  return perms;
}
