// Scan reports (shared/dirty-tiles/scan-report.ts) and the backend's scan monitor: what the
// inspector is told must be exactly the tiles the guest marked, and nothing is kept while
// nobody watches.

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { TileMarker } from '../../../frontend/dirty-tiles/marker';
import { TileScanLoop } from '../../../backend/damage/tile-scan-loop';
import { SCAN_MONITOR_ARMED_MS, SCAN_MONITOR_CAPACITY, ScanMonitor } from '../../../backend/damage/scan-monitor';
import { chooseTileGeometry, initTilePage } from '../../../shared/dirty-tiles/page';
import { XEN_PAGE_SIZE } from '../../../shared/page';
import { type ScanReport, scanReportFromJson, scanReportToJson, wordsForRects } from '../../../shared/dirty-tiles/scan-report';
import { isXenvfbError } from '../../../shared/errors';

const W = 1920;
const H = 1080; // 60 x 68 tiles of 32 x 16

function sample(): ScanReport {
  const geometry = chooseTileGeometry(W, H);
  return {
    seq: 7,
    t: 12.5,
    source: 'tiles',
    fbWidth: W,
    fbHeight: H,
    geometry,
    active: 1,
    generation: 0xfffffffe,
    switched: true,
    late: false,
    idle: false,
    full: false,
    garbage: null,
    words: wordsForRects(
      [
        { x: 40, y: 20, width: 10, height: 5 },
        { x: W - 1, y: H - 1, width: 1, height: 1 },
      ],
      geometry,
      W,
      H,
    ),
    tiles: 2,
    rects: 2,
  };
}

describe('dirty-tiles/scan-report', () => {
  it('words for rects: one bit per tile touched, on the extension grid', () => {
    const r = sample();
    assert.equal(r.words.length, 68);
    assert.equal(r.words[1], 1n << 1n);
    assert.equal(r.words[67], 1n << 59n);
    assert.equal(r.words.filter((w) => w !== 0n).length, 2);
  });

  it('JSON round trip (u64 words as hex), through JSON.stringify', () => {
    const r = sample();
    const back = scanReportFromJson(JSON.parse(JSON.stringify(scanReportToJson(r))));
    assert.deepEqual(back, r);
  });

  it('a hostile report is a DT_E_BAD_REPORT, never a crash or a wrong grid', () => {
    const good = scanReportToJson(sample()) as unknown as Record<string, unknown>;
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(good)), fc.anything(), (key, value) => {
        const v = { ...good, [key]: value };
        try {
          const r = scanReportFromJson(v);
          assert.equal(r.words.length, r.geometry.rows);
        } catch (e) {
          assert.ok(isXenvfbError(e, 'DT_E_BAD_REPORT'), String(e));
        }
      }),
    );
    assert.throws(
      () => scanReportFromJson({ ...good, words: ['zz'] }),
      (e: unknown) => isXenvfbError(e, 'DT_E_BAD_REPORT'),
    );
  });
});

describe('damage/scan-monitor', () => {
  it('records nothing until someone reads, and stops again after SCAN_MONITOR_ARMED_MS', () => {
    let now = 0;
    const m = new ScanMonitor(() => now);
    m.recordUpdates([{ x: 0, y: 0, width: 8, height: 8 }], W, H);
    assert.deepEqual(m.since(0), []);
    m.recordUpdates([{ x: 0, y: 0, width: 8, height: 8 }], W, H);
    const got = m.since(0);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.source, 'update');
    assert.equal(got[0]!.tiles, 1);
    assert.deepEqual(m.since(got[0]!.seq), []);
    now += SCAN_MONITOR_ARMED_MS + 1;
    m.recordUpdates([{ x: 0, y: 0, width: 8, height: 8 }], W, H);
    assert.equal(m.recording, false);
    assert.deepEqual(m.since(got[0]!.seq), []);
  });

  it(`keeps at most ${SCAN_MONITOR_CAPACITY} reports (a watcher that stalls costs bounded memory)`, () => {
    const m = new ScanMonitor();
    m.since(0);
    for (let i = 0; i < SCAN_MONITOR_CAPACITY * 3; i++) m.recordUpdates([{ x: i % W, y: 0, width: 1, height: 1 }], W, H);
    const got = m.since(0);
    assert.equal(got.length, SCAN_MONITOR_CAPACITY);
    assert.equal(got[got.length - 1]!.seq, SCAN_MONITOR_CAPACITY * 3);
  });

  it('a tile scan loop reports exactly the tiles the frontend marked', () => {
    const page = new Uint8Array(XEN_PAGE_SIZE);
    const geometry = chooseTileGeometry(W, H);
    initTilePage(page, geometry);
    const marker = new TileMarker(page, { fbWidth: W, fbHeight: H });
    const monitor = new ScanMonitor();
    monitor.since(0);
    const timers: Array<() => void> = [];
    const loop = new TileScanLoop(page, {
      fbWidth: W,
      fbHeight: H,
      damage: () => undefined,
      notify: () => undefined,
      setTimer: (fn) => timers.push(fn),
      clearTimer: () => undefined,
      onScan: (res) => monitor.recordTileScan(res, W, H),
    });
    loop.start();
    const rects = [
      { x: 100, y: 100, width: 300, height: 40 },
      { x: 1900, y: 1000, width: 20, height: 80 },
    ];
    for (const r of rects) marker.mark(r);
    marker.switchBitmaps();
    timers.shift()!();
    const reports = monitor.since(0).filter((r) => r.tiles > 0);
    assert.equal(reports.length, 1);
    assert.deepEqual(reports[0]!.words, wordsForRects(rects, geometry, W, H));
    assert.equal(reports[0]!.switched, true);
    assert.equal(reports[0]!.active, 1);
    loop.stop();
  });
});
