// The session table of bench:peers: medians of the interleaved runs of one recorded session,
// per encoding and server, with xenvfb's bytes and CPU as ratios to each peer's. Pure.

import { RFB_ENCODING, rfbEncodingName, type EncodingName } from './measure';
import type { PeerName } from './servers';
import type { SessionRunResult } from './session-run';
import { fmt, median, pad, ratio } from './table';

export interface SessionCell {
  session: string;
  encoding: EncodingName;
  peer: PeerName;
  runs: SessionRunResult[];
  error?: string;
}

function check(runs: SessionRunResult[], lossy: boolean): string {
  const worst = runs.reduce((a, r) => (r.check.wrongPixels > a.check.wrongPixels ? r : a), runs[0]!);
  if (worst.check.wrongPixels === 0) return 'exact';
  return lossy ? `PSNR ${worst.check.psnr.toFixed(1)} dB` : `${worst.check.wrongPixels} px wrong`;
}

/** The encodings a server sent instead of the one asked for (Xvnc has no Zlib), or undefined. */
export function sessionFallback(runs: SessionRunResult[], encoding: EncodingName): string | undefined {
  const sent = new Set(runs.flatMap((r) => r.encodings));
  if (sent.size === 0 || sent.has(RFB_ENCODING[encoding])) return undefined;
  return [...sent].map(rfbEncodingName).join(', ');
}

const HEADER = ['encoding', 'server', 'updates', 'copies', 'KB', 'CPU ms', 'done ms', 'last picture', 'ours/peer: bytes', 'CPU'];

/**
 * One table for one session: a row per encoding and server, each number the median of its
 * runs (KB and CPU ms are totals for the whole session; done ms runs from the start of
 * playback to the client's last update). Target: bytes <= 1, CPU < 1, and the client's last
 * picture exact (lossless encodings).
 */
export function formatSessionTable(cells: SessionCell[], encodings: readonly EncodingName[], peers: readonly PeerName[]): string {
  const rows: string[][] = [HEADER];
  const notes: string[] = [];
  const met: string[] = [];
  const missed: string[] = [];
  for (const enc of encodings) {
    const of = (peer: PeerName) => cells.find((c) => c.encoding === enc && c.peer === peer);
    const ours = of('xenvfb');
    const oursOk = ours && !ours.error && ours.runs.length > 0;
    let compared = 0;
    let allMet = oursOk ? enc === 'jpeg' || check(ours.runs, false) === 'exact' : false;
    for (const peer of peers) {
      const cell = of(peer);
      if (!cell) continue;
      if (cell.error || cell.runs.length === 0) {
        const why = cell.error ?? 'no runs';
        if (!notes.includes(why)) notes.push(why);
        rows.push([enc, peer, '-', '-', '-', '-', '-', `failed [${notes.indexOf(why) + 1}]`, '', '']);
        continue;
      }
      const m = (f: (r: SessionRunResult) => number) => median(cell.runs.map(f));
      const bytes = m((r) => r.bytes);
      const cpu = m((r) => r.cpuMs);
      const sent = sessionFallback(cell.runs, enc);
      const cmp = peer !== 'xenvfb' && oursOk && !sent;
      if (cmp) {
        compared++;
        allMet &&= median(ours.runs.map((r) => r.bytes)) <= bytes && median(ours.runs.map((r) => r.cpuMs)) < cpu;
      }
      rows.push([
        enc,
        peer,
        fmt(
          m((r) => r.updates),
          0,
        ),
        fmt(
          m((r) => r.copyRects),
          0,
        ),
        fmt(bytes / 1024, 0),
        fmt(cpu),
        fmt(
          m((r) => r.doneMs),
          0,
        ),
        sent ? `sent ${sent}: n/a` : check(cell.runs, enc === 'jpeg'),
        cmp ? ratio(median(ours.runs.map((r) => r.bytes)), bytes) : '',
        cmp ? ratio(median(ours.runs.map((r) => r.cpuMs)), cpu) : '',
      ]);
    }
    if (compared > 0) (allMet ? met : missed).push(enc);
  }
  const verdict =
    met.length + missed.length > 0
      ? [
          `targets (last picture exact, bytes <= 1.0x, CPU < 1.0x of every peer): met for ${met.join(', ') || 'none'}; not met for ${missed.join(', ') || 'none'}`,
        ]
      : [];
  return [pad(rows), ...notes.map((n, i) => `[${i + 1}] ${n.split('\n')[0]}`), ...verdict].join('\n');
}
