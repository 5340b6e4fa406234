// Content classes (backend/updates/classify.ts): solid, palette and photo on known pictures;
// the sampled colour count and entropy equal a plain Map count over the same sample grid
// (the reference the reused hash table replaced); rects far thinner than square still end.

import { strict as assert } from 'node:assert';
import { analyseRect, CLASSIFY_MAX_SAMPLES } from '../../../backend/updates/classify';
import type { Surface } from '../../../backend/display/display';
import { PIXEL_FORMAT_XRGB8888 } from '../../../backend/display/pixel-format';
import type { Rect } from '../../../shared/region';
import { prng } from '../../helpers/prng';

function surface(w: number, h: number, px: (x: number, y: number) => number): Surface {
  const data = new Uint8Array(w * h * 4);
  const dv = new DataView(data.buffer);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) dv.setUint32((y * w + x) * 4, px(x, y), true);
  return { width: w, height: h, stride: w * 4, format: PIXEL_FORMAT_XRGB8888, data };
}

/** The same bytes one byte into a buffer: not 4-byte aligned, so classify.ts reads them byte by byte. */
function unaligned(s: Surface): Surface {
  const shifted = new Uint8Array(s.data.length + 1);
  shifted.set(s.data, 1);
  return { ...s, data: shifted.subarray(1) };
}

/** The same sample grid as analyseRect, counted with a Map. */
function reference(s: Surface, r: Rect): { colours: number; entropyBits: number } {
  const step = Math.max(1, Math.ceil(Math.sqrt((r.width * r.height) / CLASSIFY_MAX_SAMPLES)));
  const counts = new Map<number, number>();
  let n = 0;
  const dv = new DataView(s.data.buffer, s.data.byteOffset);
  for (let y = r.y; y < r.y + r.height; y += step) {
    const x0 = r.x + (((y - r.y) / step) & 1 ? step >> 1 : 0);
    for (let x = x0; x < r.x + r.width; x += step) {
      const v = dv.getUint32(y * s.stride + x * 4, true) & 0xffffff;
      counts.set(v, (counts.get(v) ?? 0) + 1);
      n++;
    }
  }
  let e = 0;
  for (const c of counts.values()) e -= (c / n) * Math.log2(c / n);
  return { colours: counts.size, entropyBits: e };
}

describe('updates/classify', () => {
  it('solid (padding byte ignored), palette (text-like), photo (noise)', () => {
    const solid = surface(200, 100, (x) => 0x00336699 | ((x & 1) << 24));
    assert.equal(analyseRect(solid, { x: 0, y: 0, width: 200, height: 100 }).kind, 'solid');
    const text = surface(200, 100, (x, y) => ((x * 7 + y * 3) % 11 < 3 ? 0x000000 : 0xffffff));
    assert.equal(analyseRect(text, { x: 0, y: 0, width: 200, height: 100 }).kind, 'palette');
    const rnd = prng(5);
    const noise = surface(200, 100, () => Math.floor(rnd() * 0x1000000));
    const a = analyseRect(noise, { x: 0, y: 0, width: 200, height: 100 });
    assert.equal(a.kind, 'photo');
    assert.ok(a.colours > 1000 && a.entropyBits > 10, JSON.stringify(a));
  });

  it('colours and entropy equal a Map count of the same samples, rect after rect', () => {
    const rnd = prng(11);
    const palette = Array.from({ length: 300 }, () => Math.floor(rnd() * 0x1000000));
    const s = surface(640, 360, (x, y) => (y < 180 ? palette[(x * y) % 300]! : Math.floor(rnd() * 0x1000000)));
    for (let i = 0; i < 200; i++) {
      const x = Math.floor(rnd() * 600);
      const y = Math.floor(rnd() * 330);
      const r = { x, y, width: 1 + Math.floor(rnd() * (640 - x - 1)), height: 1 + Math.floor(rnd() * (360 - y - 1)) };
      const got = analyseRect(s, r);
      if (got.kind === 'solid') continue;
      const want = reference(s, r);
      assert.equal(got.colours, want.colours, `colours of ${JSON.stringify(r)}`);
      assert.ok(Math.abs(got.entropyBits - want.entropyBits) < 1e-9, `entropy of ${JSON.stringify(r)}`);
    }
  });

  it('the word path (aligned 4-byte pixels) and the byte path (unaligned) agree', () => {
    const rnd = prng(17);
    const palette = Array.from({ length: 120 }, () => Math.floor(rnd() * 0x1000000));
    const s = surface(320, 200, (x, y) => (x < 160 ? palette[(x + y * 3) % 120]! : Math.floor(rnd() * 0x1000000)) | ((x & 3) << 24));
    for (let i = 0; i < 100; i++) {
      const x = Math.floor(rnd() * 300);
      const y = Math.floor(rnd() * 180);
      const r = { x, y, width: 1 + Math.floor(rnd() * (320 - x - 1)), height: 1 + Math.floor(rnd() * (200 - y - 1)) };
      assert.deepEqual(analyseRect(s, r), analyseRect(unaligned(s), r), JSON.stringify(r));
    }
    const flat = surface(64, 64, (x) => 0x00123456 | (x << 24));
    assert.equal(analyseRect(flat, { x: 0, y: 0, width: 64, height: 64 }).kind, 'solid');
    assert.equal(analyseRect(unaligned(flat), { x: 0, y: 0, width: 64, height: 64 }).kind, 'solid');
  });

  it('a 65535x1 rect of noise ends with a bounded sample count', () => {
    const rnd = prng(3);
    const s = surface(65535, 1, () => Math.floor(rnd() * 0x1000000));
    const a = analyseRect(s, { x: 0, y: 0, width: 65535, height: 1 });
    assert.ok(a.colours <= 2 * CLASSIFY_MAX_SAMPLES, `${a.colours} colours sampled`);
  });
});
