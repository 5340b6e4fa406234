// The test helper that names pattern frames (test/helpers/pattern-frames.ts), including the
// torn pictures a live capture holds when the guest was preempted mid-draw.

import { strict as assert } from 'node:assert';
import { createSurface } from '../../../frontend/workloads/canvas';
import { PatternWorkload } from '../../../frontend/workloads/pattern';
import { PatternFrames } from '../../helpers/pattern-frames';

const W = 320;
const H = 240;

/** RGB of the pattern's frames by their number (the workload's `frames` after drawing), as the guest draws them. */
function frames(count: number): Buffer[] {
  const w = new PatternWorkload(W, H, 25);
  const fb = Object.assign(createSurface(W, H), { damage: () => undefined });
  w.start(fb);
  w.stop();
  const out: Buffer[] = [];
  for (let k = 0; k < count; k++) {
    if (k > 0) w.tick();
    const rgb = Buffer.alloc(W * H * 3);
    for (let i = 0; i < W * H; i++) {
      rgb[i * 3] = fb.data[i * 4 + 2]!;
      rgb[i * 3 + 1] = fb.data[i * 4 + 1]!;
      rgb[i * 3 + 2] = fb.data[i * 4]!;
    }
    out[w.frames] = rgb;
  }
  return out;
}

/** Rows [0, split) from `a`, the rest from `b`. */
const torn = (a: Buffer, b: Buffer, split: number): Buffer => Buffer.concat([a.subarray(0, split * W * 3), b.subarray(split * W * 3)]);

describe('PatternFrames (test helper)', () => {
  const f = frames(9);

  it('names whole frames, and a picture half frame 4, half frame 5 as 4.5', () => {
    const p = new PatternFrames(W, H, 20);
    assert.equal(p.frameOf(f[2]!), 2);
    assert.equal(p.frameOrTearOf(torn(f[4]!, f[5]!, H / 2)), 4.5);
    assert.equal(p.frameOrTearOf(f[6]!), 6);
  });

  it('a mix of frames two apart, or a picture with a pixel of neither, is no frame', () => {
    const p = new PatternFrames(W, H, 20);
    const mix = torn(f[3]!, f[5]!, H / 2);
    assert.notDeepEqual(mix, torn(f[3]!, f[4]!, H / 2), 'the pattern changes the lower half between frames 3 and 5');
    assert.equal(p.frameOrTearOf(mix), null);
    const q = new PatternFrames(W, H, 20);
    const odd = Buffer.from(torn(f[1]!, f[2]!, H / 2));
    odd[0] = odd[0]! ^ 0xff;
    assert.equal(q.frameOrTearOf(odd), null);
    assert.equal(new PatternFrames(W, H, 20).frameOf(torn(f[1]!, f[2]!, H / 2)), null, 'frameOf wants whole frames');
  });
});
