// CopyRect against a real decoder: libvncclient (fixtures/vncsnap.c) asks for "copyrect raw"
// and "copyrect hextile" while a terminal-like guest surface scrolls 20 times through a
// refining GuestDisplay (backend/display/shadow.ts). The client's final framebuffer must equal
// the surface, and the server's stats must show CopyRect rects were sent.
// Missing gcc, pkg-config or libvncclient make the tests pending with the reason.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import type { Surface } from '../../backend/display/display';
import { GuestDisplay } from '../../backend/display/guest-display';
import { VncServer } from '../../backend/vnc/server';
import { buildVncSnap, readPpm, runSnap } from '../helpers/libvncclient';
import { RecordingInput } from '../unit/vnc/helpers';

const WIDTH = 320;
const HEIGHT = 200;
const LINE = 16;
const SCROLLS = 20;

/** A new text-like line: dark background, light glyph blocks from a PRNG. */
function drawLine(s: Surface, y0: number, seed: number): void {
  let st = seed >>> 0 || 1;
  for (let y = y0; y < y0 + LINE; y++) s.data.fill(0, y * s.stride, y * s.stride + s.width * 4);
  for (let cx = 0; cx + 8 <= s.width; cx += 8) {
    st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
    if (st >>> 30 === 0) continue; // a space
    for (let y = y0 + 2; y < y0 + LINE - 2; y++) {
      for (let x = cx + 1; x < cx + 7; x++) {
        if (((st >>> ((x - cx) * 3 + (y - y0))) & 1) === 0) continue;
        const i = y * s.stride + x * 4;
        s.data[i] = 190;
        s.data[i + 1] = 190 - (seed & 63);
        s.data[i + 2] = 190;
      }
    }
  }
}

describe('clients/libvncclient: CopyRect for a scrolling terminal', function () {
  this.timeout(60000);
  let dir = '';
  let skipReason: string | null = null;
  let snap = '';

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-copyrect-'));
    const built = buildVncSnap(dir);
    skipReason = 'missing' in built ? built.missing : null;
    snap = 'bin' in built ? built.bin : '';
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const encodings of ['copyrect raw', 'copyrect hextile']) {
    it(`${encodings}: exact after ${SCROLLS} scrolls, CopyRects sent`, async function () {
      if (skipReason) {
        console.log(`      pending: ${skipReason}`);
        this.skip();
      }
      const stride = WIDTH * 4;
      const surface: Surface = {
        width: WIDTH,
        height: HEIGHT,
        stride,
        format: PIXEL_FORMAT_XRGB8888,
        data: new Uint8Array(stride * HEIGHT),
      };
      for (let y = 0; y + LINE <= HEIGHT; y += LINE) drawLine(surface, y, 1000 + y);
      const display = new GuestDisplay('copyrect test', { refineDamage: true });
      display.setSurface(surface);
      const server = new VncServer({ display, input: new RecordingInput(), name: 'copyrect test' });
      const { port } = await server.listen('127.0.0.1', 0);
      const out = path.join(dir, `${encodings.replace(' ', '-')}.ppm`);
      try {
        const snapDone = runSnap([snap, '127.0.0.1', String(port), encodings, '-1', '-1', String(SCROLLS), '1500', out]);
        while (server.clients().length === 0) await new Promise((r) => setTimeout(r, 10));
        await new Promise((r) => setTimeout(r, 100));
        let copyRects = 0;
        for (let i = 0; i < SCROLLS; i++) {
          surface.data.copyWithin(0, LINE * stride, HEIGHT * stride);
          drawLine(surface, HEIGHT - LINE, i + 7);
          display.damage([{ x: 0, y: 0, width: WIDTH, height: HEIGHT }]);
          await new Promise((r) => setTimeout(r, 40));
          copyRects = server.clients()[0]?.session.encoders.CopyRect?.rects ?? copyRects;
        }
        await new Promise((r) => setTimeout(r, 300));
        copyRects = server.clients()[0]?.session.encoders.CopyRect?.rects ?? copyRects;
        const res = await snapDone;
        assert.equal(res.code, 0, `vncsnap failed: ${res.stderr}`);
        const ppm = readPpm(fs.readFileSync(out));
        const want = Buffer.alloc(WIDTH * HEIGHT * 3);
        for (let p = 0; p < WIDTH * HEIGHT; p++) {
          want[p * 3] = surface.data[p * 4 + 2]!;
          want[p * 3 + 1] = surface.data[p * 4 + 1]!;
          want[p * 3 + 2] = surface.data[p * 4]!;
        }
        assert.ok(ppm.rgb.equals(want), 'client framebuffer equals the surface');
        assert.ok(copyRects >= SCROLLS / 2, `CopyRect rects sent: ${copyRects}`);
        assert.ok(display.stats.copies >= SCROLLS, `copy hints: ${display.stats.copies}`);
      } finally {
        await server.close();
      }
    });
  }
});
