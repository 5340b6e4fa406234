// Memory of an idle backend (issue 12's target: <= 64 MB RSS), compiled (dist/, what
// `npm install` builds and production runs) against the TypeScript sources through ts-node,
// with the guest at 1920x1080: idle with no client, then with one VNC client that took a
// full frame; and compiled with encoding on the main thread (XENVFB_VNC_ENCODE=sync: no
// encode worker even with a client). Processes are measured from /proc/PID/status (VmRSS, VmHWM). Run:
// npm run bench:rss. Numbers on a shared machine are noisy; the modes are interleaved.

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

type Mode = 'dist' | 'dist-sync' | 'ts-node';

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
  const backend = spawn(process.execPath, mode === 'ts-node' ? viaSources : [BIN, ...args], opts);
  const listening = JSON.parse(await waitLine(backend, /"event":"listening"/)) as { vnc: string };
  const guest = spawn(process.execPath, [BIN, 'guest', '--domid', '1', '--sim-dir', dir, '--workload', 'still', '--image', image], opts);
  await waitLine(guest, /"event":"ready"/);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const idle = status(backend.pid!);
  const guestIdle = status(guest.pid!);
  await fullFrame(Number(listening.vnc.split(':').pop()));
  const served = status(backend.pid!);
  for (const c of [guest, backend]) c.kill('SIGTERM');
  await Promise.all([guest, backend].map((c) => new Promise((r) => c.once('exit', r))));
  xs.close();
  await hv.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  return { idleRss: idle.rss, servedRss: served.rss, peak: served.hwm, guestRss: guestIdle.rss };
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
      for (const mode of ['dist', 'dist-sync', 'ts-node'] as const) rows.push([mode, await measure(mode, dist)]);
    }
    const f = (n: number) => n.toFixed(1).padStart(8);
    console.log(`backend RSS (MB), guest 1920x1080 XRGB8888, ${IDLE_MS / 1000} s idle; target: idle <= 64 MB compiled`);
    console.log('mode        idle   1 client   peak(HWM)  guest idle');
    for (const [mode, r] of rows) console.log(`${mode.padEnd(9)}${f(r.idleRss!)}${f(r.servedRss!)}  ${f(r.peak!)}  ${f(r.guestRss!)}`);
    console.log(`median of ${ROUNDS} round(s):`);
    for (const mode of ['dist', 'dist-sync', 'ts-node'] as const) {
      const of = (k: string) => median(rows.filter(([m]) => m === mode).map(([, r]) => r[k]!));
      console.log(`${mode.padEnd(9)}${f(of('idleRss'))}${f(of('servedRss'))}  ${f(of('peak'))}  ${f(of('guestRss'))}`);
    }
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
