// Transactions as current C xenstored does them (tools/xenstored/transaction.c): a node is
// copied into the transaction the first time it is accessed, remembering its generation
// count. Commit fails with EAGAIN only if one of those accessed nodes changed in the main
// store meanwhile; otherwise the transaction's nodes are written back. Watch events raised
// inside the transaction wait for the commit.

import type { Perm } from '../wire';
import type { NodeView, Store, XsNode } from './store';

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
  /** Generation of each accessed node in the main store at first access (-1 absent). */
  private readonly accessed = new Map<string, number>();
  readonly events: PendingEvent[] = [];
  private localGeneration = 0;

  constructor(
    readonly id: number,
    private readonly store: Store,
  ) {}

  private touch(path: string): void {
    if (!this.accessed.has(path)) this.accessed.set(path, this.store.generationOf(path));
  }

  get(path: string): XsNode | undefined {
    this.touch(path);
    if (this.overlay.has(path)) return this.overlay.get(path);
    return this.store.get(path);
  }

  put(path: string, node: Omit<XsNode, 'generation'>): void {
    this.touch(path);
    this.overlay.set(path, { ...node, generation: --this.localGeneration });
  }

  delete(path: string): void {
    this.touch(path);
    this.overlay.set(path, undefined);
  }

  /** Paths whose main-store node changed since this transaction first looked at them. */
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
