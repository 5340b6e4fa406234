import { strict as assert } from 'node:assert';
import { blit, createSurface, drawText, fillRect, getPixel, rgb, scrollUp, setPixel, textWidth } from '../../../frontend/workloads/canvas';
import { isEmptyRect } from '../../../shared/region';
import { glyphPixel } from '../../../frontend/workloads/font';
import { RecordingFramebuffer } from './helpers';

describe('workloads/canvas', () => {
  it('writes XRGB8888 little-endian: B, G, R, then 0', () => {
    const s = createSurface(2, 1);
    s.data.fill(0xee);
    setPixel(s, 1, 0, rgb(0x12, 0x34, 0x56));
    assert.deepEqual(Array.from(s.data), [0xee, 0xee, 0xee, 0xee, 0x56, 0x34, 0x12, 0]);
    assert.equal(getPixel(s, 1, 0), 0x123456);
    setPixel(s, 2, 0, 0xffffff);
    setPixel(s, -1, 0, 0xffffff);
    assert.equal(s.data.length, 8);
  });

  it('fillRect clips to the surface, returns what it wrote and keeps off the stride padding', () => {
    const fb = new RecordingFramebuffer(4, 3, 20, 0x77);
    const r = fillRect(fb, { x: -2, y: 1, width: 4, height: 10 }, 0x0000ff);
    assert.deepEqual(r, { x: 0, y: 1, width: 2, height: 2 });
    assert.deepEqual(fb.pixel(1, 2), [0xff, 0, 0, 0]);
    assert.deepEqual(fb.pixel(2, 2), [0x77, 0x77, 0x77, 0x77]);
    assert.deepEqual(fb.pixel(0, 0), [0x77, 0x77, 0x77, 0x77]);
    assert.ok(fb.data.subarray(16, 20).every((b) => b === 0x77));
    const before = fb.data.slice();
    assert.ok(isEmptyRect(fillRect(fb, { x: 10, y: 0, width: 5, height: 5 }, 0)));
    assert.deepEqual(fb.data, before);
  });

  it('blit copies rows between strides and clips at every edge', () => {
    const src = createSurface(3, 3);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) setPixel(src, x, y, rgb(x, y, 9));
    const fb = new RecordingFramebuffer(4, 4, 24);
    assert.deepEqual(blit(fb, 2, -1, src), { x: 2, y: 0, width: 2, height: 2 });
    assert.equal(getPixel(fb, 2, 0), rgb(0, 1, 9));
    assert.equal(getPixel(fb, 3, 1), rgb(1, 2, 9));
    assert.equal(getPixel(fb, 1, 0), 0);
    assert.deepEqual(blit(fb, -1, 2, src), { x: 0, y: 2, width: 2, height: 2 });
    assert.equal(getPixel(fb, 0, 2), rgb(1, 0, 9));
  });

  it('scrollUp moves rows up inside the rect only', () => {
    for (const stride of [16, 20]) {
      const fb = new RecordingFramebuffer(4, 4, stride);
      for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) setPixel(fb, x, y, rgb(x, y, 1));
      const full = scrollUp(fb, { x: 0, y: 0, width: 4, height: 3 }, 1);
      assert.deepEqual(full, { x: 0, y: 0, width: 4, height: 3 });
      assert.equal(getPixel(fb, 2, 0), rgb(2, 1, 1));
      assert.equal(getPixel(fb, 2, 1), rgb(2, 2, 1));
      assert.equal(getPixel(fb, 2, 2), rgb(2, 2, 1), 'vacated row keeps its old pixels');
      assert.equal(getPixel(fb, 2, 3), rgb(2, 3, 1), 'below the rect untouched');
      scrollUp(fb, { x: 1, y: 0, width: 2, height: 4 }, 2);
      assert.equal(getPixel(fb, 1, 0), rgb(1, 2, 1));
      assert.equal(getPixel(fb, 1, 1), rgb(1, 3, 1));
      assert.equal(getPixel(fb, 0, 0), rgb(0, 1, 1), 'left of the rect untouched');
      assert.equal(getPixel(fb, 3, 0), rgb(3, 1, 1), 'right of the rect untouched');
    }
  });

  it('drawText puts glyph pixels at the scale asked for and returns its box', () => {
    const fb = new RecordingFramebuffer(40, 20);
    const r = drawText(fb, 2, 1, 'Hi', { fg: 0xffffff, bg: 0x000080, scale: 2 });
    assert.deepEqual(r, { x: 2, y: 1, width: textWidth('Hi', 2), height: 16 });
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 24; x++) {
        const ch = x < 12 ? 'H' : 'i';
        const ink = glyphPixel(ch.charCodeAt(0), Math.floor((x % 12) / 2), Math.floor(y / 2));
        assert.equal(getPixel(fb, 2 + x, 1 + y), ink ? 0xffffff : 0x000080, `(${x}, ${y})`);
      }
    }
    assert.equal(getPixel(fb, 26, 1), 0);
    assert.deepEqual(drawText(fb, 35, 15, 'clipped', { fg: 1 }), { x: 35, y: 15, width: 5, height: 5 });
  });
});
