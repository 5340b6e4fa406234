// The xenstore tree, kept as a flat map from absolute path to node, like the records of
// C xenstored's database (tools/xenstored/core.c: one record per node with its value,
// permissions, child names and generation count). Nodes are immutable objects, so a
// transaction can keep the ones it accessed without copying them.

import type { Perm } from '../wire';

export interface XsNode {
  readonly value: Buffer;
  readonly perms: readonly Perm[];
  /** Child names in creation order (what DIRECTORY returns). */
  readonly children: readonly string[];
  /** Changes whenever value, perms or the child list change; transactions compare it. */
  readonly generation: number;
}

/** What the operations read and write through: the main store or a transaction overlay. */
export interface NodeView {
  get(path: string): XsNode | undefined;
  /** Stores a node; the view assigns the generation. */
  put(path: string, node: Omit<XsNode, 'generation'>): void;
  delete(path: string): void;
  /** Nodes of the tree (not `@` nodes) whose owner (first perm) is `domid`. */
  ownedBy(domid: number): number;
}

export const ROOT_PERMS: readonly Perm[] = [{ domid: 0, read: false, write: false }];

/** The nodes C xenstored 4.17 creates at start (core.c setup_structure); no /local. */
export const INITIAL_NODES = ['/', '/tool', '/tool/xenstored'] as const;

// sizeof(struct xs_tdb_record_hdr) (u64 generation + 3 x u32, padded to 8) and
// sizeof(struct xs_permissions) in tools/xenstored/core.h / include/xenstore_lib.h.
const RECORD_HEADER_SIZE = 24;
const RECORD_PERM_SIZE = 8;

/** A node's database record size, what C's node-size quota limits (write_node_raw). */
export function nodeRecordSize(node: Omit<XsNode, 'generation'>): number {
  const childLen = node.children.reduce((n, c) => n + Buffer.byteLength(c) + 1, 0);
  return RECORD_HEADER_SIZE + node.perms.length * RECORD_PERM_SIZE + node.value.length + childLen;
}

export function parentOf(path: string): string | undefined {
  if (path === '/' || path.startsWith('@')) return undefined;
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** C xenstored's is_child(): `child` is `parent` or below it. */
export function isPathAtOrBelow(child: string, parent: string): boolean {
  if (parent === '/') return child.startsWith('/');
  return child === parent || (child.startsWith(parent) && child[parent.length] === '/');
}

/** The domain a node's quota is charged to, or undefined for `@` nodes. */
export function ownerOf(path: string, node: { perms: readonly Perm[] } | undefined): number | undefined {
  if (!node || path.startsWith('@')) return undefined;
  return node.perms[0]?.domid;
}

/** Adds `delta` to `counts[owner]` (no-op for undefined owners). */
export function countOwner(counts: Map<number, number>, owner: number | undefined, delta: number): void {
  if (owner === undefined) return;
  counts.set(owner, (counts.get(owner) ?? 0) + delta);
}

/** What C charges a node to its owner's memory: the record plus the path (key) bytes. */
function nodeMemory(path: string, node: Omit<XsNode, 'generation'>): number {
  return Buffer.byteLength(path) + nodeRecordSize(node);
}

export class Store implements NodeView {
  private readonly nodes = new Map<string, XsNode>();
  private readonly owners = new Map<number, number>();
  private readonly memory = new Map<number, number>();
  private nextGeneration = 1;

  constructor() {
    this.put('/', { value: Buffer.alloc(0), perms: ROOT_PERMS, children: [] });
    for (const p of INITIAL_NODES.slice(1)) this.create(p);
    for (const special of ['@introduceDomain', '@releaseDomain']) {
      this.put(special, { value: Buffer.alloc(0), perms: ROOT_PERMS, children: [] });
    }
  }

  private create(path: string): void {
    const parent = parentOf(path) ?? '/';
    this.put(path, { value: Buffer.alloc(0), perms: ROOT_PERMS, children: [] });
    const p = this.nodes.get(parent);
    if (p) this.put(parent, { ...p, children: [...p.children, baseName(path)] });
  }

  get(path: string): XsNode | undefined {
    return this.nodes.get(path);
  }

  put(path: string, node: Omit<XsNode, 'generation'>): void {
    const old = this.nodes.get(path);
    if (old) {
      countOwner(this.owners, ownerOf(path, old), -1);
      countOwner(this.memory, ownerOf(path, old), -nodeMemory(path, old));
    }
    countOwner(this.owners, ownerOf(path, node), +1);
    countOwner(this.memory, ownerOf(path, node), nodeMemory(path, node));
    this.nodes.set(path, { value: node.value, perms: node.perms, children: node.children, generation: this.nextGeneration++ });
  }

  delete(path: string): void {
    const old = this.nodes.get(path);
    if (!old) return;
    countOwner(this.owners, ownerOf(path, old), -1);
    countOwner(this.memory, ownerOf(path, old), -nodeMemory(path, old));
    this.nodes.delete(path);
  }

  ownedBy(domid: number): number {
    return this.owners.get(domid) ?? 0;
  }

  /** Bytes of the nodes `domid` owns (path + record), C's node share of domain memory. */
  memoryOf(domid: number): number {
    return this.memory.get(domid) ?? 0;
  }

  /** Generation of a node, or -1 when it does not exist (C's NO_GENERATION). */
  generationOf(path: string): number {
    return this.nodes.get(path)?.generation ?? -1;
  }

  get size(): number {
    return this.nodes.size;
  }

  /** All paths at or below `path`, parents first. */
  *walk(path: string): Generator<[string, XsNode]> {
    const node = this.nodes.get(path);
    if (!node) return;
    yield [path, node];
    for (const name of node.children) yield* this.walk(childPath(path, name));
  }
}
