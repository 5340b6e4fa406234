// The xenstore tree, kept as a flat map from absolute path to node, like the records of
// C xenstored's database (tools/xenstored/core.c: one record per node with its value,
// permissions, child names and generation count).

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
}

export const ROOT_PERMS: readonly Perm[] = [{ domid: 0, read: false, write: false }];

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

export class Store implements NodeView {
  private readonly nodes = new Map<string, XsNode>();
  private nextGeneration = 1;

  constructor() {
    // The root and the /tool and /local nodes xenstored creates at start (core.c setup_structure).
    this.put('/', { value: Buffer.alloc(0), perms: ROOT_PERMS, children: [] });
    for (const p of ['/tool', '/local']) this.create(p);
    this.create('/tool/xenstored');
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
    this.nodes.set(path, { value: node.value, perms: node.perms, children: node.children, generation: this.nextGeneration++ });
  }

  delete(path: string): void {
    this.nodes.delete(path);
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
