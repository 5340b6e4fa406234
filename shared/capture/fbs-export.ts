// Capture records -> FBS 001.001 (rfbproxy): the server half of an RFB 3.3 session with
// security None. Records with the same time form one FramebufferUpdate in one FBS block:
// DAMAGE rects as Raw, COPY as CopyRect, a geometry change as DesktopSize followed by the
// new picture. Keyframes that do not change the picture send nothing, so
// export(import(export(x))) gives the same bytes as export(x). Pure: records in, bytes out.

import { ByteWriter } from '../bytes';
import { xerror } from '../errors';
import type { Rect } from '../region';
import { RfbEncodingNumber } from '../rfb/encodings';
import { encodeRfbPixelFormat, pixelFormatsEqual } from '../rfb/pixel-format';
import { encodeFbs, type FbsBlock } from './fbs';
import type { CaptureRecord, Geometry } from './format';
import { FrameState } from './frame-state';

export interface FbsExportOptions {
  /** Desktop name in ServerInit. */
  name?: string;
}

export class FbsExporter {
  private readonly blocks: FbsBlock[] = [];
  private readonly state = new FrameState();
  private geometry: Geometry | null = null;
  private pending: ByteWriter | null = null;
  private pendingRects = 0;
  private pendingTime = 0;
  updates = 0;

  constructor(private readonly opts: FbsExportOptions = {}) {}

  add(rec: CaptureRecord): void {
    if (rec.type !== 'keyframe' && rec.type !== 'damage' && rec.type !== 'copy') return;
    if (!this.geometry) {
      if (rec.type !== 'keyframe') throw xerror('CAP_E_NO_GEOMETRY', 'the capture has pixels before its first keyframe');
      this.handshake(rec.geometry, rec.timeMs);
    }
    if (this.pending && rec.timeMs !== this.pendingTime) this.flush();
    this.pendingTime = rec.timeMs;
    if (rec.type === 'keyframe') this.keyframe(rec.geometry, rec.pixels);
    else if (rec.type === 'damage') {
      let o = 0;
      for (const r of rec.rects) {
        const size = r.width * r.height * rec.bytesPerPixel;
        this.rect(r, RfbEncodingNumber.Raw).bytes(rec.pixels.subarray(o, o + size));
        o += size;
      }
      this.state.apply(rec);
    } else {
      for (const c of rec.copies)
        this.rect({ x: c.dstX, y: c.dstY, width: c.width, height: c.height }, RfbEncodingNumber.CopyRect).u16be(c.srcX).u16be(c.srcY);
      this.state.apply(rec);
    }
  }

  /** The FBS file (call once, after the last record). */
  finish(): Buffer {
    this.flush();
    return encodeFbs(this.blocks);
  }

  // "RFB 003.003\n" | u32 security None (1) | ServerInit: u16 w | u16 h | PIXEL_FORMAT | u32 len | name
  private handshake(g: Geometry, timeMs: number): void {
    const w = new ByteWriter(64);
    const name = this.opts.name ?? 'xenvfb capture';
    w.ascii('RFB 003.003\n').u32be(1).u16be(g.width).u16be(g.height).bytes(encodeRfbPixelFormat(g.format));
    w.u32be(Buffer.byteLength(name)).utf8(name);
    this.blocks.push({ timeMs, data: new Uint8Array(w.finish()) });
    this.geometry = g;
    this.state.apply({ type: 'keyframe', timeMs, geometry: g, pixels: new Uint8Array(g.width * g.height * (g.format.bitsPerPixel >> 3)) });
  }

  private keyframe(g: Geometry, pixels: Uint8Array): void {
    const cur = this.geometry!;
    if (!pixelFormatsEqual(cur.format, g.format)) {
      throw xerror(
        'FBS_E_BAD_STREAM',
        'the capture changes pixel format: an RFB 3.3 recording keeps the server format for the whole session',
      );
    }
    const full = { x: 0, y: 0, width: g.width, height: g.height };
    if (cur.width !== g.width || cur.height !== g.height) {
      this.rect(full, RfbEncodingNumber.DesktopSize);
      this.geometry = g;
      // After DesktopSize the client starts from a cleared framebuffer (as our decoder does).
      this.state.apply({ type: 'keyframe', timeMs: 0, geometry: g, pixels: new Uint8Array(pixels.length) });
    }
    if (
      Buffer.compare(
        Buffer.from(this.state.pixels.buffer, this.state.pixels.byteOffset, this.state.pixels.length),
        Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length),
      ) === 0
    )
      return;
    this.rect(full, RfbEncodingNumber.Raw).bytes(pixels);
    this.state.pixels.set(pixels);
  }

  /** Start a rect in the pending update; returns the writer for its data. */
  private rect(r: Rect, encoding: number): ByteWriter {
    if (!this.pending) {
      this.pending = new ByteWriter(4096);
      // FramebufferUpdate: u8 type 0 | u8 pad | u16 count (patched at flush)
      this.pending.u8(0).u8(0).u16be(0);
      this.pendingRects = 0;
    }
    if (this.pendingRects === 0xffff) {
      this.flush();
      return this.rect(r, encoding);
    }
    this.pendingRects++;
    return this.pending.u16be(r.x).u16be(r.y).u16be(r.width).u16be(r.height).s32be(encoding);
  }

  private flush(): void {
    if (!this.pending) return;
    this.pending.patchU16be(2, this.pendingRects);
    this.blocks.push({ timeMs: this.pendingTime, data: new Uint8Array(this.pending.finish()) });
    this.pending = null;
    this.updates++;
  }
}
