// The replay workload draws a capture into a guest framebuffer: the first picture at start,
// then each record at its time with damage for what it changed (copies included), pixels
// converted to XRGB8888 from a 16 bpp capture; bad files give typed errors.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CaptureWriter } from '../../../backend/capture/capture-writer';
import { CaptureFile } from '../../../backend/capture/capture-file';
import { frameToRgba } from '../../../backend/capture/png-frames';
import { createWorkload } from '../../../frontend/workloads';
import { isXenvfbError } from '../../../shared/errors';
import type { Rect } from '../../../shared/region';
import type { RfbPixelFormat } from '../../../shared/rfb/pixel-format';

const RGB565: RfbPixelFormat = {
  bitsPerPixel: 16,
  depth: 16,
  bigEndian: false,
  redMax: 31,
  greenMax: 63,
  blueMax: 31,
  redShift: 11,
  greenShift: 5,
  blueShift: 0,
};

function fakeFb(
  width: number,
  height: number,
): { width: number; height: number; stride: number; data: Uint8Array; damage: (r: Rect) => void; rects: Rect[] } {
  const rects: Rect[] = [];
  return { width, height, stride: width * 4 + 8, data: new Uint8Array((width * 4 + 8) * height), damage: (r) => rects.push(r), rects };
}

/** The fb's pixels as R,G,B,255 rows (what frameToRgba gives for a capture frame). */
function fbRgba(fb: ReturnType<typeof fakeFb>): Buffer {
  const out = Buffer.alloc(fb.width * fb.height * 4);
  for (let y = 0; y < fb.height; y++) {
    for (let x = 0; x < fb.width; x++) {
      const o = y * fb.stride + x * 4;
      out.set([fb.data[o + 2]!, fb.data[o + 1]!, fb.data[o]!, 255], (y * fb.width + x) * 4);
    }
  }
  return out;
}

describe('replay workload', () => {
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-replay-wl-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('draws a 16 bpp capture at its times with damage for what changed', async () => {
    const file = path.join(dir, 'c.xvc');
    const geometry = { width: 40, height: 20, format: RGB565 };
    const pixels = new Uint8Array(40 * 20 * 2);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) & 0xff;
    const w = new CaptureWriter(file);
    w.append({ type: 'keyframe', timeMs: 0, geometry, pixels });
    w.append({
      type: 'damage',
      timeMs: 40,
      bytesPerPixel: 2,
      rects: [{ x: 2, y: 3, width: 4, height: 2 }],
      pixels: new Uint8Array(16).fill(0xf8),
    });
    w.append({ type: 'copy', timeMs: 80, copies: [{ srcX: 0, srcY: 0, dstX: 20, dstY: 10, width: 8, height: 6 }] });
    w.close();
    const wl = await createWorkload('replay', { replayFile: file });
    assert.deepEqual([wl.name, wl.width, wl.height], ['replay', 40, 20]);
    const fb = fakeFb(40, 20);
    const f = CaptureFile.open(file);
    try {
      wl.start(fb);
      assert.deepEqual(fb.rects, [{ x: 0, y: 0, width: 40, height: 20 }]);
      assert.ok(fbRgba(fb).equals(frameToRgba(f.frameAt(0).state).rgba), 'first picture');
      await new Promise((r) => setTimeout(r, 250));
      assert.deepEqual(fb.rects.slice(1), [
        { x: 2, y: 3, width: 4, height: 2 },
        { x: 20, y: 10, width: 8, height: 6 },
      ]);
      assert.ok(fbRgba(fb).equals(frameToRgba(f.frameAt(80).state).rgba), 'last picture');
      assert.equal(wl.frames, 3);
    } finally {
      wl.stop();
      f.close();
    }
  });

  it('typed errors: no file given, not a capture, no picture', async () => {
    await assert.rejects(createWorkload('replay', {}), (e: unknown) => isXenvfbError(e, 'CLI_E_USAGE'));
    const foreign = path.join(dir, 'foreign');
    fs.writeFileSync(foreign, 'hello, this is not a capture file at all, not even close to one');
    await assert.rejects(createWorkload('replay', { replayFile: foreign }), (e: unknown) => isXenvfbError(e, 'CAP_E_BAD_MAGIC'));
    const empty = path.join(dir, 'empty.xvc');
    new CaptureWriter(empty).close();
    await assert.rejects(createWorkload('replay', { replayFile: empty }), (e: unknown) => isXenvfbError(e, 'CAP_E_EMPTY'));
  });
});
