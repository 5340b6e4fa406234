// Backend side of the dirty-tile page (docs/dirty-tiles.md §4.3-§4.8): drain, late-switch
// requests, idle and wake, asking to hear of the next mark, and garbage degraded to a
// bounded-rate full refresh. The page is guest memory: every field is re-read and
// re-validated at each scan, and every access stays inside the first XEN_PAGE_SIZE bytes
// whatever the header says.

import { ErrorCode, isXenvfbError } from '../../shared/errors';
import { Rect } from '../../shared/region';
import { countTiles, tilesToRects } from '../../shared/dirty-tiles/bitmap';
import {
  DT_FLAG_SWITCH_NOW,
  DT_FLAG_SWITCH_ON_MARK,
  DT_FLAG_WOKE,
  DT_MAX_ROWS,
  DT_U32,
  TileGeometry,
  bitmapWordIndex,
  checkPageBuffer,
  geometryEquals,
  readTileHeader,
  validateTileHeader,
} from '../../shared/dirty-tiles/page';
import { XEN_PAGE_SIZE } from '../../shared/page';

/** Backend scan period written to period_ms when scanning (about 30 frames a second). */
export const DT_DEFAULT_PERIOD_MS = 33;
/** Consecutive empty scans before the backend writes period_ms = 0 (about 1 s). */
export const DT_IDLE_AFTER_EMPTY_SCANS = 30;
/** Scans without a switch, with marks pending, before asking for one (flags bit 0). */
export const DT_LATE_AFTER_SCANS = 1;
/** A switch request unanswered this long makes the page "stuck" (garbage). */
export const DT_STUCK_AFTER_MS = 1000;
/** At most one degraded full-screen refresh per this interval. */
export const DT_FULL_REFRESH_MIN_INTERVAL_MS = 250;

export interface TileScannerOptions {
  fbWidth: number;
  fbHeight: number;
  periodMs?: number;
  idleAfterEmptyScans?: number;
  lateAfterScans?: number;
  stuckAfterMs?: number;
  fullRefreshMinIntervalMs?: number;
  /**
   * Pace the frontend's switches (§4.7, r8): a timer scan that finds marks in the active
   * bitmap asks for a switch at once, so marks wait for our tick, not for the frontend's
   * own timer and then our tick (default true; false is the v1 behaviour, for the bench).
   */
  pace?: boolean;
  /**
   * The frontend wrote `dirty-tiles-switch-on-mark=1` (§4.8, r9): when we start (or wake) and
   * after every scan that leaves the page awake, set SWITCH_ON_MARK (flags bit 2), so the
   * frontend switches and notifies right after its next drawing step instead of waiting for
   * our tick.
   */
  switchOnMark?: boolean;
  /** Milliseconds clock (tests inject one). */
  now?: () => number;
}

export interface TileScanResult {
  /** Damage in framebuffer pixels, inside the framebuffer, non-overlapping. */
  rects: Rect[];
  /** Tiles drained by this scan. */
  tiles: number;
  /** The drained row words (bit c of word r = tile (c, r)); empty for a garbage scan. */
  words: bigint[];
  /** generation moved since the previous scan. */
  switched: boolean;
  /** A switch was requested (flags bit 0, late or paced): the caller notifies the frontend. */
  late: boolean;
  /** period_ms was set to 0: the caller stops its scan timer until wake(). */
  idle: boolean;
  /** rects is the degraded full-screen refresh. */
  full: boolean;
  /** Why the page was treated as garbage by this scan, else null. */
  garbage: ErrorCode | null;
  /** The page as this scan read it: geometry (null for garbage), active bitmap and generation. */
  geometry: TileGeometry | null;
  active: number;
  generation: number;
}

export interface TileScannerStats {
  scans: number;
  switches: number;
  drains: number;
  tiles: number;
  rects: number;
  lateSwitches: number;
  /** Switches asked for by a timer scan that found marks (§4.7). */
  pacedSwitches: number;
  /** Times a scan set SWITCH_ON_MARK after the frontend had taken it (§4.8). */
  markRequests: number;
  wakeups: number;
  idles: number;
  garbage: number;
  fullRefreshes: number;
}

export class TileScanner {
  readonly fbWidth: number;
  readonly fbHeight: number;
  readonly periodMs: number;
  readonly pace: boolean;
  readonly switchOnMark: boolean;
  readonly stats: TileScannerStats = {
    scans: 0,
    switches: 0,
    drains: 0,
    tiles: 0,
    rects: 0,
    lateSwitches: 0,
    pacedSwitches: 0,
    markRequests: 0,
    wakeups: 0,
    idles: 0,
    garbage: 0,
    fullRefreshes: 0,
  };
  private readonly page: Uint8Array;
  private readonly u32: Uint32Array;
  private readonly u64: BigUint64Array;
  private readonly idleAfter: number;
  private readonly lateAfter: number;
  private readonly stuckAfterMs: number;
  private readonly fullMinMs: number;
  private readonly now: () => number;
  private pinned: TileGeometry | null = null;
  private lastGeneration: number;
  private unmovedScans = 0;
  private emptyScans = 0;
  private requestedAt: number | null = null;
  private lastFullAt = -Infinity;
  // A garbage scan cleared bits it could not trust; a full refresh is owed until one is sent.
  private fullOwed = false;
  private idleNow = false;

  /** Throws DT_E_BAD_PAGE for a short or misaligned buffer; header garbage only shows in scan(). */
  constructor(page: Uint8Array, opts: TileScannerOptions) {
    checkPageBuffer(page);
    this.page = page;
    this.u32 = new Uint32Array(page.buffer, page.byteOffset, XEN_PAGE_SIZE / 4);
    this.u64 = new BigUint64Array(page.buffer, page.byteOffset, XEN_PAGE_SIZE / 8);
    this.fbWidth = opts.fbWidth;
    this.fbHeight = opts.fbHeight;
    this.periodMs = opts.periodMs ?? DT_DEFAULT_PERIOD_MS;
    this.pace = opts.pace ?? true;
    this.switchOnMark = opts.switchOnMark ?? false;
    this.idleAfter = opts.idleAfterEmptyScans ?? DT_IDLE_AFTER_EMPTY_SCANS;
    this.lateAfter = opts.lateAfterScans ?? DT_LATE_AFTER_SCANS;
    this.stuckAfterMs = opts.stuckAfterMs ?? DT_STUCK_AFTER_MS;
    this.fullMinMs = opts.fullRefreshMinIntervalMs ?? DT_FULL_REFRESH_MIN_INTERVAL_MS;
    this.now = opts.now ?? (() => performance.now());
    this.lastGeneration = Atomics.load(this.u32, DT_U32.generation);
  }

  get idle(): boolean {
    return this.idleNow;
  }

  /** The geometry pinned by the first valid scan (null before one). */
  get geometry(): TileGeometry | null {
    return this.pinned;
  }

  /** Publish period_ms (when answering request-dirty-tiles): the frontend starts switching. */
  start(): void {
    this.idleNow = false;
    this.emptyScans = 0;
    Atomics.store(this.u32, DT_U32.periodMs, this.periodMs);
    if (this.switchOnMark) this.requestMarkSwitch();
  }

  /**
   * On a notify from the frontend. When the frontend flagged a mark made while idle
   * (flags bit 1): clear bit 1, publish period_ms again, ask for a switch (bit 0) and return
   * true: the caller restarts its scan timer and notifies the frontend. Otherwise false.
   */
  wake(): boolean {
    const before = Atomics.and(this.u32, DT_U32.flags, ~DT_FLAG_WOKE);
    if ((before & DT_FLAG_WOKE) === 0) return false;
    if (this.idleNow) this.stats.wakeups++;
    this.start();
    this.request();
    return true;
  }

  /**
   * Drain what the frontend switched out, and decide on late, idle and garbage. `tick`: this
   * scan is our timer's (not a notify's); a paced scanner then asks for a switch whenever
   * the active bitmap holds marks (§4.7), and scans again when the frontend answers.
   */
  scan(tick = false): TileScanResult {
    this.stats.scans++;
    const now = this.now();
    const geom = this.validGeometry();
    if (typeof geom === 'string') return this.degrade(now, geom);
    const generation = Atomics.load(this.u32, DT_U32.generation);
    const active = Atomics.load(this.u32, DT_U32.active);
    if (active > 1) return this.degrade(now, 'DT_E_BAD_ACTIVE');
    const moved = (generation - this.lastGeneration) >>> 0;
    this.lastGeneration = generation;
    const words = new Array<bigint>(geom.rows).fill(0n);
    // The inactive bitmap is drained at every scan, not only when generation moved: a
    // late writer's bit, or a generation that wrapped, is then caught one period later.
    this.drain((active ^ 1) as 0 | 1, geom.rows, words);
    // More than one switch since the last scan: the current bitmap also holds bits from a
    // period this scan never saw; exchange-to-zero makes draining it safe.
    if (moved >= 2) this.drain(active as 0 | 1, geom.rows, words);
    Atomics.store(this.u32, DT_U32.scannedGeneration, generation);
    const result = this.report(words, geom, moved !== 0, active, generation);
    const pending = this.anySet(active as 0 | 1, geom.rows);
    if (moved !== 0) {
      this.stats.switches++;
      this.unmovedScans = 0;
      this.requestedAt = null;
    } else if (pending) {
      this.unmovedScans++;
      if (this.requestedAt !== null && now - this.requestedAt >= this.stuckAfterMs) {
        return this.degrade(now, 'DT_E_STUCK');
      }
      if (this.requestedAt === null && this.unmovedScans >= this.lateAfter && !(tick && this.pace)) {
        this.request();
        this.stats.lateSwitches++;
        result.late = true;
      }
    }
    // Paced (§4.7): our tick is the switch. Only timer scans ask, so the scan that follows
    // the answer (a notify) never asks again: one round trip per period while marks flow.
    // A request counts as taken once the frontend cleared bit 0, whatever generation says (a
    // generation read mid-switch, or one that moved by a multiple of 2^32, must not leave
    // marks waiting for the stuck limit); asking again keeps the stuck clock running.
    if (pending && tick && this.pace) {
      const taken = (Atomics.load(this.u32, DT_U32.flags) & DT_FLAG_SWITCH_NOW) === 0;
      if (this.requestedAt === null || taken) {
        const since = this.requestedAt;
        this.request();
        if (since !== null) this.requestedAt = since;
        this.stats.pacedSwitches++;
        result.late = true;
      }
    }
    if (this.fullOwed) this.payFull(now, result);
    this.idleStep(result, pending, geom.rows);
    if (this.switchOnMark && !this.idleNow) this.requestMarkSwitch();
    return result;
  }

  /**
   * Stop asking to hear of marks (idle, a stopped loop). A frontend that took the bit just
   * before still switches and notifies: one more scan, nothing lost.
   */
  cancelMarkSwitch(): void {
    Atomics.and(this.u32, DT_U32.flags, ~DT_FLAG_SWITCH_ON_MARK);
  }

  private requestMarkSwitch(): void {
    const before = Atomics.or(this.u32, DT_U32.flags, DT_FLAG_SWITCH_ON_MARK);
    if ((before & DT_FLAG_SWITCH_ON_MARK) === 0) this.stats.markRequests++;
  }

  private validGeometry(): TileGeometry | ErrorCode {
    try {
      const geom = validateTileHeader(readTileHeader(this.page), this.fbWidth, this.fbHeight);
      this.pinned ??= geom;
      return geometryEquals(geom, this.pinned) ? geom : 'DT_E_BAD_GEOMETRY';
    } catch (e) {
      if (isXenvfbError(e)) return e.code;
      throw e;
    }
  }

  private request(): void {
    Atomics.or(this.u32, DT_U32.flags, DT_FLAG_SWITCH_NOW);
    this.requestedAt = this.now();
  }

  private drain(b: 0 | 1, rows: number, into: bigint[]): void {
    const base = bitmapWordIndex(b);
    for (let r = 0; r < rows; r++) into[r] |= Atomics.exchange(this.u64, base + r, 0n);
    this.stats.drains++;
  }

  private anySet(b: 0 | 1, rows: number): boolean {
    const base = bitmapWordIndex(b);
    for (let r = 0; r < rows; r++) if (Atomics.load(this.u64, base + r) !== 0n) return true;
    return false;
  }

  private report(words: bigint[], geom: TileGeometry, switched: boolean, active: number, generation: number): TileScanResult {
    const tiles = countTiles(words, geom);
    const rects = tiles === 0 ? [] : tilesToRects(words, geom, this.fbWidth, this.fbHeight);
    this.stats.tiles += tiles;
    this.stats.rects += rects.length;
    return { rects, tiles, words, switched, late: false, idle: false, full: false, garbage: null, geometry: geom, active, generation };
  }

  // Going idle is the store-buffer pattern against mark() (OR, then load period_ms): store
  // period_ms = 0, then load every word. With both sides sequentially consistent, either a
  // racing mark sees 0 and wakes us, or we see its bit here and stay awake.
  private idleStep(result: TileScanResult, pending: boolean, rows: number): void {
    if (result.tiles !== 0 || pending || this.fullOwed || this.idleNow) {
      this.emptyScans = 0;
      return;
    }
    if (++this.emptyScans < this.idleAfter) return;
    // Idle, a mark wakes us by WOKE (§4.5-4.6), not by SWITCH_ON_MARK.
    this.cancelMarkSwitch();
    Atomics.store(this.u32, DT_U32.periodMs, 0);
    if (this.anySet(0, rows) || this.anySet(1, rows)) {
      Atomics.store(this.u32, DT_U32.periodMs, this.periodMs);
      this.emptyScans = 0;
      return;
    }
    this.idleNow = true;
    this.stats.idles++;
    result.idle = true;
  }

  // Garbage: clear both bitmaps whole (fixed offsets, inside the page whatever rows says)
  // and send the whole screen, at most once per fullRefreshMinIntervalMs.
  private degrade(now: number, why: ErrorCode): TileScanResult {
    this.stats.garbage++;
    const scratch = new Array<bigint>(DT_MAX_ROWS).fill(0n);
    this.drain(0, DT_MAX_ROWS, scratch);
    this.drain(1, DT_MAX_ROWS, scratch);
    const result: TileScanResult = {
      rects: [],
      tiles: 0,
      words: [],
      switched: false,
      late: false,
      idle: false,
      full: false,
      garbage: why,
      geometry: null,
      active: Atomics.load(this.u32, DT_U32.active),
      generation: Atomics.load(this.u32, DT_U32.generation),
    };
    if (why === 'DT_E_STUCK') {
      this.request();
      result.late = true;
    }
    this.fullOwed = true;
    this.payFull(now, result);
    return result;
  }

  private payFull(now: number, result: TileScanResult): void {
    if (now - this.lastFullAt < this.fullMinMs) return;
    this.fullOwed = false;
    this.lastFullAt = now;
    this.stats.fullRefreshes++;
    this.stats.rects += 1 - result.rects.length;
    result.full = true;
    result.rects = this.fbWidth > 0 && this.fbHeight > 0 ? [{ x: 0, y: 0, width: this.fbWidth, height: this.fbHeight }] : [];
  }
}
