// The recorder: a Display listener that writes what the display shows, and the input clients
// send, to a capture file (docs/capture-format.md). Every record reaches the kernel when it
// is written (CaptureWriter), so a backend killed with SIGKILL leaves a file that reads back
// to its last complete record. A keyframe goes out at the start, on every resize, every
// keyframe interval and after half a frame of damage. A failing disk stops the recording
// (logged once), never the backend.

import * as fs from 'node:fs';
import type { CopyHint, CursorState, Display, Surface } from '../display/display';
import type { InputSink } from '../input/input-sink';
import type { Rect } from '../../shared/region';
import { CAPTURE_MAX_TILE_COLS, CAPTURE_MAX_TILE_ROWS, type CaptureRecord, type InputEvent } from '../../shared/capture/format';
import type { ScanReport } from '../../shared/dirty-tiles/scan-report';
import { type Logger, silentLogger } from '../../shared/log';
import { CaptureWriter } from './capture-writer';
import { tileScanFromReport } from '../../shared/capture/tile-scans';
import { DEFAULT_KEYFRAME_INTERVAL_MS } from './convert';

export interface RecorderOptions {
  keyframeIntervalMs?: number;
  /** Stop recording (and close the file) once it is this many bytes. */
  maxBytes?: number;
  /** Where the capture comes from, for its META record (e.g. { domid: 1 }). */
  meta?: Record<string, unknown>;
  log?: Logger;
  /** Milliseconds since an arbitrary origin (default performance.now); tests inject it. */
  now?: () => number;
}

export interface RecorderStats {
  records: number;
  bytes: number;
  /** Frames (distinct picture times), as `capture info` counts them. */
  frames: number;
  /** Capture time of the last record, ms. */
  durationMs: number;
  damageRects: number;
  keyframes: number;
  /** Time spent packing, compressing and writing, ms. */
  busyMs: number;
}

export class CaptureRecorder {
  private writer: CaptureWriter | null;
  private readonly t0: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly listeners: Array<[string, (...a: never[]) => void]> = [];
  private surfaceBpp = 0;
  readonly stats: RecorderStats = { records: 0, bytes: 0, frames: 0, durationMs: 0, damageRects: 0, keyframes: 0, busyMs: 0 };

  /** The file being written (the path asked for, or FILE.N when that one existed). */
  readonly path: string;
  /** Why recording stopped: 'closed' (close()), 'size limit' (maxBytes) or 'write error'; null while recording. */
  stoppedBecause: 'closed' | 'size limit' | 'write error' | null = null;

  constructor(
    private readonly display: Display,
    path: string,
    private readonly opts: RecorderOptions = {},
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.t0 = this.now();
    this.log = opts.log ?? silentLogger;
    // Never overwrite an earlier recording (a backend restarted after a crash keeps its file).
    const free = freeCapturePath(path);
    if (free !== path) this.log.warn({ capture: path, writingTo: free }, 'capture file exists: recording to a new file beside it');
    this.path = free;
    this.writer = new CaptureWriter(free, { keyframeIntervalMs: opts.keyframeIntervalMs ?? DEFAULT_KEYFRAME_INTERVAL_MS });
    this.write({ type: 'meta', timeMs: 0, meta: { source: 'xenvfb recorder', display: display.name, ...opts.meta } });
    this.on('resize', (s: Surface | null) => this.resize(s));
    this.on('damage', (rects: Rect[]) => this.damage(rects));
    this.on('copy', (hint: CopyHint) => this.copy(hint));
    this.on('cursor', (c: CursorState) => this.cursor(c));
    this.resize(display.surface());
  }

  get recording(): boolean {
    return this.writer !== null;
  }

  /** An InputSink that records each event and passes it on to `next`. */
  tapInput(next: InputSink): InputSink {
    const rec = (input: InputEvent): void => this.write({ type: 'input', timeMs: this.time(), input });
    return {
      key: (code, pressed) => (rec({ kind: 'key', code, pressed }), next.key(code, pressed)),
      button: (code, pressed) => (rec({ kind: 'button', code, pressed }), next.button(code, pressed)),
      pointerAbs: (x, y, width, height) => (rec({ kind: 'pointerAbs', x, y, width, height }), next.pointerAbs(x, y, width, height)),
      pointerRel: (dx, dy) => (rec({ kind: 'pointerRel', dx, dy }), next.pointerRel(dx, dy)),
      wheel: (vertical, horizontal) => (rec({ kind: 'wheel', vertical, horizontal: horizontal ?? 0 }), next.wheel(vertical, horizontal)),
    };
  }

  /**
   * One tile scan of the domain's framebuffer (backend/damage/scan-monitor.ts): written as a
   * TILE_SCAN record when it found dirty tiles (empty scans are the idle norm and are skipped).
   */
  recordScan(r: ScanReport): void {
    const g = r.geometry;
    if (r.tiles === 0 && !r.full) return;
    if (g.cols < 1 || g.cols > CAPTURE_MAX_TILE_COLS || g.rows < 1 || g.rows > CAPTURE_MAX_TILE_ROWS) return;
    this.write({ type: 'tiles', timeMs: this.time(), scan: tileScanFromReport(r) });
  }

  /** Stop listening and close the file (index and END written). */
  close(): void {
    this.stoppedBecause ??= 'closed';
    for (const [event, fn] of this.listeners.splice(0)) this.display.off(event as 'damage', fn as never);
    try {
      this.writer?.close();
    } catch (err) {
      this.log.error({ err, capture: this.path }, 'capture could not be closed');
    }
    this.writer = null;
  }

  private on(event: string, fn: (...a: never[]) => void): void {
    this.display.on(event as 'damage', fn as never);
    this.listeners.push([event, fn]);
  }

  private time(): number {
    return Math.max(0, Math.round(this.now() - this.t0));
  }

  private write(rec: CaptureRecord): void {
    const w = this.writer;
    if (!w) return;
    const started = performance.now();
    try {
      w.append(rec);
      this.stats.records++;
      this.stats.bytes = w.size;
      this.stats.frames = w.frameCount;
      this.stats.durationMs = w.durationMs;
      if (this.opts.maxBytes && w.size >= this.opts.maxBytes) {
        this.log.warn({ capture: this.path, bytes: w.size }, 'capture reached its size limit: recording stopped');
        this.stoppedBecause = 'size limit';
        this.close();
      }
    } catch (err) {
      this.log.error({ err, capture: this.path }, 'capture write failed: recording stopped');
      this.stoppedBecause = 'write error';
      w.abandon();
      this.writer = null;
    } finally {
      this.stats.busyMs += performance.now() - started;
    }
  }

  private resize(s: Surface | null): void {
    if (!s) {
      this.write({ type: 'geometry', timeMs: this.time(), geometry: null });
      this.surfaceBpp = 0;
      return;
    }
    if (s.format.bitsPerPixel === 24) {
      this.log.warn(
        { capture: this.path },
        'a 24 bpp surface cannot be captured (the format takes 8, 16 or 32 bpp): nothing recorded until the next resize',
      );
      this.surfaceBpp = 0;
      return;
    }
    this.surfaceBpp = s.format.bitsPerPixel >> 3;
    this.keyframe(s, steadyPack(s));
  }

  /** `pixels`: the whole surface, read steadily (steadyPack) unless a scan just read it. */
  private keyframe(s: Surface, pixels: Uint8Array): void {
    this.stats.keyframes++;
    this.write({
      type: 'keyframe',
      timeMs: this.time(),
      geometry: { width: s.width, height: s.height, format: s.format },
      pixels,
    });
  }

  private damage(rects: Rect[]): void {
    const s = this.display.surface();
    if (!s || !this.surfaceBpp) return;
    const t = this.time();
    // Right after a scan the guest has just answered the bitmap switch, between two draws: one
    // read, as for the damage records.
    if (this.writer?.keyframeDue(t)) return this.keyframe(s, pack(s, [{ x: 0, y: 0, width: s.width, height: s.height }]));
    this.stats.damageRects += rects.length;
    for (let i = 0; i < rects.length; i += 0xffff) {
      const part = rects.slice(i, i + 0xffff);
      this.write({ type: 'damage', timeMs: t, bytesPerPixel: this.surfaceBpp, rects: part, pixels: pack(s, part) });
    }
  }

  private copy(h: CopyHint): void {
    if (!this.surfaceBpp) return;
    this.write({
      type: 'copy',
      timeMs: this.time(),
      copies: [{ srcX: h.src.x, srcY: h.src.y, dstX: h.dst.x, dstY: h.dst.y, width: h.dst.width, height: h.dst.height }],
    });
  }

  private cursor(c: CursorState): void {
    const shape = c.shape;
    if (shape && (shape.width > 256 || shape.height > 256)) return;
    this.write({
      type: 'cursor',
      timeMs: this.time(),
      cursor: {
        x: c.x,
        y: c.y,
        hotX: shape?.hotX ?? 0,
        hotY: shape?.hotY ?? 0,
        width: shape?.width ?? 0,
        height: shape?.height ?? 0,
        visible: c.visible,
        rgba: shape?.rgba ?? new Uint8Array(0),
      },
    });
  }
}

/** `path` if it does not exist or is empty, else the first free `path.1`, `path.2`, ... */
export function freeCapturePath(path: string): string {
  const taken = (p: string): boolean => fs.existsSync(p) && fs.statSync(p).size > 0;
  if (!taken(path)) return path;
  for (let n = 1; ; n++) if (!taken(`${path}.${n}`)) return `${path}.${n}`;
}

/**
 * Reads of a whole guest frame for the keyframe that starts a capture or follows a resize, at
 * most: the frame is read again until two reads agree. Those keyframes are taken at any moment,
 * not just after a scan, and they are the widest reads; a guest drawing meanwhile would leave a
 * half-drawn frame in one, which every seek to that point replays. A guest that never stops
 * drawing gets its last read after this many.
 */
export const KEYFRAME_READS = 3;

/** The whole surface packed; a guest's memory is read again until two reads agree (KEYFRAME_READS). */
export function steadyPack(s: Surface): Uint8Array {
  const whole = [{ x: 0, y: 0, width: s.width, height: s.height }];
  let pixels = pack(s, whole);
  if (s.snapshot) return pixels;
  for (let reads = 1; reads < KEYFRAME_READS; reads++) {
    const again = pack(s, whole);
    if (Buffer.from(again.buffer, again.byteOffset, again.byteLength).equals(pixels)) break;
    pixels = again;
  }
  return pixels;
}

/** The pixels of rects, packed row after row, rect after rect. */
export function pack(s: Surface, rects: readonly Rect[]): Uint8Array {
  const bpp = s.format.bitsPerPixel >> 3;
  let total = 0;
  for (const r of rects) total += r.width * r.height * bpp;
  const out = new Uint8Array(total);
  let o = 0;
  for (const r of rects) {
    const rowBytes = r.width * bpp;
    if (s.stride === rowBytes && r.x === 0) {
      out.set(s.data.subarray(r.y * s.stride, (r.y + r.height) * s.stride), o);
      o += rowBytes * r.height;
      continue;
    }
    for (let y = 0; y < r.height; y++, o += rowBytes) {
      const from = (r.y + y) * s.stride + r.x * bpp;
      out.set(s.data.subarray(from, from + rowBytes), o);
    }
  }
  return out;
}
