// SPICE LZ4 image payloads: the header canvas_base.c canvas_get_lz4 reads, big-endian block
// sizes, every block decoding (lz4js's decoder) back to the packed rows; incompressible input
// goes as literal-only blocks. spice-gtk's liblz4 decodes the same payloads pixel-exact in
// test/clients/spice-gi.test.ts (codec lz4). The codec choice follows the client's caps.

import { strict as assert } from 'node:assert';
import { encodeLz4Image, LZ4_IMAGE_BLOCK, lz4CompressBlock, lz4DecompressBlock } from '../../../shared/spice/lz4-image';
import { chooseImageCodec } from '../../../backend/spice/image-codecs';
import { capsWords, SpiceDisplayCap } from '../../../shared/spice/constants';
import { prng } from '../../helpers/prng';

function decode(payload: Buffer, size: number): Uint8Array {
  assert.deepEqual([payload[0], payload[1]], [1, 8], 'top_down, 32BIT');
  const out = new Uint8Array(size);
  let o = 2;
  let d = 0;
  while (o < payload.length) {
    const len = payload.readUInt32BE(o);
    o += 4;
    const block = lz4DecompressBlock(payload.subarray(o, o + len), LZ4_IMAGE_BLOCK);
    out.set(block, d);
    d += block.length;
    o += len;
  }
  assert.equal(d, size);
  return out;
}

describe('SPICE LZ4 images', function () {
  it('golden block: literals, then a run as an overlapping match, ending in 5+ literals', function () {
    const src = Uint8Array.from([1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 9, 9, 9, 9, 9]);
    // token 4 literals | match len 16 (12 + 4) | literals 1 2 3 4 | offset 4 | then 5 literals
    const want = [0x4c, 1, 2, 3, 4, 4, 0, 0x50, 9, 9, 9, 9, 9];
    assert.deepEqual([...encodeLz4Image(25, 1, new Uint8Array(100)).subarray(0, 2)], [1, 8]);
    assert.deepEqual([...lz4CompressBlock(src)], want);
  });

  it('compressible and random pictures (several 64 KiB blocks) decode to the same bytes', function () {
    const rnd = prng(4);
    for (const [w, h, noisy] of [
      [300, 200, false],
      [300, 200, true],
      [7, 3, true],
    ] as const) {
      const px = new Uint8Array(w * h * 4);
      for (let i = 0; i < px.length; i++) px[i] = noisy ? Math.floor(rnd() * 256) : (i >> 6) & 255;
      const payload = encodeLz4Image(w, h, px);
      assert.deepEqual(decode(payload, px.length), px);
      if (!noisy) assert.ok(payload.length < px.length / 4);
      assert.ok(px.length <= LZ4_IMAGE_BLOCK || payload.length > 8);
    }
  });

  it('LZ4 only for clients with LZ4_COMPRESSION; LZ_RGB otherwise and by default', function () {
    const gtk = capsWords([SpiceDisplayCap.LZ4_COMPRESSION, SpiceDisplayCap.MONITORS_CONFIG]);
    assert.equal(chooseImageCodec(gtk, 'lz4'), 'lz4');
    assert.equal(chooseImageCodec([0x711], 'lz4'), 'lz_rgb', 'spice-html5 sends no LZ4 cap');
    assert.equal(chooseImageCodec(gtk), 'lz_rgb');
    assert.equal(chooseImageCodec([], 'bitmap'), 'bitmap');
  });
});
