// FBS (rfbproxy) import and export: the container's golden bytes, both real recordings in
// ../shared/fixtures/fbs/ import completely, export -> import -> export gives the same bytes
// and the same picture at every time, and cut or foreign files give typed results.

import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeFbs, parseFbs } from '../../../shared/capture/fbs';
import { FbsExporter } from '../../../shared/capture/fbs-export';
import { importFbs } from '../../../shared/capture/fbs-import';
import type { CaptureRecord } from '../../../shared/capture/format';
import { FrameState } from '../../../shared/capture/frame-state';
import { isXenvfbError } from '../../../shared/errors';
import { PIXEL_FORMAT_RGB565 } from '../../../backend/display/pixel-format';
import { prng } from '../../helpers/prng';

const FIXTURES = path.resolve(__dirname, '../../../../shared/fixtures/fbs');

function fixture(ctx: Mocha.Context, name: string): Buffer {
  const file = path.join(FIXTURES, name);
  if (!fs.existsSync(file)) {
    console.log(`    (pending: ${file} is missing; the FBS fixtures live in ../shared/fixtures/fbs/, see its README)`);
    ctx.skip();
  }
  return fs.readFileSync(file);
}

function collect(bytes: Uint8Array, keyframeIntervalMs = 5000): { recs: CaptureRecord[]; summary: ReturnType<typeof importFbs> } {
  const recs: CaptureRecord[] = [];
  const summary = importFbs(bytes, (r) => recs.push(r), { keyframeIntervalMs });
  return { recs, summary };
}

function exportRecs(recs: CaptureRecord[]): Buffer {
  const ex = new FbsExporter({ name: 'x' });
  recs.forEach((r) => ex.add(r));
  return ex.finish();
}

/** The picture after all records at each distinct time. */
function framesByTime(recs: CaptureRecord[]): Map<number, string> {
  const s = new FrameState();
  const out = new Map<number, string>();
  for (const r of recs) {
    s.apply(r);
    out.set(r.timeMs, createHash('sha1').update(s.pixels).digest('hex'));
  }
  return out;
}

describe('FBS container', () => {
  it('golden bytes: decode, encode, round trip', () => {
    const golden = Buffer.concat([Buffer.from('FBS 001.001\n'), Buffer.from([0, 0, 0, 5, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0, 0x01, 0x02])]);
    const f = parseFbs(golden);
    assert.equal(f.version, 'FBS 001.001');
    assert.deepEqual(
      f.blocks.map((b) => [Array.from(b.data), b.timeMs]),
      [[[1, 2, 3, 4, 5], 0x102]],
    );
    assert.deepEqual(encodeFbs(f.blocks), golden);
    for (let cut = 13; cut < golden.length; cut++) assert.equal(parseFbs(golden.subarray(0, cut)).truncatedAt, 12, `cut at ${cut}`);
  });

  it('foreign files are FBS_E_BAD_MAGIC', () => {
    assert.throws(
      () => parseFbs(Buffer.from('XVFBCAP\n....')),
      (e) => isXenvfbError(e, 'FBS_E_BAD_MAGIC'),
    );
    assert.throws(
      () => parseFbs(Buffer.from('FBS 002.000\n')),
      (e) => isXenvfbError(e, 'FBS_E_BAD_MAGIC'),
    );
  });
});

describe('FBS import and export', function () {
  this.timeout(60_000);

  it('windows.fbs imports: 1440x900, 105 updates, 300 Hextile rects, 24 s', function () {
    const { recs, summary } = collect(fixture(this, 'windows.fbs'));
    assert.deepEqual(
      [summary.width, summary.height, summary.updates, summary.rects.Hextile, summary.truncated],
      [1440, 900, 105, 300, null],
    );
    assert.equal(summary.durationMs, 24034);
    assert.ok(recs.filter((r) => r.type === 'keyframe').length >= 5);
  });

  it('xclock2.fbs imports: 1024x768 RGB565, 71 updates, Hextile + CopyRect, 20 s', function () {
    const { recs, summary } = collect(fixture(this, 'xclock2.fbs'));
    assert.deepEqual([summary.width, summary.height, summary.updates, summary.truncated], [1024, 768, 71, null]);
    assert.deepEqual(summary.rects, { Hextile: 157, CopyRect: 59 });
    const key = recs.find((r) => r.type === 'keyframe')!;
    assert.equal(key.type === 'keyframe' && key.geometry.format.greenMax, PIXEL_FORMAT_RGB565.greenMax);
    assert.ok(recs.some((r) => r.type === 'copy'));
  });

  for (const name of ['windows.fbs', 'xclock2.fbs']) {
    it(`${name}: export -> import -> export is byte-identical, and every frame matches`, function () {
      const { recs } = collect(fixture(this, name));
      const once = exportRecs(recs);
      const back = collect(once).recs;
      assert.ok(exportRecs(back).equals(once), 'second export differs');
      const a = framesByTime(recs);
      const b = framesByTime(back);
      assert.deepEqual([...b.keys()], [...a.keys()]);
      for (const [t, px] of a) assert.equal(b.get(t), px, `frame at ${t} ms`);
    });
  }

  it('a resize in a capture exports as DesktopSize and imports back', () => {
    const g = (w: number, h: number) => ({ width: w, height: h, format: PIXEL_FORMAT_RGB565 });
    const recs: CaptureRecord[] = [
      { type: 'keyframe', timeMs: 0, geometry: g(4, 2), pixels: new Uint8Array(16).fill(7) },
      { type: 'keyframe', timeMs: 10, geometry: g(2, 3), pixels: new Uint8Array(12).fill(9) },
      { type: 'damage', timeMs: 20, bytesPerPixel: 2, rects: [{ x: 1, y: 1, width: 1, height: 1 }], pixels: Uint8Array.of(1, 2) },
    ];
    const back = collect(exportRecs(recs)).recs;
    assert.deepEqual([...framesByTime(back).entries()], [...framesByTime(recs).entries()]);
  });

  it('fuzz: cut and flipped recordings import what they can or fail typed', function () {
    const good = fixture(this, 'xclock2.fbs');
    const rnd = prng(11);
    for (let i = 0; i < 25; i++) {
      const b = Buffer.from(good.subarray(0, 520_000 + ((rnd() * (good.length - 520_000)) | 0)));
      for (let k = 0; k < 2; k++) b[12 + ((rnd() * (b.length - 12)) | 0)] ^= 1 << ((rnd() * 8) | 0);
      try {
        collect(b);
      } catch (e) {
        if (!isXenvfbError(e)) throw e;
        assert.match(e.code, /^(FBS|RFB|CAP)_E_/);
      }
    }
  });
});
