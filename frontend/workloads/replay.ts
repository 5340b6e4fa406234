// The replay workload: the guest draws a capture file (docs/capture-format.md) into its own
// framebuffer, each record's pixels at the record's time with damage for exactly what
// changed, so the whole stack (frontend damage or dirty tiles, backend scans, shadow,
// encoders) runs on recorded content (`xenvfb demo --workload replay --replay-file FILE`,
// `xenvfb replay FILE --into-guest`). The framebuffer takes the size of the capture's first
// picture; a later resize in the capture is drawn clipped to it (a guest framebuffer keeps its
// size). Pixels are converted to XRGB8888 when the capture has another format. The file is
// read as it plays (bounded memory); at the end the last picture stays, or it starts over
// with `loop`.

import * as fs from 'node:fs';
import { CaptureStreamDecoder, type DecodedRecord } from '../../shared/capture/framing';
import type { CaptureRecord } from '../../shared/capture/format';
import { FrameState } from '../../shared/capture/frame-state';
import { xerror } from '../../shared/errors';
import { intersectRect, isEmptyRect, type Rect } from '../../shared/region';
import { pixelToRgb, readPixel, type RfbPixelFormat } from '../../shared/rfb/pixel-format';
import { checkDimensions, type FramebufferTarget, type Workload } from './workload';

const READ_CHUNK = 256 * 1024;

/** Records of a capture in order, read from the file as they are asked for. */
class CaptureReader {
  private readonly fd: number;
  private readonly decoder = new CaptureStreamDecoder();
  private pos = 0;
  private eof = false;
  private sawHeader = false;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'r');
  }

  /** The next record with pixels or geometry, or null at the end (a cut tail ends it too). */
  next(): CaptureRecord | null {
    for (;;) {
      let step;
      try {
        step = this.decoder.next();
      } catch (e) {
        // A foreign file is an error; a damaged or cut record ends playback where it is.
        if (!this.sawHeader) throw e;
        return null;
      }
      if (step.kind === 'header') {
        this.sawHeader = true;
        continue;
      }
      if (step.kind === 'record') {
        const rec = step.record;
        if (rec.type === 'end') return null;
        if (isPicture(rec)) return rec as CaptureRecord;
        continue;
      }
      if (this.eof) {
        if (!this.sawHeader) throw xerror('CAP_E_BAD_MAGIC', `${this.path} is too short to be a capture file`);
        return null;
      }
      const buf = Buffer.allocUnsafe(Math.max(READ_CHUNK, step.bytes));
      const n = fs.readSync(this.fd, buf, 0, buf.length, this.pos);
      if (n === 0) this.eof = true;
      this.pos += n;
      this.decoder.push(buf.subarray(0, n));
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function isPicture(r: DecodedRecord): boolean {
  return r.type === 'keyframe' || r.type === 'damage' || r.type === 'copy' || r.type === 'geometry';
}

export class ReplayWorkload implements Workload {
  readonly name = 'replay';
  private fb: FramebufferTarget | undefined;
  private reader: CaptureReader | null = null;
  private state = new FrameState();
  private pending: CaptureRecord | null = null;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  /** Capture time of the last record taken. */
  private lastTimeMs: number | null = null;
  private drawn = 0;
  /** Set when playback reached the end of the capture (and does not loop). */
  ended = false;

  constructor(
    readonly file: string,
    readonly width: number,
    readonly height: number,
    private readonly loop = false,
  ) {}

  get frames(): number {
    return this.drawn;
  }

  start(fb: FramebufferTarget): void {
    this.stop();
    this.fb = fb;
    this.rewind();
    const whole = { x: 0, y: 0, width: fb.width, height: fb.height };
    fb.data.fill(0);
    // The first picture: every record up to and including the first keyframe or geometry.
    for (let rec = this.take(); rec; rec = this.take()) {
      this.state.apply(rec);
      if (this.state.geometry && (rec.type === 'keyframe' || rec.type === 'geometry')) break;
    }
    this.draw(whole);
    this.drawn++;
    fb.damage(whole);
    this.startedAt = performance.now() - (this.lastTimeMs ?? 0);
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.reader?.close();
    this.reader = null;
  }

  private rewind(): void {
    this.reader?.close();
    this.reader = new CaptureReader(this.file);
    this.state = new FrameState();
    this.pending = null;
    this.ended = false;
    this.lastTimeMs = null;
  }

  private take(): CaptureRecord | null {
    const rec = this.pending ?? this.reader?.next() ?? null;
    this.pending = null;
    if (rec) this.lastTimeMs = rec.timeMs;
    return rec;
  }

  private peek(): CaptureRecord | null {
    this.pending ??= this.reader?.next() ?? null;
    return this.pending;
  }

  private schedule(): void {
    const next = this.peek();
    if (!next) {
      if (this.loop && this.fb) {
        this.timer = setTimeout(() => this.fb && this.start(this.fb), 0);
        return;
      }
      this.ended = true;
      this.reader?.close();
      this.reader = null;
      return;
    }
    const due = this.startedAt + next.timeMs - performance.now();
    this.timer = setTimeout(() => this.tick(), Math.max(0, due));
  }

  /** Every record of the next time, drawn together, damage for what changed. */
  private tick(): void {
    this.timer = undefined;
    const fb = this.fb;
    if (!fb) return;
    const t = this.peek()?.timeMs;
    const dirty: Rect[] = [];
    for (let rec = this.peek(); rec && rec.timeMs === t; rec = this.peek()) {
      this.take();
      const change = this.state.apply(rec);
      if (!change) continue;
      if ('resize' in change) dirty.push({ x: 0, y: 0, width: fb.width, height: fb.height });
      else dirty.push(...change.rects);
    }
    const clipped = dirty.map((r) => intersectRect(r, { x: 0, y: 0, width: fb.width, height: fb.height })).filter((r) => !isEmptyRect(r));
    for (const r of clipped) this.draw(r);
    if (clipped.length) this.drawn++;
    for (const r of clipped) fb.damage(r);
    this.schedule();
  }

  /** Copy (converting when needed) the state's pixels inside r into the framebuffer; black outside the capture's picture. */
  private draw(r: Rect): void {
    const fb = this.fb!;
    const g = this.state.geometry;
    for (let y = r.y; y < r.y + r.height; y++) {
      const row = y * fb.stride;
      if (!g || y >= g.height) {
        fb.data.fill(0, row + r.x * 4, row + (r.x + r.width) * 4);
        continue;
      }
      const w = Math.max(0, Math.min(r.x + r.width, g.width) - r.x);
      const bpp = g.format.bitsPerPixel >> 3;
      const src = (y * g.width + r.x) * bpp;
      if (isXrgb8888(g.format)) {
        fb.data.set(this.state.pixels.subarray(src, src + w * 4), row + r.x * 4);
      } else {
        for (let x = 0; x < w; x++) {
          const [red, green, blue] = pixelToRgb(readPixel(this.state.pixels, src + x * bpp, g.format), g.format);
          const o = row + (r.x + x) * 4;
          fb.data[o] = blue;
          fb.data[o + 1] = green;
          fb.data[o + 2] = red;
          fb.data[o + 3] = 0;
        }
      }
      if (w < r.width) fb.data.fill(0, row + (r.x + w) * 4, row + (r.x + r.width) * 4);
    }
  }
}

function isXrgb8888(f: RfbPixelFormat): boolean {
  return (
    f.bitsPerPixel === 32 &&
    !f.bigEndian &&
    f.redMax === 255 &&
    f.greenMax === 255 &&
    f.blueMax === 255 &&
    f.redShift === 16 &&
    f.greenShift === 8 &&
    f.blueShift === 0
  );
}

/**
 * A replay workload for `file`, sized by the capture's first picture. CAP_E_* errors for a
 * file that is not a capture or holds no picture; FB_E_BAD_GEOMETRY for one too large for a
 * workload framebuffer.
 */
export function createReplayWorkload(opts: { replayFile?: string; loop?: boolean }): ReplayWorkload {
  if (!opts.replayFile) throw xerror('CLI_E_USAGE', 'the replay workload plays a capture file: give it with --replay-file FILE');
  const reader = new CaptureReader(opts.replayFile);
  try {
    for (let rec = reader.next(); rec; rec = reader.next()) {
      const g = rec.type === 'keyframe' || rec.type === 'geometry' ? rec.geometry : null;
      if (!g) continue;
      checkDimensions(g.width, g.height, `the capture ${opts.replayFile}`);
      return new ReplayWorkload(opts.replayFile, g.width, g.height, opts.loop === true);
    }
  } finally {
    reader.close();
  }
  throw xerror('CAP_E_EMPTY', `${opts.replayFile} holds no picture (no keyframe or geometry record) to play into the guest`);
}
