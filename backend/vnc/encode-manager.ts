// Chooses an encoder per client from its SetEncodings list (the client's order is its
// preference, rfbproto §7.5.2), writes rect headers, and keeps per-encoder stats, like
// TigerVNC's EncodeManager. Raw is always available: rfbproto requires every client to take it.

import type { ByteWriter } from '../../shared/bytes';
import type { Rect } from '../../shared/region';
import type { PixelFormat, Surface } from '../display/display';
import type { Encoder } from './encoders/encoder';
import { RawEncoder } from './encoders/raw';
import { encodingName, RfbEncoding } from './messages';

/** rfbproto §7.6.1 rectangle header: u16 x | u16 y | u16 w | u16 h | s32 encoding. */
export const RECT_HEADER_SIZE = 2 + 2 + 2 + 2 + 4;

export interface EncoderStats {
  rects: number;
  pixels: number;
  bytes: number;
  ms: number;
}

export function writeRectHeader(w: ByteWriter, r: Rect, encoding: number): void {
  w.u16be(r.x).u16be(r.y).u16be(r.width).u16be(r.height).s32be(encoding);
}

export class EncodeManager {
  private readonly available = new Map<number, Encoder>();
  private readonly stats = new Map<number, EncoderStats>();
  private clientEncodings = new Set<number>();
  private chosen: Encoder;

  constructor(encoders: readonly Encoder[] = [new RawEncoder()]) {
    for (const e of encoders) this.available.set(e.id, e);
    if (!this.available.has(RfbEncoding.Raw)) this.available.set(RfbEncoding.Raw, new RawEncoder());
    this.chosen = this.available.get(RfbEncoding.Raw)!;
  }

  /** Apply a SetEncodings list; returns the encoder now used for pixel rects. */
  setClientEncodings(list: readonly number[]): Encoder {
    this.clientEncodings = new Set(list);
    this.chosen = this.available.get(RfbEncoding.Raw)!;
    for (const n of list) {
      const e = this.available.get(n);
      if (e) {
        this.chosen = e;
        break;
      }
    }
    return this.chosen;
  }

  /** Did the client advertise this (pseudo-)encoding? */
  clientSupports(encoding: number): boolean {
    return this.clientEncodings.has(encoding);
  }

  get encoder(): Encoder {
    return this.chosen;
  }

  /** Write one pixel rect: header, then the chosen encoder's data. */
  encodeRect(surface: Surface, rect: Rect, clientFormat: PixelFormat, w: ByteWriter): void {
    const started = process.hrtime.bigint();
    const before = w.length;
    writeRectHeader(w, rect, this.chosen.id);
    this.chosen.encode(surface, rect, clientFormat, w);
    const s = this.statsFor(this.chosen.id);
    s.rects += 1;
    s.pixels += rect.width * rect.height;
    s.bytes += w.length - before;
    s.ms += Number(process.hrtime.bigint() - started) / 1e6;
  }

  /** Per-encoder totals, keyed by encoding name. */
  snapshot(): Record<string, EncoderStats> {
    const out: Record<string, EncoderStats> = {};
    for (const [id, s] of this.stats) out[encodingName(id)] = { ...s };
    return out;
  }

  private statsFor(id: number): EncoderStats {
    let s = this.stats.get(id);
    if (!s) {
      s = { rects: 0, pixels: 0, bytes: 0, ms: 0 };
      this.stats.set(id, s);
    }
    return s;
  }
}
