// The recorder as a Display listener and the replay as a Display source: a GuestDisplay with
// shadow refinement (so copies happen) is recorded while a workload draws; the replay, played
// fast, must end on the same picture and emit resize/damage/copy a listener can follow; input
// through the recorder's tap is recorded and passed on; --to-png writes the frames.

import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { CaptureFile } from '../../../backend/capture/capture-file';
import { CaptureWriter } from '../../../backend/capture/capture-writer';
import { writePngFrames } from '../../../backend/capture/png-frames';
import { CaptureRecorder, freeCapturePath, KEYFRAME_READS, pack, steadyPack } from '../../../backend/capture/recorder';
import { ReplayDisplay } from '../../../backend/capture/replay-display';
import { GuestDisplay } from '../../../backend/display/guest-display';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import type { Surface } from '../../../backend/display/display';
import type { InputSink } from '../../../backend/input/input-sink';
import { prng } from '../../helpers/prng';

const digest = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');
const W = 1920;
const H = 1080;

function guestSurface(): Surface {
  return { width: W, height: H, stride: W * 4 + 64, format: PIXEL_FORMAT_XRGB8888, data: new Uint8Array((W * 4 + 64) * H) };
}

/** Draw frame n into guest memory; returns the damaged rects (a scroll every 4th frame). */
function draw(g: Surface, n: number, rnd: () => number): { x: number; y: number; width: number; height: number }[] {
  if (n % 4 === 3) {
    // Scroll the top 400 rows up by 16 (the shadow finds it as a copy).
    g.data.copyWithin(0, 16 * g.stride, 400 * g.stride);
    return [{ x: 0, y: 0, width: W, height: 400 }];
  }
  const r = { x: (rnd() * (W - 200)) | 0, y: (rnd() * (H - 100)) | 0, width: 200, height: 100 };
  const v = (rnd() * 256) | 0;
  for (let y = r.y; y < r.y + r.height; y++) g.data.fill(v + y, y * g.stride + r.x * 4, y * g.stride + (r.x + r.width) * 4);
  return [r];
}

/** An XRGB surface whose every read of `data` calls `read` (the guest's memory as a reader sees it). */
function readSurface(width: number, height: number, read: () => Uint8Array, snapshot = false): Surface {
  return {
    width,
    height,
    stride: width * 4,
    format: PIXEL_FORMAT_XRGB8888,
    snapshot,
    get data() {
      return read();
    },
  };
}

describe('recorder and replay (Display listener and source)', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-rec-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a 1920x1080 session with scrolls records and replays to the same picture', async () => {
    const file = path.join(dir, 'rec.xvc');
    const display = new GuestDisplay('test', { refineDamage: true });
    display.on('copy', () => undefined); // like a VNC client: copies are detected
    let clock = 0;
    const rec = new CaptureRecorder(display, file, { keyframeIntervalMs: 1000, now: () => clock });
    const guest = guestSurface();
    display.setSurface(guest);
    const rnd = prng(3);
    for (let n = 0; n < 60; n++) {
      clock += 40;
      display.damage(draw(guest, n, rnd));
    }
    const seen: string[] = [];
    const sink: InputSink = {
      key: (c) => seen.push(`key ${c}`),
      button: () => undefined,
      pointerAbs: (x, y) => seen.push(`abs ${x},${y}`),
      pointerRel: () => undefined,
      wheel: () => undefined,
    };
    rec.recordScan({
      seq: 1,
      t: 0,
      source: 'tiles',
      fbWidth: W,
      fbHeight: H,
      geometry: { cols: 64, rows: 128, tileW: 30, tileH: 9 },
      active: 1,
      generation: 7,
      switched: true,
      late: false,
      idle: false,
      full: false,
      garbage: null,
      words: Array.from({ length: 128 }, (_, r) => (r === 3 ? 0x8000000000000001n : 0n)),
      tiles: 2,
      rects: 2,
    });
    const tap = rec.tapInput(sink);
    tap.key(30, true);
    tap.pointerAbs(5, 6, W, H);
    assert.deepEqual(seen, ['key 30', 'abs 5,6']);
    const final = digest(pack(display.surface()!, [{ x: 0, y: 0, width: W, height: H }]));
    rec.close();
    assert.ok(rec.stats.keyframes >= 2 && rec.stats.records > 60, JSON.stringify(rec.stats));

    const f = CaptureFile.open(file);
    const kinds = new Set<string>();
    for (const { record } of f.records()) kinds.add(record.type === 'input' ? `input ${record.input.kind}` : record.type);
    for (const k of ['meta', 'keyframe', 'damage', 'copy', 'tiles', 'input key', 'input pointerAbs'])
      assert.ok(kinds.has(k), `no ${k} record`);
    const tiles = [...f.records()].map((r) => r.record).find((r) => r.type === 'tiles');
    assert.ok(tiles?.type === 'tiles');
    assert.deepEqual([tiles.scan.cols, tiles.scan.rows, tiles.scan.generation, tiles.scan.active], [64, 128, 7, 1]);
    assert.deepEqual([...tiles.scan.bitmap.subarray(24, 32)], [1, 0, 0, 0, 0, 0, 0, 0x80]);

    // Replay at 100x; a listener that mirrors the surface on every event ends identical.
    const replay = new ReplayDisplay(f, 'replay', { speed: 100 });
    let mirror = Buffer.from(replay.surface()!.data);
    let events = 0;
    const copyOut = (): void => {
      mirror = Buffer.from(replay.surface()!.data);
      events++;
    };
    replay.on('damage', copyOut);
    replay.on('copy', copyOut);
    replay.on('resize', copyOut);
    await new Promise<void>((resolve) => {
      const t = setInterval(() => replay.ended && (clearInterval(t), resolve()), 20);
    });
    assert.equal(digest(mirror), final, 'the replay ends on another picture');
    assert.ok(events > 30, `${events} events`);
    replay.close();
    f.close();
  });

  it('replay reports what really changed: repeated pixels are not damage, a scroll recorded as pixels is a copy', async () => {
    const w = 320;
    const h = 240;
    const geometry = { width: w, height: h, format: PIXEL_FORMAT_XRGB8888 };
    const rnd = prng(11);
    const first = new Uint8Array(w * h * 4).map(() => (rnd() * 256) | 0);
    const whole = { x: 0, y: 0, width: w, height: h };
    // t=10: the whole screen again, unchanged but for one pixel; t=20: everything moves up 16 rows.
    const again = first.slice();
    again[(100 * w + 50) * 4] ^= 0xff;
    const scrolled = again.slice();
    scrolled.copyWithin(0, 16 * w * 4);
    const file = path.join(dir, 'repeats.xvc');
    const wr = new CaptureWriter(file, { startUnixMs: 0 });
    wr.append({ type: 'keyframe', timeMs: 0, geometry, pixels: first });
    wr.append({ type: 'damage', timeMs: 10, bytesPerPixel: 4, rects: [whole], pixels: again });
    wr.append({ type: 'damage', timeMs: 20, bytesPerPixel: 4, rects: [whole], pixels: scrolled });
    wr.close();
    const f = CaptureFile.open(file);
    const replay = new ReplayDisplay(f, 'replay', { speed: 100 });
    // A client that applies copies itself and takes damaged pixels from the served surface.
    const client = Buffer.from(replay.surface()!.data);
    const damaged: Array<{ x: number; y: number; width: number; height: number }> = [];
    let copies = 0;
    replay.on('copy', (c) => {
      copies++;
      for (let y = 0; y < c.src.height; y++) client.copyWithin((c.dst.y + y) * w * 4, (c.src.y + y) * w * 4, (c.src.y + y + 1) * w * 4);
    });
    replay.on('damage', (rects) => {
      const s = replay.surface()!.data;
      for (const r of rects) {
        damaged.push(r);
        for (let y = r.y; y < r.y + r.height; y++)
          client.set(s.subarray((y * w + r.x) * 4, (y * w + r.x + r.width) * 4), (y * w + r.x) * 4);
      }
    });
    await new Promise<void>((resolve) => {
      const t = setInterval(() => replay.ended && (clearInterval(t), resolve()), 10);
    });
    assert.deepEqual(damaged[0], { x: 50, y: 100, width: 1, height: 1 }, 'the unchanged rest of the repeat was reported');
    assert.equal(copies, 1, 'the scroll went out as pixels');
    assert.ok(damaged.reduce((n, r) => n + r.width * r.height, 0) <= 1 + 16 * w, JSON.stringify(damaged));
    assert.ok(client.equals(Buffer.from(scrolled)), 'the client does not end on the picture');
    replay.close();
    f.close();
  });

  it('a cursor shape outlives the records read after it (replay reads every chunk into the same memory)', async () => {
    const w = 640;
    const h = 480;
    const geometry = { width: w, height: h, format: PIXEL_FORMAT_XRGB8888 };
    const rgba = new Uint8Array(32 * 32 * 4).map((_, i) => (i * 7) & 255);
    const file = path.join(dir, 'cursor.xvc');
    const wr = new CaptureWriter(file, { startUnixMs: 0, compress: false });
    wr.append({ type: 'keyframe', timeMs: 0, geometry, pixels: new Uint8Array(w * h * 4) });
    wr.append({ type: 'cursor', timeMs: 5, cursor: { x: 1, y: 2, hotX: 3, hotY: 4, width: 32, height: 32, visible: true, rgba } });
    // 400 KB each, not compressed: 2.4 MB after the cursor, read in 1 MB chunks into the cursor's memory.
    const band = { x: 0, y: 160, width: w, height: 160 };
    for (let t = 10; t <= 60; t += 10)
      wr.append({ type: 'damage', timeMs: t, bytesPerPixel: 4, rects: [band], pixels: new Uint8Array(w * 160 * 4).fill(t) });
    wr.close();
    const f = CaptureFile.open(file);
    const replay = new ReplayDisplay(f, 'replay', { speed: 100 });
    await new Promise<void>((resolve) => {
      const t = setInterval(() => replay.ended && (clearInterval(t), resolve()), 10);
    });
    const shape = replay.cursor().shape;
    assert.ok(shape && Buffer.from(shape.rgba).equals(Buffer.from(rgba)), 'the cursor took the pixels of a later record');
    assert.ok(Buffer.from(replay.surface()!.data.subarray(160 * w * 4, 320 * w * 4)).equals(Buffer.alloc(160 * w * 4, 60)));
    replay.close();
    f.close();
  });

  it('--to-png writes one PNG per interval with the recorded pixels', () => {
    const file = path.join(dir, 'rec.xvc');
    const f = CaptureFile.open(file);
    const files = writePngFrames(f, path.join(dir, 'png'), { startMs: 0, everyMs: 1000 });
    assert.equal(files.length, Math.floor(f.durationMs / 1000) + 1);
    const last = PNG.sync.read(fs.readFileSync(files[files.length - 1]!));
    const want = f.frameAt(f.durationMs).state.pixels;
    assert.deepEqual([last.width, last.height], [W, H]);
    for (const i of [0, 12345, W * H - 1])
      assert.deepEqual([last.data[i * 4], last.data[i * 4 + 1], last.data[i * 4 + 2]], [want[i * 4 + 2], want[i * 4 + 1], want[i * 4]]);
    f.close();
  });

  it('never overwrites an earlier recording: FILE, then FILE.1, FILE.2', () => {
    const file = path.join(dir, 'keep.xvc');
    assert.equal(freeCapturePath(file), file);
    fs.writeFileSync(file, '');
    assert.equal(freeCapturePath(file), file, 'an empty file may be reused');
    fs.writeFileSync(file, 'x');
    fs.writeFileSync(`${file}.1`, 'x');
    assert.equal(freeCapturePath(file), `${file}.2`);
    const rec = new CaptureRecorder(new GuestDisplay('t'), file);
    rec.close();
    assert.equal(rec.path, `${file}.2`);
    assert.equal(fs.readFileSync(file, 'utf8'), 'x');
  });

  it('a keyframe is read again while the guest draws: the half-drawn read is not kept, and reads stay bounded', () => {
    // A surface whose memory the "guest" draws into between the recorder's reads: the first read
    // sees the top half of frame 1 over frame 0 (as a draw racing the copy would leave it).
    const done = new Uint8Array(W * 4 * H).fill(1);
    const torn = new Uint8Array(W * 4 * H).fill(0).fill(1, 0, (W * 4 * H) / 2);
    let reads = 0;
    const racing = readSurface(W, H, () => (reads++ === 0 ? torn : done));
    assert.equal(digest(steadyPack(racing)), digest(done), 'the keyframe holds the whole frame');
    assert.equal(reads, 3, 'torn, whole, whole again: two reads agreed');
    // A guest that never stops drawing: every read differs; the last one is kept after KEYFRAME_READS.
    let n = 0;
    assert.equal(steadyPack(readSurface(64, 4, () => new Uint8Array(1024).fill(++n)))[0], KEYFRAME_READS);
    // A private snapshot (nothing writes it) is read once.
    let snapReads = 0;
    steadyPack(readSurface(64, 4, () => (snapReads++, done.subarray(0, 1024)), true));
    assert.equal(snapReads, 1);
  });
});
