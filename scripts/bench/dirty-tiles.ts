// Dirty-tile bench: scan + merge time per period, and rectangles / bytes per second against
// the UPDATE-event path (one bounding rect per refresh, as Linux fbfront sends), at
// 1920x1080, 32 bpp, 30 periods a second; then end to end on the simulator
// (dirty-tiles-sim.ts): damage -> VNC client latency p50/p99 per workload, tile path and
// UPDATE path side by side, what the client received, and the CPU of idle domains. Run: npm run bench:dirty (BENCH_QUICK=1 for fewer samples)

import { TileScanner } from '../../backend/damage/tile-scanner';
import { TileMarker } from '../../frontend/dirty-tiles/marker';
import { chooseTileGeometry, initTilePage } from '../../shared/dirty-tiles/page';
import { Rect, rectArea, unionRect } from '../../shared/region';
import { VFB_REFRESH_PERIOD_MS } from '../../backend/devices/vfb';
import { SIM_WORKLOADS, measureIdleCpu, measureLatency, type PathMode } from './dirty-tiles-sim';
import { XEN_PAGE_SIZE } from '../../shared/page';

const W = 1920;
const H = 1080;
const BPP = 4;
const PERIODS_PER_S = 30;
const PERIODS = 3000;

type Workload = (period: number) => Rect[];

const workloads: Array<[string, Workload]> = [
  // a character cell or two near a cursor that walks along a line (and a blinking cursor)
  [
    'typing',
    (p) => [
      { x: 8 * (p % 200), y: 300 + 16 * Math.floor(p / 200), width: 8, height: 16 },
      ...(p % 2 ? [] : [{ x: 8 * (p % 200) + 8, y: 300, width: 2, height: 16 }]),
    ],
  ],
  // a terminal printing: the scrolled text area redrawn as 3 full-width 16px line bands + status line
  [
    'scrolling terminal',
    (p) =>
      [0, 1, 2]
        .map((i) => ({ x: 0, y: 16 * ((p * 3 + i * 17) % 64), width: W, height: 16 }))
        .concat([{ x: 0, y: H - 16, width: W, height: 16 }]),
  ],
  // a 854x480 video plus its progress bar
  [
    'video-like',
    () => [
      { x: 533, y: 300, width: 854, height: 480 },
      { x: 533, y: 790, width: 854, height: 6 },
    ],
  ],
  // a 400x300 window dragged diagonally: old and new positions
  [
    'window drag',
    (p) => {
      const at = (q: number): Rect => ({ x: (q * 7) % (W - 400), y: (q * 4) % (H - 300), width: 400, height: 300 });
      return [at(p), at(p + 1)];
    },
  ],
];

function fmt(n: number, digits = 1): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(digits)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(digits)}k`;
  return n.toFixed(digits);
}

function run(name: string, wl: Workload): string[] {
  const page = new Uint8Array(XEN_PAGE_SIZE);
  initTilePage(page, chooseTileGeometry(W, H));
  const marker = new TileMarker(page, { fbWidth: W, fbHeight: H });
  const scanner = new TileScanner(page, { fbWidth: W, fbHeight: H, idleAfterEmptyScans: 1e9 });
  scanner.start();
  let scanNs = 0n;
  let tileRects = 0;
  let tileBytes = 0;
  let updRects = 0;
  let updBytes = 0;
  for (let p = 0; p < PERIODS; p++) {
    const damage = wl(p);
    for (const r of damage) marker.mark(r);
    let bound: Rect = { x: 0, y: 0, width: 0, height: 0 };
    for (const r of damage) bound = unionRect(bound, r);
    updRects += 1;
    updBytes += rectArea(bound) * BPP;
    marker.switchBitmaps();
    const t0 = process.hrtime.bigint();
    const res = scanner.scan();
    scanNs += process.hrtime.bigint() - t0;
    tileRects += res.rects.length;
    for (const r of res.rects) tileBytes += rectArea(r) * BPP;
  }
  const perS = PERIODS_PER_S / PERIODS;
  return [
    name,
    (Number(scanNs) / PERIODS / 1000).toFixed(1),
    fmt(tileRects * perS),
    `${fmt(tileBytes * perS)}B`,
    fmt(updRects * perS),
    `${fmt(updBytes * perS)}B`,
    `${(updBytes / Math.max(1, tileBytes)).toFixed(2)}x`,
  ];
}

function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}

const LATENCY_PERIOD_MS = 16;
const IDLE_DOMAINS = 50;
const IDLE_WINDOW_MS = 5000;

// Latency columns, side by side: the tile path as it ships (paced by the backend, r8, and
// switched on mark, r9), the UPDATE path at the same 16 ms period and at the backend's default
// refresh period, and the tile path before r9 (the backend's tick alone), before r8
// (independent timers) and with a v1 guest (its own timer) on our backend.
const PATHS: Array<[label: string, mode: PathMode, periodMs: number]> = [
  ['tiles', 'tiles', LATENCY_PERIOD_MS],
  ['tiles r8 tick only', 'tiles-r8', LATENCY_PERIOD_MS],
  [`UPDATE@${LATENCY_PERIOD_MS}`, 'update', LATENCY_PERIOD_MS],
  [`UPDATE@${VFB_REFRESH_PERIOD_MS}`, 'update', VFB_REFRESH_PERIOD_MS],
  ['tiles v1 timers', 'tiles-v1', LATENCY_PERIOD_MS],
  ['tiles, v1 guest', 'tiles-v1-guest', LATENCY_PERIOD_MS],
];

async function endToEnd(): Promise<void> {
  const frames = process.env.BENCH_QUICK ? 60 : 200;
  const latHead = ['workload', ...PATHS.map(([l]) => `${l} p50/p99 ms`)];
  const latRows = [latHead];
  const trafficRows = [['workload', 'path', 'client rects/s', 'client bytes/s', 'evtchn notifies/s', 'frames unseen']];
  for (const wl of SIM_WORKLOADS) {
    const row = [wl.name];
    for (const [label, mode, period] of PATHS) {
      const r = await measureLatency(mode, wl, period, frames);
      row.push(`${r.p50.toFixed(1)} / ${r.p99.toFixed(1)}`);
      trafficRows.push([wl.name, label, fmt(r.rectsPerS), `${fmt(r.bytesPerS)}B`, fmt(r.notifiesPerS, 0), String(r.unseen)]);
    }
    latRows.push(row);
  }
  console.log('');
  console.log(
    `damage -> VNC client latency on the simulator, 640x480, one process, ${frames} frames per workload drawn open loop at ` +
      `jittered intervals; tile period ${LATENCY_PERIOD_MS} ms; UPDATE@N: the guest flushes UPDATE events every N ms ` +
      `(XENFB_TYPE_REFRESH_PERIOD; the backend's default is ${VFB_REFRESH_PERIOD_MS})`,
  );
  printTable(latRows);
  console.log('');
  console.log('what the VNC client (Raw) received during those runs; evtchn notifies: the tile page, both directions');
  printTable(trafficRows);
  const cpuRows = [['path', `CPU of ${IDLE_DOMAINS} idle domains`]];
  for (const [label, mode] of [
    ['tiles', 'tiles'],
    [`UPDATE@${LATENCY_PERIOD_MS}`, 'update'],
  ] as Array<[string, PathMode]>) {
    const cpu = await measureIdleCpu(mode, IDLE_DOMAINS, LATENCY_PERIOD_MS, IDLE_WINDOW_MS);
    cpuRows.push([label, `${cpu.toFixed(2)} ms/s`]);
  }
  console.log('');
  console.log(`idle: ${IDLE_DOMAINS} domains (backend + frontend each) in one process, still screens, over ${IDLE_WINDOW_MS / 1000} s`);
  printTable(cpuRows);
}

const head = ['workload', 'scan+merge us/period', 'tile rects/s', 'tile bytes/s', 'UPDATE rects/s', 'UPDATE bytes/s', 'UPDATE/tile bytes'];
const rows = [head, ...workloads.map(([n, w]) => run(n, w))];
const g = chooseTileGeometry(W, H);
console.log(
  `dirty tiles ${W}x${H}: ${g.cols}x${g.rows} tiles of ${g.tileW}x${g.tileH}, ${PERIODS_PER_S} periods/s, ${PERIODS} periods each`,
);
printTable(rows);
endToEnd().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
