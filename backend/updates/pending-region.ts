// A client's pending damage, whatever its protocol: a short list of rects that degrades to its
// bounding box past MAX_PENDING_RECTS (a bigger update, never a lost one).

import { boundingRect, clipRect, containsRect, intersectRect, isEmptyRect, type Rect, subtractRect } from '../../shared/region';

/** Past this many rects the pending region collapses to one bounding box. */
export const MAX_PENDING_RECTS = 16;

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
    if (this.list.some((p) => containsRect(p, r))) return;
    this.list = this.list.filter((p) => !containsRect(r, p));
    this.list.push({ x: r.x, y: r.y, width: r.width, height: r.height });
    if (this.list.length > MAX_PENDING_RECTS) {
      this.list = [boundingRect(this.list)!];
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
