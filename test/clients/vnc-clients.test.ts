// Real VNC clients nobody here wrote (gvnccapture from gvncviewer, vncsnapshot) against
// VncServer, plus a raw-socket client for input. Missing binaries make tests pending.

import { strict as assert } from 'node:assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import type { Surface } from '../../backend/display/display';
import { BTN_LEFT, KEY_A } from '../../backend/input/linux-input-codes';
import { VncServer } from '../../backend/vnc/server';
import { RecordingInput, TestDisplay } from '../unit/vnc/helpers';
import { waitFor } from '../helpers/wait-for';

const WIDTH = 320;
const HEIGHT = 200;

function which(bin: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** A 320x200 PNG: 16x16 blocks of distinct colours plus a little per-pixel detail. */
function makePatternPng(): Buffer {
  const png = new PNG({ width: WIDTH, height: HEIGHT });
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const bx = x >> 4;
      const by = y >> 4;
      const i = (y * WIDTH + x) * 4;
      png.data[i] = (bx * 37 + by * 11 + ((x + y) & 3)) & 255;
      png.data[i + 1] = (by * 59 + bx * 13) & 255;
      png.data[i + 2] = ((bx ^ by) * 97 + (x & 1)) & 255;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

function surfaceFromPng(file: Buffer): Surface {
  const png = PNG.sync.read(file);
  const stride = png.width * 4;
  const data = new Uint8Array(stride * png.height);
  for (let i = 0; i < png.width * png.height; i++) {
    data[i * 4] = png.data[i * 4 + 2]!;
    data[i * 4 + 1] = png.data[i * 4 + 1]!;
    data[i * 4 + 2] = png.data[i * 4]!;
  }
  return { width: png.width, height: png.height, stride, format: PIXEL_FORMAT_XRGB8888, data };
}

/** A binary PPM (P6, maxval 255) as an RGBA image. */
function readPpm(bytes: Buffer): PNG {
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(bytes.subarray(0, 64).toString('latin1'));
  assert.ok(m, 'not a P6 PPM');
  const [width, height] = [Number(m[1]), Number(m[2])];
  const pixels = bytes.subarray(m[0].length);
  const img = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    img.data[i * 4] = pixels[i * 3]!;
    img.data[i * 4 + 1] = pixels[i * 3 + 1]!;
    img.data[i * 4 + 2] = pixels[i * 3 + 2]!;
    img.data[i * 4 + 3] = 255;
  }
  return img;
}

function rgbAt(s: Surface, x: number, y: number): [number, number, number] {
  const i = y * s.stride + x * 4;
  return [s.data[i + 2]!, s.data[i + 1]!, s.data[i]!];
}

/** Largest channel difference, and the mean, between an RGBA image and the surface. */
function compare(img: PNG, s: Surface): { max: number; mean: number; firstBad?: string } {
  assert.equal(img.width, s.width);
  assert.equal(img.height, s.height);
  let max = 0;
  let sum = 0;
  let firstBad: string | undefined;
  for (let y = 0; y < s.height; y++) {
    for (let x = 0; x < s.width; x++) {
      const want = rgbAt(s, x, y);
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(img.data[(y * img.width + x) * 4 + c]! - want[c]!);
        if (d > 0 && !firstBad)
          firstBad = `(${x},${y}) got ${[...img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3)]} want ${want}`;
        max = Math.max(max, d);
        sum += d;
      }
    }
  }
  return { max, mean: sum / (s.width * s.height * 3), firstBad };
}

function run(bin: string, args: string[], timeoutMs = 10000): Promise<{ code: number | null; ms: number; stderr: string }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - started, stderr });
    });
  });
}

/** Reads exact byte counts from a socket. */
class SocketReader {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  constructor(sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
  }
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) await new Promise<void>((r) => (this.waiter = r));
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

/** RFB 3.8 handshake by hand; returns the reader positioned after ServerInit. */
async function rawClient(port: number, shared = true): Promise<{ sock: net.Socket; reader: SocketReader; width: number; height: number }> {
  const sock = net.connect(port, '127.0.0.1');
  const reader = new SocketReader(sock);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  assert.equal((await reader.read(12)).toString('latin1'), 'RFB 003.008\n');
  sock.write('RFB 003.008\n');
  assert.deepEqual([...(await reader.read(2))], [1, 1]);
  sock.write(Buffer.of(1));
  assert.equal((await reader.read(4)).readUInt32BE(0), 0);
  sock.write(Buffer.of(shared ? 1 : 0)); // ClientInit shared-flag
  const init = await reader.read(2 + 2 + 16 + 4);
  await reader.read(init.readUInt32BE(20));
  return { sock, reader, width: init.readUInt16BE(0), height: init.readUInt16BE(2) };
}

describe('vnc clients (real binaries against VncServer)', function () {
  this.timeout(30000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-vnc-'));
  const surface = surfaceFromPng(makePatternPng());
  const display = new TestDisplay(surface, 'xenvfb client test');
  const input = new RecordingInput();
  let server: VncServer;
  let port = 0;
  let displayNumber = 0;

  before(async () => {
    server = new VncServer({ display, input, name: display.name });
    // Clients take a display number: find a free port in 5900 + [40, 99].
    for (let attempt = 0; attempt < 30; attempt++) {
      const n = 40 + Math.floor(Math.random() * 60);
      try {
        port = (await server.listen('127.0.0.1', 5900 + n)).port;
        displayNumber = n;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      }
    }
    throw new Error('no free port in 5940..5999');
  });

  after(async () => {
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('gvnccapture (3.8, shared=0, native format) gets the exact picture', async function () {
    const bin = which('gvnccapture');
    if (!bin) {
      console.log('      pending: gvnccapture not installed (apt-get install gvncviewer)');
      this.skip();
    }
    const out = path.join(tmp, 'gvnc.png');
    const r = await run(bin!, [`127.0.0.1:${displayNumber}`, out]);
    console.log(`      gvnccapture took ${r.ms} ms`);
    assert.equal(r.code, 0, r.stderr);
    const cmp = compare(PNG.sync.read(fs.readFileSync(out)), surface);
    assert.equal(cmp.max, 0, cmp.firstBad);
  });

  for (const encodings of ['raw', null] as const) {
    const label = encodings ? `-encodings ${encodings}` : 'the default encoding list (LastRect first)';
    it(`vncsnapshot with ${label} (3.3, RGBX SetPixelFormat) matches within JPEG tolerance`, async function () {
      const bin = which('vncsnapshot');
      if (!bin) {
        console.log('      pending: vncsnapshot not installed (apt-get install vncsnapshot)');
        this.skip();
      }
      const out = path.join(tmp, `snap-${encodings ?? 'default'}.jpg`);
      const args = ['-quiet', '-allowblank', '-quality', '100', ...(encodings ? ['-encodings', encodings] : [])];
      const r = await run(bin!, [...args, `127.0.0.1:${displayNumber}`, out]);
      console.log(`      vncsnapshot (${encodings ?? 'default'}) took ${r.ms} ms`);
      assert.equal(r.code, 0, `exit ${r.code} (killed on timeout if null): ${r.stderr}`);
      // vncsnapshot writes only JPEG; djpeg (libjpeg-turbo-progs) decodes it for the comparison.
      const djpeg = which('djpeg');
      if (!djpeg) {
        console.log('      pending: no djpeg to decode the JPEG (apt-get install libjpeg-turbo-progs)');
        this.skip();
      }
      const cmp = compare(readPpm(execFileSync(djpeg!, ['-pnm', out])), surface);
      console.log(`      JPEG vs surface: mean channel error ${cmp.mean.toFixed(2)}, max ${cmp.max}`);
      assert.ok(cmp.mean < 1, `mean channel error ${cmp.mean}`);
      assert.ok(cmp.max < 16, `max channel error ${cmp.max}`);
    });
  }

  it('a raw client: KEY_A and a left click at the right position reach the InputSink', async () => {
    const c = await rawClient(port);
    assert.deepEqual([c.width, c.height], [WIDTH, HEIGHT]);
    input.calls = [];
    const msgs = Buffer.alloc(8 + 8 + 6 + 6 + 10);
    msgs.set([4, 1, 0, 0, 0, 0, 0, 0x61], 0); // KeyEvent down 'a'
    msgs.set([4, 0, 0, 0, 0, 0, 0, 0x61], 8); // KeyEvent up 'a'
    msgs.set([5, 1, 0, 100, 0, 50], 16); // PointerEvent left down at (100, 50)
    msgs.set([5, 0, 0, 100, 0, 50], 22); // left up
    msgs.set([3, 0, 0, 0, 0, 0, 0, 1, 0, 1], 28); // FUR 1x1: its answer means all the above was handled
    c.sock.write(msgs);
    const header = await c.reader.read(4 + 12 + 4);
    assert.equal(header.readUInt16BE(2), 1);
    c.sock.destroy();
    assert.deepEqual(input.calls, [
      { kind: 'key', args: [KEY_A, true] },
      { kind: 'key', args: [KEY_A, false] },
      { kind: 'pointerAbs', args: [100, 50, WIDTH, HEIGHT] },
      { kind: 'button', args: [BTN_LEFT, true] },
      { kind: 'button', args: [BTN_LEFT, false] },
    ]);
  });

  it('a client asking for exclusive access (shared=0) closes the others', async () => {
    const first = await rawClient(port);
    const closed = new Promise<void>((r) => first.sock.once('close', () => r()));
    const second = await rawClient(port, false);
    await closed;
    await waitFor(() => server.sessions === 1, 'one session');
    second.sock.destroy();
    await waitFor(() => server.sessions === 0, 'no sessions');
  });

  it('a client sending an unknown message is closed; another keeps being served', async () => {
    await waitFor(() => server.sessions === 0, 'no sessions');
    const good = await rawClient(port);
    const bad = await rawClient(port);
    assert.equal(server.sessions, 2);
    const closed = new Promise<void>((r) => bad.sock.once('close', () => r()));
    bad.sock.write(Buffer.of(77, 0, 0, 0));
    await closed;
    good.sock.write(Buffer.of(3, 0, 0, 0, 0, 0, 0, 2, 0, 2));
    const header = await good.reader.read(4 + 12);
    assert.equal(header.readUInt16BE(2), 1);
    await good.reader.read(2 * 2 * 4);
    good.sock.destroy();
    await waitFor(() => server.sessions === 0, 'no sessions');
  });
});
