// Which parts of a client's picture are lossy (VNC Tight JPEG, SPICE JPEG) and when to send them again
// losslessly. Like TigerVNC's lossyRegion + RecentChangeTimeout and QEMU's lossy_rect +
// VNC_REFRESH_LOSSY: an area sent lossy is remembered with the time damage last touched it;
// once it has been still for LOSSLESS_REFRESH_MS it is due, and the session re-sends it with
// a lossless encoder when the client next wants an update. Pure bookkeeping: the caller
// passes the time and owns the timer.

import { boundingRect, isEmptyRect, type Rect, rectsOverlap, subtractRect } from '../../shared/region';

/** Still this long after its last change, a lossy area is re-sent losslessly. */
export const LOSSLESS_REFRESH_MS = 300;
/** Past this many lossy rects they merge into one bounding box (a bigger refresh, never a lost one). */
export const MAX_LOSSY_RECTS = 64;

interface LossyRect extends Rect {
  /** When this area was last sent lossy or last damaged, ms. */
  touched: number;
  /** When damage last touched this area (its content changed), ms; -Infinity if never since sent. */
  changed: number;
}

export class LossyRegion {
  private list: LossyRect[] = [];

  get isEmpty(): boolean {
    return this.list.length === 0;
  }

  get rects(): readonly Rect[] {
    return this.list;
  }

  clear(): void {
    this.list = [];
  }

  /** `r` went out lossy at `now`. */
  addLossy(r: Rect, now: number): void {
    if (isEmptyRect(r)) return;
    // The area keeps the last change time of what it replaces: re-sending a still area (a
    // non-incremental request) must not make it look like video.
    const changed = this.list.reduce((t, p) => (rectsOverlap(p, r) ? Math.max(t, p.changed) : t), -Infinity);
    this.removeArea(r);
    this.list.push({ x: r.x, y: r.y, width: r.width, height: r.height, touched: now, changed });
    this.bound();
  }

  /** `r` went out lossless: the client now holds exact pixels there. */
  sentLossless(r: Rect): void {
    if (isEmptyRect(r)) return;
    this.removeArea(r);
    this.bound();
  }

  /** Damage at `now`: lossy areas it touches are not still any more. */
  touch(r: Rect, now: number): void {
    for (const p of this.list) {
      if (!rectsOverlap(p, r)) continue;
      p.touched = now;
      p.changed = now;
    }
  }

  /**
   * Did part of `r` change within the last `windowMs` while the client held it lossy? (video:
   * content that changes frame after frame; a still area re-sent on request is not)
   */
  recentlyLossy(r: Rect, now: number, windowMs: number): boolean {
    return this.list.some((p) => now - p.changed < windowMs && rectsOverlap(p, r));
  }

  /** When the next area becomes still, or null if nothing is lossy. */
  nextDue(stillMs: number): number | null {
    let t: number | null = null;
    for (const p of this.list) t = t === null ? p.touched + stillMs : Math.min(t, p.touched + stillMs);
    return t;
  }

  /** Remove and return the areas still for at least `stillMs` at `now`. */
  takeStill(now: number, stillMs: number): Rect[] {
    const due: Rect[] = [];
    this.list = this.list.filter((p) => {
      if (now - p.touched < stillMs) return true;
      due.push({ x: p.x, y: p.y, width: p.width, height: p.height });
      return false;
    });
    return due;
  }

  /** Too many rects: one bounding box, as recent as its most recent member. */
  private bound(): void {
    if (this.list.length <= MAX_LOSSY_RECTS) return;
    const box = boundingRect(this.list)!;
    const touched = Math.max(...this.list.map((p) => p.touched));
    const changed = Math.max(...this.list.map((p) => p.changed));
    this.list = [{ x: box.x, y: box.y, width: box.width, height: box.height, touched, changed }];
  }

  private removeArea(r: Rect): void {
    const next: LossyRect[] = [];
    for (const p of this.list) {
      if (!rectsOverlap(p, r)) next.push(p);
      else for (const rest of subtractRect(p, r)) next.push({ ...rest, touched: p.touched, changed: p.changed });
    }
    this.list = next;
  }
}
