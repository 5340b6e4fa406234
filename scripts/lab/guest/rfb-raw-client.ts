// The lab's VNC viewer: RFB 3.8, security None, 32 bpp little-endian true colour, Raw and
// DesktopSize only, so that what it holds is exactly the pixels the server sent.
// The message parser is pure (bytes in, messages out); RawRfbClient is the socket edge.

import * as net from 'node:net';

const ENCODING_RAW = 0;
const ENCODING_DESKTOP_SIZE = -223;
/** Largest screen the lab accepts (fbfront's default videoram is 2 MiB; xenvfb caps far below this). */
const MAX_DIMENSION = 4096;

export type ServerMessage =
  | { type: 'update'; rects: { x: number; y: number; width: number; height: number; encoding: number; pixels?: Uint32Array }[] }
  | { type: 'bell' }
  | { type: 'cut-text'; text: string }
  | { type: 'colour-map' };

/**
 * Parses one server message at the start of `buf`. Returns it with its size, or null when
 * more bytes are needed. Throws on message types or encodings this client never asked for.
 */
export function parseServerMessage(buf: Buffer): { message: ServerMessage; size: number } | null {
  if (buf.length < 1) return null;
  switch (buf[0]) {
    case 0: {
      // u8 type | u8 pad | u16 count | rect[count]
      if (buf.length < 4) return null;
      const count = buf.readUInt16BE(2);
      let off = 4;
      const rects: Extract<ServerMessage, { type: 'update' }>['rects'] = [];
      for (let i = 0; i < count; i++) {
        // u16 x | u16 y | u16 w | u16 h | s32 encoding | data
        if (buf.length < off + 12) return null;
        const x = buf.readUInt16BE(off);
        const y = buf.readUInt16BE(off + 2);
        const width = buf.readUInt16BE(off + 4);
        const height = buf.readUInt16BE(off + 6);
        const encoding = buf.readInt32BE(off + 8);
        off += 12;
        if (width > MAX_DIMENSION || height > MAX_DIMENSION) throw new Error(`rect ${width}x${height} over the lab limit`);
        if (encoding === ENCODING_RAW) {
          const size = width * height * 4;
          if (buf.length < off + size) return null;
          const pixels = new Uint32Array(width * height);
          for (let p = 0; p < pixels.length; p++) pixels[p] = buf.readUInt32LE(off + p * 4);
          rects.push({ x, y, width, height, encoding, pixels });
          off += size;
        } else if (encoding === ENCODING_DESKTOP_SIZE) {
          rects.push({ x, y, width, height, encoding });
        } else {
          throw new Error(`unexpected encoding ${encoding}`);
        }
      }
      return { message: { type: 'update', rects }, size: off };
    }
    case 1: {
      // u8 type | u8 pad | u16 first | u16 count | u16 rgb[count][3]
      if (buf.length < 6) return null;
      const size = 6 + buf.readUInt16BE(4) * 6;
      return buf.length < size ? null : { message: { type: 'colour-map' }, size };
    }
    case 2:
      return { message: { type: 'bell' }, size: 1 };
    case 3: {
      // u8 type | u8 pad[3] | u32 length | u8 text[length]
      if (buf.length < 8) return null;
      const size = 8 + buf.readUInt32BE(4);
      return buf.length < size ? null : { message: { type: 'cut-text', text: buf.toString('latin1', 8, size) }, size };
    }
    default:
      throw new Error(`unexpected server message type ${buf[0]}`);
  }
}

export class RawRfbClient {
  width = 0;
  height = 0;
  /** 0x00RRGGBB, row-major. */
  pixels = new Uint32Array(0);
  updates = 0;
  private buf = Buffer.alloc(0);
  private wake: (() => void)[] = [];
  private error: Error | undefined;

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.notify();
    });
    sock.on('error', (e) => {
      this.error = e;
      this.notify();
    });
    sock.on('close', () => {
      this.error ??= new Error('server closed the connection');
      this.notify();
    });
  }

  static async connect(host: string, port: number, timeoutMs = 10_000): Promise<RawRfbClient> {
    const sock = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`connect ${host}:${port} timed out`)), timeoutMs);
      sock.once('connect', () => (clearTimeout(t), resolve()));
      sock.once('error', (e) => (clearTimeout(t), reject(e)));
    });
    const c = new RawRfbClient(sock);
    await c.handshake(timeoutMs);
    return c;
  }

  private notify(): void {
    for (const w of this.wake.splice(0)) w();
  }

  private async take(n: number, deadline: number): Promise<Buffer> {
    while (this.buf.length < n) await this.waitData(deadline);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  private async waitData(deadline: number): Promise<void> {
    if (this.error) throw this.error;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('timed out waiting for the VNC server');
    await new Promise<void>((r) => {
      this.wake.push(r);
      setTimeout(r, Math.min(left, 200));
    });
  }

  private async handshake(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const version = (await this.take(12, deadline)).toString('latin1');
    if (!version.startsWith('RFB ')) throw new Error(`not an RFB server: ${JSON.stringify(version)}`);
    this.sock.write('RFB 003.008\n');
    const n = (await this.take(1, deadline))[0]!;
    const types = [...(await this.take(n, deadline))];
    if (!types.includes(1)) throw new Error(`server offers no security None (${types.join(',')})`);
    this.sock.write(Buffer.from([1]));
    if ((await this.take(4, deadline)).readUInt32BE(0) !== 0) throw new Error('security handshake failed');
    this.sock.write(Buffer.from([1])); // ClientInit: shared
    // u16 width | u16 height | pixel format[16] | u32 name-length | name
    const init = await this.take(24, deadline);
    await this.take(init.readUInt32BE(20), deadline);
    this.resize(init.readUInt16BE(0), init.readUInt16BE(2));
    // SetPixelFormat: u8 type=0 | u8 pad[3] | bpp 32, depth 24, big-endian 0, true-colour 1,
    // max 255/255/255, shift 16/8/0, pad[3]
    const pf = Buffer.alloc(20);
    pf.set([32, 24, 0, 1], 4);
    pf.writeUInt16BE(255, 8);
    pf.writeUInt16BE(255, 10);
    pf.writeUInt16BE(255, 12);
    pf.set([16, 8, 0], 14);
    // SetEncodings: u8 type=2 | u8 pad | u16 count | s32 encodings[count]
    const enc = Buffer.alloc(12);
    enc[0] = 2;
    enc.writeUInt16BE(2, 2);
    enc.writeInt32BE(ENCODING_RAW, 4);
    enc.writeInt32BE(ENCODING_DESKTOP_SIZE, 8);
    this.sock.write(Buffer.concat([pf, enc]));
  }

  private resize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    this.pixels = new Uint32Array(width * height);
  }

  /** FramebufferUpdateRequest: u8 type=3 | u8 incremental | u16 x | u16 y | u16 w | u16 h */
  request(incremental: boolean): void {
    const b = Buffer.alloc(10);
    b[0] = 3;
    b[1] = incremental ? 1 : 0;
    b.writeUInt16BE(this.width, 6);
    b.writeUInt16BE(this.height, 8);
    this.sock.write(b);
  }

  /** Applies server messages until one FramebufferUpdate has been applied. */
  async nextUpdate(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parseServerMessage(this.buf);
      if (!parsed) {
        await this.waitData(deadline);
        continue;
      }
      this.buf = this.buf.subarray(parsed.size);
      if (parsed.message.type !== 'update') continue;
      for (const r of parsed.message.rects) {
        if (r.encoding === ENCODING_DESKTOP_SIZE) this.resize(r.width, r.height);
        else if (r.pixels) this.blit(r.x, r.y, r.width, r.height, r.pixels);
      }
      this.updates++;
      return;
    }
  }

  private blit(x: number, y: number, w: number, h: number, src: Uint32Array): void {
    if (x + w > this.width || y + h > this.height) throw new Error(`rect ${w}x${h}+${x}+${y} outside ${this.width}x${this.height}`);
    for (let row = 0; row < h; row++) this.pixels.set(src.subarray(row * w, row * w + w), (y + row) * this.width + x);
  }

  /** KeyEvent: u8 type=4 | u8 down | u16 pad | u32 keysym */
  key(keysym: number, down: boolean): void {
    const b = Buffer.alloc(8);
    b[0] = 4;
    b[1] = down ? 1 : 0;
    b.writeUInt32BE(keysym, 4);
    this.sock.write(b);
  }

  /** PointerEvent: u8 type=5 | u8 button-mask | u16 x | u16 y */
  pointer(x: number, y: number, mask: number): void {
    const b = Buffer.alloc(6);
    b[0] = 5;
    b[1] = mask;
    b.writeUInt16BE(x, 2);
    b.writeUInt16BE(y, 4);
    this.sock.write(b);
  }

  close(): void {
    this.sock.destroy();
  }
}
