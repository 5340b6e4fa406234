// The Display contract (backend/display/display.ts): what a listener reads during 'resize' and
// 'damage', and at any time after, is the display's own copy (the shadow), never guest memory
// that the guest changes after the event.

import { strict as assert } from 'node:assert';
import type { Surface } from '../../../backend/display/display';
import { GuestDisplay } from '../../../backend/display/guest-display';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';

const WIDTH = 1920;
const HEIGHT = 1080;

function guestSurface(): Surface {
  const stride = WIDTH * 4;
  return { width: WIDTH, height: HEIGHT, stride, format: PIXEL_FORMAT_XRGB8888, data: new Uint8Array(stride * HEIGHT) };
}

function pixel(s: Surface, x: number, y: number): number {
  const o = y * s.stride + x * 4;
  return s.data[o]! | (s.data[o + 1]! << 8) | (s.data[o + 2]! << 16);
}

function paint(s: Surface, x: number, y: number, v: number): void {
  const o = y * s.stride + x * 4;
  s.data[o] = v & 255;
  s.data[o + 1] = (v >> 8) & 255;
  s.data[o + 2] = (v >> 16) & 255;
}

for (const refineDamage of [true, false]) {
  describe(`display/guest-display: listeners read the shadow (refineDamage ${refineDamage})`, () => {
    it("'resize' hands listeners a copy that later guest writes do not reach", () => {
      const guest = guestSurface();
      paint(guest, 10, 20, 0x123456);
      const display = new GuestDisplay('test', { refineDamage });
      let seen: Surface | null = null;
      let atEvent = -1;
      display.on('resize', (s) => {
        seen = s;
        atEvent = s ? pixel(s, 10, 20) : -1;
      });
      display.setSurface(guest);
      assert.ok(seen, 'resize carried a surface');
      const s = seen as Surface;
      assert.equal(atEvent, 0x123456);
      assert.notEqual(s.data.buffer, guest.data.buffer, 'the surface handed out is not guest memory');
      assert.equal(display.surface(), s, 'surface() is the same copy');
      paint(guest, 10, 20, 0xabcdef);
      assert.equal(pixel(s, 10, 20), 0x123456, 'a guest write without damage does not show');
      assert.equal(pixel(display.surface()!, 10, 20), 0x123456);
    });

    it("'damage' listeners read the damaged pixels as they were reported, not what the guest wrote after", () => {
      const guest = guestSurface();
      const display = new GuestDisplay('test', { refineDamage });
      display.setSurface(guest);
      const readings: number[] = [];
      display.on('damage', () => readings.push(pixel(display.surface()!, 1900, 1000)));
      paint(guest, 1900, 1000, 0x00ff00);
      display.damage([{ x: 1890, y: 990, width: 30, height: 90 }]);
      paint(guest, 1900, 1000, 0xff0000); // after the event, no damage reported yet
      assert.deepEqual(readings, [0x00ff00]);
      assert.equal(pixel(display.surface()!, 1900, 1000), 0x00ff00, 'still the reported picture');
      display.damage([{ x: 1900, y: 1000, width: 1, height: 1 }]);
      assert.deepEqual(readings, [0x00ff00, 0xff0000], 'the next damage brings the new pixel');
    });

    it("a 'resize' to null leaves no surface, and damage without a surface is ignored", () => {
      const display = new GuestDisplay('test', { refineDamage });
      const events: Array<Surface | null> = [];
      display.on('resize', (s) => events.push(s));
      display.setSurface(guestSurface());
      display.setSurface(null);
      assert.equal(events.length, 2);
      assert.equal(events[1], null);
      assert.equal(display.surface(), null);
      let damaged = 0;
      display.on('damage', () => damaged++);
      display.damage([{ x: 0, y: 0, width: 10, height: 10 }]);
      assert.equal(damaged, 0);
    });

    it('holds no shadow while no one looks; a reader gets the present screen; unwatched damage drops the copy', () => {
      const guest = guestSurface();
      const display = new GuestDisplay('test', { refineDamage });
      display.setSurface(guest);
      assert.equal(display.hasShadow, false, 'an idle display copies nothing');
      assert.deepEqual(display.geometry(), { width: WIDTH, height: HEIGHT, stride: WIDTH * 4, format: PIXEL_FORMAT_XRGB8888 });
      assert.equal(display.hasShadow, false, 'geometry() makes no copy');
      paint(guest, 1919, 1079, 0x0000ff);
      display.damage([{ x: 1919, y: 1079, width: 1, height: 1 }]);
      assert.equal(display.stats.damageEvents, 1, 'unwatched damage is still counted');
      const shot = display.surface()!;
      assert.equal(display.hasShadow, true);
      assert.notEqual(shot.data.buffer, guest.data.buffer, 'a copy, not guest memory');
      assert.equal(pixel(shot, 1919, 1079), 0x0000ff, 'the copy is the present screen');
      paint(guest, 0, 0, 0x00ff00);
      display.damage([{ x: 0, y: 0, width: 1, height: 1 }]);
      assert.equal(display.hasShadow, false, 'damage no one listens to drops the copy');
      assert.equal(pixel(shot, 0, 0), 0, 'a surface handed out earlier is never written again');
    });

    it('the last listener leaving drops the copy and says so once; a cursor listener is not a viewer', () => {
      let unwatched = 0;
      const display = new GuestDisplay('test', { refineDamage, onUnwatched: () => unwatched++ });
      display.setSurface(guestSurface());
      const onDamage = () => undefined;
      const onResize = () => undefined;
      const onCursor = () => undefined;
      display.on('cursor', onCursor);
      display.on('damage', onDamage);
      display.on('resize', onResize);
      assert.equal(display.watched, true);
      display.surface();
      assert.equal(display.hasShadow, true);
      display.off('cursor', onCursor);
      display.off('damage', onDamage);
      assert.equal(display.hasShadow, true, 'one viewer left: the copy stays');
      assert.equal(unwatched, 0);
      display.off('resize', onResize);
      assert.equal(display.watched, false);
      assert.equal(display.hasShadow, false, 'no viewer left: the copy goes at once');
      assert.equal(unwatched, 1);
    });

    it('a listener that never read the surface is told the damage as given, and the copy it then reads is right', () => {
      const guest = guestSurface();
      const display = new GuestDisplay('test', { refineDamage });
      display.setSurface(guest);
      const got: number[] = [];
      display.on('damage', (rects) => got.push(rects.length, pixel(display.surface()!, 7, 7)));
      paint(guest, 7, 7, 0x777777);
      display.damage([{ x: 0, y: 0, width: 16, height: 16 }]);
      assert.deepEqual(got, [1, 0x777777]);
      paint(guest, 7, 7, 0x111111);
      display.damage([{ x: 7, y: 7, width: 1, height: 1 }]);
      assert.deepEqual(got, [1, 0x777777, 1, 0x111111], 'from then on the shadow follows as before');
    });
  });
}

describe('display/guest-display: cursor slot', () => {
  it('starts with no shape (the default arrow) and reports changes', () => {
    const display = new GuestDisplay('test');
    assert.deepEqual(display.cursor(), { shape: null, x: 0, y: 0, visible: true });
    const seen: unknown[] = [];
    display.on('cursor', (c) => seen.push(c));
    display.setCursor({ x: 5, y: 6 });
    assert.deepEqual(seen, [{ shape: null, x: 5, y: 6, visible: true }]);
  });
});
