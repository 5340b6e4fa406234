// npm run bench:latency [-- --scenarios typing,scroll,video --encodings zrle,tight --seconds 10]
//
// Guest write -> pixels at the client, end to end on the simulator: `xenvfb sim`, `xenvfb
// backend`, and the latency guest (guest.ts), which changes its screen FPS times a second,
// stamps a frame number and logs when it marked the damage; latency-client.c (libvncclient,
// incremental requests like a viewer) logs when it decoded each new frame number. Both use
// CLOCK_MONOTONIC on this host. Prints p50/p99/max per scenario and encoding against issue
// 14's target: p99 below one frame period + 5 ms.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { cleanupAll, installCleanupHandlers, isInterrupted, onLines, spawnTracked, stopTracked, trackDir } from '../lib/processes';
import { freePort } from '../peers/servers';
import { buildProgram, cacheDir, ensurePackages } from '../peers/setup';
import { median } from '../peers/table';
import { SCENARIOS, type Scenario } from './guest';
import { XENVFB_NODE_FLAGS } from '../../../shared/node-flags';

const REPO = path.resolve(__dirname, '..', '..', '..');
const XENVFB_BIN = path.join(REPO, 'scripts', 'bin', 'xenvfb.js');
const LOSSLESS = ['raw', 'hextile', 'zlib', 'zrle', 'tight'] as const;
type Lossless = (typeof LOSSLESS)[number];

export interface Options {
  scenarios: Scenario[];
  encodings: Lossless[];
  seconds: number;
  fps: number;
  size: string;
  tilePeriod?: string;
  dirtyTiles: boolean;
  switchOnMark: boolean;
  install: boolean;
}

function listOf<T extends string>(allowed: readonly T[], what: string) {
  return (v: string): T[] => {
    const items = v.split(',').filter(Boolean);
    if (items.length === 0 || items.some((s) => !(allowed as readonly string[]).includes(s))) {
      throw new InvalidArgumentError(`${what}: expected a comma list of ${allowed.join(', ')}; got "${v}"`);
    }
    return items as T[];
  };
}

export function buildCommand(): Command {
  return new Command('bench:latency')
    .description('guest write -> pixels at a libvncclient client, p50/p99 per scenario and encoding (see docs/benchmarks.md)')
    .option('--scenarios <list>', `of ${SCENARIOS.join(', ')}`, listOf(SCENARIOS, '--scenarios'), [...SCENARIOS])
    .option('--encodings <list>', `lossless encodings, of ${LOSSLESS.join(', ')}`, listOf(LOSSLESS, '--encodings'), [
      'raw',
      'zrle',
      'tight',
    ])
    .option(
      '--seconds <s>',
      'measured time per scenario and encoding',
      (v) => {
        const n = Number(v);
        if (!(n > 0 && n <= 600)) throw new InvalidArgumentError(`--seconds must be in (0, 600]; got "${v}"`);
        return n;
      },
      8,
    )
    .option(
      '--fps <n>',
      'frames the guest draws per second',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 240) throw new InvalidArgumentError(`--fps must be an integer 1..240; got "${v}"`);
        return n;
      },
      60,
    )
    .option(
      '--size <WxH>',
      'guest framebuffer size',
      (v) => {
        if (!/^\d{2,4}x\d{2,4}$/.test(v)) throw new InvalidArgumentError(`--size must be WIDTHxHEIGHT; got "${v}"`);
        return v;
      },
      '1920x1080',
    )
    .option('--tile-period <ms>', "the backend's dirty-tile scan period (its default: 33)")
    .option('--no-dirty-tiles', 'the guest sends XENFB_TYPE_UPDATE events instead of marking tiles')
    .option('--no-switch-on-mark', "the guest's tiles switch only when the backend's scan timer asks (docs/dirty-tiles.md §4.8)")
    .option('--no-install', 'do not apt-get missing packages');
}

/** Whether something accepts TCP connections on 127.0.0.1:port now. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function runClient(bin: string, port: number, encoding: string, seconds: number): Promise<Array<[number, bigint]>> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['127.0.0.1', String(port), encoding, String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0)
        return reject(new Error(`latency-client ${encoding} failed (exit ${code}): ${err.trim().split('\n').slice(-2).join(' | ')}`));
      resolve(
        out
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => {
            const [seq, t] = l.split(' ');
            return [Number(seq), BigInt(t!)] as [number, bigint];
          }),
      );
    });
  });
}

export async function scenarioRun(scenario: Scenario, o: Options, clientBin: string, say: (l: string) => void): Promise<string[][]> {
  const dir = trackDir(fs.mkdtempSync('/dev/shm/xenvfb-latency-'));
  const env = { ...process.env, XENVFB_LOG_LEVEL: 'warn' };
  // Node flags as our launchers pass them (shared/node-flags.ts): the demo's children, the
  // systemd units and the xl hook all start the simulator and backends with them.
  const flags = [...XENVFB_NODE_FLAGS];
  const sim = spawnTracked(process.execPath, [...flags, XENVFB_BIN, 'sim', '--dir', dir, '--domain', '1'], { env });
  onLines(sim, 'stdout', () => undefined);
  onLines(sim, 'stderr', (l) => say(`  [sim] ${l}`));
  const sock = path.join(dir, 'xenstored', 'socket');
  for (let i = 0; !fs.existsSync(sock); i++) {
    if (i > 600) throw new Error('xenvfb sim did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000)); // the domain and its devices
  const port = await freePort();
  const tile = o.tilePeriod ? ['--tile-period', o.tilePeriod] : [];
  const backend = spawnTracked(
    process.execPath,
    [...flags, XENVFB_BIN, 'backend', '--domid', '1', '--sim-dir', dir, '--vnc', `127.0.0.1:${port}`, ...tile],
    { env },
  );
  onLines(backend, 'stdout', () => undefined);
  onLines(backend, 'stderr', (l) => say(`  [backend] ${l}`));
  const written = new Map<number, bigint>();
  const guestArgs = ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'guest.ts'), '--sim-dir', dir, '--domid', '1'];
  guestArgs.push('--scenario', scenario, '--fps', String(o.fps), '--size', o.size, ...(o.dirtyTiles ? [] : ['--no-dirty-tiles']));
  if (!o.switchOnMark) guestArgs.push('--no-switch-on-mark');
  const guest = spawnTracked(process.execPath, guestArgs, { env, cwd: REPO });
  onLines(guest, 'stdout', (l) => {
    const [seq, t] = l.split(' ');
    written.set(Number(seq), BigInt(t!));
  });
  onLines(guest, 'stderr', (l) => say(`  [guest] ${l}`));
  const rows: string[][] = [];
  try {
    for (let i = 0; written.size < 2 * o.fps || !(await accepts(port)); i++) {
      if (i > 1200) throw new Error(`no VNC on 127.0.0.1:${port} or no frames from the latency guest within 120 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const period = 1000 / o.fps;
    for (const encoding of o.encodings) {
      if (isInterrupted()) break;
      const first = Math.max(...written.keys());
      const seen = await runClient(clientBin, port, encoding, o.seconds);
      const last = Math.max(...written.keys());
      // The first update is the client's full-screen one (a whole 1080p frame, not an
      // increment): it and the frames drawn before it arrived are left out.
      const firstShown = seen[0]?.[0] ?? first;
      const lat = seen
        .slice(1)
        .filter(([seq]) => seq > Math.max(first, firstShown) && written.has(seq))
        .map(([seq, t]) => Number(t - written.get(seq)!) / 1e6)
        .sort((a, b) => a - b);
      const p99 = percentile(lat, 99);
      const row = [
        scenario,
        encoding,
        String(last - first),
        String(lat.length),
        median(lat).toFixed(1),
        p99.toFixed(1),
        (lat[lat.length - 1] ?? NaN).toFixed(1),
      ];
      row.push(p99 < period + 5 ? 'met' : `NOT met (+${(p99 - period - 5).toFixed(1)} ms)`);
      rows.push(row);
      say(`${scenario} ${encoding}: ${lat.length}/${last - first} frames shown, p50 ${row[4]} ms, p99 ${row[5]} ms`);
    }
  } finally {
    await stopTracked(guest);
    await stopTracked(backend);
    await stopTracked(sim);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

export async function main(argv: string[]): Promise<void> {
  const cmd = buildCommand();
  cmd.parse(argv);
  const o = cmd.opts<Options>();
  const say = (line: string) => process.stderr.write(`${line}\n`);
  installCleanupHandlers(say);
  ensurePackages(['xenvfb'], say, o.install);
  const clientBin = buildProgram('latency', path.join(cacheDir(), 'bin'));
  const rows: string[][] = [
    ['scenario', 'encoding', 'frames written', 'frames shown', 'p50 ms', 'p99 ms', 'max ms', `p99 < ${(1000 / o.fps + 5).toFixed(1)} ms`],
  ];
  for (const s of o.scenarios) {
    if (isInterrupted()) break;
    rows.push(...(await scenarioRun(s, o, clientBin, say)));
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(
    `\n${rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n')}\n`,
  );
  process.stdout.write(
    `\nguest ${o.size} at ${o.fps} fps, ${o.dirtyTiles ? (o.switchOnMark ? 'dirty tiles' : 'dirty tiles without switch-on-mark') : 'UPDATE events'}${o.tilePeriod ? `, tile period ${o.tilePeriod} ms` : ''}, ` +
      `${o.seconds} s per encoding; latency = client decoded the frame - guest marked its damage (CLOCK_MONOTONIC). ` +
      'Frames shown < written: the server coalesced frames (the client sees the newest). Noisy on a shared box.\n',
  );
  await cleanupAll();
}

if (require.main === module) {
  main(process.argv).catch(async (e: Error) => {
    process.stderr.write(`bench:latency: ${e.message}\n`);
    await cleanupAll();
    process.exit(1);
  });
}
