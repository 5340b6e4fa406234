// JPEG on the addon's pool threads (native/src/jpeg-pool.cc, backend/vnc/encoders/jpeg.ts
// submitJpeg), forced on with XENVFB_NO_JPEG_THREADS=0 (a 2-CPU host does not use the pool by
// default): the same bytes as compress() on the calling thread; a whole 1080p Tight+JPEG
// frame written with its JPEGs started ahead (encode-frame.ts) is the same frame, byte for
// byte, as one written rect by rect (XENVFB_NO_JPEG_THREADS=1), busy rects and lossless
// refreshes included; a job taken twice or started past its view fails cleanly; a frame
// leaves no job behind (each is released, taken or not); rects are planned a few ahead of the
// writer, so the first strip goes out before the whole frame is classified; and the default
// follows the host's CPUs.

import { strict as assert } from 'node:assert';
import { turbojpeg } from '../../../../native';
import { PIXEL_FORMAT_XRGB8888 } from '../../../../backend/display/pixel-format';
import {
  encodeFrame,
  FRAME_FIRST_PART_BYTES,
  FRAME_PART_BYTES,
  type FrameRect,
  JPEG_PLAN_AHEAD,
} from '../../../../backend/vnc/encode-frame';
import { EncodeManager } from '../../../../backend/vnc/encode-manager';
import { encodeJpeg, JPEG_POOL_MIN_CPUS, jpegThreadsWanted, NO_JPEG_THREADS_ENV, submitJpeg } from '../../../../backend/vnc/encoders/jpeg';
import { RfbEncoding } from '../../../../backend/vnc/messages';
import { splitIntoTiles } from '../../../../shared/region';
import { fullHdPicture } from './fullhd-pictures';

function withEnv<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env[NO_JPEG_THREADS_ENV];
  if (value === undefined) delete process.env[NO_JPEG_THREADS_ENV];
  else process.env[NO_JPEG_THREADS_ENV] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env[NO_JPEG_THREADS_ENV];
    else process.env[NO_JPEG_THREADS_ENV] = saved;
  }
}

describe('vnc/encoders: JPEG on pool threads', function () {
  this.timeout(60000);
  before(function () {
    if (!turbojpeg?.submit) this.skip();
  });
  if (!turbojpeg?.submit) {
    it('pending: the addon was built without libjpeg-turbo or predates submit() (apt-get install libturbojpeg0-dev, then npm run install)');
    return;
  }

  it('submit() gives the bytes compress() gives, for 34 strips in flight at once', () => {
    const s = fullHdPicture('photo');
    const rects = splitIntoTiles({ x: 0, y: 0, width: 1920, height: 1080 }, 1920, 32);
    const jobs = withEnv('0', () => rects.map((r) => submitJpeg(s, r, 7)!));
    rects.forEach((r, i) => assert.ok(Buffer.from(jobs[i]!.take()).equals(Buffer.from(encodeJpeg(s, r, 7))), `strip ${i}`));
  });

  it('a whole 1080p Tight+JPEG frame is the same with its JPEGs started ahead as without', () => {
    const s = fullHdPicture('photo');
    const text = fullHdPicture('text');
    // The photo's top half with the text page below: JPEG and lossless rects in one frame.
    const mixed = new Uint8Array(s.data);
    mixed.set(text.data.subarray(540 * s.stride), 540 * s.stride);
    const surface = { ...s, data: mixed };
    const frame = (): Buffer => {
      const m = new EncodeManager();
      m.setClientEncodings([RfbEncoding.Tight, -32 + 7]);
      const rects: FrameRect[] = m.split([{ x: 0, y: 0, width: 1920, height: 1080 }]).map((rect, i) => ({
        rect,
        ...(i % 5 === 1 ? { busy: true } : {}),
        ...(i % 7 === 3 ? { lossless: true } : {}),
      }));
      const out = encodeFrame(m, { copies: [], rects, clientFormat: PIXEL_FORMAT_XRGB8888 }, (_i, rect) => ({ surface, rect }));
      const stats = m.snapshot();
      assert.ok((stats['Tight JPEG']?.rects ?? 0) >= 5 && (stats['Tight']?.rects ?? 0) >= 10, JSON.stringify(stats));
      return Buffer.from(out.bytes);
    };
    const ahead = withEnv('0', frame);
    const inline = withEnv('1', frame);
    assert.ok(ahead.equals(inline), `${ahead.length} vs ${inline.length} bytes`);
  });

  it('rects are planned JPEG_PLAN_AHEAD ahead of the writer, and the first part leaves at FRAME_FIRST_PART_BYTES', () => {
    const surface = fullHdPicture('photo');
    const m = new EncodeManager();
    m.setClientEncodings([RfbEncoding.Tight, -32 + 7]);
    const rects: FrameRect[] = m.split([{ x: 0, y: 0, width: 1920, height: 1080 }]).map((rect) => ({ rect }));
    assert.ok(rects.length > JPEG_PLAN_AHEAD + 2);
    const events: string[] = [];
    const plan = m.planRect.bind(m);
    const write = m.encodeRect.bind(m);
    m.planRect = (...args) => (events.push('plan'), plan(...args));
    m.encodeRect = (...args) => (events.push('write'), write(...args));
    const parts: Buffer[] = [];
    const job = { copies: [], rects, clientFormat: PIXEL_FORMAT_XRGB8888 };
    const out = withEnv('0', () =>
      encodeFrame(
        m,
        job,
        (_i, rect) => ({ surface, rect }),
        undefined,
        (p) => {
          parts.push(Buffer.from(p));
          events.push('part');
        },
      ),
    );
    // The first rect is written once it and the JPEG_PLAN_AHEAD after it are planned, not all.
    assert.equal(events.indexOf('write'), 1 + JPEG_PLAN_AHEAD);
    assert.equal(events.filter((e) => e === 'plan').length, rects.length);
    // The first part goes once FRAME_FIRST_PART_BYTES are there (one photo strip is ~11 KB; the
    // sky's first strips are far smaller), later ones gather FRAME_PART_BYTES.
    assert.ok(parts[0]!.length >= FRAME_FIRST_PART_BYTES && parts[0]!.length < FRAME_PART_BYTES, `first part ${parts[0]!.length} bytes`);
    assert.ok(parts.slice(1).every((p) => p.length >= FRAME_PART_BYTES));
    const whole = withEnv('0', () => {
      const again = new EncodeManager();
      again.setClientEncodings([RfbEncoding.Tight, -32 + 7]);
      return Buffer.from(encodeFrame(again, job, (_i, rect) => ({ surface, rect })).bytes);
    });
    assert.ok(Buffer.concat([...parts, out.bytes]).equals(whole));
  });

  it('take() twice and an image past its view fail with clear errors', () => {
    const s = fullHdPicture('photo');
    const job = turbojpeg!.submit!(s.data, 0, 1920, 32, s.stride, 'BGRX', 86, 0);
    job.take();
    assert.throws(() => job.take(), /take\(\) called twice/);
    assert.throws(() => turbojpeg!.submit!(s.data, 0, 1920, 1081, s.stride, 'BGRX', 86, 0), { name: 'RangeError' });
  });

  it('release() waits for a job nobody took; the pool keeps working after', () => {
    const s = fullHdPicture('photo');
    const jobs = withEnv('0', () => [0, 1, 2, 3].map((k) => submitJpeg(s, { x: 0, y: k * 32, width: 1920, height: 32 }, 5)!));
    for (const j of jobs) j.release();
    const again = withEnv('0', () => submitJpeg(s, { x: 0, y: 0, width: 1920, height: 32 }, 5)!);
    assert.ok(Buffer.from(again.take()).equals(Buffer.from(encodeJpeg(s, { x: 0, y: 0, width: 1920, height: 32 }, 5))));
    assert.equal(
      withEnv('1', () => submitJpeg(s, { x: 0, y: 0, width: 8, height: 8 }, 5)),
      null,
      `${NO_JPEG_THREADS_ENV}=1: none`,
    );
  });

  it(`the pool by default from ${JPEG_POOL_MIN_CPUS} CPUs; ${NO_JPEG_THREADS_ENV}=1 never, =0 always`, () => {
    const env = (v?: string): NodeJS.ProcessEnv => (v === undefined ? {} : { [NO_JPEG_THREADS_ENV]: v });
    assert.equal(jpegThreadsWanted(env(), 2), false, 'two CPUs');
    assert.equal(jpegThreadsWanted(env(), JPEG_POOL_MIN_CPUS), true);
    assert.equal(jpegThreadsWanted(env('1'), 64), false);
    assert.equal(jpegThreadsWanted(env('0'), 1), true);
    assert.equal(jpegThreadsWanted(env('yes'), 2), false, 'another value: the default');
    assert.equal(jpegThreadsWanted(env('yes'), 8), true, 'another value: the default');
    // What submitJpeg does with it on this host.
    const s = fullHdPicture('photo');
    const rect = { x: 0, y: 0, width: 64, height: 32 };
    const byDefault = withEnv(undefined, () => submitJpeg(s, rect, 5));
    assert.equal(byDefault !== null, jpegThreadsWanted({}), 'unset: as jpegThreadsWanted says for this host');
    byDefault?.release();
  });
});
