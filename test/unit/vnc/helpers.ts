// Test-side helpers for RFB: a static Display, a recording InputSink, and client-side byte
// builders / update decoders written independently of the server's writers.

import { EventEmitter } from 'node:events';
import type { CursorState, Display, DisplayEvents, Surface } from '../../../backend/display/display';
import type { InputSink } from '../../../backend/input/input-sink';
import { PIXEL_FORMAT_XRGB8888, type PixelFormat } from '../../../backend/display/pixel-format';
import { RfbSession, type RfbSessionOptions } from '../../../backend/vnc/session';

export class TestDisplay extends EventEmitter<DisplayEvents> implements Display {
  refreshes = 0;
  constructor(
    public current: Surface | null,
    readonly name = 'test display',
  ) {
    super();
    this.setMaxListeners(0);
  }
  surface(): Surface | null {
    return this.current;
  }
  cursor(): CursorState {
    return { shape: null, x: 0, y: 0, visible: true };
  }
  requestRefresh(): void {
    this.refreshes++;
  }
  setSurface(s: Surface | null): void {
    this.current = s;
    this.emit('resize', s);
  }
}

/** XRGB8888 surface whose pixel (x, y) has r = x*7+y, g = y*3+x*5, b = x^y (mod 256). */
export function patternSurface(width: number, height: number, format: PixelFormat = PIXEL_FORMAT_XRGB8888): Surface {
  const stride = width * 4;
  const data = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = patternRgb(x, y);
      const i = y * stride + x * 4;
      data[i] = b;
      data[i + 1] = g;
      data[i + 2] = r;
      data[i + 3] = 0;
    }
  }
  return { width, height, stride, format, data };
}

export function patternRgb(x: number, y: number): [number, number, number] {
  return [(x * 7 + y) & 255, (y * 3 + x * 5) & 255, (x ^ y) & 255];
}

export class RecordingInput implements InputSink {
  calls: Array<{ kind: string; args: unknown[] }> = [];
  key(code: number, pressed: boolean): void {
    this.calls.push({ kind: 'key', args: [code, pressed] });
  }
  button(code: number, pressed: boolean): void {
    this.calls.push({ kind: 'button', args: [code, pressed] });
  }
  pointerAbs(x: number, y: number, width: number, height: number): void {
    this.calls.push({ kind: 'pointerAbs', args: [x, y, width, height] });
  }
  pointerRel(dx: number, dy: number): void {
    this.calls.push({ kind: 'pointerRel', args: [dx, dy] });
  }
  wheel(vertical: number, horizontal?: number): void {
    this.calls.push({ kind: 'wheel', args: horizontal === undefined ? [vertical] : [vertical, horizontal] });
  }
}

export interface Harness {
  session: RfbSession;
  display: TestDisplay;
  input: RecordingInput;
  /** Everything the server wrote, concatenated. */
  out(): Buffer;
  /** Server bytes written since the last take(). */
  take(): Buffer;
  closedWith: { reason?: string; error?: Error; count: number };
  exclusive: number;
}

export function harness(display = new TestDisplay(patternSurface(32, 16)), extra: Partial<RfbSessionOptions> = {}): Harness {
  const chunks: Buffer[] = [];
  let taken = 0;
  const input = new RecordingInput();
  const h = { closedWith: { count: 0 }, exclusive: 0 } as Harness;
  h.display = display;
  h.input = input;
  h.session = new RfbSession({
    write: (b) => chunks.push(Buffer.from(b)),
    display,
    input,
    onClose: (reason, error) => {
      h.closedWith = { reason, error, count: h.closedWith.count + 1 };
    },
    onExclusive: () => h.exclusive++,
    // Byte-level tests answer each request at once; pacing has its own tests (update-scheduler).
    frameIntervalMs: 0,
    ...extra,
  });
  h.out = () => Buffer.concat(chunks);
  h.take = () => {
    const all = Buffer.concat(chunks);
    const fresh = all.subarray(taken);
    taken = all.length;
    return fresh;
  };
  return h;
}

export const VERSION_33 = Buffer.from('RFB 003.003\n', 'latin1');
export const VERSION_37 = Buffer.from('RFB 003.007\n', 'latin1');
export const VERSION_38 = Buffer.from('RFB 003.008\n', 'latin1');

/** A harness past ServerInit (3.8, shared), with the handshake bytes already taken. */
export function connected(display?: TestDisplay, extra: Partial<RfbSessionOptions> = {}): Harness {
  const h = harness(display, extra);
  h.session.receive(VERSION_38);
  h.session.receive(Uint8Array.of(1)); // security None
  h.session.receive(Uint8Array.of(1)); // shared
  h.take();
  return h;
}

// ---- client message builders (independent of the server's codec) ----

export function setPixelFormat(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0;
  b[4] = pf.bitsPerPixel;
  b[5] = pf.depth;
  b[6] = pf.bigEndian ? 1 : 0;
  b[7] = (pf as { trueColour?: boolean }).trueColour === false ? 0 : 1;
  b.writeUInt16BE(pf.redMax, 8);
  b.writeUInt16BE(pf.greenMax, 10);
  b.writeUInt16BE(pf.blueMax, 12);
  b[14] = pf.redShift;
  b[15] = pf.greenShift;
  b[16] = pf.blueShift;
  return b;
}

export function setEncodings(list: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * list.length);
  b[0] = 2;
  b.writeUInt16BE(list.length, 2);
  list.forEach((e, i) => b.writeInt32BE(e, 4 + 4 * i));
  return b;
}

export function fur(incremental: boolean, x: number, y: number, w: number, h: number): Buffer {
  const b = Buffer.alloc(10);
  b[0] = 3;
  b[1] = incremental ? 1 : 0;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  b.writeUInt16BE(w, 6);
  b.writeUInt16BE(h, 8);
  return b;
}

export function keyEvent(down: boolean, keysym: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 4;
  b[1] = down ? 1 : 0;
  b.writeUInt32BE(keysym, 4);
  return b;
}

export function pointerEvent(mask: number, x: number, y: number): Buffer {
  const b = Buffer.alloc(6);
  b[0] = 5;
  b[1] = mask;
  b.writeUInt16BE(x, 2);
  b.writeUInt16BE(y, 4);
  return b;
}

export function clientCutText(text: Buffer, declared = text.length): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 6;
  b.writeUInt32BE(declared >>> 0, 4);
  return Buffer.concat([b, text]);
}

export function qemuExtKey(down: boolean, keysym: number, keycode: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 255;
  b[1] = 0;
  b.writeUInt16BE(down ? 1 : 0, 2);
  b.writeUInt32BE(keysym, 4);
  b.writeUInt32BE(keycode, 8);
  return b;
}

// ---- server update decoder (client side) ----

export interface DecodedRect {
  x: number;
  y: number;
  width: number;
  height: number;
  encoding: number;
  data: Buffer;
}

/** Decode consecutive FramebufferUpdates carrying Raw / DesktopSize rects. */
export function decodeUpdates(bytes: Buffer, bytesPerPixel: number): DecodedRect[][] {
  const updates: DecodedRect[][] = [];
  let o = 0;
  while (o < bytes.length) {
    if (bytes[o] !== 0) throw new Error(`not a FramebufferUpdate at ${o}: ${bytes[o]}`);
    const n = bytes.readUInt16BE(o + 2);
    o += 4;
    const rects: DecodedRect[] = [];
    for (let i = 0; i < n; i++) {
      const [x, y, width, height] = [0, 2, 4, 6].map((k) => bytes.readUInt16BE(o + k)) as [number, number, number, number];
      const encoding = bytes.readInt32BE(o + 8);
      o += 12;
      const len = encoding === 0 ? width * height * bytesPerPixel : 0;
      rects.push({ x, y, width, height, encoding, data: bytes.subarray(o, o + len) });
      o += len;
    }
    updates.push(rects);
  }
  return updates;
}
