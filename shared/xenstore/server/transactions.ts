// Transactions as C xenstored 4.17 does them (tools/xenstored/transaction.c access_node,
// transaction_prepend): the first time a transaction accesses a node, the node as it is
// then (or its absence) is frozen into the transaction, which from then on sees only that
// copy plus its own changes; nodes it never touched are read from the main store. So a
// node read as missing stays missing in the transaction even if another connection
// creates it (checked against the real daemon by the differential test). Commit fails
// with EAGAIN if an accessed node's generation in the main store changed; otherwise the
// transaction's nodes are written back. Watch events raised inside wait for the commit and
// then fire once per changed node, in the order the transaction first accessed the nodes
// (C queue_watches() marks the accessed node; finalize_transaction() walks the list).
// An unprivileged transaction may access at most `transaction-nodes` nodes: past that the
// access fails with ENOSPC and the transaction can no longer commit (ENOMEM), as in C.

import type { Perm } from '../wire';
import { failWith } from './fail';
import { type NodeView, type Store, type XsNode, countOwner, ownerOf, parentOf } from './store';

/** An event a committed operation fires; resolved against watches at delivery time. */
export interface PendingEvent {
  path: string;
  /** True for descendants removed by a recursive rm (only exact watches fire). */
  exact: boolean;
  /** Perms the reader must satisfy (node perms before and/or after the change). */
  perms: (readonly Perm[])[];
  /** For @releaseDomain / @introduceDomain: the domain, shown to depth-1 watches. */
  domid?: number;
  /** `perms` already holds everything C consults; do not try the parent's perms too. */
  noParent?: boolean;
}

const ABSENT = -1;

export class Transaction implements NodeView {
  /** Each accessed node as the transaction sees it: undefined = absent or deleted. */
  private readonly overlay = new Map<string, XsNode | undefined>();
  /** Main-store generation of each accessed node at first access (-1 absent). */
  private readonly accessed = new Map<string, number>();
  /** Perms of each accessed node that existed at first access (C accessed_node.perms). */
  private readonly firstPerms = new Map<string, readonly Perm[]>();
  /** Paths the transaction wrote or deleted (what commit writes back). */
  private readonly changed = new Set<string>();
  /** Change of per-owner node counts made inside the transaction. */
  private readonly ownerDelta = new Map<number, number>();
  readonly events: PendingEvent[] = [];
  private localGeneration = 0;
  /** An access failed (transaction-nodes quota): commit answers ENOMEM (C trans->fail). */
  failed = false;
  /** A node was created inside (C node_created): the nodes quota is checked at commit. */
  nodeCreated = false;

  constructor(
    readonly id: number,
    private readonly store: Store,
    /** The transaction-nodes quota; undefined for privileged connections. */
    private readonly maxAccessed?: number,
  ) {}

  /** Nodes this transaction has accessed (C's transaction-nodes quota counts these). */
  get accessedCount(): number {
    return this.accessed.size;
  }

  get(path: string): XsNode | undefined {
    if (!this.accessed.has(path)) {
      if (this.maxAccessed !== undefined && this.accessed.size >= this.maxAccessed) {
        this.failed = true;
        throw failWith('ENOSPC', 'transaction-nodes quota');
      }
      const node = this.store.get(path);
      this.accessed.set(path, node?.generation ?? ABSENT);
      if (node) this.firstPerms.set(path, node.perms);
      this.overlay.set(path, node);
    }
    return this.overlay.get(path);
  }

  put(path: string, node: Omit<XsNode, 'generation'>): void {
    const before = this.get(path);
    if (!before && !path.startsWith('@')) this.nodeCreated = true;
    countOwner(this.ownerDelta, ownerOf(path, before), -1);
    countOwner(this.ownerDelta, ownerOf(path, node), +1);
    this.overlay.set(path, { ...node, generation: --this.localGeneration });
    this.changed.add(path);
  }

  delete(path: string): void {
    countOwner(this.ownerDelta, ownerOf(path, this.get(path)), -1);
    this.overlay.set(path, undefined);
    this.changed.add(path);
  }

  ownedBy(domid: number): number {
    return this.store.ownedBy(domid) + (this.ownerDelta.get(domid) ?? 0);
  }

  /**
   * C transaction_fix_domains() at commit: true when some domain the transaction changed
   * would own `quota` nodes or more, counted against the store as it is now (so ten
   * transactions that each filled the quota cannot all commit).
   */
  exceedsNodeQuota(quota: number): boolean {
    for (const [domid, delta] of this.ownerDelta) {
      if (domid !== 0 && this.store.ownedBy(domid) + delta >= quota) return true;
    }
    return false;
  }

  /**
   * The events to fire after apply(): one per changed node, in first-access order. Who may
   * see one follows C's watch_permitted() with the perms finalize_transaction() passes:
   * the node's perms at first access, else the node and its parent as committed. So a
   * node created and removed inside the transaction fires for nobody.
   */
  commitEvents(): PendingEvent[] {
    const exact = new Map<string, boolean>();
    // A non-exact event replaces an exact one, not the other way round (queue_watches).
    for (const ev of this.events) exact.set(ev.path, (exact.get(ev.path) ?? true) && ev.exact);
    const out: PendingEvent[] = [];
    for (const path of this.accessed.keys()) {
      const isExact = exact.get(path);
      if (isExact === undefined) continue;
      const perms: (readonly Perm[])[] = [];
      const first = this.firstPerms.get(path);
      if (first) perms.push(first);
      const now = this.store.get(path);
      if (now) {
        perms.push(now.perms);
        const parent = parentOf(path);
        const p = parent === undefined ? undefined : this.store.get(parent);
        if (p) perms.push(p.perms);
      }
      out.push({ path, exact: isExact, perms, noParent: true });
    }
    return out;
  }

  /** Accessed paths whose main-store node changed since this transaction first saw them. */
  conflicts(): string[] {
    const out: string[] = [];
    for (const [path, gen] of this.accessed) {
      if (this.store.generationOf(path) !== gen) out.push(path);
    }
    return out;
  }

  /** Writes the transaction's nodes into the store. Call only when conflicts() is empty. */
  apply(): void {
    for (const path of this.changed) {
      const node = this.overlay.get(path);
      if (node === undefined) {
        if (this.store.generationOf(path) !== ABSENT) this.store.delete(path);
      } else {
        this.store.put(path, node);
      }
    }
  }
}
