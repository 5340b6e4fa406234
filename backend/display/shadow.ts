// A backend copy of the guest framebuffer (docs/dirty-tiles.md §5: "MAY refine rects against
// a shadow copy"). Damage from UPDATE events and tile scans is compared with it, so only
// pixels that really changed go to clients, and a damaged area that is the old content moved
// up or down (a terminal scrolling, a window dragged vertically) becomes a copy hint that VNC
// sends as CopyRect. TigerVNC's ComparingUpdateTracker (common/rfb/ComparingUpdateTracker.cxx)
// and QEMU's VNC server surface (ui/vnc.c vnc_refresh_server_surface) do the same.
//
// Guest memory may change while we read it. A row span is first compared natively
// (Buffer#compare); in a span that differs the first and last differing words are found and
// the bytes between copied natively. A guest write racing with that either lands inside the
// reported range (the shadow has it and the range is damage) or outside (newer than our
// compare, so the guest reports it again: its marks follow its writes, docs/dirty-tiles.md
// r4). Invariant: every change to the shadow is inside the damage reported with it. Clients
// are encoded from the shadow, never from live guest memory, so outside its pending damage
// a client holds exactly the shadow. A copy hint is what was done to the shadow (its rows
// moved), so it is true of the shadow whatever the guest did meanwhile; scroll detection only
// chooses it, comparing the guest's rows with the shadow's. The rows it found equal are not
// compared again: a guest write after that compare is newer and reported again, like any other.

import { isEmptyRect, type Rect, rectsOverlap } from '../../shared/region';
import type { CopyHint, Surface } from './display';
import { bytesPerPixel } from './pixel-format';

/** Copies of the guest's memory at most, until one equals it, when a shadow is made (a guest that never stops drawing keeps the last). */
export const SHADOW_FIRST_READS = 3;
/** Rows per band: changes in one band are one bounding box. */
export const SHADOW_BAND_ROWS = 16;
/** A damaged rect is tested for a vertical scroll only from this many rows. */
export const SCROLL_MIN_ROWS = 16;
/** Rows of new content hashed to find candidate scroll offsets. */
export const SCROLL_SAMPLES = 8;
/** Candidate offsets verified per rect. */
export const SCROLL_MAX_CANDIDATES = 3;
/**
 * A sample row matching more old rows than this (blank lines) gives no candidate. A glyph row
 * often repeats within its text line (bench:latency's scroll: 10 identical rows per line), so
 * 4 missed whole-screen scrolls; 16 still drops blank and background rows.
 */
const SCROLL_MAX_MATCHES = 16;

/** Copies first, in order, then the changed rects: together they turn the old shadow into the new one. */
export interface RefineResult {
  copies: CopyHint[];
  rects: Rect[];
}

export interface RefineOptions {
  /** Look for vertical scrolls (only worth it when someone sends CopyRect). */
  detectCopies?: boolean;
}

interface Span {
  /** First and last changed byte offset in the row span, -1 if none. */
  first: number;
  last: number;
}

/** Word views of `u8` over the same bytes, word i = bytes 4i-mis..4i+3-mis. */
function words(u8: Uint8Array, mis: number): Uint32Array {
  return new Uint32Array(u8.buffer, u8.byteOffset - mis, (mis + u8.length) >> 2);
}

export class ShadowFramebuffer {
  /** The shadow as a Surface, what servers encode from. Backed by a SharedArrayBuffer (workers may read it). */
  readonly surface: Surface;
  private readonly guest: Surface;
  private readonly len: number;
  private readonly bpp: number;
  /** guest.data.byteOffset mod 4: the shadow keeps the same alignment so word i is the same bytes in both. */
  private readonly mis: number;
  private readonly sh8: Uint8Array;
  private readonly sh32: Uint32Array;
  private readonly shBuf: Buffer;
  private readonly g32: Uint32Array;
  private readonly gBuf: Buffer;
  private readonly span: Span = { first: -1, last: -1 };
  /** Writes to the shadow since it was made (Surface.changes). */
  private readonly counted = { writes: 0 };

  /** `copy`: how the guest's memory is read into the shadow (tests stand in a guest drawing meanwhile). */
  constructor(guest: Surface, copy: (into: Uint8Array, from: Uint8Array) => void = (into, from) => into.set(from)) {
    this.guest = guest;
    this.len = guest.stride * guest.height;
    this.bpp = bytesPerPixel(guest.format);
    this.mis = guest.data.byteOffset & 3;
    const g = guest.data.subarray(0, this.len);
    this.g32 = words(g, this.mis);
    this.gBuf = Buffer.from(g.buffer, g.byteOffset, this.len);
    const backing = new SharedArrayBuffer((this.mis + this.len + 3) & ~3);
    this.sh8 = new Uint8Array(backing, this.mis, this.len);
    this.sh32 = words(this.sh8, this.mis);
    this.shBuf = Buffer.from(backing, this.mis, this.len);
    // The first copy is taken at any moment, not after a scan: a guest drawing meanwhile would
    // leave a half-drawn frame in it, which a recorder's first keyframe keeps (the damage that
    // follows fixes it for viewers). Read again until the copy equals the guest's memory.
    copy(this.sh8, g);
    for (let reads = 1; reads < SHADOW_FIRST_READS && !this.shBuf.equals(this.gBuf); reads++) copy(this.sh8, g);
    const counted = this.counted;
    this.surface = {
      width: guest.width,
      height: guest.height,
      stride: guest.stride,
      format: guest.format,
      data: this.sh8,
      get changes() {
        return counted.writes;
      },
    };
  }

  /**
   * Bring the shadow up to date inside `rects` (clipped to the surface) and say what changed:
   * copy hints (when asked) and the bounding boxes of changed pixels, per band of rows.
   */
  refine(rects: readonly Rect[], opts: RefineOptions = {}): RefineResult {
    const out: RefineResult = { copies: [], rects: [] };
    for (const r of rects) {
      if (isEmptyRect(r)) continue;
      const candidates =
        opts.detectCopies && r.height >= SCROLL_MIN_ROWS && r.width * this.bpp >= 16 && this.samplesChanged(r)
          ? this.scrollCandidates(r)
          : [];
      let moved: CopyHint | null = null;
      if (candidates.length > 0) {
        const copy = this.verifyScroll(r, candidates);
        if (copy && !out.rects.some((d) => rectsOverlap(d, copy.src))) {
          this.applyCopy(copy);
          out.copies.push(copy);
          moved = copy;
        }
      }
      this.syncRect(r, moved, out.rects);
    }
    return out;
  }

  /**
   * Copy `rects` from the guest as they are, without comparing (damage refinement off): the
   * rects are what changed, and the shadow stays the surface servers read.
   */
  copyIn(rects: readonly Rect[]): void {
    this.counted.writes++;
    for (const r of rects) {
      for (let y = r.y; y < r.y + r.height; y++) {
        const [a, b] = this.rowSpan(r, y);
        this.sh8.set(this.guest.data.subarray(a, b), a);
      }
    }
  }

  /** Cheap pre-test: does any sampled row of `r` differ from the shadow? */
  private samplesChanged(r: Rect): boolean {
    for (let k = 0; k < SCROLL_SAMPLES; k++) {
      const y = r.y + Math.floor(((k + 0.5) * r.height) / SCROLL_SAMPLES);
      const [a, b] = this.rowSpan(r, y);
      if (this.gBuf.compare(this.shBuf, a, b, a, b) !== 0) return true;
    }
    return false;
  }

  /**
   * Vertical offsets dy (new row y = old row y - dy) worth verifying: sampled rows of the guest
   * that changed are looked up, by a sparse hash (a hint only), among the shadow's rows. A
   * shadow row is hashed only when its middle word equals a sample's (a row the sample moved
   * from has it): on noise or video no row is, and the search reads one word a row instead of
   * SPARSE_HASH_WORDS (bench:shadow "noise +detect").
   */
  private scrollCandidates(r: Rect): number[] {
    const ys: number[] = [];
    const keys: number[] = [];
    const sampleHashes: number[] = [];
    for (let k = 0; k < SCROLL_SAMPLES; k++) {
      const y = r.y + Math.floor(((k + 0.5) * r.height) / SCROLL_SAMPLES);
      const [a, b] = this.rowSpan(r, y);
      if (this.gBuf.compare(this.shBuf, a, b, a, b) === 0) continue;
      ys.push(y);
      keys.push(middleWord(this.guest.data, a, b));
      sampleHashes.push(sparseHash(this.guest.data, a, b));
    }
    // Rows of the shadow each sample may have moved from, in order; SCROLL_MAX_MATCHES + 1 means too many.
    const matches: number[][] = ys.map(() => []);
    for (let i = 0; i < r.height; i++) {
      const [a, b] = this.rowSpan(r, r.y + i);
      const key = middleWord(this.sh8, a, b);
      let h = -1;
      for (let k = 0; k < ys.length; k++) {
        const m = matches[k]!;
        if (keys[k] !== key || m.length > SCROLL_MAX_MATCHES) continue;
        if (h < 0) h = sparseHash(this.sh8, a, b);
        if (h === sampleHashes[k]) m.push(r.y + i);
      }
    }
    const votes = new Map<number, number>();
    for (let k = 0; k < ys.length; k++) {
      const m = matches[k]!;
      if (m.length === 0 || m.length > SCROLL_MAX_MATCHES) continue;
      for (const oy of m) if (oy !== ys[k]) votes.set(ys[k]! - oy, (votes.get(ys[k]! - oy) ?? 0) + 1);
    }
    return [...votes.entries()]
      .sort((p, q) => q[1] - p[1])
      .slice(0, SCROLL_MAX_CANDIDATES)
      .map(([dy]) => dy);
  }

  /** The candidate whose longest run of exactly moved rows is longest, if long enough. */
  private verifyScroll(r: Rect, candidates: readonly number[]): CopyHint | null {
    let best: { dy: number; from: number; to: number } | null = null;
    for (const dy of candidates) {
      const run = this.longestRun(r, dy);
      if (run && (!best || run.to - run.from > best.to - best.from)) best = { dy, ...run };
      // Candidates come most voted first: one whose run covers 3/4 of the rows it could is taken.
      if (best && best.to - best.from >= 0.75 * (r.height - Math.abs(best.dy))) break;
    }
    if (!best || best.to - best.from < SCROLL_MIN_ROWS) return null;
    const height = best.to - best.from;
    return {
      src: { x: r.x, y: best.from - best.dy, width: r.width, height },
      dst: { x: r.x, y: best.from, width: r.width, height },
    };
  }

  /** Longest run of rows y (inside r, y - dy inside r) where the guest's row y equals the shadow's row y - dy. */
  private longestRun(r: Rect, dy: number): { from: number; to: number } | null {
    const y0 = r.y + Math.max(0, dy);
    const y1 = r.y + r.height + Math.min(0, dy);
    let best: { from: number; to: number } | null = null;
    let start = -1;
    for (let y = y0; y <= y1; y++) {
      let same = false;
      if (y < y1) {
        const [a, b] = this.rowSpan(r, y);
        const s = a - dy * this.guest.stride;
        same = this.gBuf.compare(this.shBuf, s, s + (b - a), a, b) === 0;
      }
      if (same && start < 0) start = y;
      if (!same && start >= 0) {
        if (!best || y - start > best.to - best.from) best = { from: start, to: y };
        start = -1;
      }
    }
    return best;
  }

  /** Move old rows in the shadow, in an order that reads each source row before it is overwritten. */
  private applyCopy(c: CopyHint): void {
    this.counted.writes++;
    const stride = this.guest.stride;
    if (this.wholeRows(c.dst)) {
      // memmove copes with the overlap of a scroll.
      this.sh8.copyWithin(c.dst.y * stride, c.src.y * stride, (c.src.y + c.src.height) * stride);
      return;
    }
    const n = c.dst.width * this.bpp;
    const down = c.dst.y > c.src.y;
    for (let k = 0; k < c.dst.height; k++) {
      const i = down ? c.dst.height - 1 - k : k;
      const from = (c.src.y + i) * stride + c.src.x * this.bpp;
      const to = (c.dst.y + i) * stride + c.dst.x * this.bpp;
      this.sh8.copyWithin(to, from, from + n);
    }
  }

  /**
   * Compare-and-copy `r` from the guest; append the changed boxes per band (merging
   * neighbours). The rows of `moved` (a copy just applied to the shadow) were found equal to
   * the guest's by verifyScroll and are not compared again.
   */
  private syncRect(r: Rect, moved: CopyHint | null, out: Rect[]): void {
    const stride = this.guest.stride;
    const skipFrom = moved ? moved.dst.y : 0;
    const skipTo = moved ? moved.dst.y + moved.dst.height : 0;
    let lastBand: Rect | null = null;
    for (let band = r.y; band < r.y + r.height; band += SHADOW_BAND_ROWS) {
      const end = Math.min(band + SHADOW_BAND_ROWS, r.y + r.height);
      let x0 = Infinity;
      let x1 = -1;
      let y0 = -1;
      let y1 = -1;
      for (let y = band; y < end; y++) {
        if (y >= skipFrom && y < skipTo) continue;
        const [a, b] = this.rowSpan(r, y);
        if (this.gBuf.compare(this.shBuf, a, b, a, b) === 0) continue;
        this.syncSpan(a, b);
        if (this.span.first < 0) continue;
        const rowStart = y * stride;
        x0 = Math.min(x0, Math.floor((this.span.first - rowStart) / this.bpp));
        x1 = Math.max(x1, Math.floor((this.span.last - rowStart) / this.bpp));
        if (y0 < 0) y0 = y;
        y1 = y;
      }
      if (y0 < 0) {
        lastBand = null;
        continue;
      }
      const box = { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 };
      if (lastBand && mergeable(lastBand, box)) {
        const x = Math.min(lastBand.x, box.x);
        lastBand.width = Math.max(lastBand.x + lastBand.width, box.x + box.width) - x;
        lastBand.x = x;
        lastBand.height = box.y + box.height - lastBand.y;
      } else {
        out.push(box);
        lastBand = box;
      }
    }
  }

  /**
   * Find the first and last differing words of [a, b) (a span known to differ), then copy the
   * bytes between them natively. A guest write between the compare and the copy lands inside
   * the reported range (and then in the shadow clients are encoded from) or outside it (still
   * newer than our compare: the guest reports it). Every change to the shadow is reported.
   */
  private syncSpan(a: number, b: number): void {
    const src8 = this.guest.data;
    const src32 = this.g32;
    const sh8 = this.sh8;
    const sh32 = this.sh32;
    const mis = this.mis;
    // Word-aligned inner range [wa, wb) in word indices; bytes outside it are compared singly.
    const wa = (a + mis + 3) >> 2;
    const wb = (b + mis) >> 2;
    let first = -1;
    let last = -1;
    const headEnd = Math.min(b, wa * 4 - mis);
    for (let i = a; i < headEnd; i++) {
      if (src8[i] !== sh8[i]) {
        first = i;
        break;
      }
    }
    if (first < 0) {
      for (let w = wa; w < wb; w++) {
        if (src32[w] !== sh32[w]) {
          first = w * 4 - mis;
          break;
        }
      }
    }
    const tailStart = Math.max(headEnd, wb * 4 - mis);
    if (first < 0) {
      for (let i = tailStart; i < b; i++) {
        if (src8[i] !== sh8[i]) {
          first = i;
          break;
        }
      }
    }
    if (first >= 0) {
      for (let i = b - 1; i >= tailStart && last < 0; i--) if (src8[i] !== sh8[i]) last = i;
      for (let w = wb - 1; w >= wa && last < 0; w--) if (src32[w] !== sh32[w]) last = w * 4 + 3 - mis;
      for (let i = headEnd - 1; i >= a && last < 0; i--) if (src8[i] !== sh8[i]) last = i;
      // Exact bytes inside the first and last differing words, for exact pixel bounds.
      while (first < last && src8[first] === sh8[first]) first++;
      while (last > first && src8[last] === sh8[last]) last--;
      if (last < first) last = first;
      sh8.set(src8.subarray(first, last + 1), first);
      this.counted.writes++;
    }
    this.span.first = first;
    this.span.last = last;
  }

  /** Byte offsets [a, b) of row y of r. */
  /** `r` spans whole rows with no padding between them: its bytes are one contiguous span. */
  private wholeRows(r: Rect): boolean {
    return r.x === 0 && r.width === this.guest.width && this.guest.width * this.bpp === this.guest.stride;
  }

  private rowSpan(r: Rect, y: number): [number, number] {
    const a = y * this.guest.stride + r.x * this.bpp;
    return [a, a + r.width * this.bpp];
  }
}

/** Boxes of neighbouring bands merge unless that would cover much more than the two do. */
function mergeable(prev: Rect, box: Rect): boolean {
  const x0 = Math.min(prev.x, box.x);
  const x1 = Math.max(prev.x + prev.width, box.x + box.width);
  const union = (x1 - x0) * (box.y + box.height - prev.y);
  return union <= 1.5 * (prev.width * prev.height + box.width * box.height);
}

/** Words hashed per row by sparseHash. */
const SPARSE_HASH_WORDS = 64;

/** The 4 bytes in the middle of [a, b) (at a multiple of 4 from a) as a number: scrollCandidates' first test of a row. */
function middleWord(u8: Uint8Array, a: number, b: number): number {
  const i = a + (((b - a) >> 1) & ~3);
  return (u8[i]! | (u8[i + 1]! << 8) | (u8[i + 2]! << 16) | (u8[i + 3]! << 24)) >>> 0;
}

/** FNV-1a-like hash of up to SPARSE_HASH_WORDS 4-byte groups spread over [a, b): a row's identity for scroll candidates (verified exactly afterwards). */
function sparseHash(u8: Uint8Array, a: number, b: number): number {
  const step = Math.max(4, ((b - a) / SPARSE_HASH_WORDS) & ~3);
  let h = 0x811c9dc5;
  for (let i = a; i + 4 <= b; i += step) {
    h = Math.imul(h ^ (u8[i]! | (u8[i + 1]! << 8) | (u8[i + 2]! << 16) | (u8[i + 3]! << 24)), 16777619);
  }
  return h >>> 0;
}
