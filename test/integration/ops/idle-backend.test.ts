// An idle backend (issue 12: "the idle backend's RSS ... target <= 64 MB", npm run bench:rss
// prints it) holds only what it needs to serve: the compiled backend, run from dist with a
// 1920x1080 guest and no client, has loaded no SPICE, web server, capture or PNG code, has
// started no encode worker, and has not read the guest's framebuffer (no shadow copy: its
// shared pages are not in its RSS). A VNC client then gets the guest's picture, pixel for
// pixel, through a worker started for it. Started as the launchers start it (with
// --no-memory-reducer, shared/node-flags.ts), the backend gives its heap back itself once the
// client has gone (backend/idle-memory.ts), the shadow copy with it.

import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { PNG } from 'pngjs';
import { SimHypervisor } from '../../../shared/platform/sim/hypervisor';
import { addDevice } from '../../../shared/platform/sim/toolstack';
import { XsClient } from '../../../shared/xenstore/client';
import { silentLogger } from '../../../shared/log';
import { TinyRfbClient } from '../../helpers/rfb-client';
import { XENVFB_NODE_FLAGS } from '../../../shared/node-flags';
import { IDLE_GIVE_BACK_MS } from '../../../backend/idle-memory';

const ROOT = path.join(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'scripts', 'bin', 'xenvfb.js');
const REPORT = path.join(__dirname, '..', 'fixtures', 'module-report.js');
const WIDTH = 1920;
const HEIGHT = 1080;
/** Code an idle backend without --spice, --web, --capture must not hold. */
const NOT_WHEN_IDLE = [
  /backend\/spice\/(server|backend-spice|display-channel|main-channel)\.js$/,
  /backend\/web\/server\.js$/,
  // The live-capture controller answers the control socket's capture ops; what it records with
  // (recorder, writer, codecs) is loaded at the first capture.
  /backend\/capture\/(?!live-capture)/,
  /shared\/capture\//,
  /backend\/control\/screenshot\.js$/,
  /scripts\/cli\/(demo-command|replay-command|inspect\/|watch\/)/,
  /shared\/xenstore\/server\//,
];

function waitLine(child: ChildProcess, re: RegExp, timeoutMs = 30000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}`)), timeoutMs);
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      if (!re.test(l)) return;
      clearTimeout(timer);
      resolve(l);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssShmemKiB(pid: number): number {
  const m = /^RssShmem:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function pixelAt(x: number, y: number): number {
  return ((x * 7) & 255) | (((y * 3) & 255) << 8) | ((((x + y) >> 3) & 255) << 16);
}

describe('idle backend: nothing loaded or mapped that no one uses', function () {
  this.timeout(90000);
  let dir: string;
  let dist: string;
  let hv: SimHypervisor;
  let xs: XsClient;
  const children: ChildProcess[] = [];

  before(async function () {
    dist = fs.mkdtempSync(path.join(ROOT, '.dist-test-'));
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build', 'build-dist.js'), dist]);
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-idle-'));
    hv = await SimHypervisor.start({ dir, log: silentLogger });
    xs = await XsClient.connect({ path: path.join(dir, 'xenstored', 'socket') });
    await hv.createDomain(1, { name: 'idle', memoryMiB: 64 });
    await addDevice(xs, { kind: 'vfb', domid: 1, devid: 0 });
    await addDevice(xs, { kind: 'vkbd', domid: 1, devid: 0 });
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    xs?.close();
    await hv?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(dist, { recursive: true, force: true });
  });

  it('no SPICE/web/capture/screenshot code, no encode worker, guest pages untouched; a client then gets the picture', async function () {
    const png = new PNG({ width: WIDTH, height: HEIGHT });
    for (let y = 0; y < HEIGHT; y++) {
      for (let x = 0; x < WIDTH; x++) {
        const v = pixelAt(x, y);
        const o = (y * WIDTH + x) * 4;
        png.data[o] = (v >> 16) & 255;
        png.data[o + 1] = (v >> 8) & 255;
        png.data[o + 2] = v & 255;
        png.data[o + 3] = 255;
      }
    }
    const image = path.join(dir, 'still.png');
    fs.writeFileSync(image, PNG.sync.write(png));
    const report = path.join(dir, 'modules.txt');
    const env = { ...process.env, XENVFB_PARENT_FD: '3', XENVFB_DIST: dist, XENVFB_LOG_LEVEL: 'warn' };
    const stdio = ['ignore', 'pipe', 'inherit', 'pipe'] as ('ignore' | 'pipe' | 'inherit')[];
    const backend = spawn(
      process.execPath,
      [...XENVFB_NODE_FLAGS, '--require', REPORT, BIN, 'backend', '--domid', '1', '--sim-dir', dir, '--vnc', '127.0.0.1:0'],
      {
        env: { ...env, MODULE_REPORT_FILE: report, XENVFB_LOG_LEVEL: 'debug' },
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      },
    );
    children.push(backend);
    const givenBack: Array<{ rssBeforeMB: number; rssAfterMB: number; time: number }> = [];
    readline.createInterface({ input: backend.stderr! }).on('line', (l) => {
      if (l.includes('unused heap given back')) givenBack.push(JSON.parse(l));
    });
    const listening = JSON.parse(await waitLine(backend, /"event":"listening"/)) as { vnc: string };
    const guest = spawn(process.execPath, [BIN, 'guest', '--domid', '1', '--sim-dir', dir, '--workload', 'still', '--image', image], {
      env,
      stdio,
    });
    children.push(guest);
    await waitLine(guest, /"event":"ready"/);
    await sleep(1500); // the backend maps the framebuffer and runs its tile scans

    backend.kill('SIGUSR2');
    for (let i = 0; i < 50 && !fs.existsSync(report); i++) await sleep(100);
    const loaded = fs.readFileSync(report, 'utf8').split('\n').filter(Boolean);
    assert.ok(
      loaded.some((m) => m.endsWith(path.join('backend', 'daemon.js'))),
      'the report lists the compiled backend',
    );
    for (const re of NOT_WHEN_IDLE) {
      const hit = loaded.filter((m) => re.test(m));
      assert.deepEqual(hit, [], `an idle backend loaded ${re}`);
    }
    assert.equal(fs.existsSync(`${report}.workers`), false, 'an idle backend started an encode worker');
    const shmem = rssShmemKiB(backend.pid!);
    assert.ok(shmem < 1024, `the idle backend holds ${shmem} KiB of guest pages (framebuffer is ${(WIDTH * HEIGHT * 4) >> 10} KiB)`);

    const client = await TinyRfbClient.connect('127.0.0.1', Number(listening.vnc.split(':').pop()));
    try {
      assert.deepEqual([client.width, client.height], [WIDTH, HEIGHT]);
      client.startUpdates();
      const deadline = Date.now() + 20000;
      const full = () => client.fb.length === WIDTH * HEIGHT && client.fb[WIDTH * HEIGHT - 1] === pixelAt(WIDTH - 1, HEIGHT - 1);
      while (!full() && Date.now() < deadline) await sleep(50);
      for (const [x, y] of [
        [0, 0],
        [WIDTH - 1, 0],
        [777, 555],
        [WIDTH - 1, HEIGHT - 1],
      ] as const) {
        assert.equal(client.fb[y * WIDTH + x], pixelAt(x, y), `pixel ${x},${y}`);
      }
      assert.equal(fs.existsSync(`${report}.workers`), true, 'the client was served by an encode worker');
    } finally {
      client.close();
    }
    const left = Date.now();
    while (!givenBack.some((g) => g.time >= left) && Date.now() < left + IDLE_GIVE_BACK_MS + 15000) await sleep(100);
    const after = givenBack.find((g) => g.time >= left);
    assert.ok(after, `no heap give-back within ${IDLE_GIVE_BACK_MS / 1000 + 15} s of the client leaving`);
    // The shadow copy (8 MB at 1920x1080) is freed only by a GC: with no reducer, only ours.
    assert.ok(after.rssBeforeMB - after.rssAfterMB >= 4, `RSS ${after.rssBeforeMB} -> ${after.rssAfterMB} MB`);
  });
});
