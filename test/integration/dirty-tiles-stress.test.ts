// Dirty tiles under load, across processes: a guest process whose writer threads draw and
// mark random rectangles (fixtures/dirty-tiles-guest.ts, >= 100,000 marks, random pauses,
// one pause long enough to go idle), our backend here with its VNC server, and a VNC client
// following the screen with incremental Raw updates. Twice: switches paced by the backend
// (docs/dirty-tiles.md §4.7, the default), and the v1 frontend timer with stretched ticks
// that force late switches. When the writers are done and the screen is quiet, the client's framebuffer
// must equal the guest's pixel for pixel: no mark was lost anywhere on the way.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { addDevice } from '../../shared/platform/sim/toolstack';
import { createSimPlatform, type SimPlatform } from '../../shared/platform/sim/platform';
import { DomainBackend } from '../../backend/daemon';
import { TinyRfbClient } from '../helpers/rfb-client';
import { captureLogger } from '../helpers/capture-logger';
import { stopChild } from '../helpers/stop-child';

const WIDTH = 640;
const HEIGHT = 480;
const WORKERS = 4;
const MARKS_PER_WORKER = 25_000;
const PERIOD_MS = 10;

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const paced of [true, false])
  describe(`dirty tiles stress (${paced ? 'paced by the backend' : 'v1 frontend timer'}): writer threads in a guest process, VNC client sees every pixel`, function () {
    this.timeout(60000);
    let dir: string;
    let hv: SimHypervisor;
    let p0: SimPlatform;
    let backend: DomainBackend;
    let guest: ChildProcess | undefined;
    let client: TinyRfbClient | undefined;

    before(async function () {
      dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-dt-stress-'));
      hv = await SimHypervisor.start({ dir });
      await hv.createDomain(1, { name: 'dt-stress', memoryMiB: 16 });
      await addDevice(hv.xenstore, { kind: 'vfb', domid: 1, devid: 0 });
      p0 = await createSimPlatform({ dir, domid: 0 });
      backend = new DomainBackend(p0, {
        domid: 1,
        vnc: { host: '127.0.0.1', port: 0 },
        tilePeriodMs: PERIOD_MS,
        tilePaced: paced,
        log: captureLogger().logger,
      });
      await backend.start();
    });

    after(async function () {
      client?.close();
      if (guest) await stopChild(guest, { graceMs: 5000 });
      await backend?.stop();
      await p0?.close();
      await hv?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it(`${WORKERS} threads x ${MARKS_PER_WORKER} marks: the client's framebuffer equals the guest's`, async function () {
      const fixture = path.join(__dirname, 'fixtures', 'dirty-tiles-guest.ts');
      const args = [dir, '1', String(WORKERS), String(MARKS_PER_WORKER), String(WIDTH), String(HEIGHT), paced ? '1' : '0'];
      guest = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', fixture, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const lines: Record<string, unknown>[] = [];
      let stderr = '';
      readline.createInterface({ input: guest.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
      guest.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const event = (name: string) => lines.find((l) => l.event === name);
      const guestAlive = () => {
        if (guest!.exitCode !== null) throw new Error(`guest exited ${guest!.exitCode}: ${stderr}`);
      };
      await until(() => (guestAlive(), event('ready') !== undefined), 'guest ready', 20000);
      const vfb = backend.vfbs.get(0)!;
      assert.ok(vfb.dirtyTiles && vfb.grantFb, 'tiles and grant-fb negotiated');

      client = await TinyRfbClient.connect('127.0.0.1', backend.vncAddress!.port);
      assert.deepEqual([client.width, client.height], [WIDTH, HEIGHT]);
      client.startUpdates();

      await until(() => (guestAlive(), event('done') !== undefined), 'writers done', 45000);
      const done = event('done')! as { marks: number; wokeNotifies: number };
      assert.ok(done.marks >= 100_000, `${done.marks} marks`);
      const updatesWhileDrawing = client.updates;

      const fbFrames = event('ready')!.fbFrames as number[];
      const stride = event('ready')!.stride as number;
      const mapping = p0.foreign!.mapFrames(1, fbFrames, false);
      const guestPx = new Uint32Array(mapping.buffer);
      let firstDiff = '';
      const same = (): boolean => {
        for (let y = 0; y < HEIGHT; y++) {
          for (let x = 0; x < WIDTH; x++) {
            const want = guestPx[(y * stride) / 4 + x]! & 0xffffff;
            const got = client!.fb[y * WIDTH + x]!;
            if (want !== got) {
              firstDiff = `(${x},${y}) guest ${want.toString(16)} client ${got.toString(16)}`;
              return false;
            }
          }
        }
        return true;
      };
      try {
        await until(same, 'client framebuffer equals the guest framebuffer', 10000).catch((e: Error) => {
          throw new Error(`${e.message}: first difference at ${firstDiff}`);
        });
      } finally {
        mapping.unmap();
      }
      const stats = vfb.tileStats!;
      if (process.env.XENVFB_TEST_VERBOSE)
        console.log(`      ${JSON.stringify({ ...done, clientUpdates: client.updates, clientRects: client.rects, ...stats })}`);
      assert.ok(updatesWhileDrawing > 20, `the client got updates while the writers ran (${updatesWhileDrawing})`);
      if (paced) assert.ok(stats.pacedSwitches > 0, `the backend paced the switches (${stats.pacedSwitches})`);
      else assert.ok(stats.lateSwitches > 0, `late switches were forced (${stats.lateSwitches})`);
      assert.ok(stats.wakeups >= 1 && done.wokeNotifies >= 1, `the mid-way pause went idle and a mark woke it (${stats.wakeups})`);
      assert.equal(stats.garbage, 0);
    });
  });
