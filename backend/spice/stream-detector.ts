// Which parts of the screen change like video: the stream candidates of one display channel.
// The surface is cut into cells; a cell damaged in a frame less than STREAM_MAX_GAP_MS after
// its previous damage counts one more frame in a row, a cell left alone longer starts again.
// Cells that changed in STREAM_MIN_FRAMES frames in a row are hot; each group of touching hot
// cells is a candidate, and its stream rect is what this frame's repeating damage (rects damaged
// in the last STREAM_MAX_GAP_MS too) covered inside the group, not the cell grid, so a 800x120 band
// streams as 800x120 and a sprite passing by does not widen it. That rect must also stay the
// same (overlap >= STREAM_STABLE_OVERLAP) for STREAM_STABLE_FRAMES frames: a bouncing sprite
// heats the cells it crosses, but its rect moves every frame; a clock is too small.
// spice-server does the same job from QXL drawables (video-stream.cpp, "same size, same place,
// often"); we only have damage, hence the grid. Pure: time comes in as an argument.

import { clipRect, intersectRect, isEmptyRect, type Rect, unionRect } from '../../shared/region';

/** Cell edge in pixels: 1920x1080 is 60 x 34 cells. */
export const STREAM_CELL_PX = 32;
/** Frames in a row before a cell is hot (about 0.4 s at 25 fps). */
export const STREAM_MIN_FRAMES = 10;
/** Longest pause between two damaged frames of a cell that still counts as "in a row" (5 fps; spice-server: RED_STREAM_DETECTION_MAX_DELTA). */
export const STREAM_MAX_GAP_MS = 200;
/** Smallest stream, in pixels (spice-server's RED_STREAM_MIN_SIZE is 96 x 96). */
export const STREAM_MIN_AREA = 96 * 96;
/** Frames in a row a hot group's rect must keep (intersection over union >= STREAM_STABLE_OVERLAP). */
export const STREAM_STABLE_FRAMES = 5;
export const STREAM_STABLE_OVERLAP = 0.9;
/** Recent damage rects and groups kept for those comparisons (a bound, not a tuning knob). */
export const STREAM_RECENT_MAX = 256;

export interface StreamDetectorOptions {
  minFrames?: number;
  maxGapMs?: number;
  minArea?: number;
}

export class StreamDetector {
  private cols = 0;
  private rows = 0;
  private width = 0;
  private height = 0;
  /** Frames in a row per cell. */
  private runs = new Uint16Array(0);
  /** Time of each cell's last damage (ms). */
  private last = new Float64Array(0);
  private readonly minFrames: number;
  private readonly maxGapMs: number;
  private readonly minArea: number;
  /** Hot group rects seen lately, for how many frames each has held, and when last seen. */
  private groups: { rect: Rect; frames: number; at: number }[] = [];
  /** Damage of the last maxGapMs (a guest may report one frame as several calls: band, sprite, clock). */
  private recent: { rect: Rect; at: number }[] = [];

  constructor(opts: StreamDetectorOptions = {}) {
    this.minFrames = opts.minFrames ?? STREAM_MIN_FRAMES;
    this.maxGapMs = opts.maxGapMs ?? STREAM_MAX_GAP_MS;
    this.minArea = opts.minArea ?? STREAM_MIN_AREA;
  }

  /** A new surface size: every cell starts cold. */
  reset(width: number, height: number): void {
    this.width = width;
    this.height = height;
    this.cols = Math.ceil(width / STREAM_CELL_PX);
    this.rows = Math.ceil(height / STREAM_CELL_PX);
    this.runs = new Uint16Array(this.cols * this.rows);
    this.last = new Float64Array(this.cols * this.rows).fill(-Infinity);
    this.groups = [];
    this.recent = [];
  }

  /**
   * One frame's damage at time `now`: returns the rects that now qualify as streams (hot cell
   * groups of at least minArea, as covered by this frame's damage). Rects inside `exclude`
   * (the streams already running) are neither counted nor returned.
   */
  observe(rects: readonly Rect[], now: number, exclude: readonly Rect[] = []): Rect[] {
    if (this.cols === 0) return [];
    const touched = new Uint8Array(this.runs.length);
    const clipped = rects.map((r) => clipRect(r, this.width, this.height)).filter((r) => !isEmptyRect(r));
    this.recent = this.recent.filter((p) => now - p.at <= this.maxGapMs);
    const repeating = clipped.filter((r) => this.recent.some((p) => overlapRatio(p.rect, r) >= STREAM_STABLE_OVERLAP));
    for (const rect of clipped) this.recent.push({ rect, at: now });
    if (this.recent.length > STREAM_RECENT_MAX) this.recent.splice(0, this.recent.length - STREAM_RECENT_MAX);
    for (const r of clipped) {
      const [c0, r0c, c1, r1] = this.cellSpan(r);
      for (let row = r0c; row <= r1; row++) for (let col = c0; col <= c1; col++) touched[row * this.cols + col] = 1;
    }
    for (let i = 0; i < touched.length; i++) {
      if (touched[i]) {
        this.runs[i] = now - this.last[i]! <= this.maxGapMs ? Math.min(0xffff, this.runs[i]! + 1) : 1;
        this.last[i] = now;
      } else if (now - this.last[i]! > this.maxGapMs) this.runs[i] = 0;
    }
    this.groups = this.groups.filter((g) => now - g.at <= this.maxGapMs);
    const seen = this.hotGroups(repeating, touched).map((rect) => {
      const held = this.groups.find((p) => overlapRatio(p.rect, rect) >= STREAM_STABLE_OVERLAP);
      if (held) this.groups.splice(this.groups.indexOf(held), 1);
      return { rect, frames: held ? held.frames + 1 : 1, at: now };
    });
    this.groups.push(...seen);
    if (this.groups.length > STREAM_RECENT_MAX) this.groups.splice(0, this.groups.length - STREAM_RECENT_MAX);
    return seen
      .filter((g) => g.frames >= STREAM_STABLE_FRAMES && g.rect.width * g.rect.height >= this.minArea)
      .map((g) => g.rect)
      .filter((g) => !exclude.some((e) => !isEmptyRect(intersectRect(e, g))));
  }

  /** Cells [col0, row0, col1, row1] (inclusive) that a non-empty rect inside the surface covers. */
  private cellSpan(r: Rect): [number, number, number, number] {
    return [
      Math.floor(r.x / STREAM_CELL_PX),
      Math.floor(r.y / STREAM_CELL_PX),
      Math.floor((r.x + r.width - 1) / STREAM_CELL_PX),
      Math.floor((r.y + r.height - 1) / STREAM_CELL_PX),
    ];
  }

  /** Groups of 4-connected hot cells damaged in this frame, each as the damage inside it. */
  private hotGroups(rects: readonly Rect[], touched: Uint8Array): Rect[] {
    const hot = (i: number): boolean => touched[i] === 1 && this.runs[i]! >= this.minFrames;
    const seen = new Uint8Array(this.runs.length);
    const out: Rect[] = [];
    for (let start = 0; start < seen.length; start++) {
      if (seen[start] || !hot(start)) continue;
      // Flood fill; the group's cell box bounds what of this frame's damage belongs to it.
      let box: Rect | null = null;
      const stack = [start];
      seen[start] = 1;
      while (stack.length > 0) {
        const i = stack.pop()!;
        const col = i % this.cols;
        const row = (i - col) / this.cols;
        const cell = { x: col * STREAM_CELL_PX, y: row * STREAM_CELL_PX, width: STREAM_CELL_PX, height: STREAM_CELL_PX };
        box = box ? unionRect(box, cell) : cell;
        for (const [dc, dr] of [
          [1, 0],
          [-1, 0],
          [0, 1],
          [0, -1],
        ] as const) {
          const c = col + dc;
          const rr = row + dr;
          if (c < 0 || rr < 0 || c >= this.cols || rr >= this.rows) continue;
          const j = rr * this.cols + c;
          if (!seen[j] && hot(j)) {
            seen[j] = 1;
            stack.push(j);
          }
        }
      }
      let covered: Rect | null = null;
      for (const r of rects) {
        const part = clipRect(intersectRect(r, box!), this.width, this.height);
        if (!isEmptyRect(part)) covered = covered ? unionRect(covered, part) : part;
      }
      if (covered) out.push(covered);
    }
    return out;
  }
}

/** Intersection over union of two rects (0 when apart). */
function overlapRatio(a: Rect, b: Rect): number {
  const i = intersectRect(a, b);
  if (isEmptyRect(i)) return 0;
  const inter = i.width * i.height;
  return inter / (a.width * a.height + b.width * b.height - inter);
}
