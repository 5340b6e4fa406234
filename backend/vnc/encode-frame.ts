// One FramebufferUpdate as a job an encoder can run anywhere: on the main thread against the
// display's surface (the sync twin), or in the session's encode worker against a snapshot of
// the damaged pixels (encode-worker.ts; QEMU's ui/vnc-jobs.c model).
// The session decides what goes out (split rects, JPEG "busy" hints, lossless refreshes) and
// applies the results (lossy areas, frame clock); the encoder only turns pixels into bytes, so
// both paths run the same EncodeManager code on the same pixels and give the same bytes.
//
// The worker path reads each rect from a snapshot (backend/updates/surface-snapshot.ts) and the
// rect header keeps the real position (RectOptions.at). The job's CopyRects go first, in
// order, before its pixel rects (rfbproto §7.7.2: rects of an update are applied in order).

import { ByteWriter } from '../../shared/bytes';
import { xerror } from '../../shared/errors';
import type { Rect } from '../../shared/region';
import type { CopyHint, Surface } from '../display/display';
import { bytesPerPixel, type PixelFormat } from '../display/pixel-format';
import type { RectClass } from '../updates/classify';
import type { EncodeManager, EncoderStats, RectOptions, RectPlan } from './encode-manager';
import { COPYRECT_DATA_SIZE, RECT_HEADER_SIZE, writeCopyRect, writeFramebufferUpdateHeader } from './server-messages';

/** XENVFB_VNC_ENCODE: where a session encodes its updates. */
export type EncodeMode = 'sync' | 'worker';
export const ENCODE_MODE_ENV = 'XENVFB_VNC_ENCODE';
/**
 * Default for sessions of the VNC server: the worker, because a 1080p Tight/ZRLE/JPEG frame
 * encoded inline blocks the event loop (and every other client) for 100-300 ms
 * (scripts/bench/vnc-blocking.ts). RfbSession used alone (tests, byte-array drivers) stays sync.
 */
export const DEFAULT_SERVER_ENCODE_MODE: EncodeMode = 'worker';

/** The mode named by XENVFB_VNC_ENCODE, or `fallback` when unset; anything else is a usage error. */
export function encodeModeFromEnv(fallback: EncodeMode = DEFAULT_SERVER_ENCODE_MODE, env: NodeJS.ProcessEnv = process.env): EncodeMode {
  const v = env[ENCODE_MODE_ENV];
  if (v === undefined || v === '') return fallback;
  if (v === 'sync' || v === 'worker') return v;
  throw xerror('RFB_E_ENCODE_MODE', `${ENCODE_MODE_ENV}=${v}: expected sync or worker`, { value: v });
}

export interface FrameRect {
  /** Where the rect is on the client's framebuffer (already split for the chosen encoding). */
  rect: Rect;
  /** Sent lossy moments ago: a lower JPEG quality is fine. */
  busy?: boolean;
  /** A lossless refresh: never JPEG. */
  lossless?: boolean;
}

export interface FrameJob {
  /** CopyRects, sent first and in order (the display's copy hints the client can take). */
  copies: CopyHint[];
  rects: FrameRect[];
  clientFormat: PixelFormat;
}

export interface EncodedFrame {
  /** The whole FramebufferUpdate message. */
  bytes: Uint8Array;
  /** Per job rect: did it go out lossy (Tight JPEG)? */
  lossy: boolean[];
  /**
   * The bytes live in a buffer the encoder reuses: call this once they are written (or copied,
   * or dropped) to give it back. Never calling it is safe: the buffer is then left to the GC.
   */
  release?: () => void;
}

export interface EncodeStatsSnapshot {
  encoders: Record<string, EncoderStats>;
  classes: Record<RectClass, number>;
}

/** Where rect i's pixels are read from: a surface and the rect's place inside it. */
export type PixelSource = (index: number, rect: Rect) => { surface: Surface; rect: Rect };

/** Bytes of a frame an encode worker gathers before it sends them ahead of the rest (FramePartSink). */
export const FRAME_PART_BYTES = 32 * 1024;
/**
 * The first part goes once this much is there: the client decodes rect by rect, so for one
 * outstanding request every millisecond before its first byte is added to the cycle (one 1080p
 * Tight JPEG strip is ~11 KB; at 32 KB the first part waited for three). Frames smaller than
 * this still go as one message.
 */
export const FRAME_FIRST_PART_BYTES = 8 * 1024;
/**
 * Rects classified (and their JPEGs started on the pool threads) ahead of the one being
 * written: enough to keep every pool thread busy while the writer waits for the next image,
 * few enough that the first rect goes out before the whole frame is classified (~40 us a
 * 1080p strip, 1.3 ms a frame).
 */
export const JPEG_PLAN_AHEAD = 8;

/**
 * Takes the leading bytes of a frame while later rects are still being encoded, so they reach
 * the client (which decodes rect by rect) while the encoder works on: for one outstanding
 * full-screen request the encoder and the client's decoder then overlap, as they do with
 * LibVNCServer and TigerVNC, which write each rect as they encode it. From encodeFrame the
 * bytes are a view of the writer's storage, which keeps growing within the frame: valid until
 * the writer is reused, like the frame's bytes. FrameEncoder.encode says what its parts are.
 */
export type FramePartSink = (bytes: Uint8Array, release?: () => void) => void;

/** How encodeFrame hands out a frame's leading parts. */
export interface FramePartOptions {
  /** Bytes gathered after a rect (or a piece of one) before they go out as a part (default FRAME_PART_BYTES). */
  minBytes?: number;
  /** The same for the first part (default FRAME_FIRST_PART_BYTES, at most minBytes). */
  firstBytes?: number;
}

/**
 * Content classes of a frame's rects, by rect index: `known` from an earlier frame of the same
 * rects of the same pixels (an encode worker's kept snapshot), so they are not analysed again
 * (classify.ts samples ~4K pixels a rect: ~1.3 ms of a 1080p Tight frame); `found` gets every
 * rect's class from this frame.
 */
export interface FrameClasses {
  known: ReadonlyArray<RectClass | undefined> | null;
  found: Array<RectClass | undefined>;
}

/**
 * Exact rect count in the header, never nRects=0xFFFF + LastRect (vncsnapshot 1.2a hangs on that).
 * `into`: a writer to reuse (reset here); the frame's bytes are then a view of its storage,
 * valid until its next use. `onPart`: the frame's leading bytes go there once `minBytes` have
 * gathered after a rect (never after the last one) or after a piece of a rect its encoder
 * reports (EncodeSettings.progress: Raw, Hextile), and the returned bytes are only what
 * follows the last part.
 */
export function encodeFrame(
  manager: EncodeManager,
  job: FrameJob,
  source: PixelSource,
  into?: ByteWriter,
  onPart?: FramePartSink,
  parts: FramePartOptions = {},
  classes?: FrameClasses,
): EncodedFrame {
  const bpp = bytesPerPixel(job.clientFormat);
  const copyBytes = job.copies.length * (RECT_HEADER_SIZE + COPYRECT_DATA_SIZE);
  // Raw size plus a byte per 16x16 tile (Hextile's worst case: every tile raw behind its mask
  // byte) and a little per rect, so no encoder's worst case makes the 1080p buffer grow (a
  // doubling copies the whole frame: 4 ms of a Hextile frame, issue 14's profile).
  const estimate =
    4 +
    copyBytes +
    job.rects.reduce(
      (n, f) =>
        n + RECT_HEADER_SIZE + 64 + f.rect.width * f.rect.height * bpp + Math.ceil(f.rect.width / 16) * Math.ceil(f.rect.height / 16),
      0,
    );
  const w = into ? into.reset(estimate) : new ByteWriter(estimate);
  writeFramebufferUpdateHeader(w, job.copies.length + job.rects.length);
  for (const c of job.copies) writeCopyRect(w, c);
  const lossy: boolean[] = [];
  const optsOf = (f: FrameRect, i: number): RectOptions => {
    const kind = classes?.known?.[i];
    const o: RectOptions = f.lossless ? { lossless: true } : { busy: f.busy === true };
    return kind ? { ...o, kind } : o;
  };
  // With JPEG possible, rects are classified JPEG_PLAN_AHEAD ahead of the writer and their JPEGs
  // started on the addon's pool threads, so they compress in parallel while the rects before
  // them are written (and sent ahead). Every job is released before returning: the pixels may
  // be overwritten after.
  const planning = manager.plansJpeg;
  const sources = planning ? job.rects.map((f, i) => source(i, f.rect)) : null;
  const plans: RectPlan[] = [];
  const planUpTo = (end: number): void => {
    for (let i = plans.length; sources && i < Math.min(end, job.rects.length); i++) {
      plans.push(manager.planRect(sources[i]!.surface, sources[i]!.rect, job.clientFormat, optsOf(job.rects[i]!, i)));
    }
  };
  const minPart = parts.minBytes ?? FRAME_PART_BYTES;
  const firstPart = Math.min(minPart, parts.firstBytes ?? FRAME_FIRST_PART_BYTES);
  /** Where the bytes not yet handed out start. */
  let sent = 0;
  // Between rects, and between the pieces of a large rect (EncodeSettings.progress).
  const progress = onPart
    ? (): void => {
        if (w.length - sent < (sent === 0 ? firstPart : minPart)) return;
        onPart(w.finish().subarray(sent));
        sent = w.length;
      }
    : undefined;
  try {
    job.rects.forEach((f, i) => {
      planUpTo(i + 1 + JPEG_PLAN_AHEAD);
      const src = sources ? sources[i]! : source(i, f.rect);
      const res = manager.encodeRect(src.surface, src.rect, job.clientFormat, w, {
        ...optsOf(f, i),
        at: f.rect,
        ...(planning ? { plan: plans[i]! } : {}),
        ...(progress ? { progress } : {}),
      });
      lossy.push(res.lossy);
      if (classes) classes.found[i] = res.kind;
      if (i < job.rects.length - 1) progress?.();
    });
  } finally {
    for (const p of plans) p.jpeg?.release();
  }
  return { bytes: w.finish().subarray(sent), lossy };
}

/**
 * What the session needs from whoever encodes its updates. One frame at a time: encode() is
 * only called while !busy, and calls done() exactly once (the sync twin before returning).
 */
export interface FrameEncoder {
  readonly mode: EncodeMode;
  /** A frame is being encoded. */
  readonly busy: boolean;
  /** The client sent SetEncodings (applied to frames encoded after this call). */
  encodingsChanged(list: readonly number[]): void;
  /**
   * `onPart`: the encoder may deliver the frame's leading bytes there first (in order, before
   * done(), whose bytes are then the rest). The worker's parts are copies the session may keep;
   * the inline twin's are views of the frame's buffer and come with a release, like the frame.
   */
  encode(surface: Surface, job: FrameJob, done: (frame: EncodedFrame) => void, onPart?: FramePartSink): void;
  stats(): EncodeStatsSnapshot;
  close(): void;
}

/** One frame through `enc`, handed back whole (the parts it sent ahead joined to the rest): for callers that want the update at once. */
export function encodeWholeFrame(enc: FrameEncoder, surface: Surface, job: FrameJob, done: (frame: EncodedFrame) => void): void {
  const parts: Uint8Array[] = [];
  enc.encode(
    surface,
    job,
    (frame) => done(parts.length === 0 ? frame : { ...frame, bytes: Buffer.concat([...parts, frame.bytes]) }),
    (part) => parts.push(Uint8Array.from(part)),
  );
}

/**
 * Frame buffers an inline encoder has had back (EncodedFrame.release) and reuses. A fresh 8 MB
 * buffer per 1080p Raw frame costs 2,000 page faults when it is first written: on a
 * paravirtualised host that was a fifth of the backend's CPU per frame (issue 14's profile).
 * Two are kept: one being written to the socket while the next frame is encoded.
 */
export const FRAME_WRITERS_KEPT = 2;

/**
 * Bytes an inline frame gathers before they go to the transport ahead of the rest (when the
 * session takes parts): a 1080p Raw frame (8 MB, one rect copied in RAW_PIECE_BYTES pieces)
 * then leaves in 1 MB writes while the rest is still being copied, instead of one write after
 * the whole copy.
 */
export const INLINE_PART_BYTES = 256 * 1024;

/**
 * The twin: encodes inline from the live surface with the session's own EncodeManager. Given
 * `onPart`, a large frame's leading bytes go there as it is written (INLINE_PART_BYTES).
 */
export class SyncFrameEncoder implements FrameEncoder {
  readonly mode = 'sync';
  readonly busy = false;
  private readonly spare: ByteWriter[] = [];
  /** Frames encoded into a writer given back by an earlier frame (tests read it). */
  reusedWriters = 0;

  constructor(private readonly manager: EncodeManager) {}

  encodingsChanged(): void {
    // The session already applied the list to this manager.
  }

  encode(surface: Surface, job: FrameJob, done: (frame: EncodedFrame) => void, onPart?: FramePartSink): void {
    const reused = this.spare.pop();
    if (reused) this.reusedWriters += 1;
    const writer = reused ?? new ByteWriter(64);
    // Parts are views of the writer: it goes back once the rest and every part are released
    // (the output may release the rest early, when it copies it, while a part is still queued
    // in the transport).
    let holders = 0;
    const hold = (): (() => void) => {
      holders += 1;
      let given = false;
      return () => {
        if (given) return;
        given = true;
        holders -= 1;
        if (holders === 0 && this.spare.length < FRAME_WRITERS_KEPT) this.spare.push(writer);
      };
    };
    const release = hold();
    const parts = onPart ? (bytes: Uint8Array) => onPart(bytes, hold()) : undefined;
    const frame = encodeFrame(this.manager, job, (_i, rect) => ({ surface, rect }), writer, parts, {
      minBytes: INLINE_PART_BYTES,
      firstBytes: INLINE_PART_BYTES,
    });
    done({ ...frame, release });
  }

  stats(): EncodeStatsSnapshot {
    return { encoders: this.manager.snapshot(), classes: this.manager.classCounts() };
  }

  close(): void {
    this.spare.length = 0;
  }
}

/**
 * A session's encoder figures: its frame encoder's, the inline twin's when it has one (Raw
 * frames in worker mode), and CopyRect's. Counts of the same encoder or class are summed.
 */
export function mergeFrameStats(
  main: EncodeStatsSnapshot,
  inline: EncodeStatsSnapshot | null,
  copies: Record<string, EncoderStats>,
): EncodeStatsSnapshot {
  if (!inline) return { encoders: { ...main.encoders, ...copies }, classes: main.classes };
  const encoders: Record<string, EncoderStats> = { ...main.encoders };
  for (const [name, s] of Object.entries(inline.encoders)) {
    const m = encoders[name];
    encoders[name] = m ? { rects: m.rects + s.rects, pixels: m.pixels + s.pixels, bytes: m.bytes + s.bytes, ms: m.ms + s.ms } : { ...s };
  }
  const classes = { ...main.classes };
  for (const k of Object.keys(classes) as RectClass[]) classes[k] += inline.classes[k] ?? 0;
  return { encoders: { ...encoders, ...copies }, classes };
}
