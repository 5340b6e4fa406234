// When Tight sends a smooth rect through the gradient filter and when as plain pixels (copy):
// a photo and a banded ramp through the gradient, the flat desktop of rfbproxy's windows
// recording (../shared/fixtures) as copy, which is smaller there.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ByteWriter } from '../../../../shared/bytes';
import { splitIntoTiles, type Rect } from '../../../../shared/region';
import { PIXEL_FORMAT_XRGB8888 } from '../../../../backend/display/pixel-format';
import type { Surface } from '../../../../backend/display/display';
import { TIGHT_MAX_RECT, TightEncoder, TightFilter } from '../../../../backend/vnc/encoders/tight';
import { FLAT_MAX, flatFraction, TS_TIGHT_FILTERS } from '../../../../backend/vnc/encoders/tight-filters';
import { readClientPixels } from '../../../../backend/vnc/encoders/pixels';
import { fullHdPicture } from './fullhd-pictures';
import { loadSession } from '../../../../scripts/bench/peers/sessions';
import { FIXTURE_DIR } from '../../../../scripts/bench/peers/session-bench';

const pf = PIXEL_FORMAT_XRGB8888;
const settings = { qualityLevel: null, compressLevel: 3 };

/** Tight bytes of one rect and whether it went through the gradient filter (ctl 0x40 | stream 3 << 4, filter 2). */
function encode(enc: TightEncoder, s: Surface, r: Rect): { bytes: number; gradient: boolean } {
  const w = new ByteWriter(1024);
  enc.encode(s, r, pf, w, settings);
  const b = w.finish();
  return { bytes: b.length, gradient: (b[0]! & 0x40) !== 0 && b[1] === TightFilter.Gradient };
}

function surfaceOf(width: number, height: number, bgrx: Uint8Array): Surface {
  return { width, height, stride: width * 4, format: pf, data: bgrx };
}

describe('vnc/encoders: Tight gradient or copy', () => {
  it('the 1080p photo goes through the gradient (few pixels equal their neighbour: no trial)', () => {
    const photo = fullHdPicture('photo');
    const strip = { x: 0, y: 500, width: 1920, height: 32 };
    assert.ok(flatFraction(readClientPixels(photo, strip, pf), 1920) < FLAT_MAX);
    assert.equal(encode(new TightEncoder(), photo, strip).gradient, true);
  });

  it('a banded ramp (runs of 8 equal pixels in 4096 colours) is flat, and the trial keeps the gradient, which is smaller', () => {
    const w = 512;
    const h = 64;
    const px = new Uint32Array(w * h);
    for (let i = 0; i < px.length; i++) px[i] = (((i >> 3) * 37) & 0xfff) * 0x1001;
    assert.ok(flatFraction(px, w) >= FLAT_MAX);
    assert.ok(TS_TIGHT_FILTERS.isSmooth(px, w, pf));
    const s = surfaceOf(w, h, new Uint8Array(px.buffer));
    const r = { x: 0, y: 0, width: w, height: h };
    const chosen = encode(new TightEncoder(), s, r);
    assert.equal(chosen.gradient, true);
  });

  it('the windows recording: smooth-looking flat strips go as copy, and the whole desktop is smaller than through the gradient', function () {
    const fbs = path.join(FIXTURE_DIR, 'windows.fbs');
    if (!fs.existsSync(fbs)) {
      console.log(`      pending: ${fbs} not found (../shared beside the checkout)`);
      this.skip();
    }
    const session = loadSession(fbs);
    const s = surfaceOf(session.width, session.height, session.last);
    const strips = splitIntoTiles({ x: 0, y: 0, width: s.width, height: s.height }, s.width, Math.floor(TIGHT_MAX_RECT.area / s.width));
    const chosen = new TightEncoder();
    // The rule before: every rect the mean residual calls smooth through the gradient.
    const always = new TightEncoder();
    (always as unknown as { gradientPays: () => boolean }).gradientPays = () => true;
    let copies = 0;
    let bytes = 0;
    let alwaysBytes = 0;
    for (const r of strips) {
      const c = encode(chosen, s, r);
      const a = encode(always, s, r);
      if (a.gradient && !c.gradient) copies++;
      bytes += c.bytes;
      alwaysBytes += a.bytes;
    }
    assert.ok(copies > 0, 'no smooth strip went as copy');
    assert.ok(bytes < alwaysBytes * 0.95, `${bytes} bytes against ${alwaysBytes} through the gradient`);
  });
});
