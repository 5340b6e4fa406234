// A minimal RFB 3.8 client for tests that need to *send* input (security None, native pixel
// format). Screenshots are taken with real clients (gvnccapture, vncsnapshot) instead.

import * as net from 'node:net';

export class TinyRfbClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  width = 0;
  height = 0;
  name = '';

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

  close(): void {
    this.sock.destroy();
  }
}
