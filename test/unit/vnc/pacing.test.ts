import { strict as assert } from 'node:assert';
import { ByteWriter } from '../../../shared/bytes';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import type { Surface } from '../../../backend/display/display';
import { analyseRect } from '../../../backend/updates/classify';
import { EncodeManager } from '../../../backend/vnc/encode-manager';
import { LOSSLESS_REFRESH_MS, LossyRegion, MAX_LOSSY_RECTS } from '../../../backend/updates/lossless-refresh';
import { RfbEncoding } from '../../../backend/vnc/messages';
import { FRAME_TOLERANCE_MS, type SchedulerClock, timerMs, UpdateScheduler } from '../../../backend/updates/update-scheduler';
import { connected, decodeUpdates, fur, setEncodings, TestDisplay } from './helpers';

class FakeClock implements SchedulerClock {
  t = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }
  get armed(): number {
    return this.timers.size;
  }
  /** Move time forward, running due timers in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, v]) => v.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.t = Math.max(this.t, due[1].at);
      due[1].fn();
    }
    this.t = end;
  }
}

/** XRGB8888 surface: noise (photo-like) or few-colour stripes. */
function surface(width: number, height: number, kind: 'noise' | 'stripes' | 'solid', seed = 1): Surface {
  const data = new Uint8Array(width * height * 4);
  let s = seed;
  for (let i = 0; i < data.length; i += 4) {
    if (kind === 'noise') {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[i] = s & 255;
      data[i + 1] = (s >>> 8) & 255;
      data[i + 2] = (s >>> 16) & 255;
    } else if (kind === 'stripes') {
      const v = (((i / 4) % width) >> 3) & 3;
      data.fill(v * 60, i, i + 3);
    } else {
      data.fill(90, i, i + 3);
    }
  }
  return { width, height, stride: width * 4, format: PIXEL_FORMAT_XRGB8888, data };
}

const TIGHT_Q5 = [RfbEncoding.Tight, -32 + 5];
/** Control byte of the first rect of a one-update buffer: u8 type | u8 pad | u16 n | 12-byte header | ctl. */
const firstCtl = (b: Buffer): number => b[4 + 12]!;
const rectCount = (b: Buffer): number => b.readUInt16BE(2);

function lossySession(clock: FakeClock, extra = {}) {
  const display = new TestDisplay(surface(256, 256, 'noise'));
  const h = connected(display, { clock, frameIntervalMs: 0, ...extra });
  h.session.receive(Buffer.concat([setEncodings(TIGHT_Q5), fur(false, 0, 0, 256, 256)]));
  return h;
}

describe('vnc/classify', () => {
  it('solid, palette, photo; small photo-like rects stay lossless', () => {
    assert.equal(analyseRect(surface(64, 64, 'solid'), { x: 0, y: 0, width: 64, height: 64 }).kind, 'solid');
    assert.equal(analyseRect(surface(64, 64, 'stripes'), { x: 0, y: 0, width: 64, height: 64 }).kind, 'palette');
    const noise = analyseRect(surface(256, 256, 'noise'), { x: 0, y: 0, width: 256, height: 256 });
    assert.equal(noise.kind, 'photo');
    assert.ok(noise.entropyBits > 10, `entropy ${noise.entropyBits}`);
    assert.equal(analyseRect(surface(256, 256, 'noise'), { x: 0, y: 0, width: 32, height: 32 }).kind, 'palette');
  });

  it('one differing pixel makes a rect not solid (the solid test is exact)', () => {
    const s = surface(64, 64, 'solid');
    s.data[(63 * 64 + 63) * 4] = 1;
    assert.equal(analyseRect(s, { x: 0, y: 0, width: 64, height: 64 }).kind, 'palette');
    assert.equal(analyseRect(s, { x: 0, y: 0, width: 63, height: 64 }).kind, 'solid');
  });
});

describe('vnc/encode-manager per-rect choice', () => {
  const encodeOne = (m: EncodeManager, s: Surface) => {
    const w = new ByteWriter(1024);
    return m.encodeRect(s, { x: 0, y: 0, width: s.width, height: s.height }, PIXEL_FORMAT_XRGB8888, w);
  };

  it('JPEG only for photo rects, with a quality level, through Tight', () => {
    const m = new EncodeManager();
    m.setClientEncodings(TIGHT_Q5);
    assert.deepEqual(encodeOne(m, surface(128, 128, 'noise')), { encoding: RfbEncoding.Tight, kind: 'photo', lossy: true });
    assert.equal(encodeOne(m, surface(128, 128, 'stripes')).lossy, false);
    const w = new ByteWriter(1024);
    assert.equal(
      m.encodeRect(surface(128, 128, 'noise'), { x: 0, y: 0, width: 128, height: 128 }, PIXEL_FORMAT_XRGB8888, w, { lossless: true }).lossy,
      false,
    );
    const noQuality = new EncodeManager();
    noQuality.setClientEncodings([RfbEncoding.Tight]);
    assert.equal(encodeOne(noQuality, surface(128, 128, 'noise')).lossy, false);
    const zrle = new EncodeManager();
    zrle.setClientEncodings([RfbEncoding.ZRLE, RfbEncoding.Tight, -32 + 5]);
    // ZRLE: the class cannot change the bytes, so the rect is not classified.
    assert.deepEqual(encodeOne(zrle, surface(128, 128, 'noise')), { encoding: RfbEncoding.ZRLE, kind: undefined, lossy: false });
    assert.equal(zrle.classifies, false);
    assert.deepEqual(zrle.classCounts(), { solid: 0, palette: 0, photo: 0 });
    assert.deepEqual(Object.keys(m.snapshot()).sort(), ['Tight', 'Tight JPEG']);
    assert.deepEqual(m.classCounts(), { solid: 0, palette: 1, photo: 2 });
  });

  it('solid rects leave Raw / Zlib for a solid-capable encoding the client has', () => {
    const m = new EncodeManager();
    m.setClientEncodings([RfbEncoding.Raw, RfbEncoding.Hextile, RfbEncoding.RRE]);
    assert.equal(m.classifies, true);
    const r = encodeOne(m, surface(300, 300, 'solid'));
    assert.equal(r.encoding, RfbEncoding.RRE, 'first of Tight / RRE / Hextile / ZRLE the client supports');
    assert.equal(encodeOne(m, surface(64, 64, 'stripes')).encoding, RfbEncoding.Raw);
    const rawOnly = new EncodeManager();
    rawOnly.setClientEncodings([RfbEncoding.Raw]);
    assert.equal(rawOnly.classifies, false);
    assert.equal(encodeOne(rawOnly, surface(64, 64, 'solid')).encoding, RfbEncoding.Raw);
  });
});

describe('vnc/lossless-refresh LossyRegion', () => {
  it('damage restarts the still time; lossless sends remove areas; the list stays bounded', () => {
    const l = new LossyRegion();
    l.addLossy({ x: 0, y: 0, width: 100, height: 100 }, 0);
    l.touch({ x: 50, y: 50, width: 1, height: 1 }, 200);
    assert.deepEqual(l.takeStill(LOSSLESS_REFRESH_MS, LOSSLESS_REFRESH_MS), []);
    assert.equal(l.nextDue(LOSSLESS_REFRESH_MS), 200 + LOSSLESS_REFRESH_MS);
    l.sentLossless({ x: 0, y: 0, width: 100, height: 50 });
    assert.deepEqual(l.takeStill(500, LOSSLESS_REFRESH_MS), [{ x: 0, y: 50, width: 100, height: 50 }]);
    for (let i = 0; i < MAX_LOSSY_RECTS + 5; i++) l.addLossy({ x: i * 10, y: 0, width: 5, height: 5 }, i);
    assert.ok(l.rects.length <= MAX_LOSSY_RECTS);
  });
});

describe('vnc/session lossless refresh', () => {
  it('a JPEG area still for LOSSLESS_REFRESH_MS is re-sent losslessly on the outstanding request', () => {
    const clock = new FakeClock();
    const h = lossySession(clock);
    const first = h.take();
    assert.equal(firstCtl(first) & 0xf0, 0x90, 'JPEG');
    assert.equal(h.session.stats().encoders['Tight JPEG']!.rects, 1);
    h.session.receive(fur(true, 0, 0, 256, 256));
    assert.equal(h.take().length, 0, 'nothing changed yet');
    clock.advance(LOSSLESS_REFRESH_MS - 1);
    assert.equal(h.take().length, 0, 'not still long enough');
    clock.advance(1);
    const refresh = h.take();
    assert.equal(rectCount(refresh), 1);
    assert.deepEqual(
      [refresh.readUInt16BE(4), refresh.readUInt16BE(6), refresh.readUInt16BE(8), refresh.readUInt16BE(10)],
      [0, 0, 256, 256],
    );
    assert.notEqual(firstCtl(refresh) & 0xf0, 0x90, 'lossless Tight');
    assert.equal(h.session.stats().losslessRefreshes, 1);
    h.session.receive(fur(true, 0, 0, 256, 256));
    clock.advance(5000);
    assert.equal(h.take().length, 0, 'refreshed once only');
    assert.equal(clock.armed, 0, 'no timer left');
  });

  it('damage on a lossy area restarts its still time', () => {
    const clock = new FakeClock();
    const h = lossySession(clock);
    h.take();
    clock.advance(200);
    h.display.emit('damage', [{ x: 0, y: 0, width: 8, height: 8 }]); // no request: stays pending
    h.session.receive(fur(true, 0, 128, 256, 128)); // a request for the lower half only
    assert.equal(h.take().length, 0);
    clock.advance(LOSSLESS_REFRESH_MS - 1);
    assert.equal(h.take().length, 0, 'touched at 200: not still before 500');
    clock.advance(1);
    const b = h.take();
    assert.equal(rectCount(b), 1);
    assert.deepEqual([b.readUInt16BE(4), b.readUInt16BE(6), b.readUInt16BE(8), b.readUInt16BE(10)], [0, 128, 256, 128]);
  });

  it('without an outstanding request the refresh waits for the next one', () => {
    const clock = new FakeClock();
    const h = lossySession(clock);
    h.take();
    clock.advance(LOSSLESS_REFRESH_MS * 3);
    assert.equal(h.take().length, 0);
    h.session.receive(fur(true, 0, 0, 256, 256));
    assert.equal(rectCount(h.take()), 1);
    assert.equal(h.session.stats().losslessRefreshes, 1);
  });

  it('clients without a quality level never get JPEG, and no refresh timer runs', () => {
    const clock = new FakeClock();
    const display = new TestDisplay(surface(256, 256, 'noise'));
    const h = connected(display, { clock });
    h.session.receive(Buffer.concat([setEncodings([RfbEncoding.Tight]), fur(false, 0, 0, 256, 256)]));
    assert.notEqual(firstCtl(h.take()) & 0xf0, 0x90);
    assert.equal(clock.armed, 0);
    assert.equal(h.session.stats().encoders['Tight JPEG'], undefined);
  });
});

/** A session paced at 16 ms on `clock` that has sent the client's first (full) update. */
function afterFirstUpdate(clock: FakeClock) {
  const h = connected(undefined, { clock, frameIntervalMs: 16 });
  h.session.receive(fur(false, 0, 0, 32, 16));
  assert.equal(decodeUpdates(h.take(), 4).length, 1);
  return h;
}

describe('vnc/session frame clock', () => {
  it('never two updates within interval - tolerance; damage meanwhile is merged into one', () => {
    const clock = new FakeClock();
    const h = afterFirstUpdate(clock);
    clock.advance(3);
    h.session.receive(fur(true, 0, 0, 32, 16));
    h.display.emit('damage', [{ x: 0, y: 0, width: 2, height: 2 }]);
    clock.advance(3);
    h.display.emit('damage', [{ x: 0, y: 0, width: 4, height: 4 }]);
    assert.equal(h.take().length, 0, 'held back by the frame clock');
    clock.advance(16 - FRAME_TOLERANCE_MS - 6);
    const updates = decodeUpdates(h.take(), 4);
    assert.equal(updates.length, 1);
    assert.deepEqual(
      updates[0]!.map((r) => [r.x, r.y, r.width, r.height]),
      [[0, 0, 4, 4]],
    );
  });

  it('an incremental request with nothing to send arms no frame timer; damage then waits for the frame', () => {
    const clock = new FakeClock();
    const h = afterFirstUpdate(clock);
    clock.advance(2.5);
    h.session.receive(fur(true, 0, 0, 32, 16));
    assert.equal(clock.armed, 0, 'no timer for a request with no damage');
    clock.advance(2.5);
    h.display.emit('damage', [{ x: 0, y: 0, width: 2, height: 2 }]);
    assert.equal(h.take().length, 0, 'held back by the frame clock');
    assert.equal(clock.armed, 1);
    clock.advance(11);
    assert.equal(decodeUpdates(h.take(), 4).length, 1, 'sent when the frame may go');
  });

  it('the frame timer waits whole milliseconds, rounded up (a timer rounded down fires before the frame may go)', () => {
    const delays: number[] = [];
    const clock = new FakeClock();
    const spy: SchedulerClock = {
      now: () => clock.now(),
      setTimeout: (fn, ms) => (delays.push(ms), clock.setTimeout(fn, ms)),
      clearTimeout: (t) => clock.clearTimeout(t),
    };
    let woke = 0;
    const s = new UpdateScheduler({ clock: spy, frameIntervalMs: 16, frameToleranceMs: 0, wake: () => woke++ });
    s.updateSent();
    clock.advance(2.5);
    assert.equal(s.mayUpdate(), false);
    assert.deepEqual(delays, [14]);
    clock.advance(14);
    assert.equal(woke, 1);
    assert.equal(s.mayUpdate(), true, 'the frame may go when its timer fires');
    assert.deepEqual([timerMs(13.01), timerMs(13), timerMs(-2)], [14, 13, 0]);
  });

  it('frames at the clock rate are never held for jitter; faster ones get one slot per interval', () => {
    const clock = new FakeClock();
    const s = new UpdateScheduler({ clock, frameIntervalMs: 16, wake: () => undefined });
    // A guest drawing every 16 ms whose frames reach us up to 3 ms early or late.
    const jitter = [0, -3, 2, -3, -1, 3, -3, -3, 0, 2, -2, -3];
    let held = 0;
    let t = 0;
    for (const j of jitter) {
      t += 16;
      clock.advance(t + j - clock.now());
      if (s.mayUpdate()) s.updateSent();
      else held++;
    }
    assert.equal(held, 0, '"last send + 16" held every early frame, and later ones by more');
    // Damage flowing all the time: after the first frame, one per interval, never two closer
    // than interval - tolerance.
    const flood = new UpdateScheduler({ clock, frameIntervalMs: 16, wake: () => undefined });
    const sent: number[] = [];
    for (let i = 0; i < 1000; i++) {
      clock.advance(0.25);
      if (!flood.mayUpdate()) continue;
      flood.updateSent();
      sent.push(clock.now());
    }
    const gaps = sent.slice(1).map((x, i) => x - sent[i]!);
    assert.ok(Math.min(...gaps) >= 8, `gaps ${gaps.join(' ')}`);
    assert.ok(sent.length <= Math.ceil(250 / 16) + 1, `${sent.length} frames in 250 ms`);
    // A burst of explicit updates ahead of the clock holds the next damage frame one interval at most.
    const burst = new UpdateScheduler({ clock, frameIntervalMs: 16, wake: () => undefined });
    for (let i = 0; i < 8; i++) if (burst.mayUpdate(true)) burst.updateSent();
    clock.advance(16);
    assert.equal(burst.mayUpdate(), true);
  });

  it('a frame held by backpressure is not encoded when the clock ticks, only on resume()', () => {
    const clock = new FakeClock();
    let full = false;
    const h = connected(undefined, { clock, frameIntervalMs: 16, backpressured: () => full });
    h.session.receive(fur(false, 0, 0, 32, 16));
    h.take();
    full = true;
    h.session.receive(fur(true, 0, 0, 32, 16));
    h.display.emit('damage', [{ x: 1, y: 1, width: 2, height: 2 }]);
    clock.advance(100);
    assert.equal(h.take().length, 0);
    assert.equal(h.session.stats().updates, 1);
    full = false;
    h.session.resume();
    assert.equal(decodeUpdates(h.take(), 4).length, 1);
  });
});
