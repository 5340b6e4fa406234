// The inspector's live terminal view: polls the scan feed, redraws on the alternate screen at
// most every poll, follows the terminal's size, and takes keys (q quit, p pause, s step one
// scan while paused, + / - slower / faster decay, r reset the heat).

import * as readline from 'node:readline';
import type { HeatMap } from './heat';
import type { ScanFeed } from './scan-feed';
import { renderView } from './view';
import type { ScanReport } from '../../../shared/dirty-tiles/scan-report';

/** Scans held while paused (the oldest go first past this). */
const PAUSE_BUFFER = 2048;
/** How often the encoded byte rate and client count are read. */
const STATUS_EVERY_MS = 1000;

export interface LiveViewOptions {
  domid: number;
  feed: ScanFeed;
  heat: HeatMap;
  intervalMs: number;
}

export function runLiveView(o: LiveViewOptions): Promise<void> {
  const out = process.stdout;
  let paused = false;
  let held: ScanReport[] = [];
  let bytesPerS: number | null = null;
  let clients: number | null = null;
  let lastBytes: { at: number; bytes: number } | null = null;
  let lastStatus = 0;
  let error = '';
  let stopped = false;
  /** The last report's time on the backend's clock and ours: the heat fades while nothing comes. */
  let clock: { t: number; wall: number } | null = null;

  const draw = () => {
    const lines = renderView({
      domid: o.domid,
      heat: o.heat,
      paused,
      bytesPerS,
      clients,
      termCols: out.columns ?? 80,
      termRows: out.rows ?? 24,
      color: true,
    });
    if (error) lines[2] = `error: ${error}`.slice(0, out.columns ?? 80);
    // Overwrite in place, each line erased just before it is written (not after: a line as wide
    // as the terminal leaves the cursor on its last character) and the screen below the last
    // erased: a frame the terminal takes in several reads never shows a blank screen.
    out.write(`\x1b[H${lines.map((l) => `\x1b[2K${l}`).join('\r\n')}\x1b[J`);
  };

  const status = async () => {
    const s = await o.feed.status();
    const bytes = s.clients.reduce((n, c) => n + c.bytesOut, 0);
    const now = Date.now();
    if (lastBytes && now > lastBytes.at) bytesPerS = Math.max(0, ((bytes - lastBytes.bytes) * 1000) / (now - lastBytes.at));
    lastBytes = { at: now, bytes };
    clients = s.clients.length;
  };

  return new Promise((resolve) => {
    const finish = () => {
      if (stopped) return;
      stopped = true;
      process.stdin.setRawMode?.(false);
      process.stdin.pause();
      out.write('\x1b[?25h\x1b[?1049l');
      resolve();
    };
    readline.emitKeypressEvents(process.stdin);
    process.stdin.setRawMode?.(true);
    process.stdin.resume();
    process.stdin.on('keypress', (_s: string, key: { name?: string; sequence?: string; ctrl?: boolean }) => {
      const k = key.sequence ?? key.name ?? '';
      if (k === 'q' || (key.ctrl && key.name === 'c')) return finish();
      if (k === 'p') paused = !paused;
      else if (k === 's' && paused && held.length > 0) o.heat.add(held.shift()!);
      else if (k === '+') o.heat.halfLifeS = Math.min(3600, o.heat.halfLifeS * 1.5);
      else if (k === '-') o.heat.halfLifeS = Math.max(0.1, o.heat.halfLifeS / 1.5);
      else if (k === 'r') o.heat.heat.fill(0);
      if (!paused && held.length > 0) {
        for (const r of held) o.heat.add(r);
        held = [];
      }
      draw();
    });
    out.on('resize', draw);
    out.write('\x1b[?1049h\x1b[?25l');
    draw();
    void (async () => {
      await o.feed.next().catch(() => []);
      while (!stopped) {
        try {
          const reports = await o.feed.next();
          if (reports.length > 0) clock = { t: reports[reports.length - 1]!.t, wall: Date.now() };
          if (paused) held = [...held, ...reports].slice(-PAUSE_BUFFER);
          else {
            for (const r of reports) o.heat.add(r);
            if (clock) o.heat.decayTo(clock.t + (Date.now() - clock.wall));
          }
          if (Date.now() - lastStatus >= STATUS_EVERY_MS) {
            lastStatus = Date.now();
            await status();
          }
          error = '';
        } catch (e) {
          error = e instanceof Error ? e.message : String(e);
        }
        if (!stopped) draw();
        await new Promise((r) => setTimeout(r, o.intervalMs));
      }
    })();
  });
}
