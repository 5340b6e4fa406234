// PaletteBuilder (the typed-array colour table the encoders reuse) against buildPalette (the
// Map-based reference it replaced): same verdict, same colours in the same order, same
// indices, on random blocks of a larger strided array, for every limit the encoders use.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { PaletteBuilder } from '../../../../backend/vnc/encoders/palette';
import { buildPalette } from '../../../../backend/vnc/encoders/pixels';

describe('PaletteBuilder gives what buildPalette gives', () => {
  const block = fc.record({
    w: fc.integer({ min: 1, max: 70 }),
    h: fc.integer({ min: 1, max: 70 }),
    pad: fc.integer({ min: 0, max: 9 }),
    colours: fc.integer({ min: 1, max: 300 }),
    runs: fc.boolean(),
    seed: fc.integer(),
    max: fc.constantFrom(1, 2, 16, 48, 127, 256),
    order: fc.constantFrom('all' as const, 'first' as const),
  });

  it('on random strided blocks, reusing one builder', () => {
    const builder = new PaletteBuilder();
    fc.assert(
      fc.property(block, ({ w, h, pad, colours, runs, seed, max, order }) => {
        let s = seed >>> 0;
        const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
        const pool = Array.from({ length: colours }, () => rnd());
        const stride = w + pad;
        const px = new Uint32Array(stride * h + 3);
        let c = pool[0]!;
        for (let i = 0; i < px.length; i++) {
          if (!runs || rnd() % 5 === 0) c = pool[rnd() % colours]!;
          px[i] = c;
        }
        const offset = 3;
        const tile = new Uint32Array(w * h);
        for (let y = 0; y < h; y++) tile.set(px.subarray(offset + y * stride, offset + y * stride + w), y * w);
        const want = buildPalette(tile, max);
        const ok = builder.build(px, offset, w, h, stride, max, order);
        assert.equal(ok, want !== null);
        if (!want) return;
        const got = [...builder.colours.subarray(0, builder.size)];
        if (order === 'all') assert.deepEqual(got, want.colours);
        else {
          assert.equal(got[0], want.colours[0], 'the most frequent colour first');
          assert.deepEqual([...got].sort(), [...want.colours].sort());
        }
        for (let i = 0; i < got.length; i++) assert.equal(builder.indexOf(got[i]!), i);
      }),
      { numRuns: 400 },
    );
  });

  it('rejects more than 256 colours', () => {
    assert.throws(() => new PaletteBuilder().build(new Uint32Array(4), 0, 2, 2, 2, 257), RangeError);
  });
});
