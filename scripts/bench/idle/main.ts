// npm run bench:idle [-- --domains 50 --seconds 30 --settle 10]
//
// What an idle domain costs dom0: a simulator with N domains (`xenvfb sim`), for each a
// backend (`xenvfb backend`) and a guest showing a still picture (`xenvfb guest`), no VNC
// client anywhere. Once every device is Connected and a settle time has passed, it samples
// each backend for the measured window and prints per-domain RSS, CPU (share of one core,
// from /proc/PID/task/*/schedstat) and wake-ups per second (voluntary context switches of
// every thread), then totals, against the targets of issue 14 (<= 64 MB, < 0.02% of a core).
// Every process and the simulator directory go away at the end, on error and on Ctrl-C.
// Every process runs with the launchers' Node flags (shared/node-flags.ts: --no-memory-reducer).
// BENCH_IDLE_NODE_FLAGS replaces them (BENCH_IDLE_NODE_FLAGS= for V8's defaults; docs/benchmarks.md).

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Command, InvalidArgumentError } from 'commander';
import { XsClient } from '../../../shared/xenstore/client';
import { cpuNs, rssKb, voluntarySwitches } from '../lib/proc';
import { cleanupAll, installCleanupHandlers, onLines, spawnTracked, stopTracked, trackDir } from '../lib/processes';
import { formatIdleTable, type DomainSample } from './table';
import { XENVFB_NODE_FLAGS } from '../../../shared/node-flags';

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const XENVFB_BIN = path.join(REPO_ROOT, 'scripts', 'bin', 'xenvfb.js');
/** scripts/build/build-dist.js: the transpiled dist/ that `npm install` and `npm run build:dist` write. */
const buildDist = require(path.join(REPO_ROOT, 'scripts', 'build', 'build-dist.js')) as {
  build(outDir: string): number;
  isFresh(outDir: string): boolean;
};
/**
 * Runs the `xenvfb` CLI from the TypeScript sources through ts-node whatever dist/ holds
 * (scripts/bin/xenvfb.js prefers a fresh dist/): what a checkout without a build runs.
 */
const TS_NODE_ENTRY = [
  '-e',
  `require('ts-node').register({ transpileOnly: true, swc: true, project: ${JSON.stringify(path.join(REPO_ROOT, 'tsconfig.json'))} });` +
    `require(${JSON.stringify(path.join(REPO_ROOT, 'scripts', 'cli', 'main'))}).main(['node', 'xenvfb', ...process.argv.slice(1)])` +
    `.catch((e) => { process.stderr.write(String(e && e.message) + '\\n'); process.exit(1); });`,
];
/** Domains started together before waiting for them to connect: keeps a 2-core box responsive. */
const START_BATCH = 10;
const CONNECT_TIMEOUT_MS = 180_000;

interface Options {
  domains: number;
  seconds: number;
  settle: number;
  tsNode: boolean;
  image?: string;
  strace: boolean;
  verbose: boolean;
}

function intIn(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}; got "${v}"`);
    return n;
  };
}

export function buildCommand(): Command {
  return new Command('bench:idle')
    .description('per-domain RSS, CPU and wake-ups of idle backends: N simulated domains with a still guest and no client')
    .option('--domains <n>', 'simulated domains (each: one backend and one guest process)', intIn('--domains', 1, 200), 50)
    .option('--seconds <s>', 'measured idle window', intIn('--seconds', 1, 3600), 30)
    .option('--settle <s>', 'wait this long after every device is Connected before measuring', intIn('--settle', 0, 600), 10)
    .option('--image <file.png>', 'picture the guests show (default: the built-in 800x600 test card)')
    .option('--ts-node', 'run the processes through ts-node (what `xenvfb` does without XENVFB_DIST) instead of a transpiled dist/', false)
    .option(
      '--strace',
      "also run `strace -f -c` on the last domain's backend over the window and print what it called (that domain's numbers then include strace's overhead)",
      false,
    )
    .option('-v, --verbose', "print the processes' stderr", false);
}

/** The launchers' flags, or BENCH_IDLE_NODE_FLAGS when set (empty: V8's defaults). */
function nodeFlags(): string[] {
  const own = process.env.BENCH_IDLE_NODE_FLAGS;
  return own === undefined ? [...XENVFB_NODE_FLAGS] : own.split(' ').filter(Boolean);
}

function xenvfb(args: string[], env: NodeJS.ProcessEnv, o: Options, say: (l: string) => void, tag: string): ChildProcess {
  const entry = [...nodeFlags(), ...(o.tsNode ? [...TS_NODE_ENTRY, '--'] : [XENVFB_BIN])];
  const child = spawnTracked(process.execPath, [...entry, ...args], { env: { ...process.env, XENVFB_LOG_LEVEL: 'warn', ...env } });
  onLines(child, 'stderr', (l) => o.verbose && say(`[${tag}] ${l}`));
  onLines(child, 'stdout', () => undefined);
  child.once('exit', (code, signal) => o.verbose && say(`[${tag}] exited (${signal ?? `code ${code}`})`));
  return child;
}

async function waitConnected(xs: XsClient, domids: number[], deadlineMs: number): Promise<void> {
  const nodes = domids.flatMap((d) =>
    ['vfb', 'vkbd'].flatMap((k) => [`/local/domain/0/backend/${k}/${d}/0/state`, `/local/domain/${d}/device/${k}/0/state`]),
  );
  for (;;) {
    const states = await Promise.all(nodes.map((p) => xs.tryRead(p)));
    const waiting = nodes.filter((_, i) => states[i] !== '4');
    if (waiting.length === 0) return;
    if (Date.now() > deadlineMs)
      throw new Error(`not Connected (state 4) in time: ${waiting.slice(0, 4).join(', ')}${waiting.length > 4 ? ', ...' : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function waitForFile(file: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`xenvfb sim exited (code ${child.exitCode}); run with --verbose`);
    if (Date.now() > deadline) throw new Error(`xenvfb sim did not create ${file} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A backend and a guest per domain, START_BATCH domains at a time, each batch Connected before the next. */
async function startDomains(domids: number[], dir: string, xs: XsClient, env: NodeJS.ProcessEnv, o: Options, say: (l: string) => void) {
  const backends = new Map<number, ChildProcess>();
  const guests = new Map<number, ChildProcess>();
  const image = o.image ? ['--image', path.resolve(o.image)] : [];
  const t0 = Date.now();
  for (let i = 0; i < domids.length; i += START_BATCH) {
    const batch = domids.slice(i, i + START_BATCH);
    for (const d of batch) {
      backends.set(d, xenvfb(['backend', '--domid', String(d), '--sim-dir', dir, '--vnc', '127.0.0.1:0'], env, o, say, `backend ${d}`));
      guests.set(d, xenvfb(['guest', '--domid', String(d), '--sim-dir', dir, '--workload', 'still', ...image], env, o, say, `guest ${d}`));
    }
    await waitConnected(xs, batch, Date.now() + CONNECT_TIMEOUT_MS);
    const done = Math.min(i + START_BATCH, domids.length);
    say(`bench:idle: ${done}/${domids.length} domains connected (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  }
  return { backends, guests };
}

/** /proc readings of every backend (and guest, and the simulator) before and after the window. */
async function measureWindow(
  domids: number[],
  backends: Map<number, ChildProcess>,
  guests: Map<number, ChildProcess>,
  simPid: number,
  seconds: number,
) {
  const pidOf = (m: Map<number, ChildProcess>, d: number) => m.get(d)!.pid!;
  const share = (after: number | undefined, before: number | undefined, windowS: number) =>
    after !== undefined && before !== undefined ? (after - before) / 1e9 / windowS : undefined;
  const before = domids.map((d) => ({
    cpu: cpuNs(pidOf(backends, d)),
    sw: voluntarySwitches(pidOf(backends, d)),
    gcpu: cpuNs(pidOf(guests, d)),
  }));
  const simBefore = cpuNs(simPid);
  const w0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const windowS = Number(process.hrtime.bigint() - w0) / 1e9;
  const samples: DomainSample[] = domids.map((d, i) => {
    const pid = pidOf(backends, d);
    const sw = voluntarySwitches(pid);
    const b = before[i]!;
    return {
      domid: d,
      pid,
      rssKb: rssKb(pid),
      cpuShare: share(cpuNs(pid), b.cpu, windowS),
      wakeupsPerSec: sw !== undefined && b.sw !== undefined ? (sw - b.sw) / windowS : undefined,
      guestRssKb: rssKb(pidOf(guests, d)),
      guestCpuShare: share(cpuNs(pidOf(guests, d)), b.gcpu, windowS),
    };
  });
  return { samples, simShare: share(cpuNs(simPid), simBefore, windowS), windowS };
}

export async function main(argv: string[]): Promise<void> {
  const cmd = buildCommand();
  cmd.parse(argv);
  const o = cmd.opts<Options>();
  const say = (line: string) => process.stderr.write(`${line}\n`);
  installCleanupHandlers(say);
  if (o.image && !fs.existsSync(o.image)) throw new Error(`--image ${o.image} does not exist`);
  const env: NodeJS.ProcessEnv = {};
  if (!o.tsNode) {
    const dist = path.join(REPO_ROOT, 'dist');
    if (!buildDist.isFresh(dist)) {
      const t0 = Date.now();
      const files = buildDist.build(dist);
      say(
        `bench:idle: built dist/ (${files} files, ${((Date.now() - t0) / 1000).toFixed(1)} s), as npm install does; --ts-node runs the sources instead`,
      );
    }
    env.XENVFB_DIST = dist;
  }
  const dir = trackDir(fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : '/tmp', 'xenvfb-idle-')));
  const domids = Array.from({ length: o.domains }, (_, i) => i + 1);
  const sim = xenvfb(['sim', '--dir', dir, ...domids.flatMap((d) => ['--domain', String(d)])], env, o, say, 'sim');
  const xsPath = path.join(dir, 'xenstored', 'socket');
  await waitForFile(xsPath, sim, 60_000);
  const xs = await XsClient.connect({ path: xsPath });
  // The sim prints its banner after creating every domain; the last domain's device node says the same.
  await waitFor(
    async () => (await xs.tryRead(`/local/domain/0/backend/vkbd/${o.domains}/0/state`)) !== undefined,
    60_000,
    'the simulator to create the domains',
  );
  const { backends, guests } = await startDomains(domids, dir, xs, env, o, say);
  say(`bench:idle: settling ${o.settle} s, then measuring ${o.seconds} s; node flags: ${nodeFlags().join(' ') || "(none: V8's defaults)"}`);
  await new Promise((r) => setTimeout(r, o.settle * 1000));
  const straced = o.strace ? startStrace(backends.get(o.domains)!.pid!, dir) : undefined;
  const { samples, simShare, windowS } = await measureWindow(domids, backends, guests, sim.pid!, o.seconds);
  const straceReport = straced ? await straced.finish() : undefined;
  process.stdout.write(
    formatIdleTable(samples, {
      windowS,
      simShare,
      simRssKb: rssKb(sim.pid!),
      mode: o.tsNode ? 'ts-node (sources)' : 'transpiled dist/ (XENVFB_DIST)',
    }),
  );
  if (straceReport !== undefined)
    process.stdout.write(`\nstrace -f -c -p ${backends.get(o.domains)!.pid} (domain ${o.domains}) over the window:\n${straceReport}\n`);
  xs.close();
  // Backends and guests first (they say goodbye to xenstored), then the simulator.
  await Promise.all([...backends.values(), ...guests.values()].map((c) => stopTracked(c)));
  await stopTracked(sim);
  await cleanupAll();
}

/** `strace -f -c -p PID` until finish(): its summary table (syscalls and counts of every thread). */
function startStrace(pid: number, dir: string): { finish(): Promise<string> } {
  const out = path.join(dir, 'strace.txt');
  const child = spawnTracked('strace', ['-f', '-c', '-o', out, '-p', String(pid)]);
  let failed = '';
  child.once('error', (e) => (failed = `strace could not be started: ${e.message} (apt-get install strace)`));
  onLines(child, 'stderr', () => undefined);
  return {
    finish: async () => {
      if (failed) return failed;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGINT'); // strace detaches and writes the summary
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      });
      return fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : 'strace wrote no summary';
    },
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

if (require.main === module) {
  main(process.argv).catch(async (e: Error) => {
    process.stderr.write(`bench:idle: ${e.message}\n`);
    await cleanupAll();
    process.exit(1);
  });
}
