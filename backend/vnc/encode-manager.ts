// Chooses an encoding per client from its SetEncodings list (the client's order is its
// preference, rfbproto §7.5.2), reads the quality / compress-level pseudo-encodings, writes
// rect headers, and keeps per-encoder stats, like TigerVNC's EncodeManager. Encoders hold
// per-connection zlib state, so each manager (one per session) builds its own from
// factories. Raw is always available: rfbproto requires every client to take it.
// Per rect the manager classifies the pixels (classify.ts) and picks:
//   solid   -> the preferred encoder if it has a compact solid form (Tight fill, ZRLE/Hextile
//              solid tiles, RRE background), else the first of Tight / RRE / Hextile / ZRLE
//              the client supports (TigerVNC: Tight fill, else RRE, ZRLE, Hextile);
//   photo   -> Tight JPEG at the client's quality level, only when Tight(PNG) is preferred and
//              the client sent a quality level (lossy is opt-in), 2 levels lower for an area
//              sent lossy moments ago (video: QEMU forces JPEG by update frequency);
//   palette -> the preferred encoder, lossless.
// The encoders still make their own finer choices (Tight palette vs gradient...). The manager
// splits rects an encoding cannot carry and falls back to Raw when an encoder declines.
// CopyRect is not a pixel encoding: the session sends it for the display's copy hints (copies.ts).

import type { ByteWriter } from '../../shared/bytes';
import { type Rect, splitIntoTiles } from '../../shared/region';
import type { PixelFormat } from '../display/pixel-format';
import type { Surface } from '../display/display';
import { bytesPerPixel } from '../display/pixel-format';
import { analyseRect, type RectClass } from '../updates/classify';
import type { EncodeSettings, Encoder, EncoderFactory } from './encoders/encoder';
import { HextileEncoder } from './encoders/hextile';
import { type JpegJob, submitJpeg } from './encoders/jpeg';
import { RawEncoder } from './encoders/raw';
import { RreEncoder } from './encoders/rre';
import { TightEncoder, TightPngEncoder } from './encoders/tight';
import { ZlibEncoder } from './encoders/zlib';
import { ZrleEncoder } from './encoders/zrle';
import { encodingName, RfbEncoding } from './messages';
import { writeRectHeader } from './server-messages';

/** Every encoding this server implements, each a fresh instance per session. */
export const DEFAULT_ENCODER_FACTORIES: readonly EncoderFactory[] = [
  () => new RawEncoder(),
  () => new RreEncoder(),
  () => new HextileEncoder(),
  () => new ZlibEncoder(),
  () => new ZrleEncoder(),
  () => new TightEncoder(),
  () => new TightPngEncoder(),
];

/**
 * The encoders that keep no state between rects (no zlib stream): any number of instances
 * may write to one client, e.g. a session's inline twin beside its encode worker.
 */
export const STATELESS_ENCODER_FACTORIES: readonly EncoderFactory[] = [
  () => new RawEncoder(),
  () => new RreEncoder(),
  () => new HextileEncoder(),
];

/** rfbproto §7.8.5 / §7.8.6 pseudo-encoding ranges. */
const JPEG_QUALITY_0 = -32;
const COMPRESS_LEVEL_0 = -256;

/** Tallest JPEG MCU (4:2:0 and 4:2:2 are 16 rows, 4:4:4 is 8): split rows are a multiple of it. */
export const JPEG_MCU_ROWS = 16;
/** Widest rect a strip can be (a u16 in the rect header). */
const MAX_RECT_SIDE = 0xffff;
/** Strips (Encoder.stripArea) are whole rows of ZRLE's 64x64 tiles, so the tile grid stays the rect's. */
const STRIP_ROWS_MULTIPLE = 64;

/** JPEG quality levels taken off for an area that was sent lossy moments ago. */
export const JPEG_BUSY_QUALITY_DROP = 2;

/** Solid rects go to the first of these the client supports when its preferred one has no solid form. */
const SOLID_CAPABLE: readonly number[] = [RfbEncoding.Tight, RfbEncoding.RRE, RfbEncoding.Hextile, RfbEncoding.ZRLE, RfbEncoding.TightPNG];

/** What planRect() found for a rect before the frame's rects are written. */
export interface RectPlan {
  kind: RectClass;
  /** Its JPEG, started on a pool thread, if it will be one. */
  jpeg: JpegJob | null;
}

export interface RectOptions {
  /** Never lossy (a lossless refresh of an area sent lossy). */
  lossless?: boolean;
  /** planRect()'s result for this rect (its class is not computed again). */
  plan?: RectPlan;
  /** The area changes fast (was sent lossy moments ago): a lower JPEG quality is fine. */
  busy?: boolean;
  /** Where the rect goes on the client's framebuffer, when `rect` addresses a snapshot (encode-frame.ts). */
  at?: Rect;
  /** EncodeSettings.progress for this rect. */
  progress?: () => void;
  /** The class of the rect's pixels, known from an earlier frame of the same pixels: not analysed again. */
  kind?: RectClass;
}

export interface RectResult {
  encoding: number;
  /** Undefined when the rect was not classified (its class could not change the bytes: `classifies`). */
  kind: RectClass | undefined;
  /** The client now holds an approximation here (Tight JPEG). */
  lossy: boolean;
}

export interface EncoderStats {
  rects: number;
  pixels: number;
  bytes: number;
  ms: number;
}

export class EncodeManager {
  private readonly available = new Map<number, Encoder>();
  private readonly raw: Encoder;
  /** Keyed by encoding name, "Tight JPEG" apart from lossless Tight. */
  private readonly stats = new Map<string, EncoderStats>();
  private readonly classes: Record<RectClass, number> = { solid: 0, palette: 0, photo: 0 };
  private clientEncodings = new Set<number>();
  private chosen: Encoder;
  /** See `classifies`. */
  private needsClass = false;
  readonly settings: EncodeSettings = { qualityLevel: null, compressLevel: null };

  constructor(factories: readonly EncoderFactory[] = DEFAULT_ENCODER_FACTORIES) {
    for (const make of factories) {
      const e = make();
      this.available.set(e.id, e);
    }
    if (!this.available.has(RfbEncoding.Raw)) this.available.set(RfbEncoding.Raw, new RawEncoder());
    this.raw = this.available.get(RfbEncoding.Raw)!;
    this.chosen = this.raw;
  }

  /** Apply a SetEncodings list; returns the encoder now used for pixel rects. */
  setClientEncodings(list: readonly number[]): Encoder {
    this.clientEncodings = new Set(list);
    this.chosen = this.raw;
    this.settings.qualityLevel = null;
    this.settings.compressLevel = null;
    for (const n of list) {
      const e = this.available.get(n);
      if (e) {
        this.chosen = e;
        break;
      }
    }
    // The first of each pseudo-encoding range wins.
    for (const n of list) {
      if (n >= JPEG_QUALITY_0 && n <= JPEG_QUALITY_0 + 9) this.settings.qualityLevel ??= n - JPEG_QUALITY_0;
      if (n >= COMPRESS_LEVEL_0 && n <= COMPRESS_LEVEL_0 + 9) this.settings.compressLevel ??= n - COMPRESS_LEVEL_0;
    }
    const tight = this.chosen.id === RfbEncoding.Tight || this.chosen.id === RfbEncoding.TightPNG;
    const solidElsewhere =
      !SOLID_CAPABLE.includes(this.chosen.id) && SOLID_CAPABLE.some((id) => this.available.has(id) && this.clientEncodings.has(id));
    this.needsClass = tight || solidElsewhere;
    return this.chosen;
  }

  /** Did the client advertise this (pseudo-)encoding? */
  clientSupports(encoding: number): boolean {
    return this.clientEncodings.has(encoding);
  }

  get encoder(): Encoder {
    return this.chosen;
  }

  /**
   * Whether a rect's content class can change what is sent: with Tight (JPEG or not), or when
   * a solid rect would go to another encoding than the chosen one. Otherwise (Raw, Hextile,
   * ZRLE, Zlib alone) encodeRect() does not classify: sampling was 12% of a replay's main
   * thread over Raw (bench:peers sessions).
   */
  get classifies(): boolean {
    return this.needsClass;
  }

  /**
   * The rects as they will go out: split where the chosen encoding has a size limit, or into
   * strips where it prefers them (Encoder.stripArea: Zlib, ZRLE). When JPEG
   * may be used (a quality level), the rows per rect are a multiple of JPEG_MCU_ROWS: a JPEG
   * pads its last MCU row, so 1080p Tight's 34-row strips (2 rows past 32) cost libjpeg-turbo
   * 13.2 ms and 409 KB per frame against 11.6 ms and 379 KB in 32-row strips.
   */
  split(rects: readonly Rect[]): Rect[] {
    const strips = this.chosen.maxRect ? undefined : this.chosen.stripArea;
    const max = this.chosen.maxRect ?? (strips ? { width: MAX_RECT_SIDE, area: strips } : null);
    if (!max) return [...rects];
    const jpeg = this.settings.qualityLevel !== null;
    return rects.flatMap((r) => {
      const w = Math.min(r.width, max.width);
      let rows = Math.max(1, Math.floor(max.area / w));
      if (jpeg && rows > JPEG_MCU_ROWS && rows < r.height) rows -= rows % JPEG_MCU_ROWS;
      if (strips && rows > STRIP_ROWS_MULTIPLE && rows < r.height) rows -= rows % STRIP_ROWS_MULTIPLE;
      return splitIntoTiles(r, w, rows);
    });
  }

  /** A frame may start its JPEGs ahead (planRect): the client sent a quality level and takes Tight. */
  get plansJpeg(): boolean {
    return this.settings.qualityLevel !== null && (this.chosen.id === RfbEncoding.Tight || this.chosen.id === RfbEncoding.TightPNG);
  }

  /**
   * Classify a rect of a frame before any is written, and start its JPEG on the addon's pool
   * threads when encodeRect() will send it as one (the same choice): the frame's JPEGs then
   * compress in parallel while the rects before them are written. Pass the plan to
   * encodeRect(), and release its job once the frame is done.
   */
  planRect(surface: Surface, rect: Rect, clientFormat: PixelFormat, opts: RectOptions = {}): RectPlan {
    const kind = opts.kind ?? analyseRect(surface, rect).kind;
    const settings = this.settingsFor(kind, this.pick(kind, rect), clientFormat, opts);
    return { kind, jpeg: settings.qualityLevel !== null ? submitJpeg(surface, rect, settings.qualityLevel) : null };
  }

  /** Write one pixel rect (already split): header, then the data of the encoder picked for its content, or Raw. */
  encodeRect(surface: Surface, rect: Rect, clientFormat: PixelFormat, w: ByteWriter, opts: RectOptions = {}): RectResult {
    const started = process.hrtime.bigint();
    const before = w.length;
    const kind = opts.plan?.kind ?? opts.kind ?? (this.needsClass ? analyseRect(surface, rect).kind : undefined);
    if (kind) this.classes[kind] += 1;
    let used = this.pick(kind, rect);
    const settings = { ...this.settingsFor(kind, used, clientFormat, opts), jpeg: opts.plan?.jpeg ?? null, progress: opts.progress };
    writeRectHeader(w, opts.at ?? rect, used.id);
    if (!used.encode(surface, rect, clientFormat, w, settings)) {
      w.length = before;
      used = this.raw;
      writeRectHeader(w, opts.at ?? rect, used.id);
      used.encode(surface, rect, clientFormat, w, settings);
    }
    const lossy = settings.qualityLevel !== null && used.lastLossy === true;
    const s = this.statsFor(lossy ? `${encodingName(used.id)} JPEG` : encodingName(used.id));
    s.rects += 1;
    s.pixels += rect.width * rect.height;
    s.bytes += w.length - before;
    s.ms += Number(process.hrtime.bigint() - started) / 1e6;
    return { encoding: used.id, kind, lossy };
  }

  /** Per-encoder totals, keyed by encoding name ("Tight JPEG" for lossy Tight rects). */
  snapshot(): Record<string, EncoderStats> {
    const out: Record<string, EncoderStats> = {};
    for (const [name, s] of this.stats) out[name] = { ...s };
    return out;
  }

  /** Rects per content class. */
  classCounts(): Record<RectClass, number> {
    return { ...this.classes };
  }

  private pick(kind: RectClass | undefined, rect: Rect): Encoder {
    if (kind !== 'solid' || SOLID_CAPABLE.includes(this.chosen.id)) return this.chosen;
    for (const id of SOLID_CAPABLE) {
      const e = this.available.get(id);
      if (!e || !this.clientEncodings.has(id)) continue;
      const max = e.maxRect ?? null;
      if (max && (rect.width > max.width || rect.width * rect.height > max.area)) continue;
      return e;
    }
    return this.chosen;
  }

  /** JPEG only for photo-like rects, with a quality level, through a Tight-family encoder, at 16/32 bpp. */
  private settingsFor(kind: RectClass | undefined, used: Encoder, pf: PixelFormat, opts: RectOptions): EncodeSettings {
    const q = this.settings.qualityLevel;
    const tight = used.id === RfbEncoding.Tight || used.id === RfbEncoding.TightPNG;
    const lossyOk = kind === 'photo' && q !== null && tight && !opts.lossless && bytesPerPixel(pf) >= 2;
    const qualityLevel = lossyOk ? (opts.busy ? Math.max(0, q - JPEG_BUSY_QUALITY_DROP) : q) : null;
    return { qualityLevel, compressLevel: this.settings.compressLevel };
  }

  private statsFor(name: string): EncoderStats {
    let s = this.stats.get(name);
    if (!s) {
      s = { rects: 0, pixels: 0, bytes: 0, ms: 0 };
      this.stats.set(name, s);
    }
    return s;
  }
}
