// MJPEG streams without a client: the wire builders against golden bytes written here from
// spice.proto's layouts (not with the writer under test), the STREAM_REPORT parser, the
// detector on a band, a bouncing sprite, a clock and a slow slideshow, the rate control's
// bounds, and VideoStreams' routing, pacing, flow control and expiry on a fake clock.

import { strict as assert } from 'node:assert';
import { isXenvfbError } from '../../../shared/errors';
import type { Rect } from '../../../shared/region';
import {
  buildStreamActivateReport,
  buildStreamCreate,
  buildStreamData,
  buildStreamDestroy,
  parseStreamReport,
  STREAM_CREATE_SIZE,
} from '../../../shared/spice/stream-messages';
import { parseDisplayClientMessage } from '../../../shared/spice/display-messages';
import { capsWords, SpiceDisplayCap, SpiceMsgcDisplay, SpiceMsgDisplay } from '../../../shared/spice/constants';
import { STREAM_MIN_FRAMES, STREAM_STABLE_FRAMES, StreamDetector } from '../../../backend/spice/stream-detector';
import {
  StreamRate,
  STREAM_INTERVAL_MAX_MS,
  STREAM_INTERVAL_MIN_MS,
  STREAM_MARGIN_MAX_MS,
  STREAM_QUALITY_MAX,
  STREAM_QUALITY_MIN,
  STREAM_QUALITY_START,
} from '../../../backend/spice/stream-rate';
import { SPICE_MAX_STREAMS, STREAM_REPORT_TIMEOUT_MS, STREAM_REPORT_WINDOW, VideoStreams } from '../../../backend/spice/video-streams';
import { clientTakesMjpeg } from '../../../backend/spice/display-channel';
import type { SchedulerClock } from '../../../backend/updates/update-scheduler';
import { silentLogger } from '../../../shared/log';
import { patternSurface } from '../vnc/helpers';

/** Little-endian fields into a buffer, from a list of [bytes, value]. */
function le(fields: [1 | 4 | 8, number][]): Buffer {
  const b = Buffer.alloc(fields.reduce((n, [w]) => n + w, 0));
  let o = 0;
  for (const [w, v] of fields) {
    if (w === 1) b.writeUInt8(v, o);
    else if (w === 4) b.writeInt32LE(v | 0, o);
    else b.writeBigUInt64LE(BigInt(v), o);
    o += w;
  }
  return b;
}

class FakeClock implements SchedulerClock {
  t = 1000;
  timers: { at: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== h);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const t of this.timers.filter((x) => x.at <= this.t)) {
      this.timers = this.timers.filter((x) => x !== t);
      t.fn();
    }
  }
}

describe('SPICE stream messages', function () {
  const dest = { x: 10, y: 20, width: 320, height: 240 };

  it('STREAM_CREATE: surface 0, id, TOP_DOWN, MJPEG, stamp 0, sizes, dest as top/left/bottom/right, clip NONE', function () {
    const want = le([
      [4, 0],
      [4, 3],
      [1, 1],
      [1, 1],
      [8, 0],
      [4, 320],
      [4, 240],
      [4, 320],
      [4, 240],
      [4, 20],
      [4, 10],
      [4, 260],
      [4, 330],
      [1, 0],
    ]);
    assert.equal(want.length, STREAM_CREATE_SIZE);
    assert.deepEqual(buildStreamCreate({ id: 3, codecType: 1, dest }), want);
  });

  it('STREAM_DATA: id | mm_time | data_size | data', function () {
    const frame = Buffer.from([0xff, 0xd8, 0xff, 0xd9]);
    const want = Buffer.concat([
      le([
        [4, 2],
        [4, 123456],
        [4, 4],
      ]),
      frame,
    ]);
    assert.deepEqual(buildStreamData(2, 123456, frame), want);
    // mm_time is a u32 that wraps.
    assert.equal(buildStreamData(0, 2 ** 32 + 5, frame).readUInt32LE(4), 5);
  });

  it('STREAM_DESTROY and STREAM_ACTIVATE_REPORT', function () {
    assert.deepEqual(buildStreamDestroy(7), le([[4, 7]]));
    assert.deepEqual(
      buildStreamActivateReport(1, 9, STREAM_REPORT_WINDOW, STREAM_REPORT_TIMEOUT_MS),
      le([
        [4, 1],
        [4, 9],
        [4, 5],
        [4, 1000],
      ]),
    );
  });

  it('STREAM_REPORT parses (last_frame_delay signed); a short one is SPICE_E_BAD_MSG', function () {
    const body = le([
      [4, 1],
      [4, 9],
      [4, 100],
      [4, 300],
      [4, 5],
      [4, 2],
      [4, -17],
      [4, -1],
    ]);
    const r = parseDisplayClientMessage(SpiceMsgcDisplay.STREAM_REPORT, body);
    assert.deepEqual(r, {
      kind: 'streamReport',
      streamId: 1,
      uniqueId: 9,
      startFrameMmTime: 100,
      endFrameMmTime: 300,
      numFrames: 5,
      numDrops: 2,
      lastFrameDelay: -17,
      audioDelay: 0xffffffff,
    });
    for (let cut = 0; cut < body.length; cut++) {
      assert.throws(
        () => parseStreamReport(body.subarray(0, cut)),
        (e: unknown) => isXenvfbError(e) && e.code === 'SPICE_E_BAD_MSG',
      );
    }
  });

  it('MJPEG is assumed without MULTI_CODEC, and needs CODEC_MJPEG with it', function () {
    assert.equal(clientTakesMjpeg([]), true);
    assert.equal(clientTakesMjpeg(capsWords([SpiceDisplayCap.MULTI_CODEC])), false);
    assert.equal(clientTakesMjpeg(capsWords([SpiceDisplayCap.MULTI_CODEC, SpiceDisplayCap.CODEC_MJPEG])), true);
  });
});

describe('SPICE stream detector', function () {
  const band = { x: 0, y: 240, width: 800, height: 120 };
  // Hot after STREAM_MIN_FRAMES, then its rect must hold for STREAM_STABLE_FRAMES more observations.
  const enough = STREAM_MIN_FRAMES + STREAM_STABLE_FRAMES - 1;

  it('a band damaged every 40 ms becomes a stream of exactly its rect, once', function () {
    const d = new StreamDetector();
    d.reset(800, 600);
    let found: Rect[] = [];
    let at = -1;
    for (let i = 0; i < 30 && at < 0; i++) {
      found = d.observe([band], i * 40);
      if (found.length > 0) at = i;
    }
    assert.deepEqual(found, [band]);
    assert.ok(at + 1 === enough, `found at frame ${at + 1}`);
    // A running stream is excluded.
    assert.deepEqual(d.observe([band], 30 * 40, [band]), []);
  });

  it('a bouncing sprite, a small clock and a slow slideshow do not', function () {
    const d = new StreamDetector();
    d.reset(800, 600);
    let box = { x: 0, y: 0, vx: 5, vy: 3 };
    for (let i = 0; i < 200; i++) {
      const before = { x: box.x, y: box.y, width: 64, height: 64 };
      box = { ...box, x: box.x + box.vx, y: box.y + box.vy };
      const sprite = { x: Math.min(before.x, box.x), y: Math.min(before.y, box.y), width: 69, height: 67 };
      const clock = { x: 8, y: 8, width: 176, height: 22 };
      assert.deepEqual(d.observe([sprite, clock], i * 40), [], `frame ${i}`);
    }
    const slides = new StreamDetector();
    slides.reset(800, 600);
    for (let i = 0; i < 30; i++) assert.deepEqual(slides.observe([band], i * 500), []);
  });

  it('a frame reported as several calls (band, sprite, clock: the pattern workload) still finds the band', function () {
    const d = new StreamDetector();
    d.reset(800, 600);
    const found: Rect[] = [];
    for (let i = 0; i < 30 && found.length === 0; i++) {
      found.push(...d.observe([band], i * 40));
      found.push(...d.observe([{ x: i * 5, y: 200 + i * 3, width: 69, height: 67 }], i * 40 + 1));
      found.push(...d.observe([{ x: 8, y: 8, width: 176, height: 22 }], i * 40 + 2));
    }
    assert.deepEqual(found, [band]);
  });

  it('a video damaged as a grid of tiles is one stream (touching hot cells group)', function () {
    const d = new StreamDetector();
    d.reset(1920, 1080);
    const tiles: Rect[] = [];
    for (let y = 64; y < 64 + 256; y += 64) for (let x = 128; x < 128 + 384; x += 64) tiles.push({ x, y, width: 64, height: 64 });
    let found: Rect[] = [];
    for (let i = 0; i < enough && found.length === 0; i++) found = d.observe(tiles, i * 33);
    assert.deepEqual(found, [{ x: 128, y: 64, width: 384, height: 256 }]);
  });
});

describe('SPICE stream rate control', function () {
  it('drops lower quality to its floor, then the frame rate to its floor; clean windows raise both, bounded', function () {
    const r = new StreamRate();
    assert.equal(r.quality, STREAM_QUALITY_START);
    for (let i = 0; i < 50; i++) r.report(5, 3, 10);
    assert.equal(r.quality, STREAM_QUALITY_MIN);
    assert.equal(r.intervalMs, STREAM_INTERVAL_MAX_MS);
    for (let i = 0; i < 100; i++) r.report(5, 0, 30);
    assert.equal(r.intervalMs, STREAM_INTERVAL_MIN_MS);
    assert.equal(r.quality, STREAM_QUALITY_MAX);
  });

  it('late frames push the stamp margin out, bounded', function () {
    const r = new StreamRate();
    const m0 = r.marginMs;
    r.report(5, 0, -50);
    assert.ok(r.marginMs >= m0 + 50);
    for (let i = 0; i < 50; i++) r.report(5, 5, -1000);
    assert.equal(r.marginMs, STREAM_MARGIN_MAX_MS);
  });
});

describe('SPICE VideoStreams', function () {
  const band = { x: 0, y: 40, width: 320, height: 96 };

  function setup(opts: { reports?: boolean } = {}) {
    const clock = new FakeClock();
    const sent: { type: number; body: Uint8Array }[] = [];
    let wakes = 0;
    const v = new VideoStreams({
      send: (type, body) => sent.push({ type, body }),
      mmTime: () => clock.t,
      reports: opts.reports ?? true,
      wake: () => wakes++,
      log: silentLogger,
      clock,
      idleMs: 400,
    });
    v.resize(320, 240);
    return { v, clock, sent, wakes: () => wakes, surface: patternSurface(320, 240) };
  }

  /** Feed frames of `rects` every 40 ms until a stream exists; returns the rects left for DRAW_COPY at the last frame. */
  function warmUp(s: ReturnType<typeof setup>, rects: Rect[]): Rect[] {
    for (let i = 0; i < 30; i++) {
      s.clock.advance(40);
      s.v.observe(rects);
      const rest = s.v.route(rects);
      s.v.sendFrames(s.surface, () => true);
      if (s.v.rects.length > 0) return rest;
    }
    assert.fail('no stream');
  }

  it('creates, reports, sends frames stamped ahead and monotonic, and takes the stream area out of the draws', function () {
    const s = setup();
    const other = { x: 0, y: 200, width: 20, height: 20 };
    const rest = warmUp(s, [band, other]);
    assert.deepEqual(rest, [other]);
    const types = s.sent.map((m) => m.type);
    assert.deepEqual(types.slice(0, 3), [
      SpiceMsgDisplay.STREAM_CREATE,
      SpiceMsgDisplay.STREAM_ACTIVATE_REPORT,
      SpiceMsgDisplay.STREAM_DATA,
    ]);
    const stamps: number[] = [];
    for (let i = 0; i < 10; i++) {
      s.clock.advance(40);
      assert.deepEqual(s.v.route([band]), []);
      s.v.sendFrames(s.surface, () => true);
    }
    for (const m of s.sent.filter((x) => x.type === SpiceMsgDisplay.STREAM_DATA)) stamps.push(Buffer.from(m.body).readUInt32LE(4));
    assert.equal(stamps.length, 11);
    for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! > stamps[i - 1]!);
    const data = Buffer.from(s.sent.at(-1)!.body);
    assert.ok(data.readUInt32LE(4) > s.clock.t, 'stamped ahead of the session clock');
    assert.deepEqual([...data.subarray(12, 14)], [0xff, 0xd8], 'a JPEG');
  });

  it('no ACTIVATE_REPORT to a client without the report cap', function () {
    const s = setup({ reports: false });
    warmUp(s, [band]);
    assert.ok(!s.sent.some((m) => m.type === SpiceMsgDisplay.STREAM_ACTIVATE_REPORT));
  });

  it('frames are paced by the interval; flow control holds frames back (never queued) and lowers quality', function () {
    const s = setup();
    warmUp(s, [band]);
    const frames = () => s.v.stats.frames;
    const n = frames();
    s.clock.advance(10);
    s.v.route([band]);
    s.v.sendFrames(s.surface, () => true);
    assert.equal(frames(), n, 'within the interval: held until the timer');
    s.clock.advance(STREAM_INTERVAL_MIN_MS);
    assert.ok(s.wakes() > 0, 'the timer woke the channel');
    s.v.sendFrames(s.surface, () => true);
    assert.equal(frames(), n + 1);
    const q = s.v.describe()[0]!.quality;
    for (let i = 0; i < 10; i++) {
      s.clock.advance(40);
      s.v.route([band]);
      s.v.sendFrames(s.surface, () => false);
    }
    assert.equal(frames(), n + 1);
    assert.equal(s.v.stats.heldBack, 10);
    assert.ok(s.v.describe()[0]!.quality < q, 'quality stepped down');
  });

  it('a stream still for the idle time is destroyed and its rect handed back; a report on an unknown stream disables streams', function () {
    const s = setup();
    warmUp(s, [band]);
    s.clock.advance(100);
    assert.deepEqual(s.v.expire(), []);
    s.clock.advance(400);
    assert.deepEqual(s.v.expire(), [band]);
    assert.equal(s.sent.at(-1)!.type, SpiceMsgDisplay.STREAM_DESTROY);
    assert.equal(s.v.rects.length, 0);
    // Again, then the client says it cannot decode: streams off, rect handed back.
    warmUp(s, [band]);
    assert.deepEqual(
      s.v.report({
        streamId: 0,
        uniqueId: 0,
        startFrameMmTime: 0,
        endFrameMmTime: 0,
        numFrames: 0,
        numDrops: 0xffffffff,
        lastFrameDelay: 0,
        audioDelay: 0,
      }),
      [band],
    );
    for (let i = 0; i < 30; i++) {
      s.clock.advance(40);
      s.v.observe([band]);
      assert.deepEqual(s.v.route([band]), [band]);
    }
    assert.equal(s.v.rects.length, 0);
  });

  it('reports for a stale unique id are ignored; a report steers the stream', function () {
    const s = setup();
    warmUp(s, [band]);
    const base = { streamId: 0, startFrameMmTime: 0, endFrameMmTime: 0, numFrames: 5, audioDelay: 0xffffffff };
    const q = s.v.describe()[0]!.quality;
    s.v.report({ ...base, uniqueId: 999, numDrops: 5, lastFrameDelay: -100 });
    assert.equal(s.v.describe()[0]!.quality, q);
    s.v.report({ ...base, uniqueId: 1, numDrops: 5, lastFrameDelay: -100 });
    assert.ok(s.v.describe()[0]!.quality < q);
    assert.equal(s.v.stats.reports, 1);
  });

  it(`at most ${SPICE_MAX_STREAMS} streams`, function () {
    const s = setup();
    s.v.resize(1920, 1080);
    const bands: Rect[] = [];
    for (let i = 0; i < SPICE_MAX_STREAMS + 3; i++) bands.push({ x: (i % 4) * 480, y: Math.floor(i / 4) * 256, width: 448, height: 224 });
    for (let i = 0; i < 30; i++) {
      s.clock.advance(40);
      s.v.observe(bands);
    }
    assert.equal(s.v.rects.length, SPICE_MAX_STREAMS);
    const ids = s.v.describe().map((d) => d.id);
    assert.deepEqual(
      ids.sort((a, b) => a - b),
      [...Array(SPICE_MAX_STREAMS).keys()],
    );
  });
});
