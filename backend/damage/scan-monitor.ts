// The last damage scans of one framebuffer, kept for whoever watches (`xenvfb inspect` through
// the control socket, a capture recorder subscribed to it). Recording costs nothing while
// nobody watches: a watcher's read arms it for SCAN_MONITOR_ARMED_MS, after which it stops
// recording again; a subscriber keeps it on until it unsubscribes. The inspector never reads
// the dirty-tile page itself: the scanner's exchange-to-zero would steal the guest's bits.

import { DT_MAX_ROWS, chooseTileGeometry } from '../../shared/dirty-tiles/page';
import { countTiles } from '../../shared/dirty-tiles/bitmap';
import { type ScanReport, wordsForRects } from '../../shared/dirty-tiles/scan-report';
import type { Rect } from '../../shared/region';
import type { TileScanResult } from './tile-scanner';

/** Reports kept (a watcher polling 10 times a second at 30 scans a second needs 3). */
export const SCAN_MONITOR_CAPACITY = 512;
/** Recording stays on this long after a watcher's last read. */
export const SCAN_MONITOR_ARMED_MS = 5000;

export type ScanFields = Omit<ScanReport, 'seq' | 't'>;

export class ScanMonitor {
  private readonly ring: ScanReport[] = [];
  private seq = 0;
  private armedUntil = -Infinity;
  private readonly subscribers = new Set<(report: ScanReport) => void>();
  private readonly started: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.started = now();
  }

  /** Someone watched recently: scans are worth recording. */
  get recording(): boolean {
    return this.subscribers.size > 0 || this.now() < this.armedUntil;
  }

  /** Every report from now on goes to `fn` too; returns the unsubscribe function. */
  subscribe(fn: (report: ScanReport) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Keep one scan (dropped while nobody watches). */
  record(fields: ScanFields): void {
    if (!this.recording) return;
    const report = { ...fields, seq: ++this.seq, t: Math.round((this.now() - this.started) * 1000) / 1000 };
    this.ring.push(report);
    if (this.ring.length > SCAN_MONITOR_CAPACITY) this.ring.shift();
    for (const fn of this.subscribers) fn(report);
  }

  /** A dirty-tile page scan (tile-scan-loop.ts onScan) on a fbWidth x fbHeight cover. */
  recordTileScan(res: TileScanResult, fbWidth: number, fbHeight: number): void {
    if (!this.recording) return;
    const geometry = res.geometry ?? chooseTileGeometry(fbWidth, fbHeight);
    this.record({
      source: 'tiles',
      fbWidth,
      fbHeight,
      geometry,
      active: res.active === 0 || res.active === 1 ? res.active : null,
      generation: res.generation >>> 0,
      switched: res.switched,
      late: res.late,
      idle: res.idle,
      full: res.full,
      garbage: res.garbage,
      // A garbage scan drains without a trusted grid: no tiles to show, the full refresh says it.
      words: res.words.length === geometry.rows ? res.words : new Array<bigint>(geometry.rows).fill(0n),
      tiles: res.tiles,
      rects: res.rects.length,
    });
  }

  /** An UPDATE-event batch as a scan on the tile grid the extension would use. */
  recordUpdates(rects: readonly Rect[], fbWidth: number, fbHeight: number, full = false): void {
    if (!this.recording || fbWidth < 1 || fbHeight < 1) return;
    const geometry = chooseTileGeometry(fbWidth, fbHeight);
    const words = wordsForRects(rects, geometry, fbWidth, fbHeight);
    this.record({
      source: 'update',
      fbWidth,
      fbHeight,
      geometry,
      active: null,
      generation: null,
      switched: false,
      late: false,
      idle: false,
      full,
      garbage: null,
      words: words.slice(0, DT_MAX_ROWS),
      tiles: countTiles(words, geometry),
      rects: rects.length,
    });
  }

  /** Reports after `seq` (all kept ones for 0), oldest first; arms recording. */
  since(seq: number): ScanReport[] {
    this.armedUntil = this.now() + SCAN_MONITOR_ARMED_MS;
    const i = this.ring.findIndex((r) => r.seq > seq);
    return i < 0 ? [] : this.ring.slice(i);
  }
}
