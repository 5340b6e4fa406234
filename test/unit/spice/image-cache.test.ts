// The pixmap cache bookkeeping: entries stay within the client's pixmap_cache_size (pixels),
// least recently used first out, and INVAL_LIST names what the client must drop.

import { strict as assert } from 'node:assert';
import { imageKey, PixmapCache, SPICE_CACHE_MAX_IMAGE_PIXELS } from '../../../backend/spice/image-cache';
import { buildInvalList } from '../../../shared/spice/display-messages';

describe('SPICE pixmap cache bookkeeping', function () {
  it('keeps the total within capacity, evicting the least recently used', function () {
    const c = new PixmapCache(1000);
    assert.deepEqual(c.insert('a', 1n, 400), []);
    assert.deepEqual(c.insert('b', 2n, 400), []);
    assert.equal(c.lookup('a'), 1n); // a is now the most recent
    assert.deepEqual(c.insert('c', 3n, 400), [2n]);
    assert.equal(c.lookup('b'), undefined);
    assert.ok(c.usedPixels <= 1000);
    assert.deepEqual(c.insert('d', 4n, 1000), [1n, 3n]);
    assert.equal(c.usedPixels, 1000);
    assert.equal(c.size, 1);
    assert.ok(!c.fits(1001) && c.fits(1000));
    assert.ok(!new PixmapCache(1 << 30).fits(SPICE_CACHE_MAX_IMAGE_PIXELS + 1));
  });

  it('keys differ by content and by shape', function () {
    const px = new Uint8Array(16);
    assert.notEqual(imageKey(2, 2, px), imageKey(4, 1, px));
    assert.equal(imageKey(2, 2, px), imageKey(2, 2, new Uint8Array(16)));
    assert.notEqual(
      imageKey(2, 2, px),
      imageKey(
        2,
        2,
        Uint8Array.from({ length: 16 }, (_, i) => i),
      ),
    );
  });

  it('INVAL_LIST: u16 count | { u8 type PIXMAP | u64 id }', function () {
    assert.deepEqual(buildInvalList([5n, 0x102n]), Buffer.from([2, 0, 1, 5, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0, 0, 0, 0, 0, 0]));
  });
});
