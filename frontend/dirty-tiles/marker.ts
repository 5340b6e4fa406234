// Frontend side of the dirty-tile page (docs/dirty-tiles.md §4.1, §4.2, §4.7, §4.8): marking,
// switching on the backend's request (paced), after the first mark it asked to hear of
// (switch-on-mark) or on our own timer (v1 backends). The page is
// a Uint8Array over the granted page; its buffer may be an mmap'd external ArrayBuffer, and
// several threads or processes may each have their own TileMarker over their own mapping of
// the same page.

import { Rect } from '../../shared/region';
import { rectToRowMask } from '../../shared/dirty-tiles/bitmap';
import {
  DT_FLAG_SWITCH_NOW,
  DT_FLAG_SWITCH_ON_MARK,
  DT_FLAG_WOKE,
  DT_U32,
  TileGeometry,
  bitmapWordIndex,
  checkPageBuffer,
  readTileHeader,
  validateTileHeader,
} from '../../shared/dirty-tiles/page';
import { XEN_PAGE_SIZE } from '../../shared/page';

export interface TileMarkerOptions {
  fbWidth: number;
  fbHeight: number;
}

export class TileMarker {
  readonly geometry: TileGeometry;
  readonly fbWidth: number;
  readonly fbHeight: number;
  private readonly u32: Uint32Array;
  private readonly u64: BigUint64Array;

  /** `page` must already hold a valid header (initTilePage); throws DT_E_* otherwise. */
  constructor(page: Uint8Array, opts: TileMarkerOptions) {
    checkPageBuffer(page);
    this.geometry = validateTileHeader(readTileHeader(page), opts.fbWidth, opts.fbHeight);
    this.fbWidth = opts.fbWidth;
    this.fbHeight = opts.fbHeight;
    this.u32 = new Uint32Array(page.buffer, page.byteOffset, XEN_PAGE_SIZE / 4);
    this.u64 = new BigUint64Array(page.buffer, page.byteOffset, XEN_PAGE_SIZE / 8);
  }

  /**
   * Mark `rect` (framebuffer pixels) dirty. Call it after the pixels are written. Returns
   * true when the caller must notify the backend: the page was idle (period_ms == 0) and
   * this is the first mark to see it. The OR comes before the period_ms load, both
   * sequentially consistent, so a backend going idle either sees the bit or this mark
   * sees period_ms == 0 (§4.4).
   */
  mark(rect: Rect): boolean {
    const span = rectToRowMask(rect, this.geometry, this.fbWidth, this.fbHeight);
    if (span === null) return false;
    const base = bitmapWordIndex((Atomics.load(this.u32, DT_U32.active) & 1) as 0 | 1);
    for (let row = span.row0; row < span.row1; row++) Atomics.or(this.u64, base + row, span.mask);
    if (Atomics.load(this.u32, DT_U32.periodMs) !== 0) return false;
    const before = Atomics.or(this.u32, DT_U32.flags, DT_FLAG_WOKE);
    return (before & DT_FLAG_WOKE) === 0;
  }

  /**
   * After marking (§4.8, r9): take the backend's SWITCH_ON_MARK (flags bit 2). True once per
   * time the backend set it: the caller switches when the drawing step that made the marks
   * ends (switchAnswering) and notifies. A plain load first: a mark that finds the bit clear
   * writes nothing to the shared word.
   */
  takeSwitchOnMark(): boolean {
    if ((Atomics.load(this.u32, DT_U32.flags) & DT_FLAG_SWITCH_ON_MARK) === 0) return false;
    const before = Atomics.and(this.u32, DT_U32.flags, ~DT_FLAG_SWITCH_ON_MARK);
    return (before & DT_FLAG_SWITCH_ON_MARK) !== 0;
  }

  /** A switch of our own that also answers a pending request (bit 0 cleared first, §4.2). */
  switchAnswering(): number {
    Atomics.and(this.u32, DT_U32.flags, ~DT_FLAG_SWITCH_NOW);
    return this.switchBitmaps();
  }

  /** active ^= 1, then generation++ (both atomic, in that order). Returns the new generation. */
  switchBitmaps(): number {
    Atomics.xor(this.u32, DT_U32.active, 1);
    return (Atomics.add(this.u32, DT_U32.generation, 1) + 1) >>> 0;
  }

  /**
   * On a notify from the backend: if it asked for a switch (flags bit 0), clear the request,
   * switch, and return true (the caller notifies back). Clearing first means a request set
   * again meanwhile is answered by another switch, never dropped.
   */
  answerSwitchRequest(): boolean {
    const before = Atomics.and(this.u32, DT_U32.flags, ~DT_FLAG_SWITCH_NOW);
    if ((before & DT_FLAG_SWITCH_NOW) === 0) return false;
    this.switchBitmaps();
    return true;
  }

  get periodMs(): number {
    return Atomics.load(this.u32, DT_U32.periodMs);
  }

  get generation(): number {
    return Atomics.load(this.u32, DT_U32.generation);
  }

  get active(): number {
    return Atomics.load(this.u32, DT_U32.active);
  }
}

export interface FrontendTileSwitcherOptions {
  marker: TileMarker;
  /** Send an event on the vfb event channel. */
  notify: () => void;
  /**
   * The backend paces switches (it wrote `dirty-tiles-paced=1`, §4.7): switch only when it
   * asks, run no timer. Otherwise (a v1 backend) switch on our own timer every period_ms.
   */
  paced?: boolean;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Runs a switch-on-mark once the current drawing step ends (default setImmediate). */
  defer?: (fn: () => void) => void;
}

/**
 * The frontend's switcher. Paced by the backend (§4.7): answers its switch requests and runs
 * no timer at all. Unpaced (v1 backend): switches every period_ms (re-read from the page at
 * each tick), stops when the backend writes 0, and restarts on the backend's next notify.
 */
export class FrontendTileSwitcher {
  private readonly marker: TileMarker;
  private readonly notifyBackend: () => void;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly defer: (fn: () => void) => void;
  private timer: unknown = null;
  private stopped = true;
  private switchDue = false;
  readonly paced: boolean;
  switches = 0;
  /** Switches made because a mark took SWITCH_ON_MARK (§4.8). */
  markSwitches = 0;

  constructor(opts: FrontendTileSwitcherOptions) {
    this.marker = opts.marker;
    this.paced = opts.paced ?? false;
    this.notifyBackend = opts.notify;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
    this.defer = opts.defer ?? ((fn) => void setImmediate(fn));
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** Begin switching (when the backend answered request-dirty-tiles). Idempotent. */
  start(): void {
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  /** Event-channel notify from the backend: answer a switch request, restart the timer. */
  onNotify(): void {
    if (this.stopped) return;
    if (this.marker.answerSwitchRequest()) {
      this.switches++;
      this.notifyBackend();
    }
    this.arm();
  }

  /** A mark returned true (woke the page): notify the backend once. */
  onWokeMark(): void {
    this.notifyBackend();
  }

  /**
   * A mark took SWITCH_ON_MARK (§4.8): switch when the drawing step under way ends (the
   * marks of one frame then go in one scan), and notify. One switch however many marks.
   */
  onSwitchOnMark(): void {
    if (this.stopped || this.switchDue) return;
    this.switchDue = true;
    this.defer(() => {
      this.switchDue = false;
      if (this.stopped) return;
      this.marker.switchAnswering();
      this.switches++;
      this.markSwitches++;
      this.notifyBackend();
    });
  }

  private arm(): void {
    if (this.stopped || this.paced || this.timer !== null) return;
    const period = this.marker.periodMs;
    if (period === 0) return;
    this.timer = this.setTimer(() => this.tick(), period);
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped || this.marker.periodMs === 0) return;
    this.marker.switchBitmaps();
    this.switches++;
    this.arm();
  }
}
