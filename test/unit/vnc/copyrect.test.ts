// CopyRect (rfbproto §7.7.2): the wire form, and a session fed by a refining GuestDisplay whose
// guest scrolls and scribbles between update requests. A reference client applies the stream
// (copies as it meets them, raw pixels) and must end with the guest's picture, with or without
// CopyRect, whatever damage was pending when a copy came.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import type { Surface } from '../../../backend/display/display';
import { GuestDisplay } from '../../../backend/display/guest-display';
import { MAX_PENDING_COPIES, PendingCopies } from '../../../backend/vnc/copies';
import { PendingRegion } from '../../../backend/updates/pending-region';
import { encodeFrame } from '../../../backend/vnc/encode-frame';
import { EncodeManager } from '../../../backend/vnc/encode-manager';
import { RfbSession } from '../../../backend/vnc/session';
import { fur, RecordingInput, setEncodings, VERSION_38 } from './helpers';

const RAW = 0;
const COPYRECT = 1;

describe('CopyRect wire', () => {
  it("a frame job's copies go first, and the update's rect count includes them", () => {
    // One 1x1 Raw rect at (3,4), 32 bpp XRGB8888, pixel bytes 9 8 7 0 (B G R X).
    const data = new Uint8Array(4 * 8 * 8);
    data.set([9, 8, 7, 0], (4 * 8 + 3) * 4);
    const surface = { width: 8, height: 8, stride: 32, format: PIXEL_FORMAT_XRGB8888, data };
    const copy = { src: { x: 1, y: 2, width: 5, height: 6 }, dst: { x: 7, y: 8, width: 5, height: 6 } };
    const frame = encodeFrame(
      new EncodeManager(),
      { clientFormat: PIXEL_FORMAT_XRGB8888, copies: [copy], rects: [{ rect: { x: 3, y: 4, width: 1, height: 1 } }] },
      (_i, rect) => ({ surface, rect }),
    );
    const copyRect = [0, 7, 0, 8, 0, 5, 0, 6, 0, 0, 0, 1, 0, 1, 0, 2];
    const rawRect = [0, 3, 0, 4, 0, 1, 0, 1, 0, 0, 0, 0, 9, 8, 7, 0];
    assert.deepEqual([...frame.bytes], [0, 0, 0, 2, ...copyRect, ...rawRect]);
  });

  it('pending damage under a copy source moves with it', () => {
    const pending = new PendingRegion();
    const copies = new PendingCopies();
    pending.add({ x: 0, y: 20, width: 10, height: 2 });
    copies.copied({ src: { x: 0, y: 16, width: 40, height: 48 }, dst: { x: 0, y: 0, width: 40, height: 48 } }, pending, true);
    assert.deepEqual(pending.rects, [
      { x: 0, y: 20, width: 10, height: 2 },
      { x: 0, y: 4, width: 10, height: 2 },
    ]);
    assert.equal(copies.isEmpty, false);
  });

  it('a scroll in many rects (an X server scrolling a partly covered window) stays copies; past MAX_PENDING_COPIES all are damage', () => {
    const pending = new PendingRegion();
    const copies = new PendingCopies();
    const band = (i: number) => ({ src: { x: 0, y: 16 + i * 4, width: 40, height: 4 }, dst: { x: 0, y: i * 4, width: 40, height: 4 } });
    for (let i = 0; i < 11; i++) copies.copied(band(i), pending, true);
    assert.equal(copies.startFrame().length, 11);
    assert.equal(pending.isEmpty, true);
    for (let i = 0; i <= MAX_PENDING_COPIES; i++) copies.copied(band(i % 11), pending, true);
    assert.equal(copies.isEmpty, true);
    assert.equal(pending.isEmpty, false);
  });

  it('an unusable copy is damage at its destination', () => {
    const pending = new PendingRegion();
    const copies = new PendingCopies();
    copies.copied({ src: { x: 0, y: 16, width: 40, height: 48 }, dst: { x: 0, y: 0, width: 40, height: 48 } }, pending, false);
    assert.deepEqual(pending.rects, [{ x: 0, y: 0, width: 40, height: 48 }]);
    assert.equal(copies.isEmpty, true);
  });
});

/** A client framebuffer (XRGB8888, the server's native format) applying updates as they come. */
class ReferenceClient {
  fb: Buffer;
  copyRects = 0;
  /** FramebufferUpdate messages applied, and the rects of the last one. */
  updates = 0;
  lastRects = 0;
  private pending = Buffer.alloc(0);
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.fb = Buffer.alloc(width * height * 4);
  }
  receive(b: Uint8Array): void {
    this.pending = Buffer.concat([this.pending, b]);
  }
  /** Apply every complete update received (the sync encoder writes whole messages). */
  drain(): void {
    const b = this.pending;
    let o = 0;
    while (o < b.length) {
      assert.equal(b[o], 0, 'FramebufferUpdate');
      const n = b.readUInt16BE(o + 2);
      this.updates++;
      this.lastRects = n;
      o += 4;
      for (let i = 0; i < n; i++) {
        const [x, y, w, h] = [0, 2, 4, 6].map((k) => b.readUInt16BE(o + k)) as [number, number, number, number];
        const enc = b.readInt32BE(o + 8);
        o += 12;
        if (enc === RAW) {
          for (let r = 0; r < h; r++) b.copy(this.fb, ((y + r) * this.width + x) * 4, o + r * w * 4, o + (r + 1) * w * 4);
          o += w * h * 4;
        } else if (enc === COPYRECT) {
          const sx = b.readUInt16BE(o);
          const sy = b.readUInt16BE(o + 2);
          o += 4;
          const rows = Array.from({ length: h }, (_, r) =>
            Buffer.from(this.fb.subarray(((sy + r) * this.width + sx) * 4, ((sy + r) * this.width + sx + w) * 4)),
          );
          rows.forEach((row, r) => row.copy(this.fb, ((y + r) * this.width + x) * 4));
          this.copyRects++;
        } else {
          assert.fail(`unexpected encoding ${enc}`);
        }
      }
    }
    this.pending = Buffer.alloc(0);
  }
}

const W = 48;
const H = 64;

function guestSurface(): Surface {
  const data = new Uint8Array(W * H * 4);
  let st = 12345;
  for (let i = 0; i < data.length; i++) data[i] = (st = (Math.imul(st, 1664525) + 1013904223) >>> 0) >>> 24;
  return { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data };
}

type Op =
  { kind: 'scroll'; dy: number } | { kind: 'scribble'; x: number; y: number; w: number; h: number; v: number } | { kind: 'request' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('scroll' as const), dy: fc.integer({ min: -30, max: 30 }) }),
  fc.record({
    kind: fc.constant('scribble' as const),
    x: fc.nat(W - 1),
    y: fc.nat(H - 1),
    w: fc.integer({ min: 1, max: 20 }),
    h: fc.integer({ min: 1, max: 20 }),
    v: fc.nat(255),
  }),
  fc.constant({ kind: 'request' as const }),
);

/**
 * A session over a refining GuestDisplay of a fresh guest picture, past the handshake (its
 * bytes dropped), with `encodings` set and the first full picture applied by the client.
 */
function connect(encodings: number[]): { guest: Surface; display: GuestDisplay; client: ReferenceClient; session: RfbSession } {
  const guest = guestSurface();
  const display = new GuestDisplay('copy test', { refineDamage: true });
  display.setSurface(guest);
  const client = new ReferenceClient(W, H);
  let handshake = true;
  let seen = 0;
  const session = new RfbSession({
    write: (b) => {
      if (handshake) {
        // 12 version + 1 security type list len... skip everything up to and including ServerInit.
        seen += b.length;
        return;
      }
      client.receive(b);
    },
    display,
    input: new RecordingInput(),
    frameIntervalMs: 0,
  });
  session.receive(VERSION_38);
  session.receive(Uint8Array.of(1));
  session.receive(Uint8Array.of(1));
  assert.ok(seen > 0);
  handshake = false;
  session.receive(setEncodings(encodings));
  session.receive(fur(false, 0, 0, W, H));
  client.drain();
  return { guest, display, client, session };
}

/** Run ops against a session; returns the client after a final full sync. */
function run(ops: readonly Op[], encodings: number[]): { client: ReferenceClient; guest: Surface; stats: ReturnType<RfbSession['stats']> } {
  const { guest, display, client, session } = connect(encodings);
  let noise = 777;
  for (const o of ops) {
    if (o.kind === 'request') {
      session.receive(fur(true, 0, 0, W, H));
      client.drain();
    } else if (o.kind === 'scroll') {
      const d = guest.data;
      if (o.dy > 0) d.copyWithin(o.dy * guest.stride, 0, (H - o.dy) * guest.stride);
      if (o.dy < 0) d.copyWithin(0, -o.dy * guest.stride, H * guest.stride);
      const fresh = o.dy > 0 ? [0, o.dy] : [H + o.dy, H];
      for (let i = fresh[0]! * guest.stride; i < fresh[1]! * guest.stride; i++)
        d[i] = (noise = (Math.imul(noise, 1664525) + 1013904223) >>> 0) >>> 24;
      display.damage([{ x: 0, y: 0, width: W, height: H }]);
    } else {
      for (let y = o.y; y < Math.min(H, o.y + o.h); y++) guest.data.fill(o.v, (y * W + o.x) * 4, (y * W + Math.min(W, o.x + o.w)) * 4);
      display.damage([{ x: o.x, y: o.y, width: o.w, height: o.h }]);
    }
  }
  session.receive(fur(true, 0, 0, W, H));
  client.drain();
  assert.equal(session.closed, false, session.closeReason);
  return { client, guest, stats: session.stats() };
}

describe('session CopyRect with pending damage', () => {
  it('a scroll while a request waits: its copy and its new rows go in one update', async () => {
    const { guest, display, client, session } = connect([COPYRECT, RAW]);
    session.receive(fur(true, 0, 0, W, H));
    // The display reports the copy, then the new bottom rows, in one burst.
    guest.data.copyWithin(0, 16 * guest.stride);
    guest.data.fill(7, (H - 16) * guest.stride);
    display.damage([{ x: 0, y: 0, width: W, height: H }]);
    await Promise.resolve();
    client.drain();
    assert.equal(client.updates, 2, 'the initial picture, then one update');
    assert.equal(client.copyRects, 1);
    assert.equal(client.lastRects, 2, 'CopyRect + the new rows');
    assert.deepEqual(client.fb, Buffer.from(guest.data));
  });

  it('scrolls between requests: copies go first, the client ends exact, CopyRects counted', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 20; i++) ops.push({ kind: 'scroll', dy: -16 }, { kind: 'request' });
    const { client, guest, stats } = run(ops, [COPYRECT, RAW]);
    assert.deepEqual(client.fb, Buffer.from(guest.data));
    assert.equal(client.copyRects, 20);
    assert.equal(stats.encoders.CopyRect?.rects, 20);
    // Each update after the first carries the 16 new rows only, not the whole screen.
    assert.ok(stats.encoders.Raw!.pixels <= W * H + 20 * W * 16, `raw pixels ${stats.encoders.Raw!.pixels}`);
  });

  it('a scribble pending under a scroll source is re-sent where it moved', () => {
    const ops: Op[] = [{ kind: 'scribble', x: 2, y: 40, w: 10, h: 4, v: 1 }, { kind: 'scroll', dy: -16 }, { kind: 'request' }];
    const { client, guest } = run(ops, [COPYRECT, RAW]);
    assert.equal(client.copyRects, 1);
    assert.deepEqual(client.fb, Buffer.from(guest.data));
  });

  it('random scrolls, scribbles and requests: exact with and without CopyRect (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25 }), fc.boolean(), (ops, copyRect) => {
        const { client, guest } = run(ops, copyRect ? [COPYRECT, RAW] : [RAW]);
        assert.deepEqual(client.fb, Buffer.from(guest.data));
        if (!copyRect) assert.equal(client.copyRects, 0);
      }),
      { numRuns: 200 },
    );
  });
});
