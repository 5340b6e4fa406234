// The inspector's model: a decaying heat map of where the guest draws, per tile, plus the
// rates a scan stream implies. Pure (time is passed in), so the view and the tests share it.

import type { TileGeometry } from '../../../shared/dirty-tiles/page';
import type { ScanReport } from '../../../shared/dirty-tiles/scan-report';

/** Default half-life of the heat, seconds ('+' / '-' change it). */
export const HEAT_HALF_LIFE_S = 2;
/** Rates are measured over this window, ms. */
export const RATE_WINDOW_MS = 2000;

export interface InspectRates {
  scansPerS: number;
  switchesPerS: number;
  tilesPerScan: number;
  rectsPerS: number;
}

export class HeatMap {
  geometry: TileGeometry | null = null;
  /** Heat per tile, row-major; 1 = dirty in every recent scan, decaying by half every halfLife. */
  heat = new Float64Array(0);
  /** Tiles dirty in the last scan, row-major. */
  last = new Uint8Array(0);
  latest: ScanReport | null = null;
  halfLifeS = HEAT_HALF_LIFE_S;
  private recent: ScanReport[] = [];
  private lastT: number | null = null;

  /** Add a scan (in order); a new geometry starts the map over. */
  add(r: ScanReport): void {
    const g = r.geometry;
    if (!this.geometry || g.cols !== this.geometry.cols || g.rows !== this.geometry.rows) {
      this.geometry = { ...g };
      this.heat = new Float64Array(g.cols * g.rows);
      this.last = new Uint8Array(g.cols * g.rows);
    }
    this.decayTo(r.t);
    this.last.fill(0);
    for (let row = 0; row < g.rows; row++) {
      const w = r.words[row] ?? 0n;
      if (w === 0n) continue;
      for (let c = 0; c < g.cols; c++) {
        if (((w >> BigInt(c)) & 1n) === 0n) continue;
        const i = row * g.cols + c;
        this.heat[i] = Math.min(1, this.heat[i]! + 0.25);
        this.last[i] = 1;
      }
    }
    this.latest = r;
    this.recent.push(r);
    while (this.recent.length > 0 && this.recent[0]!.t < r.t - RATE_WINDOW_MS) this.recent.shift();
  }

  /** Let the heat fade up to time `t` (ms, the reports' clock). */
  decayTo(t: number): void {
    if (this.lastT !== null && t > this.lastT) {
      const k = Math.pow(0.5, (t - this.lastT) / 1000 / this.halfLifeS);
      for (let i = 0; i < this.heat.length; i++) this.heat[i]! *= k;
    }
    if (this.lastT === null || t > this.lastT) this.lastT = t;
  }

  rates(): InspectRates {
    const n = this.recent.length;
    if (n === 0) return { scansPerS: 0, switchesPerS: 0, tilesPerScan: 0, rectsPerS: 0 };
    const span = Math.max(1, this.recent[n - 1]!.t - this.recent[0]!.t) / 1000;
    const per = (f: (r: ScanReport) => number): number => this.recent.reduce((s, r) => s + f(r), 0);
    return {
      scansPerS: n > 1 ? (n - 1) / span : 0,
      switchesPerS: n > 1 ? per((r) => (r.switched ? 1 : 0)) / span : 0,
      tilesPerScan: per((r) => r.tiles) / n,
      rectsPerS: n > 1 ? per((r) => r.rects) / span : 0,
    };
  }

  /** Every tile dirty in any scan added so far, as [col, row] pairs (sorted). */
  static union(reports: readonly ScanReport[]): Array<[number, number]> {
    const seen = new Set<string>();
    const out: Array<[number, number]> = [];
    for (const r of reports) {
      r.words.forEach((w, row) => {
        for (let c = 0; c < r.geometry.cols; c++) {
          if (((w >> BigInt(c)) & 1n) === 0n || seen.has(`${c},${row}`)) continue;
          seen.add(`${c},${row}`);
          out.push([c, row]);
        }
      });
    }
    return out.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  }
}
