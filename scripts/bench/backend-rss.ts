// Memory of an idle backend (issue 12's target: <= 64 MB RSS), compiled (dist/, what
// `npm install` builds and production runs) against the TypeScript sources through ts-node,
// with the guest at 1920x1080: idle with no client, then with one VNC client that took a
// full frame, and again after that client left (once the backend gave its heap back:
// backend/idle-memory.ts); compiled with encoding on the main thread (XENVFB_VNC_ENCODE=sync:
// no encode worker even with a client); and compiled under V8's default flags (dist-v8: the
// memory reducer on, not the launchers' --no-memory-reducer, shared/node-flags.ts).
// Processes are measured from /proc/PID/status (VmRSS, VmHWM). Run: npm run bench:rss.
// Numbers on a shared machine are noisy; the modes are interleaved.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { PNG } from 'pngjs';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { addDevice } from '../../shared/platform/sim/toolstack';
import { XsClient } from '../../shared/xenstore/client';
import { silentLogger } from '../../shared/log';
import { XENVFB_NODE_FLAGS } from '../../shared/node-flags';
import { IDLE_GIVE_BACK_MS } from '../../backend/idle-memory';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'scripts', 'bin', 'xenvfb.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const IDLE_MS = 5000;
const TS_NODE_MAIN = `require('ts-node').register({ transpileOnly: true, swc: true, project: ${JSON.stringify(path.join(ROOT, 'tsconfig.json'))} });
require(${JSON.stringify(path.join(ROOT, 'scripts', 'cli', 'main'))}).main([process.argv[0], 'xenvfb', ...process.argv.slice(1)]);`;

function status(pid: number): { rss: number; hwm: number } {
  const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

function waitLine(child: ChildProcess, re: RegExp, timeoutMs = 60000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${re}`)), timeoutMs);
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      if (re.test(l)) {
        clearTimeout(timer);
        resolve(l);
      }
    });
  });
}

async function fullFrame(port: number): Promise<void> {
  const { TinyRfbClient } = await import('../../test/helpers/rfb-client');
  const c = await TinyRfbClient.connect('127.0.0.1', port);
  c.startUpdates();
  while (c.updates === 0) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1000));
  c.close();
}

const MODES = ['dist', 'dist-sync', 'dist-v8', 'ts-node'] as const;
type Mode = (typeof MODES)[number];
/** After the client left: the encode worker's idle end and the heap give-back, with margin. */
const LEFT_MS = IDLE_GIVE_BACK_MS + 3000;

async function measure(mode: Mode, dist: string): Promise<Record<string, number>> {
  const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-rss-'));
  const hv = await SimHypervisor.start({ dir, log: silentLogger });
  const xs = await XsClient.connect({ path: path.join(dir, 'xenstored', 'socket') });
  await hv.createDomain(1, { name: 'rss', memoryMiB: 64 });
  await addDevice(xs, { kind: 'vfb', domid: 1, devid: 0 });
  await addDevice(xs, { kind: 'vkbd', domid: 1, devid: 0 });
  const image = path.join(dir, 'still.png');
  fs.writeFileSync(image, PNG.sync.write(new PNG({ width: 1920, height: 1080 })));
  const env = {
    ...process.env,
    XENVFB_PARENT_FD: '3',
    XENVFB_LOG_LEVEL: 'warn',
    ...(mode === 'ts-node' ? {} : { XENVFB_DIST: dist }),
    // dist-sync: encoding on the main thread (no encode worker: what a worker costs).
    ...(mode === 'dist-sync' ? { XENVFB_VNC_ENCODE: 'sync' } : {}),
  };
  const opts = { env, stdio: ['ignore', 'pipe', 'inherit', 'pipe'] as ('ignore' | 'pipe' | 'inherit')[] };
  const args = ['backend', '--domid', '1', '--sim-dir', dir, '--vnc', '127.0.0.1:0'];
  // The bin picks dist/ whenever it is fresh: the sources run through ts-node as it would otherwise.
  const viaSources = ['-e', TS_NODE_MAIN, '--', ...args];
  const flags = mode === 'dist-v8' ? [] : XENVFB_NODE_FLAGS;
  const backend = spawn(process.execPath, [...flags, ...(mode === 'ts-node' ? viaSources : [BIN, ...args])], opts);
  const listening = JSON.parse(await waitLine(backend, /"event":"listening"/)) as { vnc: string };
  const guest = spawn(process.execPath, [BIN, 'guest', '--domid', '1', '--sim-dir', dir, '--workload', 'still', '--image', image], opts);
  await waitLine(guest, /"event":"ready"/);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const idle = status(backend.pid!);
  const guestIdle = status(guest.pid!);
  await fullFrame(Number(listening.vnc.split(':').pop()));
  const served = status(backend.pid!);
  await new Promise((r) => setTimeout(r, LEFT_MS));
  const left = status(backend.pid!);
  for (const c of [guest, backend]) c.kill('SIGTERM');
  await Promise.all([guest, backend].map((c) => new Promise((r) => c.once('exit', r))));
  xs.close();
  await hv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  return { idleRss: idle.rss, servedRss: served.rss, leftRss: left.rss, peak: served.hwm, guestRss: guestIdle.rss };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function main(): Promise<void> {
  const dist = fs.mkdtempSync(path.join(ROOT, '.dist-test-'));
  try {
    require(path.join(ROOT, 'scripts', 'build', 'build-dist.js')).build(dist);
    const rows: Array<[string, Record<string, number>]> = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of MODES) rows.push([mode, await measure(mode, dist)]);
    }
    const f = (n: number) => n.toFixed(1).padStart(8);
    console.log(
      `backend RSS (MB), guest 1920x1080 XRGB8888, ${IDLE_MS / 1000} s idle, client gone ${LEFT_MS / 1000} s; target: idle <= 64 MB compiled`,
    );
    const header = 'mode        idle  1 client      left  peak(HWM)  guest idle';
    const line = (mode: string, of: (k: string) => number) =>
      `${mode.padEnd(9)}${f(of('idleRss'))}${f(of('servedRss'))}  ${f(of('leftRss'))}  ${f(of('peak'))}  ${f(of('guestRss'))}`;
    console.log(header);
    for (const [mode, r] of rows) console.log(line(mode, (k) => r[k]!));
    console.log(`median of ${ROUNDS} round(s):`);
    for (const mode of MODES) console.log(line(mode, (k) => median(rows.filter(([m]) => m === mode).map(([, r]) => r[k]!))));
  } finally {
    fs.rmSync(dist, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
