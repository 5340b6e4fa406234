// npm run bench:peers [-- --seconds 2 --runs 3 --peers xenvfb,libvncserver,tigervnc ...]
//
// xenvfb against LibVNCServer and TigerVNC on the same 1920x1080 still pictures: one
// libvncclient program asks each server for one non-incremental full-screen update at a time
// with one encoding at a time; runs are interleaved (A B C A B C ...) and the table shows
// medians. docs/benchmarks.md explains the method and quotes results.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { ENCODING_NAMES, measureRun, type EncodingName, type RunResult } from './measure';
import { makePicture, PICTURE_NAMES, type Picture, type PictureName } from './pictures';
import { cleanupAll, installCleanupHandlers, isInterrupted, trackDir } from '../lib/processes';
import { BENCH_WORKER_IDLE_MS, PEER_NAMES, startServer, type PeerName, type RunningServer, type ServerContext } from './servers';
import { buildProgram, cacheDir, ensurePackages } from './setup';
import { formatPictureTable, type Cell } from './table';
import { benchSessions, DEFAULT_SESSIONS } from './session-bench';
import { ENCODE_WORKER_IDLE_ENV } from '../../../backend/updates/encode-pool';
import { jpegThreadsWanted, NO_JPEG_THREADS_ENV } from '../../../backend/vnc/encoders/jpeg';

interface Options {
  seconds: number;
  runs: number;
  minUpdates: number;
  peers: PeerName[];
  pictures: PictureName[];
  encodings: EncodingName[];
  quality: number;
  size: { width: number; height: number };
  sessions: string[];
  sessionSpeed: number;
  json?: string;
  install: boolean;
  verbose: boolean;
}

function listOf<T extends string>(allowed: readonly T[], what: string) {
  return (v: string): T[] => {
    const items = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
    if (bad.length || items.length === 0)
      throw new InvalidArgumentError(`${what}: expected a comma list of ${allowed.join(', ')}; got "${v}"`);
    return items as T[];
  };
}

function positive(name: string, max: number, integer: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${name} must be a positive ${integer ? 'integer' : 'number'} up to ${max}; got "${v}"`);
    }
    return n;
  };
}

function parseSize(v: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(v);
  const width = Number(m?.[1]);
  const height = Number(m?.[2]);
  // 2560x1600 is the largest mode the simulated guest is tested with; RFB limits are 65535.
  if (!m || width < 64 || height < 64 || width > 4096 || height > 4096) {
    throw new InvalidArgumentError(`--size must be WIDTHxHEIGHT between 64x64 and 4096x4096; got "${v}"`);
  }
  return { width, height };
}

export function buildCommand(): Command {
  return new Command('bench:peers')
    .description(
      'xenvfb vs LibVNCServer vs TigerVNC Xvnc on the same still pictures: updates/s, bytes/update, server CPU ms/update and ' +
        'first-update latency per encoding, medians of interleaved runs (see docs/benchmarks.md)',
    )
    .option('--seconds <s>', 'measured time of each run (after its first update)', positive('--seconds', 600, false), 1.5)
    .option('--runs <n>', 'interleaved runs per server and encoding (the table shows medians)', positive('--runs', 99, true), 3)
    .option('--min-updates <n>', 'full updates each run waits for, however long they take', positive('--min-updates', 1000, true), 3)
    .option('--peers <list>', `servers to run, of ${PEER_NAMES.join(', ')}`, listOf(PEER_NAMES, '--peers'), [...PEER_NAMES])
    .option(
      '--pictures <list>',
      `pictures, of ${PICTURE_NAMES.join(', ')}, or "none"`,
      (v: string) => (v === 'none' ? [] : listOf(PICTURE_NAMES, '--pictures')(v)),
      ['photo', 'text'],
    )
    .option(
      '--encodings <list>',
      `encodings, of ${ENCODING_NAMES.join(', ')} (jpeg = tight + quality)`,
      listOf(ENCODING_NAMES, '--encodings'),
      [...ENCODING_NAMES],
    )
    .option(
      '--quality <q>',
      'JPEG quality level 0-9 for the jpeg column (RFB pseudo-encoding -32+q)',
      (v) => {
        if (!/^\d$/.test(v)) throw new InvalidArgumentError(`--quality must be 0..9; got "${v}"`);
        return Number(v);
      },
      7,
    )
    .option('--size <WxH>', 'picture size', parseSize, { width: 1920, height: 1080 })
    .option(
      '--sessions <list>',
      'recorded sessions to play to each server: names of the FBS recordings in ../shared/fixtures/fbs, paths to FBS files or ' +
        'xenvfb captures, or "none"',
      (v: string) =>
        v === 'none'
          ? []
          : v
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean),
      DEFAULT_SESSIONS,
    )
    .option(
      '--session-speed <x>',
      'playback speed of the sessions (10 = ten times as fast as recorded)',
      positive('--session-speed', 1000, false),
      10,
    )
    .option('--json <file>', 'also write every run as JSON here')
    .option('--no-install', 'do not apt-get missing packages; fail naming them instead')
    .option('-v, --verbose', "print the servers' logs", false);
}

function versions(peers: readonly PeerName[]): string {
  const out = [`node ${process.version}`, `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'})`];
  const lib = spawnSync('pkg-config', ['--modversion', 'libvncserver'], { encoding: 'utf8' });
  if (lib.status === 0) out.push(`libvncserver/libvncclient ${lib.stdout.trim()}`);
  if (peers.includes('tigervnc')) {
    const x = spawnSync('Xvnc', ['-version'], { encoding: 'utf8' });
    const m = /TigerVNC (?:Server version )?([\d.]+)/.exec(`${x.stdout}${x.stderr}`);
    if (m) out.push(`TigerVNC Xvnc ${m[1]}`);
  }
  return out.join(', ');
}

type Bins = { client: string } & ServerContext['bins'];

/** Start the servers; a peer that fails gets an error in each of its cells instead. */
async function startServers(picture: Picture, o: Options, ctx: ServerContext, cells: Cell[]): Promise<Map<PeerName, RunningServer>> {
  const servers = new Map<PeerName, RunningServer>();
  for (const peer of o.peers) {
    if (isInterrupted()) break;
    ctx.say(`${picture.name}: starting ${peer}`);
    try {
      servers.set(peer, await startServer(peer, picture, ctx));
    } catch (e) {
      const why = (e as Error).message;
      ctx.say(`${picture.name}: ${peer} did not start: ${why}`);
      for (const encoding of o.encodings) cells.push({ picture: picture.name, encoding, peer, runs: [], error: why.split('\n')[0] });
    }
  }
  return servers;
}

/**
 * One Raw run per server, which must show the picture exactly; the xenvfb guest may still be
 * drawing right after "connected", so it is retried for a while. Returns why it failed.
 */
async function warmUp(
  server: RunningServer,
  picture: Picture,
  bins: Bins,
  scratch: string,
  say: (l: string) => void,
): Promise<string | undefined> {
  const deadline = Date.now() + 30_000;
  const ppmPath = path.join(scratch, `${server.name}-warmup.ppm`);
  for (;;) {
    let r;
    try {
      r = await measureRun(server, {
        clientBin: bins.client,
        encoding: 'raw',
        quality: -1,
        seconds: 0.3,
        minUpdates: 2,
        checkAgainst: { picture, ppmPath },
      });
    } catch (e) {
      return (e as Error).message;
    }
    if (r.check?.wrongPixels === 0) return undefined;
    if (Date.now() > deadline) {
      say(`${picture.name}: warning: ${server.name} still shows ${r.check?.wrongPixels} pixels that differ from the picture over Raw`);
      return undefined;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

function describeRun(r: RunResult): string {
  const check = r.check
    ? r.check.wrongPixels
      ? `, ${r.check.wrongPixels} px differ (PSNR ${r.check.psnr.toFixed(1)} dB)`
      : ', exact'
    : '';
  return `${r.updatesPerSec.toFixed(1)} upd/s, ${Math.round(r.bytesPerUpdate / 1024)} KB, ${r.cpuMsPerUpdate.toFixed(1)} CPU ms/upd${check}`;
}

/** The measured runs, interleaved: for each round, each encoding, each server in turn. */
async function interleavedRuns(
  picture: Picture,
  o: Options,
  bins: Bins,
  servers: Map<PeerName, RunningServer>,
  cells: Cell[],
  scratch: string,
  say: (l: string) => void,
): Promise<void> {
  for (let run = 0; run < o.runs; run++) {
    for (const encoding of o.encodings) {
      for (const [peer, server] of servers) {
        if (isInterrupted()) return;
        const cell = cells.find((c) => c.encoding === encoding && c.peer === peer)!;
        if (cell.error) continue;
        const checkAgainst = run === 0 ? { picture, ppmPath: path.join(scratch, `${peer}-${encoding}.ppm`) } : undefined;
        const label = `${picture.name} ${encoding} ${peer} run ${run + 1}/${o.runs}`;
        try {
          const r = await measureRun(server, {
            clientBin: bins.client,
            encoding,
            quality: o.quality,
            seconds: o.seconds,
            minUpdates: o.minUpdates,
            checkAgainst,
          });
          cell.runs.push(r);
          say(`${label}: ${describeRun(r)}`);
        } catch (e) {
          cell.error = (e as Error).message;
          say(`${label}: ${cell.error}`);
        }
      }
    }
  }
}

async function benchPicture(picture: Picture, o: Options, bins: Bins, say: (l: string) => void): Promise<Cell[]> {
  const cells: Cell[] = [];
  const scratch = trackDir(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-peers-')));
  const servers = await startServers(picture, o, { bins, say, verbose: o.verbose }, cells);
  try {
    for (const [peer, server] of servers) {
      if (isInterrupted()) return cells;
      const failed = await warmUp(server, picture, bins, scratch, say);
      for (const encoding of o.encodings)
        cells.push({ picture: picture.name, encoding, peer, runs: [], ...(failed ? { error: failed } : {}) });
    }
    await interleavedRuns(picture, o, bins, servers, cells, scratch, say);
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return cells;
}

export async function main(argv: string[]): Promise<void> {
  const cmd = buildCommand();
  cmd.parse(argv);
  const o = cmd.opts<Options>();
  const say = (line: string) => process.stderr.write(`${line}\n`);
  installCleanupHandlers(say);
  ensurePackages(o.peers, say, o.install);
  const bin = path.join(cacheDir(), 'bin');
  const bins = {
    client: buildProgram('client', bin),
    session: buildProgram('session', bin),
    ...(o.peers.includes('libvncserver') ? { server: buildProgram('server', bin) } : {}),
    ...(o.peers.includes('tigervnc') ? { xroot: buildProgram('xroot', bin) } : {}),
  };
  const started = Date.now();
  const all: Cell[] = [];
  const out: string[] = [];
  for (const name of o.pictures) {
    if (isInterrupted()) return;
    const picture = makePicture(name, o.size.width, o.size.height, path.join(cacheDir(), 'pictures'));
    const cells = await benchPicture(picture, o, bins, say);
    all.push(...cells);
    const table = `${name} ${picture.width}x${picture.height}\n${formatPictureTable(name, cells, o.encodings, o.peers)}\n`;
    out.push(table);
    process.stdout.write(`\n${table}`);
  }
  const sessions = await benchSessions(
    {
      sessions: o.sessions,
      speed: o.sessionSpeed,
      runs: o.runs,
      peers: o.peers,
      encodings: o.encodings,
      quality: o.quality,
      verbose: o.verbose,
    },
    bins,
    say,
  );
  const note =
    `medians of ${o.runs} interleaved runs of ${o.seconds} s (>= ${o.minUpdates} updates), one non-incremental full-screen ` +
    `request outstanding, jpeg = tight + quality ${o.quality}; sessions: one incremental request outstanding, CopyRect ` +
    `offered, played at ${o.sessionSpeed}x; xenvfb's encode worker living ` +
    `${process.env[ENCODE_WORKER_IDLE_ENV] || BENCH_WORKER_IDLE_MS} ms without a viewer (${ENCODE_WORKER_IDLE_ENV}), so our ` +
    `runs meet a warm worker (first ms too; a viewer of an idle backend waits ~0.1-0.2 s more); ` +
    `our Tight JPEG ${jpegThreadsWanted() ? "on the addon's pool threads" : 'in the encode worker, not on the pool threads'} ` +
    `(${os.availableParallelism()} CPUs, ${NO_JPEG_THREADS_ENV}); ${versions(o.peers)}; ${((Date.now() - started) / 1000).toFixed(0)} s. ` +
    'Timing on a shared box is noisy: compare ratios, not absolute numbers.';
  process.stdout.write(`\n${note}\n`);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify({ options: o, note, cells: all, sessions: sessions.cells }, null, 2));
  await cleanupAll();
}

if (require.main === module) {
  main(process.argv).catch(async (e: Error) => {
    process.stderr.write(`bench:peers: ${e.message}\n`);
    await cleanupAll();
    process.exit(1);
  });
}
