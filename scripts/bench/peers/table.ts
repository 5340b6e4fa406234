// The bench:peers table: medians of the interleaved runs, per picture and encoding, with
// xenvfb's ratio to each peer. Pure: results in, text out.

import { RFB_ENCODING, rfbEncodingName, type EncodingName, type RunResult } from './measure';
import type { PeerName } from './servers';

export interface Cell {
  picture: string;
  encoding: EncodingName;
  peer: PeerName;
  runs: RunResult[];
  /** Why there is no number (the server failed, the run failed). */
  error?: string;
}

export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Summary {
  updatesPerSec: number;
  bytesPerUpdate: number;
  cpuMsPerUpdate: number;
  firstMs: number;
  /** 'exact', 'N wrong', or 'PSNR x dB' for lossy output; '-' when not checked. */
  check: string;
  warnings: number;
}

/** A peer that answered with another encoding than the one asked for has no number for it. */
export function fallback(runs: RunResult[], encoding: EncodingName): string | undefined {
  const other = runs.find((r) => r.sentEncoding >= 0 && r.sentEncoding !== RFB_ENCODING[encoding]);
  return other ? rfbEncodingName(other.sentEncoding) : undefined;
}

export function summarize(runs: RunResult[], lossy: boolean): Summary {
  const checked = runs.find((r) => r.check)?.check;
  let check = '-';
  if (checked) {
    if (checked.wrongPixels === 0) check = 'exact';
    else if (lossy) check = `PSNR ${checked.psnr.toFixed(1)} dB`;
    else check = `${checked.wrongPixels} px wrong`;
  }
  return {
    updatesPerSec: median(runs.map((r) => r.updatesPerSec)),
    bytesPerUpdate: median(runs.map((r) => r.bytesPerUpdate)),
    cpuMsPerUpdate: median(runs.map((r) => r.cpuMsPerUpdate)),
    firstMs: median(runs.map((r) => r.firstMs)),
    check,
    warnings: runs.reduce((n, r) => n + r.warnings.length, 0),
  };
}

export function fmt(v: number, digits = 1): string {
  if (!Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(v >= 100 ? 0 : digits);
}

export function ratio(ours: number, peer: number): string {
  if (!Number.isFinite(ours) || !Number.isFinite(peer) || peer === 0) return '-';
  return `${(ours / peer).toFixed(2)}x`;
}

export function pad(cells: string[][]): string {
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

const HEADER = ['encoding', 'server', 'updates/s', 'KB/update', 'CPU ms/upd', 'first ms', 'pixels', 'ours/peer: upd/s', 'bytes', 'CPU'];

/**
 * One table for one picture: a row per encoding and server. The three ratio columns are on
 * the peer rows: xenvfb's updates/s, bytes per update and CPU per update divided by that
 * peer's (target: updates/s >= 1, bytes <= 1, CPU < 1).
 */
export function formatPictureTable(picture: string, cells: Cell[], encodings: readonly EncodingName[], peers: readonly PeerName[]): string {
  const rows: string[][] = [HEADER];
  const notes: string[] = [];
  const met: string[] = [];
  const missed: string[] = [];
  for (const enc of encodings) {
    let compared = 0;
    let allMet = true;
    const sums = new Map<PeerName, Summary | string>();
    for (const peer of peers) {
      const cell = cells.find((c) => c.picture === picture && c.encoding === enc && c.peer === peer);
      if (!cell) continue;
      sums.set(peer, cell.runs.length ? summarize(cell.runs, enc === 'jpeg') : (cell.error ?? 'no runs'));
    }
    const ours = sums.get('xenvfb');
    for (const peer of peers) {
      const s = sums.get(peer);
      if (s === undefined) continue;
      if (typeof s === 'string') {
        if (!notes.includes(s)) notes.push(s);
        rows.push([enc, peer, '-', '-', '-', '-', `failed [${notes.indexOf(s) + 1}]`, '', '', '']);
        continue;
      }
      const cell = cells.find((c) => c.picture === picture && c.encoding === enc && c.peer === peer)!;
      const sent = fallback(cell.runs, enc);
      if (sent) s.check = `sent ${sent}: n/a`;
      const cmp = peer !== 'xenvfb' && ours && typeof ours !== 'string' && !sent;
      if (cmp) {
        compared++;
        // Issue 14: >= the peer's updates/s, <= its bytes (lossy: at the same quality level), less CPU.
        allMet &&=
          ours.updatesPerSec >= s.updatesPerSec && ours.bytesPerUpdate <= s.bytesPerUpdate && ours.cpuMsPerUpdate < s.cpuMsPerUpdate;
        if (!ours.check.startsWith('exact') && enc !== 'jpeg') allMet = false;
      }
      rows.push([
        enc,
        peer,
        fmt(s.updatesPerSec),
        fmt(s.bytesPerUpdate / 1024, 0),
        fmt(s.cpuMsPerUpdate),
        fmt(s.firstMs, 0),
        s.check + (s.warnings ? ` (${s.warnings} warnings)` : ''),
        cmp ? ratio(ours.updatesPerSec, s.updatesPerSec) : '',
        cmp ? ratio(ours.bytesPerUpdate, s.bytesPerUpdate) : '',
        cmp ? ratio(ours.cpuMsPerUpdate, s.cpuMsPerUpdate) : '',
      ]);
    }
    if (compared > 0) (allMet ? met : missed).push(enc);
  }
  const verdict =
    met.length + missed.length > 0
      ? [
          `targets (exact pixels, updates/s >= 1.0x, bytes <= 1.0x, CPU < 1.0x of every peer): met for ${met.join(', ') || 'none'}; not met for ${missed.join(', ') || 'none'}`,
        ]
      : [];
  return [pad(rows), ...notes.map((n, i) => `[${i + 1}] ${n.split('\n')[0]}`), ...verdict].join('\n');
}
