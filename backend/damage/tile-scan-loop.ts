// The backend's scan timer around a TileScanner (docs/dirty-tiles.md §4.3-§4.7): scans every
// period, hands rectangles to the display, notifies the frontend for switch requests (paced,
// late) and wake-ups, scans again when the frontend answers, and stops its timer when the
// scanner goes idle, so a still screen costs nothing.
// The event channel and the display are callbacks: this file owns no mapping and no port.

import type { Rect } from '../../shared/region';
import { DT_U32 } from '../../shared/dirty-tiles/page';
import { DT_DEFAULT_PERIOD_MS, TileScanner, type TileScannerOptions, type TileScannerStats, type TileScanResult } from './tile-scanner';
import { XEN_PAGE_SIZE } from '../../shared/page';

export interface TileScanLoopOptions extends Omit<TileScannerOptions, 'now'> {
  /** Damage found by a scan, in framebuffer pixels. */
  damage: (rects: Rect[]) => void;
  /** Send an event to the frontend. */
  notify: () => void;
  /** Every scan's result, for the scan monitor (scan-monitor.ts). */
  onScan?: (result: TileScanResult) => void;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export interface TileLoopStats extends TileScannerStats {
  /** Scans run by the timer (the idle test watches this stay flat). */
  timerTicks: number;
  /** Scans run because the frontend notified ("scan now", §4.6). */
  notifyScans: number;
  notifiesSent: number;
  notifiesReceived: number;
}

export class TileScanLoop {
  readonly scanner: TileScanner;
  private readonly u32: Uint32Array;
  private readonly damage: (rects: Rect[]) => void;
  private readonly notifyFrontend: () => void;
  private readonly onScan: ((result: TileScanResult) => void) | undefined;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private timer: unknown = null;
  private stopped = true;
  private counters = { timerTicks: 0, notifyScans: 0, notifiesSent: 0, notifiesReceived: 0 };

  /** Throws DT_E_BAD_PAGE for a buffer that cannot hold the page. */
  constructor(page: Uint8Array, opts: TileScanLoopOptions) {
    this.scanner = new TileScanner(page, opts);
    this.u32 = new Uint32Array(page.buffer, page.byteOffset, XEN_PAGE_SIZE / 4);
    this.damage = opts.damage;
    this.notifyFrontend = opts.notify;
    this.onScan = opts.onScan;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms).unref());
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  }

  get periodMs(): number {
    return this.scanner.periodMs;
  }

  /** The scan timer is armed (false while idle). */
  get running(): boolean {
    return this.timer !== null;
  }

  get stats(): TileLoopStats {
    return { ...this.scanner.stats, ...this.counters };
  }

  /**
   * Publish period_ms and start scanning. A page we re-attach to (restarted backend) may
   * hold a WOKE flag nobody answered, marks in the active bitmap, or a frontend whose timer
   * stopped: take the flag, ask for a switch, and notify so the frontend re-arms (§4.2).
   */
  start(): void {
    this.stopped = false;
    this.scanner.start();
    this.scanner.wake();
    this.arm();
    this.notify();
  }

  /**
   * Stop scanning and tell the frontend to stop switching (period_ms = 0): marks then set
   * WOKE, which whoever scans next answers in start().
   */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.scanner.cancelMarkSwitch();
    Atomics.store(this.u32, DT_U32.periodMs, 0);
  }

  /** An event from the frontend: a wake-up (§4.6), else "scan now". */
  onNotify(): void {
    if (this.stopped) return;
    this.counters.notifiesReceived++;
    if (this.scanner.wake()) {
      this.arm();
      this.notify();
      return;
    }
    this.counters.notifyScans++;
    this.scanOnce();
  }

  private arm(): void {
    if (this.stopped || this.timer !== null || this.scanner.idle) return;
    this.timer = this.setTimer(() => this.tick(), this.scanner.periodMs || DT_DEFAULT_PERIOD_MS);
  }

  private tick(): void {
    this.timer = null;
    if (this.stopped) return;
    this.counters.timerTicks++;
    this.scanOnce(true);
    this.arm();
  }

  private scanOnce(tick = false): void {
    const res = this.scanner.scan(tick);
    this.onScan?.(res);
    if (res.rects.length > 0) this.damage(res.rects);
    if (res.late) this.notify();
    if (res.idle && this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
  }

  private notify(): void {
    this.counters.notifiesSent++;
    this.notifyFrontend();
  }
}
