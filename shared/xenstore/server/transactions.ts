// Transactions: each sees the store as it was at TRANSACTION_START plus its own changes
// (C xenstored copies nodes into the transaction; ocaml-xenstore keeps the immutable root
// of that moment). Commit fails with EAGAIN if a node the transaction accessed changed in
// the main store since the snapshot (tools/xenstored/transaction.c compares generation
// counts); otherwise the transaction's nodes are written back. Watch events raised inside
// the transaction wait for the commit.

import type { Perm } from '../wire';
import { type NodeView, type Store, type StoreSnapshot, type XsNode, countOwner, ownerOf } from './store';

/** An event a committed operation fires; resolved against watches at delivery time. */
export interface PendingEvent {
  path: string;
  /** True for descendants removed by a recursive rm (only exact watches fire). */
  exact: boolean;
  /** Perms the reader must satisfy (node perms before and/or after the change). */
  perms: (readonly Perm[])[];
  /** For @releaseDomain / @introduceDomain: the domain, shown to depth-1 watches. */
  domid?: number;
}

const ABSENT = -1;

export class Transaction implements NodeView {
  /** Node copies: undefined value = deleted inside the transaction. */
  private readonly overlay = new Map<string, XsNode | undefined>();
  /** Snapshot generation of each accessed node (-1 absent). */
  private readonly accessed = new Map<string, number>();
  private readonly snapshot: StoreSnapshot;
  /** Change of per-owner node counts made inside the transaction. */
  private readonly ownerDelta = new Map<number, number>();
  readonly events: PendingEvent[] = [];
  private localGeneration = 0;

  constructor(
    readonly id: number,
    private readonly store: Store,
  ) {
    this.snapshot = store.snapshot();
  }

  /** Nodes this transaction has accessed (C's transaction-nodes quota counts these). */
  get accessedCount(): number {
    return this.accessed.size;
  }

  private touch(path: string): void {
    if (!this.accessed.has(path)) this.accessed.set(path, this.snapshot.nodes.get(path)?.generation ?? ABSENT);
  }

  get(path: string): XsNode | undefined {
    this.touch(path);
    if (this.overlay.has(path)) return this.overlay.get(path);
    return this.snapshot.nodes.get(path);
  }

  put(path: string, node: Omit<XsNode, 'generation'>): void {
    const before = this.get(path);
    countOwner(this.ownerDelta, ownerOf(path, before), -1);
    countOwner(this.ownerDelta, ownerOf(path, node), +1);
    this.overlay.set(path, { ...node, generation: --this.localGeneration });
  }

  delete(path: string): void {
    countOwner(this.ownerDelta, ownerOf(path, this.get(path)), -1);
    this.overlay.set(path, undefined);
  }

  ownedBy(domid: number): number {
    return (this.snapshot.owners.get(domid) ?? 0) + (this.ownerDelta.get(domid) ?? 0);
  }

  /** Paths whose main-store node changed since this transaction's snapshot. */
  conflicts(): string[] {
    const out: string[] = [];
    for (const [path, gen] of this.accessed) {
      if (this.store.generationOf(path) !== gen) out.push(path);
    }
    return out;
  }

  /** Writes the transaction's nodes into the store. Call only when conflicts() is empty. */
  apply(): void {
    for (const [path, node] of this.overlay) {
      if (node === undefined) {
        if (this.store.generationOf(path) !== ABSENT) this.store.delete(path);
      } else {
        this.store.put(path, node);
      }
    }
  }
}
