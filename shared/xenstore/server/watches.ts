// Watch registry and matching as C xenstored's watch.c: a watch fires for its path and
// everything below it (optionally limited by depth); a recursive rm fires the removed
// descendants only to watches registered exactly on them; special `@...` paths match
// exactly. Relative watches (domain connections) get relative event paths.

import { isPathAtOrBelow } from './store';
import type { PendingEvent } from './transactions';

export interface Watch {
  /** Absolute (or special) path watched. */
  path: string;
  token: string;
  /** Set when the client gave a relative path: this prefix plus '/' is stripped from events. */
  relativeTo?: string;
  /** Extra levels below `path` that still fire (undefined = unlimited). */
  depth?: number;
}

function levelsBelow(path: string, watched: string): number {
  if (path === watched) return 0;
  const rest = watched === '/' ? path.slice(1) : path.slice(watched.length + 1);
  return rest.split('/').length;
}

/** The path this watch reports for `event`, or undefined if the event does not match. */
export function matchWatch(watch: Watch, event: PendingEvent): string | undefined {
  const special = event.path.startsWith('@');
  if (special) {
    if (watch.path !== event.path) return undefined;
    return watch.depth !== undefined && watch.depth >= 1 && event.domid !== undefined ? `${event.path}/${event.domid}` : event.path;
  }
  if (event.exact ? watch.path !== event.path : !isPathAtOrBelow(event.path, watch.path)) return undefined;
  if (watch.depth !== undefined && levelsBelow(event.path, watch.path) > watch.depth) return undefined;
  return reportedPath(watch, event.path);
}

export function reportedPath(watch: Watch, path: string): string {
  if (watch.relativeTo && path.startsWith(`${watch.relativeTo}/`)) return path.slice(watch.relativeTo.length + 1);
  return path;
}

/** One connection's watches, in registration order, found by (path, token). */
export class WatchList {
  private readonly watches = new Map<string, Watch>();

  get size(): number {
    return this.watches.size;
  }

  has(path: string, token: string): boolean {
    return this.watches.has(`${path}\0${token}`);
  }

  add(watch: Watch): void {
    this.watches.set(`${watch.path}\0${watch.token}`, watch);
  }

  /** Removes and returns the watch, or undefined when there is none. */
  remove(path: string, token: string): Watch | undefined {
    const key = `${path}\0${token}`;
    const w = this.watches.get(key);
    if (w) this.watches.delete(key);
    return w;
  }

  all(): readonly Watch[] {
    return [...this.watches.values()];
  }
}

export interface IndexedWatch<C> {
  owner: C;
  watch: Watch;
  /** Registration order across the whole daemon. */
  seq: number;
}

/**
 * Every connection's watches by watched path, so an event looks up its own path and its
 * ancestors (a watch fires for its path and everything below) instead of scanning every
 * watch of every connection: a domain's 128 watches cost a write nothing unless they
 * cover its path.
 */
export class WatchIndex<C extends { readonly id: number }> {
  private readonly byPath = new Map<string, Array<IndexedWatch<C>>>();
  private nextSeq = 0;

  add(owner: C, watch: Watch): void {
    let list = this.byPath.get(watch.path);
    if (!list) this.byPath.set(watch.path, (list = []));
    list.push({ owner, watch, seq: this.nextSeq++ });
  }

  remove(owner: C, watch: Watch): void {
    const list = this.byPath.get(watch.path);
    if (!list) return;
    const i = list.findIndex((e) => e.owner === owner && e.watch === watch);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byPath.delete(watch.path);
  }

  /**
   * The watches `event` fires with the path each reports, in C's order: connection by
   * connection (oldest first), each connection's watches in registration order.
   */
  fire(event: PendingEvent): Array<{ entry: IndexedWatch<C>; path: string }> {
    const hits: Array<{ entry: IndexedWatch<C>; path: string }> = [];
    const collect = (watched: string): void => {
      const list = this.byPath.get(watched);
      if (!list) return;
      for (const entry of list) {
        const path = matchWatch(entry.watch, event);
        if (path !== undefined) hits.push({ entry, path });
      }
    };
    if (event.exact || event.path.charCodeAt(0) === 0x40 /* @ */) {
      collect(event.path);
    } else {
      for (let p = event.path; ;) {
        collect(p);
        if (p === '/') break;
        const i = p.lastIndexOf('/');
        p = i <= 0 ? '/' : p.slice(0, i);
      }
    }
    if (hits.length > 1) hits.sort((a, b) => a.entry.owner.id - b.entry.owner.id || a.entry.seq - b.entry.seq);
    return hits;
  }
}
