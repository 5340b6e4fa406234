// Marker and scanner on one page, single-threaded: the switch/scan protocol step by step,
// the late writer, missed switches, idle and wake, the switch timer, and garbage pages.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';

import { TileScanner } from '../../../backend/damage/tile-scanner';
import { FrontendTileSwitcher, TileMarker } from '../../../frontend/dirty-tiles/marker';
import {
  DT_FLAG_SWITCH_NOW,
  DT_FLAG_SWITCH_ON_MARK,
  DT_FLAG_WOKE,
  DT_OFF,
  DT_U32,
  bitmapWordIndex,
  chooseTileGeometry,
  initTilePage,
} from '../../../shared/dirty-tiles/page';
import { XEN_PAGE_SIZE } from '../../../shared/page';

const W = 1920;
const H = 1080; // 60 x 68 tiles of 32 x 16

function setup(opts: { idleAfterEmptyScans?: number; now?: () => number; pace?: boolean; switchOnMark?: boolean } = {}) {
  const page = new Uint8Array(XEN_PAGE_SIZE);
  initTilePage(page, chooseTileGeometry(W, H));
  const marker = new TileMarker(page, { fbWidth: W, fbHeight: H });
  const scanner = new TileScanner(page, { fbWidth: W, fbHeight: H, periodMs: 20, ...opts });
  scanner.start();
  const u32 = new Uint32Array(page.buffer);
  const u64 = new BigUint64Array(page.buffer);
  return { page, marker, scanner, u32, u64 };
}

describe('dirty-tiles: marker + scanner', () => {
  it('mark, switch, scan: the tile comes out once, as its pixel rect', () => {
    const { marker, scanner } = setup();
    assert.equal(marker.mark({ x: 40, y: 20, width: 10, height: 5 }), false);
    assert.equal(marker.switchBitmaps(), 1);
    const r = scanner.scan();
    assert.deepEqual(r.rects, [{ x: 32, y: 16, width: 32, height: 16 }]);
    assert.equal(r.tiles, 1);
    assert.equal(r.switched, true);
    assert.equal(scanner.scan().tiles, 0);
    assert.equal(scanner.stats.tiles, 1);
  });

  it('the last row and column of tiles are clipped to the framebuffer', () => {
    const { marker, scanner } = setup();
    marker.mark({ x: W - 1, y: H - 1, width: 100, height: 100 });
    marker.switchBitmaps();
    assert.deepEqual(scanner.scan().rects, [{ x: W - 32, y: 1072, width: 32, height: 8 }]);
  });

  it('a guest that did not switch is asked to (flags bit 0) and the answer delivers', () => {
    const { marker, scanner, u32 } = setup();
    marker.mark({ x: 0, y: 0, width: 1, height: 1 });
    const r1 = scanner.scan();
    assert.equal(r1.tiles, 0);
    assert.equal(r1.late, true);
    assert.equal(u32[DT_U32.flags] & DT_FLAG_SWITCH_NOW, DT_FLAG_SWITCH_NOW);
    assert.equal(scanner.scan().late, false, 'asks once, not every scan');
    assert.equal(marker.answerSwitchRequest(), true);
    assert.equal(marker.answerSwitchRequest(), false);
    assert.equal(u32[DT_U32.flags] & DT_FLAG_SWITCH_NOW, 0);
    assert.equal(scanner.scan().tiles, 1);
    assert.equal(scanner.stats.lateSwitches, 1);
  });

  it('late writer: read active before the switch, OR after the drain -> caught at the next scan', () => {
    const { marker, scanner, u32, u64 } = setup();
    const staleActive = Atomics.load(u32, DT_U32.active) as 0 | 1; // writer reads active = 0
    marker.switchBitmaps(); // active = 1
    assert.equal(scanner.scan().tiles, 0); // drains bitmap[0]: nothing yet
    Atomics.or(u64, bitmapWordIndex(staleActive) + 3, 1n << 5n); // the late OR into bitmap[0]
    const r = scanner.scan(); // no switch, but the inactive bitmap is drained every scan
    assert.equal(r.switched, false);
    assert.deepEqual(r.rects, [{ x: 5 * 32, y: 3 * 16, width: 32, height: 16 }]);
  });

  it('two switches between scans: both bitmaps are drained', () => {
    const { marker, scanner } = setup();
    marker.mark({ x: 0, y: 0, width: 1, height: 1 }); // into bitmap[0]
    marker.switchBitmaps();
    marker.mark({ x: 64, y: 0, width: 1, height: 1 }); // into bitmap[1]
    marker.switchBitmaps(); // active = 0 again, still holding tile (0,0)
    const r = scanner.scan();
    assert.equal(r.tiles, 2);
  });

  it('generation wrap past 2^32 still counts as a switch', () => {
    const { marker, scanner, u32 } = setup();
    u32[DT_U32.generation] = 0xffffffff;
    scanner.scan();
    marker.mark({ x: 0, y: 0, width: 1, height: 1 });
    assert.equal(marker.switchBitmaps(), 0);
    const r = scanner.scan();
    assert.equal(r.switched, true);
    assert.equal(r.tiles, 1);
    assert.equal(u32[DT_U32.scannedGeneration], 0);
  });

  it('idle after K empty scans; the first mark wakes once; wake asks for a switch', () => {
    const { marker, scanner, u32 } = setup({ idleAfterEmptyScans: 3 });
    assert.equal(scanner.scan().idle, false);
    assert.equal(scanner.scan().idle, false);
    assert.equal(scanner.scan().idle, true);
    assert.equal(scanner.idle, true);
    assert.equal(u32[DT_U32.periodMs], 0);
    assert.equal(scanner.wake(), false, 'nothing flagged yet: stays idle');
    assert.equal(scanner.idle, true);
    assert.equal(marker.mark({ x: 0, y: 0, width: 1, height: 1 }), true);
    assert.equal(marker.mark({ x: 100, y: 0, width: 1, height: 1 }), false, 'notifies once');
    assert.equal(u32[DT_U32.flags], DT_FLAG_WOKE);
    assert.equal(scanner.wake(), true);
    assert.equal(scanner.idle, false);
    assert.equal(u32[DT_U32.periodMs], 20);
    assert.equal(u32[DT_U32.flags], DT_FLAG_SWITCH_NOW);
    assert.equal(marker.answerSwitchRequest(), true);
    assert.equal(scanner.scan().tiles, 2);
    assert.equal(scanner.stats.wakeups, 1);
    assert.equal(scanner.stats.idles, 1);
  });

  it('does not go idle while marks are pending in the active bitmap', () => {
    const { marker, scanner } = setup({ idleAfterEmptyScans: 1 });
    marker.mark({ x: 0, y: 0, width: 1, height: 1 });
    for (let i = 0; i < 5; i++) assert.equal(scanner.scan().idle, false);
  });

  describe('paced by the backend (§4.7, r8)', () => {
    it('a timer scan that finds marks asks for a switch even right after one; the answer scan delivers', () => {
      const { marker, scanner, u32 } = setup();
      marker.switchBitmaps(); // a switch just happened (generation moved)...
      marker.mark({ x: 0, y: 0, width: 1, height: 1 }); // ...and a mark landed after it
      const tick = scanner.scan(true);
      assert.equal(tick.switched, true);
      assert.equal(tick.tiles, 0);
      assert.equal(tick.late, true, 'paced: asks at once, no waiting for the frontend timer');
      assert.equal(u32[DT_U32.flags] & DT_FLAG_SWITCH_NOW, DT_FLAG_SWITCH_NOW);
      assert.equal(marker.answerSwitchRequest(), true);
      const answer = scanner.scan(); // the notify scan
      assert.equal(answer.tiles, 1);
      assert.equal(answer.late, false, 'the answer scan does not ask again');
      assert.equal(scanner.stats.pacedSwitches, 1);
      assert.equal(scanner.stats.lateSwitches, 0);
      assert.equal(scanner.scan(true).late, false, 'nothing marked: no request, no notify');
    });

    it('an unpaced scanner (v1) and a notify scan do not ask right after a switch', () => {
      for (const [pace, tick] of [
        [false, true],
        [true, false],
      ]) {
        const { marker, scanner } = setup({ pace });
        marker.switchBitmaps();
        marker.mark({ x: 0, y: 0, width: 1, height: 1 });
        assert.equal(scanner.scan(tick).late, false, `pace ${pace}, tick ${tick}`);
        assert.equal(scanner.scan(tick).late, true, 'the late rule asks one scan later');
        assert.equal(scanner.stats.pacedSwitches, 0);
      }
    });

    it('a request the frontend took (bit 0 clear) is asked again at the next tick; the stuck clock keeps running', () => {
      let now = 0;
      const { marker, scanner, u32 } = setup({ now: () => now });
      marker.mark({ x: 0, y: 0, width: 1, height: 1 });
      assert.equal(scanner.scan(true).late, true);
      assert.equal(scanner.scan(true).late, false, 'bit 0 still set: asked once');
      // The frontend cleared bit 0 but its switch is not visible yet (or generation moved by
      // a multiple of 2^32): ask again rather than wait for the stuck limit.
      Atomics.and(u32, DT_U32.flags, ~DT_FLAG_SWITCH_NOW);
      now = 500;
      assert.equal(scanner.scan(true).late, true);
      // A frontend that clears bit 0 but never switches is still stuck 1000 ms after the first ask.
      Atomics.and(u32, DT_U32.flags, ~DT_FLAG_SWITCH_NOW);
      now = 1000;
      assert.equal(scanner.scan(true).garbage, 'DT_E_STUCK');
    });

    it('FrontendTileSwitcher paced: no timer ever; switches only on request and notifies back', () => {
      const { marker, scanner } = setup({ idleAfterEmptyScans: 2 });
      let armed = 0;
      let notified = 0;
      const sw = new FrontendTileSwitcher({
        marker,
        paced: true,
        notify: () => notified++,
        setTimer: () => ++armed,
        clearTimer: () => undefined,
      });
      sw.start();
      sw.onNotify();
      assert.equal(armed, 0);
      assert.equal(sw.running, false);
      marker.mark({ x: 0, y: 0, width: 1, height: 1 });
      assert.equal(scanner.scan(true).late, true);
      sw.onNotify();
      assert.equal(notified, 1);
      assert.equal(sw.switches, 1);
      assert.equal(scanner.scan().tiles, 1);
      assert.equal(armed, 0);
    });
  });

  describe('switch on mark (§4.8, r9)', () => {
    it('start and every scan of an awake page ask to hear of the next mark; idle and a scanner without it never do', () => {
      const { marker, scanner, u32 } = setup({ idleAfterEmptyScans: 2, switchOnMark: true });
      assert.equal(u32[DT_U32.flags], DT_FLAG_SWITCH_ON_MARK, 'set when the scanner starts (setup)');
      scanner.scan(true);
      assert.equal(u32[DT_U32.flags], DT_FLAG_SWITCH_ON_MARK);
      marker.mark({ x: 0, y: 0, width: 1, height: 1 });
      assert.equal(marker.takeSwitchOnMark(), true);
      assert.equal(marker.takeSwitchOnMark(), false, 'taken once');
      assert.equal(u32[DT_U32.flags], 0);
      marker.switchAnswering();
      const scan = scanner.scan(); // the notify scan
      assert.equal(scan.tiles, 1);
      assert.equal(scan.late, false);
      assert.equal(u32[DT_U32.flags], DT_FLAG_SWITCH_ON_MARK, 'asked again for the next mark');
      assert.equal(scanner.stats.markRequests, 2);
      scanner.scan(true);
      assert.equal(scanner.stats.markRequests, 2, 'a bit still set is not counted again');
      scanner.scan(true); // second empty scan: idle
      assert.equal(u32[DT_U32.periodMs], 0);
      assert.equal(u32[DT_U32.flags] & DT_FLAG_SWITCH_ON_MARK, 0, 'idle: marks wake by WOKE');
      assert.equal(marker.mark({ x: 0, y: 0, width: 1, height: 1 }), true);
      assert.equal(marker.takeSwitchOnMark(), false);
      assert.equal(scanner.wake(), true);
      assert.equal(u32[DT_U32.flags] & DT_FLAG_SWITCH_ON_MARK, DT_FLAG_SWITCH_ON_MARK, 'set again on wake');

      const plain = setup();
      plain.marker.mark({ x: 0, y: 0, width: 1, height: 1 });
      plain.scanner.scan(true);
      assert.equal(plain.u32[DT_U32.flags] & DT_FLAG_SWITCH_ON_MARK, 0);
      assert.equal(plain.marker.takeSwitchOnMark(), false);
    });

    it('FrontendTileSwitcher: one switch after the drawing step, answering a pending request too, then a notify', () => {
      const { marker, scanner, u32 } = setup({ switchOnMark: true });
      const deferred: Array<() => void> = [];
      let notified = 0;
      const sw = new FrontendTileSwitcher({ marker, paced: true, notify: () => notified++, defer: (fn) => deferred.push(fn) });
      sw.start();
      scanner.scan(true);
      for (const x of [0, 64, 128]) {
        marker.mark({ x, y: 0, width: 1, height: 1 });
        if (marker.takeSwitchOnMark()) sw.onSwitchOnMark();
      }
      Atomics.or(u32, DT_U32.flags, DT_FLAG_SWITCH_NOW); // a paced request crossed it
      assert.equal(deferred.length, 1, 'one switch for the whole step');
      assert.equal(marker.generation, 0, 'not in the middle of the step');
      deferred.shift()!();
      assert.equal(marker.generation, 1);
      assert.equal(u32[DT_U32.flags] & DT_FLAG_SWITCH_NOW, 0, 'the request is answered by the same switch');
      assert.equal(notified, 1);
      assert.equal(sw.markSwitches, 1);
      assert.equal(scanner.scan().tiles, 3);
      // A switcher stopped before its step ended does not switch.
      marker.mark({ x: 0, y: 0, width: 1, height: 1 });
      if (marker.takeSwitchOnMark()) sw.onSwitchOnMark();
      sw.stop();
      deferred.shift()!();
      assert.equal(marker.generation, 1);
      assert.equal(notified, 1);
    });
  });

  it('FrontendTileSwitcher: switches each period, stops at period 0, restarts on notify', () => {
    const { marker, scanner, u32 } = setup({ idleAfterEmptyScans: 2 });
    const timers: Array<{ fn: () => void; ms: number }> = [];
    let notified = 0;
    const sw = new FrontendTileSwitcher({
      marker,
      notify: () => notified++,
      setTimer: (fn, ms) => {
        const t = { fn, ms };
        timers.push(t);
        return t;
      },
      clearTimer: (t) => timers.splice(timers.indexOf(t as (typeof timers)[0]), 1),
    });
    const fire = (): void => timers.shift()!.fn();
    sw.start();
    assert.equal(timers.length, 1);
    assert.equal(timers[0].ms, 20);
    fire();
    assert.equal(marker.generation, 1);
    assert.equal(sw.running, true);
    scanner.scan();
    scanner.scan(); // idle: period_ms = 0
    assert.equal(u32[DT_U32.periodMs], 0);
    fire(); // the tick sees period 0 and does not re-arm
    assert.equal(sw.running, false);
    assert.equal(marker.generation, 1);
    if (marker.mark({ x: 0, y: 0, width: 1, height: 1 })) sw.onWokeMark();
    assert.equal(notified, 1);
    assert.equal(scanner.wake(), true);
    sw.onNotify(); // answers the switch request, notifies back, re-arms
    assert.equal(notified, 2);
    assert.equal(marker.generation, 2);
    assert.equal(sw.running, true);
    assert.equal(scanner.scan().tiles, 1);
    sw.stop();
    assert.equal(timers.length, 0);
  });

  describe('garbage', () => {
    it('bad magic -> full refresh at a bounded rate, owed until paid, then recovers', () => {
      let t = 0;
      const { page, marker, scanner } = setup({ now: () => t });
      page[0] = 0;
      let r = scanner.scan();
      assert.equal(r.garbage, 'DT_E_BAD_MAGIC');
      assert.deepEqual(r.rects, [{ x: 0, y: 0, width: W, height: H }]);
      t = 100;
      r = scanner.scan();
      assert.equal(r.full, false);
      assert.deepEqual(r.rects, []);
      page[0] = 0x58;
      t = 200;
      assert.equal(scanner.scan().full, false, 'still inside the interval');
      t = 300;
      r = scanner.scan();
      assert.equal(r.garbage, null);
      assert.equal(r.full, true, 'the owed refresh is paid once the page is valid again');
      marker.mark({ x: 0, y: 0, width: 1, height: 1 });
      marker.switchBitmaps();
      t = 310;
      assert.deepEqual(scanner.scan().rects, [{ x: 0, y: 0, width: 32, height: 16 }]);
      assert.equal(scanner.stats.fullRefreshes, 2);
    });

    it('geometry changed after the first scan, cols > 64, active 7: typed garbage codes', () => {
      const { page, scanner, u32 } = setup();
      scanner.scan();
      const v = new DataView(page.buffer);
      v.setUint16(DT_OFF.tileW, 64, true);
      assert.equal(scanner.scan().garbage, 'DT_E_BAD_GEOMETRY');
      v.setUint16(DT_OFF.tileW, 32, true);
      v.setUint16(DT_OFF.cols, 65, true);
      assert.equal(scanner.scan().garbage, 'DT_E_BAD_GEOMETRY');
      v.setUint16(DT_OFF.cols, 60, true);
      u32[DT_U32.active] = 7;
      assert.equal(scanner.scan().garbage, 'DT_E_BAD_ACTIVE');
      u32[DT_U32.active] = 0;
      u32[1] = 9;
      assert.equal(scanner.scan().garbage, 'DT_E_BAD_VERSION');
      u32[1] = 1;
      assert.equal(scanner.scan().garbage, null);
    });

    it('a switch request left unanswered past the stuck limit degrades (DT_E_STUCK)', () => {
      let t = 0;
      const { marker, scanner } = setup({ now: () => t });
      marker.mark({ x: 0, y: 0, width: 1, height: 1 });
      assert.equal(scanner.scan().late, true);
      t = 999;
      marker.mark({ x: 0, y: 0, width: 1, height: 1 });
      assert.equal(scanner.scan().garbage, null);
      t = 1000;
      const r = scanner.scan();
      assert.equal(r.garbage, 'DT_E_STUCK');
      assert.equal(r.full, true);
      assert.equal(r.late, true, 'asks again');
    });

    it('fuzz: random pages and random writes never throw, never leave the fb or the page', () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: XEN_PAGE_SIZE, maxLength: XEN_PAGE_SIZE }),
          fc.array(fc.tuple(fc.integer({ min: 0, max: XEN_PAGE_SIZE - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 40 }),
          fc.boolean(),
          (bytes, pokes, startValid) => {
            // the page sits inside a larger buffer with guard bytes on both sides
            const whole = new Uint8Array(XEN_PAGE_SIZE * 3).fill(0xcc);
            const page = whole.subarray(XEN_PAGE_SIZE, 2 * XEN_PAGE_SIZE);
            if (startValid) {
              initTilePage(page, chooseTileGeometry(W, H));
              for (let i = 1024; i < 3072; i++) page[i] = bytes[i];
            } else {
              page.set(bytes);
            }
            let t = 0;
            const scanner = new TileScanner(page, { fbWidth: W, fbHeight: H, now: () => t, idleAfterEmptyScans: 2 });
            for (let i = 0; i <= pokes.length; i++) {
              const r = scanner.scan();
              scanner.wake();
              for (const rect of r.rects) {
                assert.ok(rect.x >= 0 && rect.y >= 0 && rect.width > 0 && rect.height > 0);
                assert.ok(rect.x + rect.width <= W && rect.y + rect.height <= H);
              }
              if (i < pokes.length) page[pokes[i][0]] = pokes[i][1];
              t += 50;
            }
            for (let i = 0; i < XEN_PAGE_SIZE; i++) {
              assert.equal(whole[i], 0xcc);
              assert.equal(whole[2 * XEN_PAGE_SIZE + i], 0xcc);
            }
          },
        ),
        { numRuns: 300 },
      );
    });

    it('a short or misaligned page is refused up front (DT_E_BAD_PAGE)', () => {
      assert.throws(() => new TileScanner(new Uint8Array(100), { fbWidth: W, fbHeight: H }), { code: 'DT_E_BAD_PAGE' });
      assert.throws(() => new TileScanner(new Uint8Array(XEN_PAGE_SIZE + 4).subarray(4), { fbWidth: W, fbHeight: H }), {
        code: 'DT_E_BAD_PAGE',
      });
    });
  });
});
