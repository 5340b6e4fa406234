// What does refining damage against the shadow framebuffer (backend/display/shadow.ts) cost?
// 1920x1080 XRGB8888, the whole screen reported damaged, µs per refine (median of RUNS):
//   unchanged       nothing changed (the common "tile marked, pixels equal" case)
//   one line        one 16-row text line changed
//   all changed     every pixel changed (worst case: compare + copy everything)
//   scrolled        content scrolled up 16 rows + a new bottom line, without / with copy detection
//   noise +detect   every pixel changed, copy detection on (the cost of a failed detection)
// Run: npm run bench:shadow

import { PIXEL_FORMAT_XRGB8888 } from '../../backend/display/pixel-format';
import type { Surface } from '../../backend/display/display';
import { ShadowFramebuffer } from '../../backend/display/shadow';

const W = 1920;
const H = 1080;
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const FULL = [{ x: 0, y: 0, width: W, height: H }];

function surface(): Surface {
  const data = new Uint8Array(W * H * 4);
  let seed = 7;
  for (let i = 0; i < data.length; i += 4) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const ink = ((i / 4 / W) | 0) % 18 < 12 && seed % 3 === 0;
    data.fill(ink ? 20 : 250, i, i + 3);
  }
  return { width: W, height: H, stride: W * 4, format: PIXEL_FORMAT_XRGB8888, data };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/**
 * µs of one refine after `change` mutated the guest (untimed), median over RUNS. One shadow is
 * reused (as in the backend: its pages are warm); before each run guest and shadow are reset.
 */
function measure(change: (g: Surface) => void, detectCopies: boolean): { us: number; rects: number; copies: number } {
  const base = surface();
  const g = surface();
  const shadow = new ShadowFramebuffer(g);
  const times: number[] = [];
  let rects = 0;
  let copies = 0;
  for (let k = 0; k < RUNS; k++) {
    g.data.set(base.data);
    shadow.refine(FULL, { detectCopies: true });
    change(g);
    const t0 = process.hrtime.bigint();
    const res = shadow.refine(FULL, { detectCopies });
    times.push(Number(process.hrtime.bigint() - t0) / 1e3);
    rects = res.rects.length;
    copies = res.copies.length;
  }
  return { us: median(times), rects, copies };
}

const scroll = (g: Surface): void => {
  g.data.copyWithin(0, 16 * g.stride);
  g.data.fill(99, (H - 16) * g.stride, H * g.stride);
};
const cases: Array<[string, (g: Surface) => void, boolean]> = [
  ['unchanged', () => undefined, false],
  ['unchanged +detect', () => undefined, true],
  ['one line', (g) => g.data.fill(1, 500 * g.stride, 516 * g.stride), false],
  ['all changed', (g) => g.data.fill(1), false],
  ['scrolled', scroll, false],
  ['scrolled +detect', scroll, true],
  ['noise +detect', (g) => g.data.forEach((_, i) => (g.data[i] = (i * 2654435761) >>> 27)), true],
];

console.log(`shadow refine, ${W}x${H} XRGB8888, full-screen damage, median of ${RUNS}`);
console.log('case'.padEnd(20) + 'µs'.padStart(10) + 'rects'.padStart(8) + 'copies'.padStart(8));
for (const [name, change, detect] of cases) {
  const r = measure(change, detect);
  console.log(name.padEnd(20) + r.us.toFixed(0).padStart(10) + String(r.rects).padStart(8) + String(r.copies).padStart(8));
}
