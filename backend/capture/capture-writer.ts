// Appends capture records to a file (docs/capture-format.md). Every record goes to the
// kernel as one write as soon as it is appended, so a writer killed with SIGKILL leaves a
// file that reads back to its last complete record; close() adds the INDEX and END records.

import * as fs from 'node:fs';
import { encodeHeader, encodeRecord, frameRecord } from '../../shared/capture/framing';
import { type CaptureIndex, type CaptureRecord, type IndexEntry } from '../../shared/capture/format';
import { encodePayload } from '../../shared/capture/records';
import { FrameCounter } from '../../shared/capture/frame-counter';

/** A keyframe is due once damage pixels since the last one reach this fraction of a whole frame. */
export const KEYFRAME_DAMAGE_BUDGET = 0.5;

export interface CaptureWriterOptions {
  /** Wall-clock start (Unix ms); record times are relative to it. Default: now. */
  startUnixMs?: number;
  /** Keyframe interval in ms written to the header (the caller decides when to write them). */
  keyframeIntervalMs?: number;
  /** Deflate pixel data (default true). */
  compress?: boolean;
}

export class CaptureWriter {
  private fd: number | null;
  private readonly keyframes: IndexEntry[] = [];
  private readonly frames = new FrameCounter();
  private records = 0;
  private keyframeBytes = 0;
  private damageSinceKeyframe = 0;
  private lastTimeMs = 0;
  private readonly compress: boolean;
  /** Bytes in the file so far. */
  size = 0;
  readonly startUnixMs: number;
  readonly keyframeIntervalMs: number;

  constructor(
    readonly path: string,
    opts: CaptureWriterOptions = {},
  ) {
    this.startUnixMs = opts.startUnixMs ?? Date.now();
    this.keyframeIntervalMs = opts.keyframeIntervalMs ?? 0;
    this.compress = opts.compress ?? true;
    this.fd = fs.openSync(path, 'w');
    this.write(encodeHeader({ startUnixMs: this.startUnixMs, keyframeIntervalMs: this.keyframeIntervalMs }));
  }

  /** Time (ms) of the last keyframe, or -Infinity before the first. */
  get lastKeyframeMs(): number {
    return this.keyframes.length ? this.keyframes[this.keyframes.length - 1]!.timeMs : -Infinity;
  }

  /**
   * True when a keyframe is due at timeMs: none yet, the interval has passed, or the damage
   * pixels since the last keyframe reach KEYFRAME_DAMAGE_BUDGET of a whole frame. The budget
   * bounds what a seek must decode after the keyframe, whatever the content does (docs §6).
   */
  keyframeDue(timeMs: number): boolean {
    if (this.keyframes.length === 0) return true;
    if (this.keyframeIntervalMs > 0 && timeMs - this.lastKeyframeMs >= this.keyframeIntervalMs) return true;
    return this.damageSinceKeyframe >= KEYFRAME_DAMAGE_BUDGET * this.keyframeBytes;
  }

  /** Append one record; times must not go backwards (they are clamped to the last one). */
  append(rec: CaptureRecord): void {
    const timeMs = Math.max(this.lastTimeMs, Math.floor(rec.timeMs));
    const bytes = encodeRecord({ ...rec, timeMs } as CaptureRecord, { compress: this.compress });
    const type = bytes[0]!;
    const offset = this.size;
    this.write(bytes);
    this.lastTimeMs = timeMs;
    this.records++;
    this.frames.see(type, timeMs);
    if (rec.type === 'keyframe') {
      this.keyframes.push({ timeMs, offset });
      this.keyframeBytes = rec.pixels.length;
      this.damageSinceKeyframe = 0;
    } else if (rec.type === 'damage') this.damageSinceKeyframe += rec.pixels.length;
  }

  get recordCount(): number {
    return this.records;
  }

  /** Frames so far, counted as the index counts them (shared/capture/frame-counter.ts). */
  get frameCount(): number {
    return this.frames.count;
  }

  /** Time of the last record, ms. */
  get durationMs(): number {
    return this.lastTimeMs;
  }

  /** Write the INDEX and END records and close the file. Idempotent. */
  close(): void {
    if (this.fd === null) return;
    const index: CaptureIndex = {
      durationMs: this.lastTimeMs,
      records: this.records,
      frames: this.frames.count,
      keyframes: this.keyframes,
    };
    const indexOffset = this.size;
    const { type, payload } = encodePayload({ type: 'index', index });
    this.write(frameRecord(type, this.lastTimeMs, payload));
    this.write(encodeRecord({ type: 'end', timeMs: this.lastTimeMs, indexOffset }));
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
  }

  /** Close without the index (what a crash leaves), for tests and for abandoning a file. */
  abandon(): void {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
  }

  private write(b: Uint8Array): void {
    if (this.fd === null) throw new Error('capture writer is closed');
    let done = 0;
    while (done < b.length) done += fs.writeSync(this.fd, b, done, b.length - done);
    this.size += b.length;
  }
}
