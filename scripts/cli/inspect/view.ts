// The inspector's terminal picture: a header (domain, source, geometry, active bitmap,
// generation, rates), the tile grid as a heat map (one character per tile, or per block of
// tiles when the terminal is smaller than the grid; tiles the last scan found in reverse
// video), and the keys. Pure: state in, lines out.

import type { HeatMap } from './heat';

/** Heat ramp, coldest first. */
export const HEAT_RAMP = ' .:-=+*#%@';

export interface ViewState {
  domid: number | string;
  heat: HeatMap;
  paused: boolean;
  /** Encoded output of the domain's clients, bytes/s (from status), when known. */
  bytesPerS: number | null;
  /** Connected clients, when known. */
  clients: number | null;
  termCols: number;
  termRows: number;
  /** ANSI reverse video for the last scan's tiles. */
  color: boolean;
}

const HEADER_LINES = 3;
const FOOTER_LINES = 1;

function fmtRate(n: number): string {
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}

function fmtBytes(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB/s`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB/s`;
  return `${n.toFixed(0)} B/s`;
}

export function headerLines(s: ViewState): string[] {
  const r = s.heat.latest;
  const g = s.heat.geometry;
  const rates = s.heat.rates();
  if (!r || !g) return [`xenvfb inspect: domain ${s.domid}: waiting for the first scan`, '(nothing drawn yet, or the guest is idle)', ''];
  const source = r.source === 'tiles' ? 'dirty-tile page' : 'UPDATE events (stock guest)';
  const page = r.source === 'tiles' ? `active ${r.active ?? '-'}  gen ${r.generation ?? '-'}  ` : '';
  const flags = [r.idle ? 'idle' : '', r.full ? 'full refresh' : '', r.garbage ? `garbage ${r.garbage}` : ''].filter(Boolean).join(' ');
  const out = [
    `${typeof s.domid === 'number' ? `domain ${s.domid}` : `capture ${s.domid}`}  ${source}  ${g.cols}x${g.rows} tiles of ${g.tileW}x${g.tileH} px on ${r.fbWidth}x${r.fbHeight}`,
    `${page}scans ${fmtRate(rates.scansPerS)}/s  switches ${fmtRate(rates.switchesPerS)}/s  tiles/scan ${fmtRate(rates.tilesPerScan)}  rects ${fmtRate(rates.rectsPerS)}/s`,
    [
      s.bytesPerS !== null ? `encoded ${fmtBytes(s.bytesPerS)}` : '',
      s.clients !== null ? `clients ${s.clients}` : '',
      `scan #${r.seq}: ${r.tiles} tiles ${r.rects} rects${flags ? ` [${flags}]` : ''}`,
      `half-life ${s.heat.halfLifeS.toFixed(1)} s${s.paused ? '  PAUSED' : ''}`,
    ]
      .filter(Boolean)
      .join('  '),
  ];
  return out.map((l) => l.slice(0, Math.max(1, s.termCols)));
}

/** The grid, sized to the terminal: each character is the hottest of the tiles it stands for. */
export function gridLines(s: ViewState): string[] {
  const g = s.heat.geometry;
  if (!g) return [];
  const width = Math.max(1, s.termCols - 2);
  const height = Math.max(1, s.termRows - HEADER_LINES - FOOTER_LINES - 2);
  const kx = Math.ceil(g.cols / width);
  const ky = Math.ceil(g.rows / height);
  const cols = Math.ceil(g.cols / kx);
  const lines = [`+${'-'.repeat(cols)}+`];
  for (let y = 0; y < g.rows; y += ky) {
    let line = '|';
    for (let x = 0; x < g.cols; x += kx) {
      let h = 0;
      let last = false;
      for (let ty = y; ty < Math.min(g.rows, y + ky); ty++) {
        for (let tx = x; tx < Math.min(g.cols, x + kx); tx++) {
          h = Math.max(h, s.heat.heat[ty * g.cols + tx]!);
          last ||= s.heat.last[ty * g.cols + tx] === 1;
        }
      }
      const ch = HEAT_RAMP[Math.min(HEAT_RAMP.length - 1, Math.ceil(h * (HEAT_RAMP.length - 1)))]!;
      line += last && s.color ? `\x1b[7m${ch}\x1b[0m` : ch;
    }
    lines.push(`${line}|`);
  }
  lines.push(lines[0]!);
  return lines;
}

export const KEYS_HELP = 'q quit  p pause/resume  s step (paused)  + / - slower / faster decay  r reset heat';

export function renderView(s: ViewState): string[] {
  return [...headerLines(s), ...gridLines(s), KEYS_HELP.slice(0, Math.max(1, s.termCols))];
}
