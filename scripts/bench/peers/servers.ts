// The three servers of bench:peers, each showing one still picture on 127.0.0.1:PORT:
//   xenvfb       `xenvfb demo --workload still --image X.png` (simulated host, guest and
//                backend processes); measured: the backend process (its encode workers are
//                threads of it)
//   libvncserver peer-server (LibVNCServer 0.9.x, threaded, no update deferral)
//   tigervnc     Xvnc (TigerVNC) with default settings, the picture drawn by peer-xroot

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { ENCODE_WORKER_IDLE_ENV } from '../../../backend/updates/encode-pool';
import { onLines, spawnTracked, stopTracked, trackDir } from '../lib/processes';
import type { Picture } from './pictures';

export const PEER_NAMES = ['xenvfb', 'libvncserver', 'tigervnc'] as const;
export type PeerName = (typeof PEER_NAMES)[number];

export interface RunningServer {
  name: PeerName;
  port: number;
  /** The process whose CPU time is charged to the server. */
  pid: number;
  stop(): Promise<void>;
}

export interface ServerContext {
  bins: { server?: string; xroot?: string };
  say: (line: string) => void;
  verbose: boolean;
}

export const XENVFB_BIN = path.join(__dirname, '..', '..', 'bin', 'xenvfb.js');
/** The xenvfb demo loads the TypeScript sources at start: slow on a busy 2-core box. */
export const XENVFB_START_TIMEOUT_MS = 120_000;
export const PEER_START_TIMEOUT_MS = 20_000;

/** A TCP port free right now on 127.0.0.1 (the kernel's pick; a race with others is unlikely). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves with the first line `match` accepts; rejects on exit or timeout, with the last stderr lines. */
export function waitForLine<T>(child: ChildProcess, what: string, timeoutMs: number, match: (line: string) => T | undefined): Promise<T> {
  const tail: string[] = [];
  onLines(child, 'stderr', (l) => {
    tail.push(l);
    if (tail.length > 15) tail.shift();
  });
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`${what} ${why}${tail.length ? `; its last output:\n  ${tail.join('\n  ')}` : ''}`));
    };
    const timer = setTimeout(() => fail(`did not start within ${timeoutMs / 1000} s`), timeoutMs);
    child.once('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`}) while starting`));
    child.once('error', (e) => fail(`could not be started: ${e.message}`));
    onLines(child, 'stdout', (line) => {
      const v = match(line);
      if (v !== undefined) {
        clearTimeout(timer);
        resolve(v);
      }
    });
  });
}

/** How long our encode worker lives without a viewer: longer than a round of the other servers' runs. */
export const BENCH_WORKER_IDLE_MS = '600000';

/**
 * The environment of an xenvfb server under the bench. Its encode worker outlives the gaps
 * between our runs (the peers' runs come in between, longer than the backend's default 2 s),
 * so every run meets the warm worker a viewer of a busy backend meets, as the warm-up meant,
 * instead of a fresh isolate whose start and first compilations land in the measured updates
 * (the peers have nothing to start). XENVFB_ENCODE_WORKER_IDLE_MS set by the caller wins
 * (2000, the backend's default, measures a cold worker per run).
 */
export function xenvfbBenchEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    XENVFB_LOG_LEVEL: 'warn',
    [ENCODE_WORKER_IDLE_ENV]: process.env[ENCODE_WORKER_IDLE_ENV] || BENCH_WORKER_IDLE_MS,
  };
}

async function startXenvfb(picture: Picture, ctx: ServerContext): Promise<RunningServer> {
  const port = await freePort();
  const simDir = trackDir(fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-bench-')));
  const args = ['demo', '--workload', 'still', '--image', picture.png, '--vnc', `127.0.0.1:${port}`, '--no-web'];
  args.push('--sim-dir', simDir, '--no-restart-guest');
  const child = spawnTracked(process.execPath, [XENVFB_BIN, ...args], { env: xenvfbBenchEnv() });
  let backendPid: number | undefined;
  if (ctx.verbose) onLines(child, 'stderr', (l) => ctx.say(`  [xenvfb] ${l}`));
  await waitForLine(child, 'xenvfb demo', XENVFB_START_TIMEOUT_MS, (line) => {
    const m = /^backend pid (\d+)/.exec(line);
    if (m) backendPid = Number(m[1]);
    return /is connected/.test(line) ? true : undefined;
  });
  if (backendPid === undefined) throw new Error('xenvfb demo did not print "backend pid N"');
  return {
    name: 'xenvfb',
    port,
    pid: backendPid,
    stop: async () => {
      await stopTracked(child, 10_000);
      fs.rmSync(simDir, { recursive: true, force: true });
    },
  };
}

async function startLibvncserver(picture: Picture, ctx: ServerContext): Promise<RunningServer> {
  if (!ctx.bins.server) throw new Error('peer-server was not built');
  const port = await freePort();
  const child = spawnTracked(ctx.bins.server, [String(port), picture.ppm, '0']);
  if (ctx.verbose) onLines(child, 'stderr', (l) => ctx.say(`  [libvncserver] ${l}`));
  await waitForLine(child, 'peer-server (LibVNCServer)', PEER_START_TIMEOUT_MS, (l) => (l.includes('"ready"') ? true : undefined));
  return { name: 'libvncserver', port, pid: child.pid!, stop: () => stopTracked(child) };
}

/** Xvnc (TigerVNC, default settings) at WxH on a free port; the display number it picked. */
export async function startXvnc(
  width: number,
  height: number,
  ctx: ServerContext,
): Promise<{ child: ChildProcess; display: number; port: number }> {
  const port = await freePort();
  // -displayfd: Xvnc picks a free display number and writes it on fd 3 once it accepts clients.
  const args = ['-displayfd', '3', '-geometry', `${width}x${height}`, '-depth', '24', '-rfbport', String(port)];
  args.push('-localhost', '-SecurityTypes', 'None', '-AlwaysShared', '-nolisten', 'tcp', '-desktop', 'bench-peers');
  const child = spawnTracked('Xvnc', args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  // Always read its log (one line per connection): a full pipe would stall it.
  onLines(child, 'stderr', (l) => ctx.verbose && ctx.say(`  [Xvnc] ${l}`));
  const display = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('Xvnc did not report its display within 20 s')), PEER_START_TIMEOUT_MS);
    child.once('exit', (code, signal) => reject(new Error(`Xvnc exited (${signal ?? `code ${code}`}) while starting; run with --verbose`)));
    child.once('error', (e) => reject(new Error(`Xvnc could not be started: ${e.message} (apt-get install tigervnc-standalone-server)`)));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(Number(text.trim()));
      }
    });
  });
  return { child, display, port };
}

async function startTigervnc(picture: Picture, ctx: ServerContext): Promise<RunningServer> {
  if (!ctx.bins.xroot) throw new Error('peer-xroot was not built');
  const { child, display, port } = await startXvnc(picture.width, picture.height, ctx);
  const drawer = spawnTracked(ctx.bins.xroot, [picture.ppm], { env: { ...process.env, DISPLAY: `:${display}` } });
  await waitForLine(drawer, 'peer-xroot', PEER_START_TIMEOUT_MS, (l) => (l.includes('"drawn"') ? true : undefined));
  return { name: 'tigervnc', port, pid: child.pid!, stop: () => stopTracked(child) };
}

export function startServer(name: PeerName, picture: Picture, ctx: ServerContext): Promise<RunningServer> {
  switch (name) {
    case 'xenvfb':
      return startXenvfb(picture, ctx);
    case 'libvncserver':
      return startLibvncserver(picture, ctx);
    case 'tigervnc':
      return startTigervnc(picture, ctx);
  }
}
