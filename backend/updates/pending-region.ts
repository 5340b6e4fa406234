// A client's pending damage, whatever its protocol: a short list of disjoint rects. Past
// MAX_PENDING_RECTS the two rects whose bounding box adds the fewest pixels are merged, until
// the list fits again: a bigger update, never a lost one, and as few unchanged pixels sent as
// that allows (one bounding box of everything sent 1.6x LibVNCServer's bytes on a recorded
// desktop session, whose updates hold tens of small rects).

import {
  boundingRect,
  clipRect,
  containsRect,
  intersectRect,
  isEmptyRect,
  type Rect,
  rectArea,
  rectsOverlap,
  subtractRect,
} from '../../shared/region';

/** Past this many rects the cheapest pairs are merged (see above). */
export const MAX_PENDING_RECTS = 16;

/**
 * A rect cut into more pieces than this by the pending ones is kept whole (overlapping them):
 * with at most 2 x MAX_PENDING_RECTS rects to merge back, an add costs a few thousand compares
 * whatever a guest's damage looks like.
 */
const MAX_PIECES = MAX_PENDING_RECTS;

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
    // Only what is not pending yet: the list stays disjoint, so no pixel goes out twice.
    let pieces: Rect[] = [{ x: r.x, y: r.y, width: r.width, height: r.height }];
    for (const p of this.list) {
      pieces = pieces.flatMap((q) => (rectsOverlap(q, p) ? subtractRect(q, p) : [q]));
      if (pieces.length > MAX_PIECES) {
        pieces = [{ x: r.x, y: r.y, width: r.width, height: r.height }];
        break;
      }
    }
    this.list.push(...pieces);
    while (this.list.length > MAX_PENDING_RECTS) this.mergeCheapest();
  }

  /** Replace the pair whose bounding box adds the fewest pixels by that box (and drop what it contains). */
  private mergeCheapest(): void {
    const l = this.list;
    let best = [0, 1];
    let bestWaste = Infinity;
    for (let i = 0; i < l.length; i++) {
      const a = l[i]!;
      for (let j = i + 1; j < l.length; j++) {
        const b = l[j]!;
        const w = Math.max(a.x + a.width, b.x + b.width) - Math.min(a.x, b.x);
        const h = Math.max(a.y + a.height, b.y + b.height) - Math.min(a.y, b.y);
        const waste = w * h - rectArea(a) - rectArea(b);
        if (waste < bestWaste) {
          bestWaste = waste;
          best = [i, j];
        }
      }
    }
    const box = boundingRect([l[best[0]!]!, l[best[1]!]!])!;
    this.list = l.filter((p) => !containsRect(box, p));
    this.list.push(box);
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
