// bench:peers' recorded sessions: for each session, start the three servers on it, one
// unmeasured Raw run each (which must end on the session's last picture exactly), then the
// measured runs interleaved (for each round, each encoding, each server) and the table.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isInterrupted, trackDir } from '../lib/processes';
import type { EncodingName } from './measure';
import type { PeerName, ServerContext } from './servers';
import { measureSessionRun, startSessionServer, type SessionRunResult, type SessionServer } from './session-run';
import { formatSessionTable, type SessionCell } from './session-table';
import { bgrxToRgb, loadSession, prepareSession } from './sessions';

/** The recordings of ../shared/fixtures/fbs (beside the checkout) that `--sessions` names by default. */
export const DEFAULT_SESSIONS = ['windows', 'xclock2'];
export const FIXTURE_DIR = path.join(__dirname, '..', '..', '..', '..', 'shared', 'fixtures', 'fbs');

/** A session name (a recording in FIXTURE_DIR) or a path to an FBS file or a xenvfb capture. */
export function sessionPath(nameOrPath: string): string {
  if (nameOrPath.includes('/') || /\.(fbs|xvc|xvfbcap|cap)$/.test(nameOrPath)) return nameOrPath;
  return path.join(FIXTURE_DIR, `${nameOrPath}.fbs`);
}

export interface SessionBenchOptions {
  sessions: string[];
  speed: number;
  runs: number;
  peers: PeerName[];
  encodings: EncodingName[];
  quality: number;
  verbose: boolean;
}

/** Slack on top of the session's own duration for one run (start, last updates, a slow server). */
const RUN_SLACK_MS = 60_000;

function describe(r: SessionRunResult): string {
  const pix = r.check.wrongPixels ? `${r.check.wrongPixels} px differ (PSNR ${r.check.psnr.toFixed(1)} dB)` : 'exact';
  return `${r.updates} updates (${r.copyRects} copies), ${Math.round(r.bytes / 1024)} KB, ${r.cpuMs.toFixed(1)} CPU ms, done at ${r.doneMs.toFixed(0)} ms, ${pix}`;
}

async function benchOne(file: string, o: SessionBenchOptions, bins: ServerContext['bins'] & { session: string }, say: (l: string) => void) {
  const scratch = trackDir(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-sessions-')));
  const s = prepareSession(file, scratch);
  const lastRgb = bgrxToRgb(loadSession(file).last);
  const head =
    `session ${s.name} ${s.width}x${s.height}: ${(s.durationMs / 1000).toFixed(1)} s recorded, played at ${o.speed}x ` +
    `(${(s.durationMs / o.speed / 1000).toFixed(1)} s), ${s.steps} steps, ${(s.pixels / 1e6).toFixed(2)} Mpx of pixels, ${s.copies} copies`;
  say(head);
  const cells: SessionCell[] = [];
  const servers = new Map<PeerName, SessionServer>();
  const timeoutMs = s.durationMs / o.speed + RUN_SLACK_MS;
  const run = (server: SessionServer, encoding: EncodingName) =>
    measureSessionRun(server, {
      clientBin: bins.session,
      encoding,
      quality: o.quality,
      lastRgb,
      ppmPath: path.join(scratch, `${server.name}.ppm`),
      timeoutMs,
    });
  try {
    for (const peer of o.peers) {
      if (isInterrupted()) break;
      let error: string | undefined;
      try {
        const server = await startSessionServer(peer, s, o.speed, { bins, say, verbose: o.verbose });
        servers.set(peer, server);
        const warm = await run(server, 'raw');
        if (warm.check.wrongPixels) error = `its last picture over Raw has ${warm.check.wrongPixels} pixels that differ from the session's`;
      } catch (e) {
        error = (e as Error).message;
      }
      if (error) say(`${s.name}: ${peer}: ${error}`);
      for (const encoding of o.encodings) cells.push({ session: s.name, encoding, peer, runs: [], ...(error ? { error } : {}) });
    }
    for (let round = 0; round < o.runs; round++) {
      for (const encoding of o.encodings) {
        for (const [peer, server] of servers) {
          const cell = cells.find((c) => c.encoding === encoding && c.peer === peer)!;
          if (isInterrupted() || cell.error) continue;
          const label = `${s.name} ${encoding} ${peer} run ${round + 1}/${o.runs}`;
          try {
            const r = await run(server, encoding);
            cell.runs.push(r);
            say(`${label}: ${describe(r)}`);
          } catch (e) {
            cell.error = (e as Error).message;
            say(`${label}: ${cell.error}`);
          }
        }
      }
    }
  } finally {
    await Promise.all([...servers.values()].map((x) => x.stop()));
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return { head, cells };
}

/** Every session's table, printed as it is done; returns the text and the cells. */
export async function benchSessions(
  o: SessionBenchOptions,
  bins: ServerContext['bins'] & { session: string },
  say: (l: string) => void,
): Promise<{ text: string[]; cells: SessionCell[] }> {
  const text: string[] = [];
  const all: SessionCell[] = [];
  for (const name of o.sessions) {
    if (isInterrupted()) break;
    const file = sessionPath(name);
    if (!fs.existsSync(file)) {
      const why =
        `session ${name}: ${file} not found: skipped` +
        (o.sessions === DEFAULT_SESSIONS
          ? ` (the default sessions are the recordings in ../shared/fixtures/fbs beside the checkout; give --sessions FILE.fbs,... or --sessions none)`
          : '');
      say(why);
      text.push(why);
      continue;
    }
    const { head, cells } = await benchOne(file, o, bins, say);
    all.push(...cells);
    const table = `${head}\n${formatSessionTable(cells, o.encodings, o.peers)}\n`;
    text.push(table);
    process.stdout.write(`\n${table}`);
  }
  return { text, cells: all };
}
