// libvncclient (Debian libvncserver-dev) as a conformance client for every encoding: a small
// C program (fixtures/vncsnap.c), compiled at test time, forces one encoding, follows an
// animated surface over several frames and dumps its framebuffer, which must equal the
// server's surface (exactly, or within a stated tolerance for JPEG).
// Missing gcc, pkg-config or libvncclient make the tests pending with the reason.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import type { Surface } from '../../backend/display/display';
import { DEFAULT_ENCODER_FACTORIES } from '../../backend/vnc/encode-manager';
import type { EncoderFactory } from '../../backend/vnc/encoders/encoder';
import { VncServer } from '../../backend/vnc/server';
import { createWorkload, type FramebufferTarget, type Workload } from '../../frontend/workloads';
import { buildVncSnap, runSnap } from '../helpers/libvncclient';
import { RecordingInput, TestDisplay } from '../unit/vnc/helpers';

const WIDTH = 300; // not a multiple of 16 or 64
const HEIGHT = 170;
const FRAMES = 6;
const FRAME_MS = 40;

/** Per channel: largest and mean absolute difference between a P6 PPM and the surface. */
function compare(ppm: Buffer, s: Surface): { max: number; mean: number; firstBad?: string } {
  const m = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(ppm.subarray(0, 64).toString('latin1'));
  assert.ok(m, 'not a P6 PPM');
  assert.deepEqual([Number(m[1]), Number(m[2])], [s.width, s.height]);
  const px = ppm.subarray(m[0].length);
  let max = 0;
  let sum = 0;
  let firstBad: string | undefined;
  for (let y = 0; y < s.height; y++) {
    for (let x = 0; x < s.width; x++) {
      const i = y * s.stride + x * 4;
      const want = [s.data[i + 2]!, s.data[i + 1]!, s.data[i]!];
      const o = (y * s.width + x) * 3;
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(px[o + c]! - want[c]!);
        if (d > 0 && !firstBad) firstBad = `(${x},${y}) got ${[...px.subarray(o, o + 3)]} want ${want}`;
        max = Math.max(max, d);
        sum += d;
      }
    }
  }
  return { max, mean: sum / (s.width * s.height * 3), firstBad };
}

interface EncodingCase {
  encoding: string;
  quality: number;
  compress: number;
  /** Allowed mean / max channel error (0 = exact). */
  mean: number;
  max: number;
}

const CASES: EncodingCase[] = [
  { encoding: 'raw', quality: -1, compress: -1, mean: 0, max: 0 },
  { encoding: 'rre', quality: -1, compress: -1, mean: 0, max: 0 },
  { encoding: 'hextile', quality: -1, compress: -1, mean: 0, max: 0 },
  { encoding: 'zlib', quality: -1, compress: 6, mean: 0, max: 0 },
  { encoding: 'zrle', quality: -1, compress: 6, mean: 0, max: 0 },
  { encoding: 'tight', quality: -1, compress: 9, mean: 0, max: 0 },
  { encoding: 'tight', quality: -1, compress: 1, mean: 0, max: 0 },
  // JPEG quality level 9 = libjpeg quality 100 (jpeg-js, 4:4:4): measured mean 0.2, max 4.
  { encoding: 'tight', quality: 9, compress: 2, mean: 1, max: 16 },
];
// TightPNG (-260) is not covered: libvncclient has no TightPNG decoder (noVNC is the client for it).

describe('clients/libvncclient: every encoding against a real decoder', function () {
  this.timeout(60000);
  let dir = '';
  let skipReason: string | null = null;
  let snap = '';

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-libvnc-'));
    const built = buildVncSnap(dir);
    skipReason = 'missing' in built ? built.missing : null;
    snap = 'bin' in built ? built.bin : '';
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const c of CASES) {
    const label = `${c.encoding}${c.quality >= 0 ? ` + JPEG quality ${c.quality}` : ''}, compress ${c.compress}`;
    it(`${label}: the client's framebuffer equals the surface after ${FRAMES} animated frames`, async function () {
      if (skipReason) {
        console.log(`      pending: ${skipReason}`);
        this.skip();
      }
      const stride = WIDTH * 4 + 32; // a padded stride, like a real guest may have
      const data = new Uint8Array(stride * HEIGHT);
      const surface: Surface = { width: WIDTH, height: HEIGHT, stride, format: PIXEL_FORMAT_XRGB8888, data };
      const display = new TestDisplay(surface);
      const used = new Map<string, number>();
      const server = new VncServer({ display, input: new RecordingInput(), name: 'libvncclient test', encoders: counting(used) });
      const { port } = await server.listen('127.0.0.1', 0);
      const workload: Workload = await createWorkload('pattern', { width: WIDTH, height: HEIGHT, fps: 1 });
      const fb: FramebufferTarget = { width: WIDTH, height: HEIGHT, stride, data, damage: (r) => display.emit('damage', [r]) };
      const out = path.join(dir, `${c.encoding}-${c.quality}-${c.compress}.ppm`);
      try {
        workload.start(fb);
        workload.stop(); // frames are driven here, not by the workload's timer
        const snapDone = runSnap([
          snap,
          '127.0.0.1',
          String(port),
          c.encoding,
          String(c.quality),
          String(c.compress),
          String(FRAMES),
          '600',
          out,
        ]);
        for (let i = 0; i < FRAMES * 2; i++) {
          await new Promise((r) => setTimeout(r, FRAME_MS));
          drawFrame(fb, i);
        }
        const res = await snapDone;
        assert.equal(res.code, 0, `vncsnap failed: ${res.stderr}`);
        const diff = compare(fs.readFileSync(out), surface);
        if (process.env.XENVFB_DEBUG_SNAP) console.log(label, diff, res.stderr);
        assert.ok(
          diff.max <= c.max && diff.mean <= c.mean,
          `${label}: max ${diff.max} mean ${diff.mean.toFixed(3)} ${diff.firstBad ?? ''}`,
        );
        const want = { raw: 'Raw', rre: 'RRE', hextile: 'Hextile', zlib: 'Zlib', zrle: 'ZRLE', tight: 'Tight' }[c.encoding]!;
        assert.ok((used.get(want) ?? 0) > 0, `${want} was used: ${[...used]}`);
        if (c.quality >= 0) assert.ok((used.get('Tight JPEG') ?? 0) > 0, `JPEG rects were sent: ${[...used]}`);
      } finally {
        workload.stop();
        await server.close();
      }
    });
  }
});

/** The default encoders, counting rects per encoder (and Tight JPEG rects by control byte). */
function counting(used: Map<string, number>): EncoderFactory[] {
  const bump = (k: string): void => void used.set(k, (used.get(k) ?? 0) + 1);
  return DEFAULT_ENCODER_FACTORIES.map((make) => () => {
    const e = make();
    const encode = e.encode.bind(e);
    e.encode = (surface, rect, pf, w, settings) => {
      const at = w.length;
      const ok = encode(surface, rect, pf, w, settings);
      if (ok) bump(e.name);
      if (ok && e.name === 'Tight' && w.finish()[at]! >> 4 === 9) bump('Tight JPEG');
      return ok;
    };
    return e;
  });
}

/** The pattern workload's first frame, then: a moving box, text-like noise, a gradient band. */
function drawFrame(fb: FramebufferTarget, i: number): void {
  const put = (x: number, y: number, r: number, g: number, b: number): void => {
    const o = y * fb.stride + x * 4;
    fb.data[o] = b;
    fb.data[o + 1] = g;
    fb.data[o + 2] = r;
  };
  const bx = 10 + i * 23;
  for (let y = 40; y < 90; y++) for (let x = bx; x < Math.min(fb.width, bx + 45); x++) put(x, y, 220, 40 + i * 20, 30);
  fb.damage({ x: bx, y: 40, width: Math.min(45, fb.width - bx), height: 50 });
  let seed = i * 7919 + 1;
  const rnd = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) / 65536;
  for (let y = 100; y < 130; y++) for (let x = 5; x < 205; x++) put(x, y, rnd() < 0.3 ? 0 : 250, rnd() < 0.3 ? 0 : 250, 245);
  fb.damage({ x: 5, y: 100, width: 200, height: 30 });
  for (let y = 135; y < 165; y++) for (let x = 0; x < fb.width; x++) put(x, y, (x + i * 9) & 255, (y * 4) & 255, (x >> 1) & 255);
  fb.damage({ x: 0, y: 135, width: fb.width, height: 30 });
}
