// Colour counting for the palette encodings (Hextile tile analysis, ZRLE palette tiles, Tight's
// palette filter), without allocating per call: one open-addressing table of typed arrays per
// encoder instance, reused for every tile or rect, with a generation stamp instead of clearing.
// It gives exactly what buildPalette() in pixels.ts gives (same colours, same order: most
// frequent first, ties in order of first appearance) so the encoders' bytes did not change
// when they moved to it; the profile (docs/vnc-encoders.md) had Map-based counting and the
// per-tile copies it needed among the top costs.

/** Most colours a builder can hold (Tight's palette limit). */
export const PALETTE_MAX_COLOURS = 256;
/** Slots: a power of two >= 4x the colours, so probes stay short. */
const SLOTS = 1024;
const SLOT_MASK = SLOTS - 1;
/** Colours looked up by a linear scan before the table (the first ones seen). */
const SCAN_COLOURS = 4;

export class PaletteBuilder {
  private readonly keys = new Uint32Array(SLOTS);
  private readonly stamps = new Uint32Array(SLOTS);
  private readonly slotIndex = new Uint16Array(SLOTS);
  private stamp = 0;
  private readonly counts = new Uint32Array(PALETTE_MAX_COLOURS);
  private readonly order: number[] = [];
  /** Distinct colours, most frequent first (valid up to `size`). */
  readonly colours = new Uint32Array(PALETTE_MAX_COLOURS);
  /** Colour count after the last successful build(). */
  size = 0;

  /**
   * Counts the colours of the w x h block at px[offset], rows `stride` apart. Returns false
   * (and leaves the builder unusable until the next build) once there are more than `max`.
   * `order` 'all' sorts every colour; 'first' only puts the most frequent one first (the
   * others stay in order of appearance), for callers that need no more (Hextile).
   */
  build(px: Uint32Array, offset: number, w: number, h: number, stride: number, max: number, order: 'all' | 'first' = 'all'): boolean {
    if (max > PALETTE_MAX_COLOURS) throw new RangeError(`palette of ${max} colours`);
    this.nextStamp();
    const { counts, colours } = this;
    let n = 0;
    let prev = -1;
    let prevIdx = 0;
    let run = 0;
    for (let y = 0; y < h; y++) {
      const row = offset + y * stride;
      for (let i = row; i < row + w; i++) {
        const v = px[i]!;
        if (v === prev) {
          run++;
          continue;
        }
        if (run > 0) counts[prevIdx]! += run;
        // Tiles mostly hold a handful of colours: a short scan beats hashing for those.
        let idx = -1;
        const scan = n < SCAN_COLOURS ? n : SCAN_COLOURS;
        for (let k = 0; k < scan; k++) {
          if (colours[k] === v) {
            idx = k;
            break;
          }
        }
        if (idx < 0) {
          const slot = this.find(v);
          if (this.stamps[slot] === this.stamp) idx = this.slotIndex[slot]!;
          else {
            if (n >= max) return false;
            this.stamps[slot] = this.stamp;
            this.keys[slot] = v;
            this.slotIndex[slot] = n;
            counts[n] = 0;
            colours[n] = v;
            idx = n++;
          }
        }
        prev = v;
        prevIdx = idx;
        run = 1;
      }
    }
    if (run > 0) counts[prevIdx]! += run;
    if (order === 'all') this.sortByCount(n);
    else this.mostFrequentFirst(n);
    return true;
  }

  /** Index of colour v in `colours` (v must be one of them). */
  indexOf(v: number): number {
    return this.slotIndex[this.find(v)]!;
  }

  /** Slot holding v in this generation, or the empty slot where it would go. */
  private find(v: number): number {
    let slot = Math.imul(v, 0x9e3779b1) >>> 22;
    while (this.stamps[slot] === this.stamp && this.keys[slot] !== v) slot = (slot + 1) & SLOT_MASK;
    return slot;
  }

  private nextStamp(): void {
    this.stamp = (this.stamp + 1) >>> 0;
    if (this.stamp === 0) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  /** Swap the most frequent colour (the first to appear among equals) to index 0. */
  private mostFrequentFirst(n: number): void {
    this.size = n;
    let best = 0;
    for (let i = 1; i < n; i++) if (this.counts[i]! > this.counts[best]!) best = i;
    if (best === 0) return;
    const top = this.colours[best]!;
    const first = this.colours[0]!;
    this.colours[0] = top;
    this.colours[best] = first;
    this.slotIndex[this.find(top)] = 0;
    this.slotIndex[this.find(first)] = best;
  }

  /** Most frequent first, ties by first appearance; then re-point the table at the new indices. */
  private sortByCount(n: number): void {
    this.size = n;
    if (n < 2) return;
    const order = this.order;
    order.length = n;
    for (let i = 0; i < n; i++) order[i] = i;
    const counts = this.counts;
    order.sort((a, b) => counts[b]! - counts[a]! || a - b);
    const byOld = this.colours.slice(0, n);
    for (let i = 0; i < n; i++) {
      const c = byOld[order[i]!]!;
      this.colours[i] = c;
      this.slotIndex[this.find(c)] = i;
    }
  }
}
