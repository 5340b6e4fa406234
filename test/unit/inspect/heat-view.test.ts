// The inspector's model and picture (scripts/cli/inspect/): heat builds up where scans find
// tiles and fades with the half-life; the grid fits the terminal; the PNG tints hot tiles.

import { strict as assert } from 'node:assert';
import { PNG } from 'pngjs';
import { HeatMap } from '../../../scripts/cli/inspect/heat';
import { heatPng } from '../../../scripts/cli/inspect/heat-png';
import { HEAT_RAMP, renderView } from '../../../scripts/cli/inspect/view';
import { chooseTileGeometry } from '../../../shared/dirty-tiles/page';
import { type ScanReport, wordsForRects } from '../../../shared/dirty-tiles/scan-report';
import type { Rect } from '../../../shared/region';

const W = 1920;
const H = 1080;
const GEOM = chooseTileGeometry(W, H); // 60 x 68 tiles of 32 x 16

function report(seq: number, t: number, rects: Rect[]): ScanReport {
  const words = wordsForRects(rects, GEOM, W, H);
  const tiles = words.reduce((n, w) => n + w.toString(2).replace(/0/g, '').length, 0);
  return {
    seq,
    t,
    source: 'tiles',
    fbWidth: W,
    fbHeight: H,
    geometry: GEOM,
    active: seq & 1 ? 1 : 0,
    generation: seq,
    switched: true,
    late: false,
    idle: false,
    full: false,
    garbage: null,
    words,
    tiles,
    rects: rects.length,
  };
}

describe('inspect: heat map, rates, view, PNG', () => {
  it('heat builds where tiles are found and halves every half-life', () => {
    const heat = new HeatMap();
    for (let i = 0; i < 4; i++) heat.add(report(i + 1, i * 33, [{ x: 0, y: 0, width: 32, height: 16 }]));
    assert.ok(heat.heat[0]! > 0.9, `hot tile ${heat.heat[0]}`);
    assert.equal(heat.heat[1], 0);
    const before = heat.heat[0]!;
    heat.decayTo(99 + heat.halfLifeS * 1000);
    assert.ok(Math.abs(heat.heat[0]! - before / 2) < 1e-9);
  });

  it('rates over the window: 30 scans a second, every one a switch', () => {
    const heat = new HeatMap();
    for (let i = 0; i <= 30; i++) heat.add(report(i + 1, (i * 1000) / 30, [{ x: 64, y: 0, width: 64, height: 16 }]));
    const r = heat.rates();
    assert.ok(Math.abs(r.scansPerS - 30) < 0.01, String(r.scansPerS));
    assert.ok(Math.abs(r.switchesPerS - 30) < 1.1, String(r.switchesPerS));
    assert.equal(r.tilesPerScan, 2);
  });

  it('the grid fits the terminal and shows the hot tiles where they are', () => {
    const heat = new HeatMap();
    for (let i = 0; i < 4; i++) heat.add(report(i + 1, i * 33, [{ x: W - 32, y: H - 16, width: 32, height: 16 }]));
    const lines = renderView({ domid: 1, heat, paused: false, bytesPerS: 1.5e6, clients: 2, termCols: 80, termRows: 40, color: false });
    assert.ok(
      lines.every((l) => l.length <= 80),
      'no line wider than the terminal',
    );
    assert.ok(lines.length <= 40, `${lines.length} lines`);
    assert.match(lines[0]!, /domain 1 .*60x68 tiles of 32x16 px on 1920x1080/);
    assert.match(lines[2]!, /encoded 1\.5 MB\/s {2}clients 2/);
    const grid = lines.filter((l) => l.startsWith('|'));
    const hot = HEAT_RAMP[HEAT_RAMP.length - 1]!;
    assert.equal(grid[grid.length - 1]!.at(-2), hot, 'the bottom-right tile is hot');
    assert.equal(grid.slice(0, -1).join('').replace(/[| ]/g, ''), '', 'nothing else is');
  });

  it('the PNG tints hot tiles red over the screenshot', () => {
    const heat = new HeatMap();
    for (let i = 0; i < 4; i++) heat.add(report(i + 1, i * 33, [{ x: 0, y: 0, width: 32, height: 16 }]));
    const shot = new PNG({ width: W, height: H });
    shot.data.fill(100);
    const out = PNG.sync.read(heatPng(heat, W, H, PNG.sync.write(shot)));
    const at = (x: number, y: number) => [...out.data.subarray((y * W + x) * 4, (y * W + x) * 4 + 3)];
    const [r, g, b] = at(10, 10);
    assert.ok(r! > 180 && g! < 60 && b! < 60, `hot tile pixel ${[r, g, b]}`);
    assert.deepEqual(at(500, 500), [100, 100, 100]);
  });
});
