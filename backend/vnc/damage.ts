// A session's pending damage: a short list of rects that degrades to its bounding box past
// MAX_PENDING_RECTS (a bigger update, never a lost one).

import { clipRect, isEmptyRect, type Rect, unionRect } from '../../shared/region';

/** Past this many rects the pending region collapses to one bounding box. */
export const MAX_PENDING_RECTS = 16;

export function intersectRect(a: Rect, b: Rect): Rect {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  return { x: x0, y: y0, width: Math.max(0, x1 - x0), height: Math.max(0, y1 - y0) };
}

function contains(outer: Rect, inner: Rect): boolean {
  return (
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.width <= outer.x + outer.width &&
    inner.y + inner.height <= outer.y + outer.height
  );
}

/** a minus b as up to four disjoint rects (top and bottom bands, then left and right). */
export function subtractRect(a: Rect, b: Rect): Rect[] {
  const i = intersectRect(a, b);
  if (isEmptyRect(i)) return isEmptyRect(a) ? [] : [{ ...a }];
  const out: Rect[] = [
    { x: a.x, y: a.y, width: a.width, height: i.y - a.y },
    { x: a.x, y: i.y + i.height, width: a.width, height: a.y + a.height - (i.y + i.height) },
    { x: a.x, y: i.y, width: i.x - a.x, height: i.height },
    { x: i.x + i.width, y: i.y, width: a.x + a.width - (i.x + i.width), height: i.height },
  ];
  return out.filter((r) => !isEmptyRect(r));
}

export class PendingRegion {
  private list: Rect[] = [];

  get rects(): readonly Rect[] {
    return this.list;
  }

  get isEmpty(): boolean {
    return this.list.length === 0;
  }

  clear(): void {
    this.list = [];
  }

  add(r: Rect): void {
    if (isEmptyRect(r)) return;
    if (this.list.some((p) => contains(p, r))) return;
    this.list = this.list.filter((p) => !contains(r, p));
    this.list.push({ x: r.x, y: r.y, width: r.width, height: r.height });
    if (this.list.length > MAX_PENDING_RECTS) {
      this.list = [this.list.reduce((acc, p) => unionRect(acc, p))];
    }
  }

  /** Keep only what lies inside a width x height surface. */
  clip(width: number, height: number): void {
    const old = this.list;
    this.list = [];
    for (const r of old) this.add(clipRect(r, width, height));
  }

  /** Remove and return the pending parts inside `area`; the parts outside stay pending. */
  takeInside(area: Rect): Rect[] {
    const old = this.list;
    const inside: Rect[] = [];
    this.list = [];
    for (const r of old) {
      const i = intersectRect(r, area);
      if (!isEmptyRect(i)) inside.push(i);
      for (const rest of subtractRect(r, area)) this.add(rest);
    }
    return inside;
  }
}
