// The classifier's twins (STYLE 12): the addon's solid test and sampling over 32-bit pixels
// (native/src/classify.cc) give analyseRect exactly what the TypeScript loops give, class,
// colour count and entropy to the last bit (the histogram sums run in the same order over
// the same c*log2(c) table), on the full-HD photo, text and noise pictures in Tight's JPEG
// strips and on random rects of random block pictures, with padded strides and the padding
// byte set; the native calls check the rect against the view.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { classifyNative } from '../../../native';
import { analyseRect, isSolid } from '../../../backend/updates/classify';
import type { Surface } from '../../../backend/display/display';
import { splitIntoTiles } from '../../../shared/region';
import { blockPicture, fullHdPicture, PICTURE_KINDS } from '../vnc/encoders/fullhd-pictures';

/** The picture with its X bytes set to noise and a padded stride: padding must not count. */
function padded(s: Surface, extraWords: number, seed: number): Surface {
  const stride = s.stride + extraWords * 4;
  const data = new Uint8Array(stride * s.height);
  let r = seed >>> 0;
  for (let y = 0; y < s.height; y++) {
    data.set(s.data.subarray(y * s.stride, y * s.stride + s.width * 4), y * stride);
    for (let x = 0; x < s.width; x++) data[y * stride + x * 4 + 3] = (r = (Math.imul(r, 1664525) + 1013904223) >>> 0) >>> 24;
  }
  return { ...s, stride, data };
}

describe('updates/classify: native and TypeScript twins', function () {
  this.timeout(120000);
  const native = classifyNative;
  before(function () {
    if (!native) assert.fail('the loaded addon has no classify: rebuild it (npm run install)');
  });

  for (const kind of PICTURE_KINDS) {
    it(`full-HD ${kind}: the same analysis of every 1920x32 strip and of the whole frame`, () => {
      const s = fullHdPicture(kind);
      const rects = [{ x: 0, y: 0, width: 1920, height: 1080 }, ...splitIntoTiles({ x: 0, y: 0, width: 1920, height: 1080 }, 1920, 32)];
      const kinds = new Set<string>();
      for (const r of rects) {
        const a = analyseRect(s, r, native);
        assert.deepEqual(a, analyseRect(s, r, null), `${kind} ${JSON.stringify(r)}`);
        kinds.add(a.kind);
      }
      // The pictures reach the classes they are made for.
      assert.ok(kinds.has(kind === 'text' ? 'palette' : 'photo'), [...kinds].join(','));
    });
  }

  it('random rects of random block pictures, padded strides, noisy padding bytes (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 16 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer(),
        fc.nat(),
        (colours, blockSize, scatter, extraWords, reps, seed, pick) => {
          const base = blockPicture(160, 90, colours, blockSize, scatter / 16, seed);
          const s = padded(base, extraWords, seed);
          for (let k = 0; k <= reps; k++) {
            const x = (pick * (k + 1)) % 160;
            const y = (pick * (k + 3)) % 90;
            const r = { x, y, width: 1 + ((pick >> 3) % (160 - x)), height: 1 + ((pick >> 7) % (90 - y)) };
            assert.equal(isSolid(s, r, native), isSolid(s, r, null));
            assert.deepEqual(analyseRect(s, r, native), analyseRect(s, r, null));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a solid rect with noisy padding bytes is solid for both', () => {
    const s = padded(blockPicture(64, 64, 1, 64, 1, 5), 3, 9);
    const r = { x: 0, y: 0, width: 64, height: 64 };
    assert.equal(isSolid(s, r, native), true);
    assert.equal(isSolid(s, r, null), true);
    assert.equal(analyseRect(s, r, native).kind, 'solid');
  });

  it('the native calls check the rect against the view', () => {
    const words = new Uint32Array(100);
    const out = new Float64Array(3);
    const table = new Float64Array(9000);
    assert.throws(() => native!.solidWords(words, 10, 0, 9, 10, 2, 0xffffff), { name: 'RangeError' });
    assert.throws(() => native!.solidWords(words, 10, 5, 0, 6, 1, 0xffffff), { name: 'RangeError' });
    assert.throws(() => native!.sampleWords(words, 10, 0, 0, 10, 10, 0xffffff, 1, 8193, table, out), { name: 'RangeError' });
    assert.throws(() => native!.sampleWords(words, 10, 0, 0, 10, 10, 0xffffff, 1, 100, new Float64Array(50), out), { name: 'RangeError' });
    assert.throws(() => native!.sampleWords(words, 10, 0, 0, 10, 10, 0xffffff, 1, 100, table, new Float64Array(2)), { name: 'RangeError' });
    assert.throws(() => native!.solidWords(new Uint8Array(400) as unknown as Uint32Array, 10, 0, 0, 1, 1, 1), { name: 'TypeError' });
    native!.sampleWords(words, 10, 0, 0, 10, 10, 0xffffff, 3, 100, table, out);
    // Rows 0, 3, 6, 9; even sample rows from x = 0 (4 samples), odd ones from x = 1 (3).
    assert.deepEqual([...out], [14, 1, table[14]]);
  });
});
