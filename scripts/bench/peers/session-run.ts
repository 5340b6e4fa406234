// The session workload of bench:peers: each server plays the same recorded session
// (sessions.ts) to one viewer-like client (c/session-client.c: CopyRect offered, one
// incremental request outstanding), started by the bench once the client has the first
// picture. Measured per run: the server's CPU from the start of playback to the client's
// last update, the bytes and updates the client got, the time from the start to its last
// update, and its final picture against the session's last.
//   xenvfb       `xenvfb replay CAPTURE --paused --control SOCK`, started and rewound over
//                the control socket; measured: that process (its encode workers are threads)
//   libvncserver peer-server --session (SIGUSR1 plays, SIGUSR2 rewinds)
//   tigervnc     Xvnc, the steps drawn by peer-xroot --session (same signals); measured:
//                Xvnc only, not the painter

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { cpuNs } from '../lib/proc';
import { onLines, spawnTracked, stopTracked, trackDir } from '../lib/processes';
import { comparePixels, type EncodingName } from './measure';
import { parsePpm } from './pictures';
import {
  freePort,
  PEER_START_TIMEOUT_MS,
  startXvnc,
  waitForLine,
  XENVFB_BIN,
  XENVFB_START_TIMEOUT_MS,
  xenvfbBenchEnv,
  type PeerName,
  type ServerContext,
} from './servers';
import type { PreparedSession } from './sessions';

export interface SessionServer {
  name: PeerName;
  port: number;
  /** The process whose CPU time is charged to the server. */
  pid: number;
  play(): Promise<void>;
  /** Back to the first picture, paused (called with no client connected). */
  rewind(): Promise<void>;
  /** Resolves at the next "played the last step". */
  nextEnd(): Promise<void>;
  stop(): Promise<void>;
}

export interface SessionRunResult {
  updates: number;
  rects: number;
  copyRects: number;
  bytes: number;
  cpuMs: number;
  /** From the start of playback to the client's last update. */
  doneMs: number;
  /** Encodings of the first rect of each update (CopyRect left out): what the server really sent. */
  encodings: number[];
  check: { wrongPixels: number; psnr: number };
}

/** A wait for the next line of the child's stdout that matches `re` (each call waits for a new one). */
function endWatcher(child: ChildProcess, re: RegExp): () => Promise<void> {
  let waiting: Array<() => void> = [];
  onLines(child, 'stdout', (l) => {
    if (!re.test(l)) return;
    const w = waiting;
    waiting = [];
    for (const f of w) f();
  });
  return () => new Promise<void>((resolve) => waiting.push(resolve));
}

/** One request on a JSON-lines control socket (backend/control/replay-protocol.ts); rejects on an error reply. */
function controlRequest(socketPath: string, op: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let text = '';
    sock.once('error', reject);
    sock.on('data', (d: Buffer) => {
      text += d.toString();
      if (!text.includes('\n')) return;
      sock.destroy();
      const reply = JSON.parse(text.split('\n')[0]!) as { error?: unknown };
      if (reply.error) reject(new Error(`replay control ${JSON.stringify(op)}: ${JSON.stringify(reply.error)}`));
      else resolve();
    });
    sock.write(`${JSON.stringify({ id: 1, ...op })}\n`);
  });
}

async function startXenvfbSession(s: PreparedSession, speed: number, ctx: ServerContext): Promise<SessionServer> {
  const port = await freePort();
  const dir = trackDir(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-session-')));
  const control = path.join(dir, 'replay.sock');
  const args = ['replay', s.capture, '--vnc', `127.0.0.1:${port}`, '--paused', '--speed', String(speed), '--control', control];
  // XENVFB_BENCH_NODE_FLAGS: node flags for the xenvfb server, e.g. '--cpu-prof --cpu-prof-dir=DIR' to profile it.
  const nodeFlags = (process.env.XENVFB_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  // A warm encode worker across our runs, as for the pictures (xenvfbBenchEnv).
  const child = spawnTracked(process.execPath, [...nodeFlags, XENVFB_BIN, ...args], { env: xenvfbBenchEnv() });
  if (ctx.verbose) onLines(child, 'stderr', (l) => ctx.say(`  [xenvfb] ${l}`));
  const nextEnd = endWatcher(child, /^replay: end of capture/);
  await waitForLine(child, 'xenvfb replay', XENVFB_START_TIMEOUT_MS, (l) => (/^\s+VNC\s/.test(l) ? true : undefined));
  return {
    name: 'xenvfb',
    port,
    pid: child.pid!,
    play: () => controlRequest(control, { op: 'play' }),
    rewind: async () => {
      await controlRequest(control, { op: 'pause' });
      await controlRequest(control, { op: 'seek', ms: 0 });
    },
    nextEnd,
    stop: async () => {
      await stopTracked(child, 10_000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A C player that plays on SIGUSR1, rewinds on SIGUSR2 and prints {"event":"ended"}. */
function signalled(player: ChildProcess): Pick<SessionServer, 'play' | 'rewind' | 'nextEnd'> {
  const nextEnd = endWatcher(player, /"ended"/);
  return {
    play: async () => void player.kill('SIGUSR1'),
    rewind: async () => void player.kill('SIGUSR2'),
    nextEnd,
  };
}

async function startLibvncserverSession(s: PreparedSession, speed: number, ctx: ServerContext): Promise<SessionServer> {
  if (!ctx.bins.server) throw new Error('peer-server was not built');
  const port = await freePort();
  const child = spawnTracked(ctx.bins.server, [String(port), '--session', s.stream, String(speed), '0']);
  if (ctx.verbose) onLines(child, 'stderr', (l) => ctx.say(`  [libvncserver] ${l}`));
  const control = signalled(child);
  await waitForLine(child, 'peer-server (LibVNCServer)', PEER_START_TIMEOUT_MS, (l) => (l.includes('"ready"') ? true : undefined));
  return { name: 'libvncserver', port, pid: child.pid!, ...control, stop: () => stopTracked(child) };
}

async function startTigervncSession(s: PreparedSession, speed: number, ctx: ServerContext): Promise<SessionServer> {
  if (!ctx.bins.xroot) throw new Error('peer-xroot was not built');
  const { child, display, port } = await startXvnc(s.width, s.height, ctx);
  const painter = spawnTracked(ctx.bins.xroot, ['--session', s.stream, String(speed)], { env: { ...process.env, DISPLAY: `:${display}` } });
  const control = signalled(painter);
  await waitForLine(painter, 'peer-xroot', PEER_START_TIMEOUT_MS, (l) => (l.includes('"drawn"') ? true : undefined));
  return {
    name: 'tigervnc',
    port,
    pid: child.pid!,
    ...control,
    stop: async () => {
      await stopTracked(painter);
      await stopTracked(child);
    },
  };
}

export function startSessionServer(name: PeerName, s: PreparedSession, speed: number, ctx: ServerContext): Promise<SessionServer> {
  switch (name) {
    case 'xenvfb':
      return startXenvfbSession(s, speed, ctx);
    case 'libvncserver':
      return startLibvncserverSession(s, speed, ctx);
    case 'tigervnc':
      return startTigervncSession(s, speed, ctx);
  }
}

/** Quiet time after the last step before the client stops (a server still sending keeps it going). */
const CLIENT_IDLE_MS = 300;

export interface SessionRunOptions {
  clientBin: string;
  encoding: EncodingName;
  quality: number;
  /** The session's last picture, R, G, B. */
  lastRgb: Buffer;
  ppmPath: string;
  /** Longest a run may take before it is failed. */
  timeoutMs: number;
}

interface ClientReport {
  updates: number;
  rects: number;
  copyRects: number;
  bytes: number;
  firstEndMs: number;
  lastEndMs: number;
  encodings: number[];
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms / 1000} s`)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** One run: the client connects and gets the first picture, the server plays, the client gets the rest. */
export async function measureSessionRun(server: SessionServer, o: SessionRunOptions): Promise<SessionRunResult> {
  const wire = o.encoding === 'jpeg' ? 'tight' : o.encoding;
  const quality = o.encoding === 'jpeg' ? o.quality : -1;
  const args = ['127.0.0.1', String(server.port), wire, String(quality), String(CLIENT_IDLE_MS), o.ppmPath];
  const client = spawnTracked(o.clientBin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  client.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  client.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve, reject) =>
    client.once('close', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`session-client failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`)),
    ),
  );
  exited.catch(() => undefined); // awaited below; a failure before that must not go unhandled
  try {
    await within(
      Promise.race([waitForLine(client, 'session-client', o.timeoutMs, (l) => (l.includes('"first"') ? true : undefined)), exited]),
      o.timeoutMs,
      `${server.name}: no first picture`,
    );
    const ended = server.nextEnd();
    const reported = waitForLine(client, 'session-client', o.timeoutMs, (l) => (l.includes('"updates"') ? l : undefined));
    const cpu0 = cpuNs(server.pid);
    const start = process.hrtime.bigint();
    await server.play();
    await within(Promise.race([ended, exited]), o.timeoutMs, `${server.name} did not play the session to its end`);
    client.kill('SIGUSR1');
    const line = await within(Promise.race([reported, exited.then(() => '')]), o.timeoutMs, 'session-client did not finish');
    // Read while the client is still connected: LibVNCServer's threads for it end with it.
    const cpu1 = cpuNs(server.pid);
    client.stdin!.end();
    await within(exited, o.timeoutMs, 'session-client did not exit');
    if (cpu0 === undefined || cpu1 === undefined) throw new Error(`${server.name} (pid ${server.pid}) is gone`);
    if (!line) throw new Error(`session-client exited without a report: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    const r = JSON.parse(line) as ClientReport;
    const got = parsePpm(fs.readFileSync(o.ppmPath));
    return {
      updates: r.updates,
      rects: r.rects,
      copyRects: r.copyRects,
      bytes: r.bytes,
      cpuMs: (cpu1 - cpu0) / 1e6,
      doneMs: r.lastEndMs - Number(start) / 1e6,
      encodings: r.encodings ?? [],
      check: comparePixels(o.lastRgb, got.rgb),
    };
  } finally {
    if (client.exitCode === null) await stopTracked(client, 1000);
    fs.rmSync(o.ppmPath, { force: true });
    await server.rewind();
  }
}
