// The connection's zlib stream, both twins (STYLE 12): the addon's persistent z_stream
// (native/src/deflate.cc) and the dictionary-primed deflateRawSync in zstream.ts, the
// reference. Their compressed bytes may differ; what one client inflater reads from them may
// not: a run of rects (full-HD photo, text and noise rows, tiny and empty ones, a whole
// incompressible frame, repeats that reach back into earlier rects) inflates to exactly the
// input, each rect ending on a sync flush, at every level. The native calls check their
// arguments.

import { strict as assert } from 'node:assert';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { DeflaterNative } from '../../../../native';
import { DeflateStream, NativeDeflateStream, type ZStream, openDeflateStream } from '../../../../backend/vnc/encoders/zstream';
import { fullHdPicture } from './fullhd-pictures';
import { InflateStream } from '../../../../shared/rfb/inflate-stream';

const SYNC_MARKER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * What a client reads: zlib's own inflater over the stream up to the end of each rect (so
 * every rect boundary is a flush point), and our client mirror (shared/rfb/inflate-stream.ts)
 * fed rect by rect.
 */
function inflateEach(chunks: Buffer[], sizes: number[]): Buffer[] {
  const whole = zlib.inflateSync(Buffer.concat(chunks), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const mirror = new InflateStream();
  let at = 0;
  return chunks.map((c, i) => {
    const prefix = zlib.inflateSync(Buffer.concat(chunks.slice(0, i + 1)), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.equal(prefix.length, at + sizes[i]!, `the stream up to rect ${i} inflates to the bytes up to it`);
    const mine = mirror.take(c, sizes[i]!);
    const theirs = whole.subarray(at, at + sizes[i]!);
    assert.ok(mine.equals(theirs), `rect ${i}: the client mirror reads what zlib reads`);
    at += sizes[i]!;
    return theirs;
  });
}

function roundTrip(z: ZStream, rects: Uint8Array[]): void {
  const out = rects.map((r) => z.compress(r));
  assert.equal(out[0]![0]! & 0x0f, 8, 'the first rect starts with a zlib header (CM = deflate)');
  assert.equal(((out[0]![0]! << 8) | out[0]![1]!) % 31, 0, 'zlib header check bits');
  out.forEach((o, i) => assert.ok(o.subarray(o.length - 4).equals(SYNC_MARKER), `rect ${i} ends on a sync flush`));
  const back = inflateEach(
    out,
    rects.map((r) => r.length),
  );
  rects.forEach((r, i) => assert.ok(Buffer.from(r).equals(back[i]!), `rect ${i}: ${r.length} bytes in, ${back[i]!.length} inflated`));
  assert.equal(
    z.bytesIn,
    rects.reduce((n, r) => n + r.length, 0),
  );
  assert.equal(
    z.bytesOut,
    out.reduce((n, o) => n + o.length, 0),
  );
}

function makeRect(spec: { kind: string; length: number; seed: number }): Uint8Array {
  if (spec.kind === 'empty') return new Uint8Array(0);
  const out = new Uint8Array(spec.length);
  let s = spec.seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = spec.kind === 'random' ? s >>> 24 : (i >> 9) & 0xff;
  }
  return out;
}

/** Rows of the full-HD pictures as Tight/ZRLE-sized rects, with repeats and odd sizes. */
let pictureRectsMade: Uint8Array[] | null = null;
function pictureRects(): Uint8Array[] {
  if (pictureRectsMade) return pictureRectsMade;
  const rects: Uint8Array[] = [];
  for (const kind of ['text', 'photo', 'noise'] as const) {
    const s = fullHdPicture(kind);
    const row = s.stride;
    rects.push(s.data.subarray(0, row * 16), s.data.subarray(row * 100, row * 100 + 3), new Uint8Array(0));
    rects.push(s.data.subarray(row * 16, row * 48), s.data.subarray(0, row * 16)); // a repeat from 2 rects back
  }
  return (pictureRectsMade = rects);
}

describe('vnc/encoders: the zlib stream, native and TypeScript twins', function () {
  this.timeout(60000);
  const twins: Array<[string, (level: number) => ZStream]> = [
    ['TypeScript', (level) => new DeflateStream(level)],
    ['native', (level) => new NativeDeflateStream(level, new DeflaterNative!(level))],
  ];
  before(function () {
    if (!DeflaterNative) assert.fail('the loaded addon has no Deflater: rebuild it (npm run install)');
  });

  for (const [name, open] of twins) {
    for (const level of [0, 1, 2, 6, 9]) {
      it(`${name}, level ${level}: picture rects inflate to themselves through one inflater`, () => {
        roundTrip(open(level), pictureRects());
      });
    }

    it(`${name}: a whole incompressible 1080p frame, then small rects after it`, () => {
      const noise = fullHdPicture('noise').data;
      roundTrip(open(6), [noise, noise.subarray(5, 500), fullHdPicture('text').data]);
    });

    it(`${name}: random rect runs inflate to themselves (fast-check)`, () => {
      // Rects built from small seeds, so a counterexample prints short.
      const rect = fc.record({
        kind: fc.constantFrom('random', 'runs', 'empty'),
        length: fc.integer({ min: 0, max: 70000 }),
        seed: fc.integer(),
      });
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 9 }), fc.array(rect, { minLength: 1, maxLength: 8 }), (level, specs) =>
          roundTrip(open(level), specs.map(makeRect)),
        ),
        { numRuns: 40 },
      );
    });

    it(`${name}: compress after end() throws, and end() twice is harmless`, () => {
      const z = open(2);
      z.compress(Buffer.from('abc'));
      z.end();
      z.end();
      assert.throws(() => z.compress(Buffer.from('abc')), /after end/);
    });
  }

  it('native: an incompressible rect goes stored through the same stream, and compressible ones still deflate', () => {
    const d = new DeflaterNative!(6);
    const z = new NativeDeflateStream(6, d);
    // What ZRLE and Tight deflate for a noise area: 3-byte pixels, every byte random.
    const noise = makeRect({ kind: 'random', length: 640 * 360 * 3, seed: 5 });
    const text = fullHdPicture('text').data.subarray(0, 640 * 360 * 4);
    const photo = fullHdPicture('photo').data.subarray(0, 640 * 360 * 4);
    roundTrip(z, [text, noise, text, photo, noise.subarray(0, 60000), noise]);
    assert.equal(d.storedRects, 2, 'the two noise rects of 64 KiB or more');
    const sizes = [text, noise, photo].map((r) => new NativeDeflateStream(6, new DeflaterNative!(6)).compress(r).length / r.length);
    assert.ok(sizes[0]! < 0.2 && sizes[1]! > 1 && sizes[2]! < 0.9, sizes.join(' '));
  });

  it('native: the level and the data are checked', () => {
    assert.throws(() => new DeflaterNative!(10), { name: 'RangeError' });
    assert.throws(() => new DeflaterNative!(-1), { name: 'RangeError' });
    const d = new DeflaterNative!(1);
    assert.throws(() => d.compress(new Uint32Array(4) as unknown as Uint8Array), { name: 'TypeError' });
    assert.throws(() => (d.compress as (...a: unknown[]) => Buffer)(), { name: 'TypeError' });
  });

  it('openDeflateStream: native by default, the TypeScript twin when asked or when the addon has none', () => {
    assert.ok(openDeflateStream(2) instanceof NativeDeflateStream);
    assert.ok(openDeflateStream(2, null) instanceof DeflateStream);
    const saved = process.env.XENVFB_NO_NATIVE_DEFLATE;
    process.env.XENVFB_NO_NATIVE_DEFLATE = '1';
    try {
      assert.ok(openDeflateStream(2) instanceof DeflateStream);
    } finally {
      if (saved === undefined) delete process.env.XENVFB_NO_NATIVE_DEFLATE;
      else process.env.XENVFB_NO_NATIVE_DEFLATE = saved;
    }
  });
});
