// A raw RFB 3.8 client that keeps asking for updates and counts them (security None, the
// server's native XRGB8888 format). It parses rect boundaries for every encoding the server
// sends without decoding pixels, so one process can drive a server as fast as it goes.
// Used by the slow-client and fuzz tests and by `npm run bench:vnc` (fps over loopback).

import * as net from 'node:net';

const SERVER_INIT_SIZE = 2 + 2 + 16 + 4;
/** Tight TPIXEL / ZRLE CPIXEL for 32 bpp depth 24 (the server's native format). */
const PX3 = 3;
const BPP = 4;

/**
 * Bytes of one rect's data at b[o..], known from its prefix (the data itself may not be
 * there yet), or -1 when more of the prefix is needed. Hextile has no prefix: see HextileSkipper.
 */
export function rectDataSize(b: Buffer, o: number, enc: number, w: number, h: number): number {
  const need = (n: number): number => n;
  switch (enc) {
    case 0: // Raw
      return need(w * h * BPP);
    case 2: {
      // RRE: u32 n | PIXEL bg | n x (PIXEL | 4 x u16)
      if (o + 4 > b.length) return -1;
      return need(4 + BPP + b.readUInt32BE(o) * (BPP + 8));
    }
    case 6: // Zlib
    case 16: // ZRLE
      if (o + 4 > b.length) return -1;
      return need(4 + b.readUInt32BE(o));
    case 7:
    case -260:
      return tightSize(b, o, w, h);
    case -223: // DesktopSize
    case -224: // LastRect
      return 0;
    case -308: {
      // ExtendedDesktopSize: u8 n | 3 pad | n x 16
      if (o + 1 > b.length) return -1;
      return need(4 + b[o]! * 16);
    }
    default:
      throw new Error(`rfb-stream-client: no size rule for encoding ${enc}`);
  }
}

/** Walks Hextile tiles (rfbproto §7.7.4) as bytes arrive; each tile is at most 1 + 16*16*4 bytes. */
class HextileSkipper {
  private tile = 0;
  private readonly cols: number;
  private readonly total: number;
  constructor(
    private readonly w: number,
    private readonly h: number,
  ) {
    this.cols = Math.ceil(w / 16);
    this.total = this.cols * Math.ceil(h / 16);
  }
  /** Consume whole tiles from b[o..]; returns the new offset. done() says when the rect ended. */
  feed(b: Buffer, start: number): number {
    let o = start;
    while (this.tile < this.total) {
      const tw = Math.min(16, this.w - (this.tile % this.cols) * 16);
      const th = Math.min(16, this.h - Math.floor(this.tile / this.cols) * 16);
      let p = o;
      if (p >= b.length) return o;
      const sub = b[p++]!;
      if (sub & 1) p += tw * th * BPP;
      else {
        if (sub & 2) p += BPP;
        if (sub & 4) p += BPP;
        if (sub & 8) {
          if (p >= b.length) return o;
          const n = b[p++]!;
          p += n * ((sub & 16 ? BPP : 0) + 2);
        }
      }
      if (p > b.length) return o;
      o = p;
      this.tile++;
    }
    return o;
  }
  done(): boolean {
    return this.tile >= this.total;
  }
}

function tightSize(b: Buffer, start: number, w: number, h: number): number {
  let o = start;
  const compact = (): number => {
    let n = 0;
    for (let i = 0; i < 3; i++) {
      if (o >= b.length) return -1;
      const c = b[o++]!;
      n |= (i < 2 ? c & 0x7f : c) << (7 * i);
      if (i < 2 && !(c & 0x80)) break;
    }
    return n;
  };
  if (o >= b.length) return -1;
  const kind = b[o++]! >> 4;
  if (kind === 8) return o + PX3 - start;
  if (kind === 9 || kind === 10) {
    const n = compact();
    return n >= 0 ? o + n - start : -1;
  }
  let rowBits = w * PX3 * 8;
  if (kind & 4) {
    if (o >= b.length) return -1;
    const filter = b[o++]!;
    if (filter === 1) {
      if (o >= b.length) return -1;
      const colours = b[o++]! + 1;
      o += colours * PX3;
      rowBits = colours === 2 ? w : w * 8;
    }
  }
  if (o > b.length) return -1;
  const raw = Math.ceil(rowBits / 8) * h;
  if (raw < 12) return o + raw - start;
  const n = compact();
  return n >= 0 ? o + n - start : -1;
}

export interface StreamClientOptions {
  encodings: number[];
  /** Keep requesting incremental updates after each complete one (default true). */
  loop?: boolean;
}

export class RfbStreamClient {
  width = 0;
  height = 0;
  updates = 0;
  rects = 0;
  bytes = 0;
  closed = false;
  private buf: Buffer = Buffer.alloc(0);
  private initDone = false;

  private constructor(
    readonly socket: net.Socket,
    private readonly opts: StreamClientOptions,
  ) {}

  static connect(port: number, opts: StreamClientOptions, host = '127.0.0.1'): Promise<RfbStreamClient> {
    const socket = net.connect(port, host);
    const c = new RfbStreamClient(socket, opts);
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.on('close', () => (c.closed = true));
      socket.on('data', (d: Buffer) => {
        c.bytes += d.length;
        c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
        try {
          if (c.handshake()) {
            socket.off('error', reject);
            resolve(c);
          }
          if (c.initDone) c.drainUpdates();
        } catch (e) {
          socket.destroy(e as Error);
          reject(e);
        }
      });
    });
  }

  /** FramebufferUpdateRequest: u8 3 | u8 incremental | u16 x | u16 y | u16 w | u16 h */
  request(incremental: boolean): void {
    const b = Buffer.alloc(10);
    b[0] = 3;
    b[1] = incremental ? 1 : 0;
    b.writeUInt16BE(this.width, 6);
    b.writeUInt16BE(this.height, 8);
    if (!this.socket.destroyed) this.socket.write(b);
  }

  close(): void {
    this.socket.destroy();
  }

  /** True once ServerInit was read (and the first request sent). */
  private handshake(): boolean {
    if (this.initDone) return false;
    const b = this.buf;
    if (b.length < 12) return false;
    if (!this.sentVersion) {
      // Pipelined: version, security None, ClientInit shared; the server reads them in turn.
      this.socket.write('RFB 003.008\n');
      this.socket.write(Buffer.of(1)); // security None (offered first by default)
      this.socket.write(Buffer.of(1)); // shared
      this.sentVersion = true;
    }
    if (b.length < 13) return false;
    const nTypes = b[12]!;
    const afterTypes = 13 + nTypes;
    const initAt = afterTypes + 4;
    if (b.length < initAt + SERVER_INIT_SIZE) return false;
    const nameLen = b.readUInt32BE(initAt + 20);
    if (b.length < initAt + SERVER_INIT_SIZE + nameLen) return false;
    this.width = b.readUInt16BE(initAt);
    this.height = b.readUInt16BE(initAt + 2);
    this.buf = b.subarray(initAt + SERVER_INIT_SIZE + nameLen);
    const enc = Buffer.alloc(4 + 4 * this.opts.encodings.length);
    enc[0] = 2;
    enc.writeUInt16BE(this.opts.encodings.length, 2);
    this.opts.encodings.forEach((e, i) => enc.writeInt32BE(e, 4 + 4 * i));
    this.socket.write(enc);
    this.request(false);
    this.initDone = true;
    return true;
  }
  private sentVersion = false;

  /** Rects left in the current update (-1: between updates), bytes of rect data still to skip. */
  private rectsLeft = -1;
  private rectsInUpdate = 0;
  private skip = 0;
  private hextile: HextileSkipper | null = null;

  /** Consume FramebufferUpdates as they stream in, skipping pixel data without buffering it. */
  private drainUpdates(): void {
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.buf.length);
        this.skip -= n;
        this.buf = this.buf.subarray(n);
        if (this.skip > 0) return;
      }
      if (this.hextile) {
        const o = this.hextile.feed(this.buf, 0);
        this.buf = this.buf.subarray(o);
        if (!this.hextile.done()) return;
        this.hextile = null;
      }
      const b = this.buf;
      if (this.rectsLeft === 0) {
        this.rectsLeft = -1;
        this.updates += 1;
        this.rects += this.rectsInUpdate;
        if (this.opts.loop !== false) this.request(true);
        continue;
      }
      if (this.rectsLeft < 0) {
        if (b.length < 4) return;
        if (b[0] !== 0) throw new Error(`rfb-stream-client: server message ${b[0]}`);
        this.rectsLeft = this.rectsInUpdate = b.readUInt16BE(2);
        this.buf = b.subarray(4);
        continue;
      }
      if (b.length < 12) return;
      const enc = b.readInt32BE(8);
      const w = b.readUInt16BE(4);
      const h = b.readUInt16BE(6);
      if (enc === 5) {
        this.hextile = new HextileSkipper(w, h);
        this.buf = b.subarray(12);
        this.rectsLeft--;
        continue;
      }
      const size = rectDataSize(b, 12, enc, w, h);
      if (size < 0) return;
      this.buf = b.subarray(12);
      this.skip = size;
      this.rectsLeft--;
      if (this.skip === 0) continue;
    }
  }
}
