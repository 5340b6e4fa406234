import { strict as assert } from 'node:assert';
import { errorCode } from '../../../shared/errors';
import { PIXEL_FORMAT_RGB565, PIXEL_FORMAT_XRGB8888, type PixelFormat } from '../../../backend/display/pixel-format';
import { MAX_PENDING_RECTS } from '../../../backend/updates/pending-region';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { connected, decodeUpdates, fur, patternRgb, patternSurface, setEncodings, setPixelFormat, TestDisplay } from './helpers';

const RGB565_BE: PixelFormat = { ...PIXEL_FORMAT_RGB565, bigEndian: true };
const RGBX_ODD: PixelFormat = { ...PIXEL_FORMAT_XRGB8888, redShift: 0, greenShift: 8, blueShift: 16 };

const code = (e: Error | undefined): string | undefined => errorCode(e);

describe('vnc/session updates', () => {
  it('non-incremental FUR: the full requested area at once, cropped to the framebuffer', () => {
    const h = connected();
    h.session.receive(fur(false, 20, 10, 100, 100));
    const [rects] = decodeUpdates(h.take(), 4);
    assert.equal(rects!.length, 1);
    assert.deepEqual({ ...rects![0]!, data: undefined }, { x: 20, y: 10, width: 12, height: 6, encoding: 0, data: undefined });
    const p = rects![0]!.data;
    assert.deepEqual([p[2], p[1], p[0]], patternRgb(20, 10));
    assert.equal(h.display.refreshes, 1);
  });

  it('incremental FUR: the initial full picture, then nothing until damage', () => {
    const h = connected();
    h.session.receive(fur(true, 0, 0, 32, 16));
    const [first] = decodeUpdates(h.take(), 4);
    assert.deepEqual(
      first!.map((r) => [r.x, r.y, r.width, r.height]),
      [[0, 0, 32, 16]],
    );
    h.session.receive(fur(true, 0, 0, 32, 16));
    assert.equal(h.take().length, 0, 'no damage, no update');
    h.display.emit('damage', [{ x: 4, y: 2, width: 3, height: 3 }]);
    const [second] = decodeUpdates(h.take(), 4);
    assert.deepEqual(
      second!.map((r) => [r.x, r.y, r.width, r.height]),
      [[4, 2, 3, 3]],
    );
    h.display.emit('damage', [{ x: 0, y: 0, width: 1, height: 1 }]);
    assert.equal(h.take().length, 0, 'damage waits for the next request');
    h.session.receive(fur(true, 0, 0, 32, 16));
    assert.equal(decodeUpdates(h.take(), 4)[0]!.length, 1);
  });

  it('incremental FUR covers only its area; damage outside stays pending', () => {
    const h = connected();
    h.session.receive(fur(false, 0, 0, 32, 16));
    h.take();
    h.display.emit('damage', [{ x: 0, y: 0, width: 32, height: 16 }]);
    h.session.receive(fur(true, 0, 0, 16, 16));
    const [left] = decodeUpdates(h.take(), 4);
    assert.deepEqual(
      left!.map((r) => [r.x, r.y, r.width, r.height]),
      [[0, 0, 16, 16]],
    );
    h.session.receive(fur(true, 0, 0, 32, 16));
    const [right] = decodeUpdates(h.take(), 4);
    assert.deepEqual(
      right!.map((r) => [r.x, r.y, r.width, r.height]),
      [[16, 0, 16, 16]],
    );
  });

  it('damage coalesces: contained rects vanish, past the limit the cheapest rects merge', () => {
    const h = connected();
    h.session.receive(fur(false, 0, 0, 32, 16));
    h.take();
    h.display.emit('damage', [
      { x: 0, y: 0, width: 8, height: 8 },
      { x: 1, y: 1, width: 2, height: 2 },
    ]);
    const many = Array.from({ length: MAX_PENDING_RECTS }, (_, i) => ({ x: i, y: 10, width: 1, height: 1 }));
    h.display.emit('damage', many);
    h.session.receive(fur(true, 0, 0, 32, 16));
    const [rects] = decodeUpdates(h.take(), 4);
    // The 8x8 square and the row at y = 10 (touching pixels merge at no cost): nothing else.
    assert.ok(rects!.length <= MAX_PENDING_RECTS);
    assert.equal(
      rects!.reduce((n, r) => n + r.width * r.height, 0),
      64 + MAX_PENDING_RECTS,
    );
  });

  it('SetPixelFormat 16bpp RGB565 big-endian: Raw pixels converted', () => {
    const h = connected();
    h.session.receive(Buffer.concat([setPixelFormat(RGB565_BE), fur(false, 1, 2, 2, 1)]));
    const [rects] = decodeUpdates(h.take(), 2);
    const [r, g, b] = patternRgb(1, 2);
    const px = (Math.round((r * 31) / 255) << 11) | (Math.round((g * 63) / 255) << 5) | Math.round((b * 31) / 255);
    assert.equal(rects![0]!.data.readUInt16BE(0), px);
    assert.equal(rects![0]!.data.length, 4);
  });

  it('SetPixelFormat 32bpp with other shifts (vncsnapshot RGBX)', () => {
    const h = connected();
    h.session.receive(Buffer.concat([setPixelFormat(RGBX_ODD), fur(false, 5, 3, 1, 1)]));
    const [rects] = decodeUpdates(h.take(), 4);
    assert.deepEqual([...rects![0]!.data], [...patternRgb(5, 3), 0]);
  });

  for (const [label, pf] of [
    ['a colour map', { ...PIXEL_FORMAT_XRGB8888, trueColour: false }],
    ['24 bpp', { ...PIXEL_FORMAT_XRGB8888, bitsPerPixel: 24 }],
    ['a max that is not 2^n-1', { ...PIXEL_FORMAT_XRGB8888, redMax: 200 }],
    ['a channel outside the pixel', { ...RGB565_BE, redShift: 12 }],
  ] as const) {
    it(`SetPixelFormat with ${label} closes with RFB_E_BAD_PIXEL_FORMAT`, () => {
      const h = connected();
      h.session.receive(setPixelFormat(pf as PixelFormat));
      assert.equal(code(h.session.error), 'RFB_E_BAD_PIXEL_FORMAT');
      assert.equal(h.closedWith.count, 1);
    });
  }

  it('resize with DesktopSize: a DesktopSize rect alone, then the full new picture', () => {
    const display = new TestDisplay(patternSurface(32, 16));
    const h = connected(display);
    h.session.receive(Buffer.concat([setEncodings([RfbEncoding.Raw, RfbEncoding.DesktopSize]), fur(false, 0, 0, 32, 16)]));
    h.take();
    h.session.receive(fur(true, 0, 0, 32, 16));
    display.setSurface(patternSurface(48, 20));
    const [resize] = decodeUpdates(h.take(), 4);
    assert.deepEqual(
      resize!.map((r) => [r.x, r.y, r.width, r.height, r.encoding]),
      [[0, 0, 48, 20, RfbEncoding.DesktopSize]],
    );
    h.session.receive(fur(true, 0, 0, 48, 20));
    const [full] = decodeUpdates(h.take(), 4);
    assert.deepEqual(
      full!.map((r) => [r.x, r.y, r.width, r.height]),
      [[0, 0, 48, 20]],
    );
  });

  it('resize without DesktopSize closes the session with RFB_E_NO_RESIZE', () => {
    const display = new TestDisplay(patternSurface(32, 16));
    const h = connected(display);
    h.session.receive(setEncodings([RfbEncoding.Raw]));
    display.setSurface(patternSurface(64, 16));
    assert.equal(code(h.session.error), 'RFB_E_NO_RESIZE');
    assert.equal(display.listenerCount('damage'), 0, 'listeners removed on close');
  });

  it('a same-size new surface is a full refresh, not a resize', () => {
    const display = new TestDisplay(patternSurface(32, 16));
    const h = connected(display);
    h.session.receive(fur(false, 0, 0, 32, 16));
    h.take();
    h.session.receive(fur(true, 0, 0, 32, 16));
    display.setSurface(patternSurface(32, 16));
    assert.deepEqual(
      decodeUpdates(h.take(), 4)[0]!.map((r) => r.width * r.height),
      [32 * 16],
    );
    assert.equal(h.session.closed, false);
  });

  it('no surface: nothing is sent until one appears', () => {
    const display = new TestDisplay(patternSurface(32, 16));
    const h = connected(display);
    display.setSurface(null);
    h.session.receive(fur(false, 0, 0, 32, 16));
    assert.equal(h.take().length, 0);
    display.setSurface(patternSurface(32, 16));
    assert.equal(decodeUpdates(h.take(), 4)[0]!.length, 1);
  });

  it('backpressure: no frame while the transport is full, sent on resume()', () => {
    let full = false;
    const h = connected(undefined, { backpressured: () => full });
    full = true;
    h.session.receive(fur(false, 0, 0, 32, 16));
    assert.equal(h.take().length, 0);
    full = false;
    h.session.resume();
    assert.equal(decodeUpdates(h.take(), 4).length, 1);
  });

  it('exact rect counts even when the client advertises LastRect', () => {
    const h = connected();
    h.session.receive(Buffer.concat([setEncodings([RfbEncoding.LastRect, RfbEncoding.Raw]), fur(false, 0, 0, 32, 16)]));
    h.take();
    h.display.emit('damage', [
      { x: 0, y: 0, width: 2, height: 2 },
      { x: 10, y: 10, width: 2, height: 2 },
    ]);
    h.session.receive(fur(true, 0, 0, 32, 16));
    const out = h.take();
    assert.equal(out.readUInt16BE(2), 2);
    assert.ok(decodeUpdates(out, 4)[0]!.every((r) => r.encoding === RfbEncoding.Raw));
  });

  it('stats count updates, rects and bytes per encoder', () => {
    const h = connected();
    h.session.receive(fur(false, 0, 0, 32, 16));
    const s = h.session.stats();
    assert.equal(s.updates, 1);
    assert.equal(s.encoders.Raw!.rects, 1);
    assert.equal(s.encoders.Raw!.pixels, 32 * 16);
    assert.equal(s.encoders.Raw!.bytes, 12 + 32 * 16 * 4);
  });
});
