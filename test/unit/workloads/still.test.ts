import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { isXenvfbError } from '../../../shared/errors';
import { createWorkload, decodePng, StillWorkload, WORKLOAD_MAX_DIMENSION } from '../../../frontend/workloads';
import { encodeRawPng, RecordingFramebuffer } from './helpers';

/** Expected XRGB bytes (B, G, R, 0) of an 8-bit RGBA sample composited over black. */
function overBlack(r: number, g: number, b: number, a = 255): number[] {
  const c = (v: number): number => Math.round((v * a) / 255);
  return [c(b), c(g), c(r), 0];
}

function pngjsEncode(width: number, height: number, rgba: number[], colorType: 2 | 6): Buffer {
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba);
  return PNG.sync.write(png, { colorType, inputColorType: 6, inputHasAlpha: true });
}

function expectPixels(bytes: Uint8Array, expected: number[][]): void {
  assert.deepEqual(Array.from(bytes), expected.flat());
}

describe('workloads/still', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'xenvfb-still-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('decodePng', () => {
    it('decodes 8-bit RGB (written by pngjs) into exact XRGB bytes', () => {
      const rgba = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 18, 52, 86, 255];
      const s = decodePng(pngjsEncode(2, 2, rgba, 2));
      assert.equal(s.width, 2);
      assert.equal(s.height, 2);
      assert.equal(s.stride, 8);
      expectPixels(s.data, [overBlack(255, 0, 0), overBlack(0, 255, 0), overBlack(0, 0, 255), overBlack(18, 52, 86)]);
    });

    it('composites 8-bit RGBA (written by pngjs) over black', () => {
      const rgba = [200, 100, 50, 128, 255, 255, 255, 0, 10, 20, 30, 255, 255, 128, 1, 1];
      const s = decodePng(pngjsEncode(4, 1, rgba, 6));
      expectPixels(s.data, [overBlack(200, 100, 50, 128), [0, 0, 0, 0], overBlack(10, 20, 30), overBlack(255, 128, 1, 1)]);
    });

    it('decodes a palette image with tRNS alpha', () => {
      const png = encodeRawPng({
        width: 3,
        height: 1,
        bitDepth: 8,
        colorType: 3,
        palette: [
          [255, 0, 0],
          [0, 128, 255],
          [40, 50, 60],
        ],
        paletteAlpha: [255, 64],
        rows: [Uint8Array.of(2, 0, 1)],
      });
      expectPixels(decodePng(png).data, [overBlack(40, 50, 60), overBlack(255, 0, 0), overBlack(0, 128, 255, 64)]);
    });

    it('decodes a 2-bit palette image', () => {
      const png = encodeRawPng({
        width: 4,
        height: 1,
        bitDepth: 2,
        colorType: 3,
        palette: [
          [0, 0, 0],
          [255, 255, 255],
          [255, 0, 0],
          [0, 0, 255],
        ],
        rows: [Uint8Array.of(0b00011011)],
      });
      expectPixels(decodePng(png).data, [overBlack(0, 0, 0), overBlack(255, 255, 255), overBlack(255, 0, 0), overBlack(0, 0, 255)]);
    });

    it('decodes 16-bit RGB, scaling samples to 8 bits', () => {
      const samples = [0xffff, 0x0000, 0x1234, 0x8080, 0x7fff, 0x0101];
      const row = new Uint8Array(samples.length * 2);
      samples.forEach((v, i) => {
        row[i * 2] = v >> 8;
        row[i * 2 + 1] = v & 0xff;
      });
      const s = decodePng(encodeRawPng({ width: 2, height: 1, bitDepth: 16, colorType: 2, rows: [row] }));
      const to8 = samples.map((v) => Math.round((v * 255) / 65535));
      expectPixels(s.data, [overBlack(to8[0], to8[1], to8[2]), overBlack(to8[3], to8[4], to8[5])]);
    });

    it('decodes 16-bit RGBA with alpha', () => {
      // r, g, b, a = 0xffff, 0x8000, 0x0000, 0x8000 (alpha ~ 50%)
      const row = Uint8Array.of(0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x80, 0x00);
      const s = decodePng(encodeRawPng({ width: 1, height: 1, bitDepth: 16, colorType: 6, rows: [row] }));
      const to8 = (v: number): number => Math.round((v * 255) / 65535);
      expectPixels(s.data, [overBlack(255, to8(0x8000), 0, to8(0x8000))]);
    });

    it('decodes 8-bit grey and grey + alpha', () => {
      const grey = decodePng(encodeRawPng({ width: 2, height: 1, bitDepth: 8, colorType: 0, rows: [Uint8Array.of(0, 200)] }));
      expectPixels(grey.data, [overBlack(0, 0, 0), overBlack(200, 200, 200)]);
      const greyAlpha = decodePng(
        encodeRawPng({ width: 2, height: 1, bitDepth: 8, colorType: 4, rows: [Uint8Array.of(200, 255, 200, 100)] }),
      );
      expectPixels(greyAlpha.data, [overBlack(200, 200, 200), overBlack(200, 200, 200, 100)]);
    });

    it('decodes 1-bit grey', () => {
      const s = decodePng(encodeRawPng({ width: 3, height: 1, bitDepth: 1, colorType: 0, rows: [Uint8Array.of(0b10100000)] }));
      expectPixels(s.data, [overBlack(255, 255, 255), overBlack(0, 0, 0), overBlack(255, 255, 255)]);
    });

    it('rejects bytes that are not a PNG with IMG_E_DECODE', () => {
      assert.throws(
        () => decodePng(Buffer.from('GIF89a not a png at all, sorry'), 'x.gif'),
        (e: unknown) => isXenvfbError(e, 'IMG_E_DECODE') && e.details.path === 'x.gif',
      );
      assert.throws(
        () => decodePng(new Uint8Array(0)),
        (e: unknown) => isXenvfbError(e, 'IMG_E_DECODE'),
      );
    });

    it('rejects a truncated PNG with IMG_E_DECODE', () => {
      const full = pngjsEncode(4, 4, new Array(64).fill(255), 6);
      assert.throws(
        () => decodePng(full.subarray(0, full.length - 30)),
        (e: unknown) => isXenvfbError(e, 'IMG_E_DECODE'),
      );
    });

    it(`accepts ${WORKLOAD_MAX_DIMENSION} pixels wide and rejects one more with FB_E_BAD_GEOMETRY`, () => {
      const row = (w: number): Uint8Array => new Uint8Array(Math.ceil(w / 8));
      const atLimit = encodeRawPng({
        width: WORKLOAD_MAX_DIMENSION,
        height: 1,
        bitDepth: 1,
        colorType: 0,
        rows: [row(WORKLOAD_MAX_DIMENSION)],
      });
      assert.equal(decodePng(atLimit).width, WORKLOAD_MAX_DIMENSION);
      const past = WORKLOAD_MAX_DIMENSION + 1;
      const tooWide = encodeRawPng({ width: past, height: 1, bitDepth: 1, colorType: 0, rows: [row(past)] });
      assert.throws(
        () => decodePng(tooWide, 'wide.png'),
        (e: unknown) => isXenvfbError(e, 'FB_E_BAD_GEOMETRY') && e.details.width === past && e.details.path === 'wide.png',
      );
      const tooTall = encodeRawPng({ width: 1, height: past, bitDepth: 1, colorType: 0, rows: Array.from({ length: past }, () => row(1)) });
      assert.throws(
        () => decodePng(tooTall),
        (e: unknown) => isXenvfbError(e, 'FB_E_BAD_GEOMETRY'),
      );
    });

    it('rejects a huge IHDR before inflating any pixel data', () => {
      // Only the header: decoding would need gigabytes, so the size check must come first.
      const header = encodeRawPng({ width: 100000, height: 100000, bitDepth: 8, colorType: 6, rows: [] });
      assert.throws(
        () => decodePng(header),
        (e: unknown) => isXenvfbError(e, 'FB_E_BAD_GEOMETRY'),
      );
    });
  });

  describe('createWorkload("still")', () => {
    it('sizes the framebuffer to the PNG and draws it once with full damage', async () => {
      const path = join(dir, 'pic.png');
      writeFileSync(
        path,
        pngjsEncode(3, 2, [1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255, 10, 11, 12, 255, 13, 14, 15, 255, 16, 17, 18, 255], 6),
      );
      const w = await createWorkload('still', { image: path, width: 999, height: 999 });
      assert.ok(w instanceof StillWorkload);
      assert.equal(w.name, 'still');
      assert.deepEqual([w.width, w.height], [3, 2]);
      const fb = new RecordingFramebuffer(3, 2, 16, 0xaa);
      w.start(fb);
      assert.deepEqual(fb.takeDamage(), [{ x: 0, y: 0, width: 3, height: 2 }]);
      assert.equal(w.frames, 1);
      assert.deepEqual(fb.pixel(0, 0), [3, 2, 1, 0]);
      assert.deepEqual(fb.pixel(2, 1), [18, 17, 16, 0]);
      // Bytes past width * 4 in each row belong to the stride padding and stay untouched.
      assert.deepEqual(Array.from(fb.data.subarray(12, 16)), [0xaa, 0xaa, 0xaa, 0xaa]);
      w.stop();
      w.stop();
      assert.equal(w.frames, 1);
    });

    it('reports a missing file as IMG_E_DECODE with its path', async () => {
      const path = join(dir, 'does-not-exist.png');
      await assert.rejects(
        createWorkload('still', { image: path }),
        (e: unknown) => isXenvfbError(e, 'IMG_E_DECODE') && e.details.path === path && e.message.includes(path),
      );
    });

    it('reports an unreadable (directory) path as IMG_E_DECODE', async () => {
      await assert.rejects(createWorkload('still', { image: dir }), (e: unknown) => isXenvfbError(e, 'IMG_E_DECODE'));
    });

    it('draws a test card at 800x600 without an image', async () => {
      const w = await createWorkload('still', {});
      assert.deepEqual([w.width, w.height], [800, 600]);
      const fb = new RecordingFramebuffer(800, 600);
      w.start(fb);
      assert.deepEqual(fb.takeDamage(), [{ x: 0, y: 0, width: 800, height: 600 }]);
      // Bars left to right: white, yellow, cyan, green, magenta, red, blue (B, G, R, X).
      const barCentre = (i: number): number => Math.floor(((i + 0.5) * 800) / 7);
      const bars = [
        [255, 255, 255],
        [0, 255, 255],
        [255, 255, 0],
        [0, 255, 0],
        [255, 0, 255],
        [0, 0, 255],
        [255, 0, 0],
      ];
      bars.forEach((bgr, i) => assert.deepEqual(fb.pixel(barCentre(i), 10), [...bgr, 0], `bar ${i}`));
      // Grey ramp underneath, black on the left to white on the right.
      assert.deepEqual(fb.pixel(0, 590), [0, 0, 0, 0]);
      assert.deepEqual(fb.pixel(799, 590), [255, 255, 255, 0]);
      const mid = fb.pixel(400, 590);
      assert.ok(mid[0] > 100 && mid[0] < 155 && mid[0] === mid[1] && mid[1] === mid[2]);
    });

    it('honours width/height for the test card and validates them', async () => {
      const w = await createWorkload('still', { width: 64, height: 48 });
      assert.deepEqual([w.width, w.height], [64, 48]);
      await assert.rejects(createWorkload('still', { width: WORKLOAD_MAX_DIMENSION + 1 }), (e: unknown) =>
        isXenvfbError(e, 'FB_E_BAD_GEOMETRY'),
      );
      await assert.rejects(createWorkload('still', { height: 0 }), (e: unknown) => isXenvfbError(e, 'FB_E_BAD_GEOMETRY'));
    });
  });
});
