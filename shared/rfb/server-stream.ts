// Reads the server-to-client half of an RFB 3.3 session as rfbproxy records it (FBS):
// ProtocolVersion, the 3.3 security word, ServerInit, then server messages (rfbproto §7.1.1,
// §7.1.2 for 3.3, §7.3.2, §7.6). Pure: the whole stream is given; each call to next() decodes
// one message, drawing FramebufferUpdate rects into the framebuffer.

import { ByteReader } from '../bytes';
import { isXenvfbError, xerror } from '../errors';
import type { Rect } from '../region';
import { RfbRectDecoder } from './decoders';
import { RfbEncodingNumber, rfbEncodingName } from './encodings';
import { Framebuffer } from './framebuffer';
import { decodeRfbPixelFormat, pixelToRgb, readPixel, type RfbPixelFormat } from './pixel-format';

/** Longest desktop name or cut text we accept (rfbproto gives no limit; 1 MiB is plenty). */
export const RFB_MAX_TEXT = 1 << 20;
/** Largest cursor side in a Cursor / XCursor pseudo-rect. */
export const RFB_MAX_CURSOR = 256;

export interface ServerInit {
  version: string;
  width: number;
  height: number;
  format: RfbPixelFormat;
  name: string;
}

/** One rect of an update as it changed the framebuffer. */
export type UpdatePart =
  | { kind: 'pixels'; rect: Rect; encoding: number; /** The rect's pixels right after it was drawn (with keepPixels). */ data?: Uint8Array }
  | { kind: 'copy'; rect: Rect; srcX: number; srcY: number }
  | { kind: 'resize'; width: number; height: number }
  | { kind: 'cursor'; hotX: number; hotY: number; width: number; height: number; rgba: Uint8Array }
  | { kind: 'pointer'; x: number; y: number };

export type ServerEvent = { kind: 'update'; parts: UpdatePart[]; end: number } | { kind: 'bell' | 'colourmap' | 'cut-text'; end: number };

export class RfbServerStreamReader {
  readonly init: ServerInit;
  readonly fb: Framebuffer;
  readonly decoder = new RfbRectDecoder();
  private readonly r: ByteReader;

  /** keepPixels: give each pixel part the rect's pixels as drawn (before later rects change them). */
  constructor(
    stream: Uint8Array,
    private readonly keepPixels = false,
  ) {
    this.r = new ByteReader(stream);
    try {
      this.init = this.handshake();
    } catch (e) {
      throw short(e, 'the handshake');
    }
    this.fb = new Framebuffer(this.init.width, this.init.height, this.init.format);
  }

  /** Offset of the next message. */
  get offset(): number {
    return this.r.offset;
  }

  get done(): boolean {
    return this.r.remaining === 0;
  }

  // "RFB 003.003\n" | u32 security (3.3) | [u8 challenge[16] | u32 result] (VNC auth) |
  // ServerInit: u16 width | u16 height | PIXEL_FORMAT (16) | u32 name_length | name
  private handshake(): ServerInit {
    const version = this.r.ascii(12);
    if (!/^RFB 003\.00[3-8]\n$/.test(version))
      throw xerror('FBS_E_BAD_STREAM', `RFB stream starts with ${JSON.stringify(version)}, not "RFB 003.00x"`);
    const security = this.r.u32be();
    if (security === 0) throw xerror('FBS_E_BAD_STREAM', 'the recorded server refused the connection (security 0)');
    if (security === 2) {
      this.r.skip(16);
      if (this.r.u32be() !== 0) throw xerror('FBS_E_BAD_STREAM', 'the recorded VNC authentication failed');
    } else if (security !== 1) throw xerror('FBS_E_BAD_STREAM', `security type ${security} in an RFB 3.3 recording`);
    const width = this.r.u16be();
    const height = this.r.u16be();
    let format: RfbPixelFormat;
    try {
      format = decodeRfbPixelFormat(this.r.bytesView(16));
    } catch (e) {
      if (isXenvfbError(e, 'RFB_E_UNSUPPORTED')) throw xerror('FBS_E_BAD_STREAM', `ServerInit: ${e.message}`);
      throw e;
    }
    const nameLength = this.r.u32be();
    if (nameLength > RFB_MAX_TEXT) throw xerror('FBS_E_BAD_STREAM', `desktop name of ${nameLength} bytes`);
    return { version: version.trim(), width, height, format, name: this.r.utf8(nameLength) };
  }

  /** Decode the next server message. Throws FBS_E_TRUNCATED when the stream ends inside it. */
  next(): ServerEvent {
    try {
      const type = this.r.u8();
      switch (type) {
        case 0:
          return this.update();
        case 1: {
          // u8 pad | u16 first | u16 count | count x (u16 r | u16 g | u16 b)
          this.r.skip(3);
          this.r.skip(this.r.u16be() * 6);
          return { kind: 'colourmap', end: this.r.offset };
        }
        case 2:
          return { kind: 'bell', end: this.r.offset };
        case 3: {
          // u8 pad[3] | u32 length | text
          this.r.skip(3);
          const n = this.r.u32be();
          if (n > RFB_MAX_TEXT) throw xerror('FBS_E_BAD_STREAM', `ServerCutText of ${n} bytes`);
          this.r.skip(n);
          return { kind: 'cut-text', end: this.r.offset };
        }
        default:
          throw xerror('FBS_E_BAD_STREAM', `server message type ${type} at offset ${this.r.offset - 1}`);
      }
    } catch (e) {
      throw short(e, 'a server message');
    }
  }

  // u8 pad | u16 count | count x (u16 x | u16 y | u16 w | u16 h | s32 encoding | data)
  private update(): ServerEvent {
    this.r.skip(1);
    const count = this.r.u16be();
    const parts: UpdatePart[] = [];
    for (let i = 0; i < count; i++) {
      const rect = { x: this.r.u16be(), y: this.r.u16be(), width: this.r.u16be(), height: this.r.u16be() };
      const encoding = this.r.s32be();
      if (encoding === RfbEncodingNumber.LastRect) break;
      const part = this.pseudo(rect, encoding);
      if (part) {
        parts.push(part);
        continue;
      }
      try {
        const copy = this.decoder.decodeRect(this.r, rect, encoding, this.fb);
        if (copy) parts.push({ kind: 'copy', rect, ...copy });
        else
          parts.push(this.keepPixels ? { kind: 'pixels', rect, encoding, data: this.fb.read(rect) } : { kind: 'pixels', rect, encoding });
      } catch (e) {
        if (isXenvfbError(e, 'RFB_E_DECODE') || isXenvfbError(e, 'RFB_E_UNSUPPORTED')) {
          throw xerror(
            'FBS_E_BAD_STREAM',
            `${rfbEncodingName(encoding)} rect ${rect.width}x${rect.height}+${rect.x}+${rect.y}: ${e.message}`,
          );
        }
        throw e;
      }
    }
    return { kind: 'update', parts, end: this.r.offset };
  }

  /** Pseudo-encodings that can appear in a recording; null for pixel encodings. */
  private pseudo(rect: Rect, encoding: number): UpdatePart | null {
    switch (encoding) {
      case RfbEncodingNumber.DesktopSize:
        this.fb.resize(rect.width, rect.height);
        return { kind: 'resize', width: rect.width, height: rect.height };
      case RfbEncodingNumber.PointerPos:
        return { kind: 'pointer', x: rect.x, y: rect.y };
      case RfbEncodingNumber.Cursor:
        return this.cursor(rect, false);
      case RfbEncodingNumber.XCursor:
        return this.cursor(rect, true);
      default:
        return null;
    }
  }

  // Cursor: w*h PIXELs | mask ((w+7)/8 * h).  XCursor: [u8 fg rgb | u8 bg rgb | bitmap | mask] when w*h > 0.
  private cursor(rect: Rect, x11: boolean): UpdatePart {
    const { width: w, height: h } = rect;
    if (w > RFB_MAX_CURSOR || h > RFB_MAX_CURSOR) throw xerror('FBS_E_BAD_STREAM', `cursor ${w}x${h} larger than RFB_MAX_CURSOR`);
    const rgba = new Uint8Array(w * h * 4);
    const maskBytes = ((w + 7) >> 3) * h;
    if (w * h > 0) {
      const bit = (m: Uint8Array, x: number, y: number): number => (m[y * ((w + 7) >> 3) + (x >> 3)]! >> (7 - (x & 7))) & 1;
      let colour: (x: number, y: number) => [number, number, number];
      if (x11) {
        const fg = [this.r.u8(), this.r.u8(), this.r.u8()] as [number, number, number];
        const bg = [this.r.u8(), this.r.u8(), this.r.u8()] as [number, number, number];
        const bitmap = this.r.bytesView(maskBytes);
        colour = (x, y) => (bit(bitmap, x, y) ? fg : bg);
      } else {
        const px = this.r.bytesView(w * h * this.fb.bpp);
        colour = (x, y) => pixelToRgb(readPixel(px, (y * w + x) * this.fb.bpp, this.fb.format), this.fb.format);
      }
      const mask = this.r.bytesView(maskBytes);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const o = (y * w + x) * 4;
          [rgba[o], rgba[o + 1], rgba[o + 2]] = colour(x, y);
          rgba[o + 3] = bit(mask, x, y) ? 255 : 0;
        }
      }
    }
    return { kind: 'cursor', hotX: rect.x, hotY: rect.y, width: w, height: h, rgba };
  }
}

function short(e: unknown, what: string): unknown {
  if (isXenvfbError(e, 'BYTES_E_SHORT')) return xerror('FBS_E_TRUNCATED', `the recording ends inside ${what}`);
  if (isXenvfbError(e, 'RFB_E_UNSUPPORTED')) return xerror('FBS_E_BAD_STREAM', e.message);
  return e;
}
