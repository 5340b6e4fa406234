// A minimal RFB 3.8 client for tests that need to *send* input (security None, native pixel
// format), and, with startUpdates(), to follow the screen with incremental Raw updates into
// a local XRGB8888 framebuffer. Screenshots are taken with real clients (gvnccapture,
// vncsnapshot) instead.

import * as net from 'node:net';

export class TinyRfbClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  width = 0;
  height = 0;
  name = '';
  /** XRGB8888 pixels (0x00RRGGBB) once startUpdates() ran; row-major, width per row. */
  fb = new Uint32Array(0);
  /** FramebufferUpdate messages and pixel bytes received. */
  updates = 0;
  rects = 0;
  bytes = 0;
  /** Called after every FramebufferUpdate is applied (latency measurements). */
  onUpdate: ((rects: { x: number; y: number; width: number; height: number }[]) => void) | undefined;
  private closed = false;

  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(host: string, port: number): Promise<TinyRfbClient> {
    const sock = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const c = new TinyRfbClient(sock);
    await c.handshake();
    return c;
  }

  private async read(n: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buf.length < n) {
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} bytes (have ${this.buf.length})`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  private async handshake(): Promise<void> {
    const version = (await this.read(12)).toString('latin1');
    if (!version.startsWith('RFB ')) throw new Error(`not an RFB server: ${JSON.stringify(version)}`);
    this.sock.write('RFB 003.008\n');
    const n = (await this.read(1))[0]!;
    const types = [...(await this.read(n))];
    if (!types.includes(1)) throw new Error(`server offers no security None: ${types}`);
    this.sock.write(Buffer.from([1]));
    const result = (await this.read(4)).readUInt32BE(0);
    if (result !== 0) throw new Error(`security result ${result}`);
    this.sock.write(Buffer.from([1])); // shared
    const init = await this.read(24);
    this.width = init.readUInt16BE(0);
    this.height = init.readUInt16BE(2);
    const nameLen = init.readUInt32BE(20);
    this.name = (await this.read(nameLen)).toString('utf8');
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

  /**
   * Ask for 32 bpp little-endian XRGB and Raw only, request the whole screen, then request
   * again (incremental) after each update, applying them to `fb`. Runs until close().
   */
  startUpdates(): void {
    this.fb = new Uint32Array(this.width * this.height);
    // SetPixelFormat: u8 type=0 | u8 pad[3] | bpp depth big-endian true-colour | u16 r/g/b max | u8 r/g/b shift | u8 pad[3]
    const pf = Buffer.alloc(20);
    pf.set([32, 24, 0, 1], 4);
    pf.writeUInt16BE(255, 8);
    pf.writeUInt16BE(255, 10);
    pf.writeUInt16BE(255, 12);
    pf.set([16, 8, 0], 14);
    // SetEncodings: u8 type=2 | u8 pad | u16 count | s32 encodings[count] (Raw = 0)
    const enc = Buffer.from([2, 0, 0, 1, 0, 0, 0, 0]);
    this.sock.write(Buffer.concat([pf, enc]));
    this.requestUpdate(false);
    this.sock.once('close', () => (this.closed = true));
    void this.pump().catch(() => undefined);
  }

  /** FramebufferUpdateRequest: u8 type=3 | u8 incremental | u16 x | u16 y | u16 w | u16 h */
  requestUpdate(incremental: boolean): void {
    const b = Buffer.alloc(10);
    b[0] = 3;
    b[1] = incremental ? 1 : 0;
    b.writeUInt16BE(this.width, 6);
    b.writeUInt16BE(this.height, 8);
    this.sock.write(b);
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      const type = (await this.read(1, Infinity))[0]!;
      if (type === 0) await this.readUpdate();
      else if (type === 1)
        await this.read((await this.read(5, Infinity)).readUInt16BE(3) * 6, Infinity); // colour map
      else if (type === 3)
        await this.read((await this.read(7, Infinity)).readUInt32BE(3), Infinity); // cut text
      else if (type !== 2) throw new Error(`unexpected server message ${type}`); // 2 = Bell
    }
  }

  // FramebufferUpdate: u8 type=0 | u8 pad | u16 count | { u16 x, y, w, h | s32 encoding | pixels }[count]
  private async readUpdate(): Promise<void> {
    const count = (await this.read(3, Infinity)).readUInt16BE(1);
    const rects: { x: number; y: number; width: number; height: number }[] = [];
    for (let i = 0; i < count; i++) {
      const h = await this.read(2 + 2 + 2 + 2 + 4, Infinity);
      const r = { x: h.readUInt16BE(0), y: h.readUInt16BE(2), width: h.readUInt16BE(4), height: h.readUInt16BE(6) };
      const encoding = h.readInt32BE(8);
      if (encoding !== 0) throw new Error(`unexpected encoding ${encoding} (only Raw was asked for)`);
      const px = await this.read(r.width * r.height * 4, Infinity);
      for (let y = 0; y < r.height; y++) {
        for (let x = 0; x < r.width; x++) this.fb[(r.y + y) * this.width + r.x + x] = px.readUInt32LE((y * r.width + x) * 4) & 0xffffff;
      }
      this.bytes += px.length;
      rects.push(r);
    }
    this.updates++;
    this.rects += count;
    this.onUpdate?.(rects);
    this.requestUpdate(true);
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }
}
