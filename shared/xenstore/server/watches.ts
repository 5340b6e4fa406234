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

export class WatchList {
  private readonly watches: Watch[] = [];

  get size(): number {
    return this.watches.length;
  }

  has(path: string, token: string): boolean {
    return this.watches.some((w) => w.path === path && w.token === token);
  }

  add(watch: Watch): void {
    this.watches.push(watch);
  }

  /** Removes and returns the watch, or undefined when there is none. */
  remove(path: string, token: string): Watch | undefined {
    const i = this.watches.findIndex((w) => w.path === path && w.token === token);
    if (i < 0) return undefined;
    return this.watches.splice(i, 1)[0];
  }

  all(): readonly Watch[] {
    return [...this.watches];
  }

  clear(): void {
    this.watches.length = 0;
  }

  /** (reported path, token) for each watch the event fires. */
  fire(event: PendingEvent): Array<{ path: string; token: string }> {
    const out: Array<{ path: string; token: string }> = [];
    for (const w of this.watches) {
      const path = matchWatch(w, event);
      if (path !== undefined) out.push({ path, token: w.token });
    }
    return out;
  }
}
