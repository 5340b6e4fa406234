import { strict as assert } from 'node:assert';
import { isXenvfbError } from '../../../shared/errors';
import { rectArea } from '../../../shared/region';
import { createWorkload, PatternWorkload, WORKLOAD_MAX_DIMENSION, WORKLOAD_MAX_FPS } from '../../../frontend/workloads';
import { countChangedPixels, RecordingFramebuffer, rectInside, sleep, unreportedChanges } from './helpers';

async function pattern(opts: { width?: number; height?: number; fps?: number } = {}): Promise<PatternWorkload> {
  const w = await createWorkload('pattern', opts);
  assert.ok(w instanceof PatternWorkload);
  return w;
}

describe('workloads/pattern', () => {
  it('defaults to 800x600 at 25 fps', async () => {
    const w = await pattern();
    assert.equal(w.name, 'pattern');
    assert.deepEqual([w.width, w.height, w.fps], [800, 600, 25]);
  });

  it('draws the first frame with full damage', async () => {
    const w = await pattern({ width: 320, height: 240 });
    const fb = new RecordingFramebuffer(320, 240);
    w.start(fb);
    w.stop();
    assert.deepEqual(fb.takeDamage(), [{ x: 0, y: 0, width: 320, height: 240 }]);
    assert.equal(w.frames, 1);
    for (let i = 3; i < fb.data.length; i += 4) assert.equal(fb.data[i], 0, 'X byte is written as 0');
  });

  it('reports damage inside the framebuffer that covers every changed pixel, frame after frame', async () => {
    const w = await pattern({ width: 200, height: 150 });
    const fb = new RecordingFramebuffer(200, 150);
    w.start(fb);
    w.stop();
    fb.takeDamage();
    // Enough frames for the box to bounce off every edge several times.
    for (let frame = 0; frame < 300; frame++) {
      const before = fb.data.slice();
      const returned = w.tick();
      const reported = fb.takeDamage();
      assert.deepEqual(reported, returned);
      for (const r of reported) assert.ok(rectInside(r, fb.width, fb.height), `rect ${JSON.stringify(r)} outside fb`);
      assert.deepEqual(unreportedChanges(fb, before, reported), [], `frame ${frame}`);
      assert.ok(countChangedPixels(fb, before) > 0, 'something moves every frame');
      const area = reported.reduce((sum, r) => sum + rectArea(r), 0);
      assert.ok(area < fb.width * fb.height, 'partial damage, not the whole screen');
    }
    assert.equal(w.frames, 301);
  });

  it('keeps to its rectangles on a framebuffer with a padded stride', async () => {
    const w = await pattern({ width: 100, height: 80 });
    const fb = new RecordingFramebuffer(100, 80, 100 * 4 + 12, 0x5a);
    w.start(fb);
    w.stop();
    for (let i = 0; i < 50; i++) w.tick();
    for (let y = 0; y < fb.height; y++) {
      const pad = fb.data.subarray(y * fb.stride + 400, (y + 1) * fb.stride);
      assert.ok(
        pad.every((b) => b === 0x5a),
        `row ${y} padding untouched`,
      );
    }
  });

  it('lays out against a smaller framebuffer than it asked for', async () => {
    const w = await pattern({ width: 800, height: 600 });
    const fb = new RecordingFramebuffer(40, 30);
    w.start(fb);
    w.stop();
    fb.takeDamage();
    for (let i = 0; i < 40; i++) {
      const before = fb.data.slice();
      const rects = w.tick();
      for (const r of rects) assert.ok(rectInside(r, 40, 30));
      assert.deepEqual(unreportedChanges(fb, before, rects), []);
    }
  });

  it('tick() before start() draws nothing', async () => {
    const w = await pattern();
    assert.deepEqual(w.tick(), []);
    assert.equal(w.frames, 0);
  });

  it('animates on its own timer, and stop() ends it and is idempotent', async () => {
    const w = await pattern({ width: 64, height: 48, fps: 50 });
    const fb = new RecordingFramebuffer(64, 48);
    w.start(fb);
    try {
      assert.equal(w.running, true);
      await sleep(150);
    } finally {
      w.stop();
    }
    const frames = w.frames;
    assert.ok(frames >= 3, `expected several frames, got ${frames}`);
    assert.equal(w.running, false);
    await sleep(100);
    assert.equal(w.frames, frames, 'no frames after stop()');
    w.stop();
    assert.equal(w.running, false);
  });

  it('restarting does not leak a timer', async () => {
    const w = await pattern({ width: 64, height: 48, fps: 50 });
    w.start(new RecordingFramebuffer(64, 48));
    w.start(new RecordingFramebuffer(64, 48));
    assert.equal(w.running, true);
    w.stop();
    const frames = w.frames;
    await sleep(100);
    // A leaked interval from the first start() would still be drawing.
    assert.equal(w.frames, frames, 'no frames after stop()');
  });

  it('validates size and fps at their limits', async () => {
    await pattern({ width: WORKLOAD_MAX_DIMENSION, height: 1, fps: WORKLOAD_MAX_FPS });
    await pattern({ fps: 1 });
    const bad = [{ width: WORKLOAD_MAX_DIMENSION + 1 }, { height: WORKLOAD_MAX_DIMENSION + 1 }, { width: 0 }, { width: 10.5 }];
    for (const opts of bad) {
      await assert.rejects(pattern(opts), (e: unknown) => isXenvfbError(e, 'FB_E_BAD_GEOMETRY'), JSON.stringify(opts));
    }
    for (const fps of [0, 0.5, WORKLOAD_MAX_FPS + 1, Number.NaN]) {
      await assert.rejects(pattern({ fps }), (e: unknown) => isXenvfbError(e, 'CLI_E_USAGE'), `fps ${fps}`);
    }
  });
});
