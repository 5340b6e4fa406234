// The capture file writer and reader: the index written at close, the index rebuilt by a
// scan when the file was cut (every byte of the tail), seeking, and fuzzing (random
// truncation and bit flips end in a typed error or the last good record, never a crash).

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureFile } from '../../../backend/capture/capture-file';
import { CaptureWriter } from '../../../backend/capture/capture-writer';
import type { CaptureRecord } from '../../../shared/capture/format';
import { FrameState } from '../../../shared/capture/frame-state';
import { isXenvfbError } from '../../../shared/errors';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import { prng } from '../../helpers/prng';

const W = 64;
const H = 48;

/** A small session: keyframes every 500 ms, damage and copies, input and timing. */
function session(seed: number, seconds = 3): CaptureRecord[] {
  const rnd = prng(seed);
  const geometry = { width: W, height: H, format: PIXEL_FORMAT_XRGB8888 };
  const state = new FrameState();
  const recs: CaptureRecord[] = [];
  const push = (r: CaptureRecord): void => {
    state.apply(r);
    recs.push(r);
  };
  for (let t = 0; t < seconds * 1000; t += 40) {
    if (t % 500 === 0) {
      const pixels = t === 0 ? new Uint8Array(W * H * 4).map(() => (rnd() * 256) | 0) : state.pixels.slice();
      push({ type: 'keyframe', timeMs: t, geometry, pixels });
    }
    const w = 1 + ((rnd() * 20) | 0);
    const h = 1 + ((rnd() * 20) | 0);
    const rect = { x: (rnd() * (W - w)) | 0, y: (rnd() * (H - h)) | 0, width: w, height: h };
    push({
      type: 'damage',
      timeMs: t + 1,
      bytesPerPixel: 4,
      rects: [rect],
      pixels: new Uint8Array(w * h * 4).map(() => (rnd() * 256) | 0),
    });
    if (rnd() < 0.3) push({ type: 'copy', timeMs: t + 2, copies: [{ srcX: 0, srcY: 1, dstX: 0, dstY: 0, width: W, height: H - 1 }] });
    if (rnd() < 0.2) push({ type: 'input', timeMs: t + 3, input: { kind: 'key', code: 30, pressed: true } });
    push({ type: 'timing', timeMs: t + 4, kind: 1, seq: t / 40 });
  }
  return recs;
}

function expectedAt(recs: CaptureRecord[], t: number): Uint8Array {
  const s = new FrameState();
  for (const r of recs) if (r.timeMs <= t) s.apply(r);
  return s.pixels;
}

describe('capture file: writer, reader, index', function () {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-cap-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(recs: CaptureRecord[], name: string, close = true): string {
    const file = path.join(dir, name);
    const w = new CaptureWriter(file, { startUnixMs: 1_000, keyframeIntervalMs: 500 });
    for (const r of recs) w.append(r);
    if (close) w.close();
    else w.abandon();
    return file;
  }

  it('a closed file has a good index; seeking gives the picture at any time', () => {
    const recs = session(1);
    const f = CaptureFile.open(write(recs, 'closed.xvc'));
    try {
      assert.equal(f.indexHealth, 'ok');
      assert.equal(f.index.records, recs.length);
      assert.equal(f.index.keyframes.length, 3); // t = 0, 1000, 2000 (40 ms steps hit 500 only there)
      assert.equal(f.durationMs, recs[recs.length - 1]!.timeMs);
      for (const t of [0, 1, 39, 41, 499, 500, 501, 1234, 2999, 5000]) {
        assert.deepEqual(Buffer.from(f.frameAt(t).state.pixels), Buffer.from(expectedAt(recs, t)), `t=${t}`);
      }
    } finally {
      f.close();
    }
  });

  it('records larger than a read chunk (1080p keyframes, not compressed) seek, play and scan', () => {
    const geometry = { width: 1920, height: 1080, format: PIXEL_FORMAT_XRGB8888 };
    const rnd = prng(7);
    const key = (t: number): CaptureRecord => ({
      type: 'keyframe',
      timeMs: t,
      geometry,
      pixels: new Uint8Array(1920 * 1080 * 4).map(() => (rnd() * 256) | 0),
    });
    const dot = (t: number): CaptureRecord => ({
      type: 'damage',
      timeMs: t,
      bytesPerPixel: 4,
      rects: [{ x: t % 1920, y: 5, width: 1, height: 1 }],
      pixels: new Uint8Array([t & 255, 1, 2, 0]),
    });
    const recs = [key(0), dot(10), key(20), dot(30), dot(40)];
    for (const close of [true, false]) {
      const file = path.join(dir, `big-${close}.xvc`);
      const w = new CaptureWriter(file, { startUnixMs: 1_000, compress: false });
      for (const r of recs) w.append(r);
      if (close) w.close();
      else w.abandon();
      const f = CaptureFile.open(file);
      try {
        assert.equal(f.indexHealth, close ? 'ok' : 'missing');
        assert.equal(f.index.keyframes.length, 2);
        for (const t of [0, 10, 20, 35, 40]) {
          assert.ok(Buffer.from(f.frameAt(t).state.pixels).equals(Buffer.from(expectedAt(recs, t))), `t=${t}, index ${f.indexHealth}`);
        }
        assert.equal([...f.records()].length, recs.length);
        // Transient: the same records, each read into the one chunk memory (copied here before the next step).
        const kept = [...f.records()].map((r) => r.record);
        const buffers = new Set<ArrayBufferLike>();
        let i = 0;
        for (const { record } of f.records(undefined, undefined, { transient: true })) {
          assert.deepEqual(structuredClone(record), structuredClone(kept[i++]));
          if (record.type === 'keyframe') buffers.add(record.pixels.buffer);
        }
        assert.equal(i, recs.length);
        assert.equal(buffers.size, 1, 'both 8 MB keyframes were read into the same memory');
      } finally {
        f.close();
      }
    }
  });

  it('a file without its index (killed writer) is scanned and reads the same', () => {
    const recs = session(2);
    const f = CaptureFile.open(write(recs, 'abandoned.xvc', false));
    try {
      assert.equal(f.indexHealth, 'missing');
      assert.equal(f.tail, null);
      assert.equal(f.index.records, recs.length);
      assert.deepEqual(Buffer.from(f.frameAt(2000).state.pixels), Buffer.from(expectedAt(recs, 2000)));
    } finally {
      f.close();
    }
  });

  it('cut at every byte of its last records: reads back to the last complete record', () => {
    const recs = session(3, 1);
    const file = write(recs, 'cut-src.xvc', false);
    const all = fs.readFileSync(file);
    const ends: number[] = [];
    const src = CaptureFile.open(file);
    for (const { offset, size } of src.records()) ends.push(offset + size);
    src.close();
    const cutFile = path.join(dir, 'cut.xvc');
    for (let cut = ends[ends.length - 6]!; cut <= all.length; cut++) {
      fs.writeFileSync(cutFile, all.subarray(0, cut));
      const f = CaptureFile.open(cutFile);
      const complete = ends.filter((e) => e <= cut).length;
      assert.equal(f.index.records, complete, `cut at ${cut}`);
      assert.equal(f.dataEnd, ends[complete - 1]);
      assert.equal(f.tail?.code, cut === ends[complete - 1] ? undefined : 'CAP_E_TRUNCATED');
      f.close();
    }
  });

  it('a corrupt index is reported as bad and rebuilt', () => {
    const recs = session(4, 1);
    const file = write(recs, 'badindex.xvc');
    const b = fs.readFileSync(file);
    b[b.length - 30] ^= 0xff; // inside the INDEX record
    fs.writeFileSync(file, b);
    const f = CaptureFile.open(file);
    assert.equal(f.indexHealth, 'bad');
    assert.equal(f.index.records, recs.length);
    f.close();
  });

  it('a crash-cut file whose last bytes parse as a record header failing its checksum: index missing, not bad', () => {
    const recs = session(4, 1);
    const whole = fs.readFileSync(write(recs, 'cut-src.xvc'));
    const src = CaptureFile.open(path.join(dir, 'cut-src.xvc'));
    const dataEnd = src.dataEnd;
    src.close();
    // The data records, then 24 bytes a kill -9 could leave: type DAMAGE, length 8 (fits the
    // END-sized window), a checksum that does not match.
    const tail = Buffer.alloc(24);
    tail[0] = 3;
    tail.writeUInt32LE(8, 4);
    tail.writeUInt32LE(0xdeadbeef, 12);
    const file = path.join(dir, 'cut-header.xvc');
    fs.writeFileSync(file, Buffer.concat([whole.subarray(0, dataEnd), tail]));
    const f = CaptureFile.open(file);
    assert.equal(f.indexHealth, 'missing');
    assert.equal(f.index.records, recs.length, 'rebuilt by a scan up to the cut');
    f.close();
  });

  it('fuzz: random truncation and bit flips never crash the reader', () => {
    const recs = session(5, 2);
    const good = fs.readFileSync(write(recs, 'fuzz-src.xvc'));
    const rnd = prng(99);
    const file = path.join(dir, 'fuzz.xvc');
    let typed = 0;
    for (let i = 0; i < 300; i++) {
      const b = Buffer.from(good.subarray(0, rnd() < 0.5 ? (rnd() * good.length) | 0 : good.length));
      const flips = (rnd() * 4) | 0;
      for (let k = 0; k < flips && b.length; k++) b[(rnd() * b.length) | 0]! ^= 1 << ((rnd() * 8) | 0);
      fs.writeFileSync(file, b);
      try {
        const f = CaptureFile.open(file);
        try {
          for (const _ of f.records()) void _;
          for (const _ of f.records(undefined, undefined, { transient: true })) void _;
          f.frameAt((rnd() * 3000) | 0);
        } finally {
          f.close();
        }
      } catch (e) {
        if (!isXenvfbError(e)) throw e;
        assert.match(e.code, /^CAP_E_/);
        typed++;
      }
    }
    assert.ok(typed > 0, 'some inputs must fail');
  });
});
