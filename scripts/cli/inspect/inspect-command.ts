// `xenvfb inspect --domid N`: a domain's dirty tiles, live, from its backend's scan loop
// through the control socket (op "tiles"): the tile grid with a decaying heat map, the active
// bitmap and generation, scan and switch rates, tiles per scan, rects, bytes encoded. It never
// reads the dirty-tile page itself (the scanner's exchange-to-zero would steal the guest's
// bits). `--once` prints one snapshot, `--json` streams one object per scan, `--png` writes the
// heat map over a screenshot.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { type ScanReport, scanReportToJson } from '../../../shared/dirty-tiles/scan-report';
import { parseDomid } from '../args';
import { backendSocketPath, controlDir } from '../control-paths';
import { HEAT_HALF_LIFE_S, HeatMap } from './heat';
import { heatPng } from './heat-png';
import { runLiveView } from './live-view';
import { ScanFeed } from './scan-feed';
import { readCaptureScans } from './capture-scans';

const DEFAULT_WINDOW_MS = 1000;
import { renderView } from './view';

export interface InspectOptions {
  domid?: number;
  /** Read the scans a recorder kept in this capture file instead of a live backend. */
  capture?: string;
  /** With --capture: the first scan's time, ms. */
  start?: number;
  simDir?: string;
  controlDir?: string;
  once?: boolean;
  json?: boolean;
  png?: string;
  window: number;
  interval: number;
  halfLife: number;
}

function parsePositive(what: string, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`expected ${what} above 0 and at most ${max}, got "${v}"`);
    return n;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll for `ms`, feeding every report to `each`. */
async function watchFor(feed: ScanFeed, ms: number, interval: number, each: (r: ScanReport) => void): Promise<void> {
  await feed.next();
  const end = Date.now() + ms;
  for (;;) {
    await sleep(Math.min(interval, Math.max(0, end - Date.now())));
    for (const r of await feed.next()) each(r);
    if (Date.now() >= end) return;
  }
}

/** The --once --json object: what the window's scans found, for scripts and tests. */
export function onceSummary(domid: number | null, windowMs: number, reports: readonly ScanReport[]) {
  const last = reports[reports.length - 1];
  return {
    domid,
    windowMs,
    source: last?.source ?? null,
    fbWidth: last?.fbWidth ?? null,
    fbHeight: last?.fbHeight ?? null,
    geometry: last?.geometry ?? null,
    scans: reports.length,
    switches: reports.filter((r) => r.switched).length,
    rects: reports.reduce((n, r) => n + r.rects, 0),
    active: last?.active ?? null,
    generation: last?.generation ?? null,
    /** Every tile dirty in some scan of the window, [col, row], sorted by row then column. */
    tiles: HeatMap.union(reports),
  };
}

/** --once without --json: the view as plain text (no colour, no keys line). */
function printSnapshot(name: number | string, heat: HeatMap): void {
  const lines = renderView({ domid: name, heat, paused: false, bytesPerS: null, clients: null, termCols: 80, termRows: 60, color: false });
  process.stdout.write(`${lines.slice(0, -1).join('\n')}\n`);
}

/** --capture: the same outputs as a live domain's, from the file's TILE_SCAN records. */
function inspectCapture(opts: InspectOptions & { capture: string }): void {
  const windowMs = opts.once || opts.png ? opts.window : Infinity;
  const { reports, durationMs, screenshot } = readCaptureScans(
    opts.capture,
    opts.start ?? 0,
    opts.window === DEFAULT_WINDOW_MS ? Infinity : windowMs,
  );
  if (reports.length === 0) {
    throw new InvalidArgumentError(
      `${opts.capture}: no tile scans in ${durationMs.toFixed(0)} ms of capture (recorded with --capture by a backend whose guest drew?)`,
    );
  }
  const heat = new HeatMap();
  heat.halfLifeS = opts.halfLife;
  for (const r of reports) heat.add(r);
  const name = opts.capture;
  if (opts.png) {
    const last = heat.latest!;
    fs.writeFileSync(opts.png, heatPng(heat, last.fbWidth, last.fbHeight, screenshot()));
    process.stderr.write(`${opts.png}: heat map of ${reports.length} scans\n`);
  }
  if (opts.json && opts.once) process.stdout.write(`${JSON.stringify({ capture: name, ...onceSummary(null, durationMs, reports) })}\n`);
  else if (opts.json) for (const r of reports) process.stdout.write(`${JSON.stringify(scanReportToJson(r))}\n`);
  else if (!opts.png || opts.once) {
    printSnapshot(path.basename(name), heat);
  }
}

export async function runInspect(opts: InspectOptions): Promise<void> {
  if (opts.capture) return inspectCapture({ ...opts, capture: opts.capture });
  if (opts.domid === undefined) throw new InvalidArgumentError('say which domain (--domid N), or read a capture (--capture FILE)');
  const domid = opts.domid;
  const feed = new ScanFeed(backendSocketPath(opts.controlDir ?? controlDir(opts.simDir), domid));
  const heat = new HeatMap();
  heat.halfLifeS = opts.halfLife;
  if (opts.once || opts.png) {
    const reports: ScanReport[] = [];
    await watchFor(feed, opts.window, opts.interval, (r) => {
      reports.push(r);
      heat.add(r);
    });
    if (opts.png) {
      const shot = await feed.screenshot().catch(() => null);
      const last = heat.latest;
      fs.writeFileSync(opts.png, heatPng(heat, last?.fbWidth ?? 1, last?.fbHeight ?? 1, shot));
      process.stderr.write(`${opts.png}: heat map of ${reports.length} scans over ${opts.window} ms\n`);
    }
    if (opts.once && opts.json) process.stdout.write(`${JSON.stringify(onceSummary(domid, opts.window, reports))}\n`);
    else if (opts.once) printSnapshot(domid, heat);
    return;
  }
  if (opts.json) {
    await feed.next();
    for (;;) {
      for (const r of await feed.next()) process.stdout.write(`${JSON.stringify(scanReportToJson(r))}\n`);
      await sleep(opts.interval);
    }
  }
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    throw new InvalidArgumentError('the live view needs a terminal; use --once, --json or --png from scripts');
  }
  await runLiveView({ domid: domid, feed, heat, intervalMs: opts.interval });
}

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description(
      "a domain's dirty tiles, live: the tile grid with a decaying heat map of where the guest draws, the active bitmap, " +
        'generation, scan and switch rates, tiles per scan, rects and bytes encoded (from the backend; for stock guests the ' +
        'same view from UPDATE rectangles). Keys: q quit, p pause, s step, + / - decay, r reset',
    )
    .option('--domid <n>', 'the domain', parseDomid)
    .option('--capture <file>', "a capture file's recorded tile scans instead of a live domain (xenvfb capture / --capture)")
    .option('--start <ms>', 'with --capture: start at this time', parsePositive('a time in ms', 1e12))
    .option('--once', 'print one snapshot of --window ms and exit')
    .option('--json', 'one JSON object per scan (with --once: one summary of the window)')
    .option('--png <file>', 'write the heat map of --window ms over a screenshot (PNG) and exit')
    .option(
      '--window <ms>',
      'how long --once and --png watch (with --capture: the span read, default all)',
      parsePositive('a window in ms', 1e12),
      DEFAULT_WINDOW_MS,
    )
    .option('--interval <ms>', 'how often to ask the backend for new scans', parsePositive('an interval in ms', 10_000), 100)
    .option('--half-life <s>', 'seconds for the heat to halve', parsePositive('a half-life in s', 3600), HEAT_HALF_LIFE_S)
    .option('--sim-dir <dir>', 'the simulator directory (its control/ holds the sockets)')
    .option('--control-dir <dir>', 'directory of the control sockets (default /run/xenvfb, or XENVFB_CONTROL_DIR)')
    .action((opts: InspectOptions) => runInspect(opts));
}
