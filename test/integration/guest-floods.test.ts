// Issue 15 item 10: guest-driven work is bounded. The simulated hypervisor (`xenvfb sim`)
// and a hostile guest (fixtures/flood-guest.ts) run in their own processes; the backend runs
// here, so this process's CPU time is the backend's (plus mocha, idle). Each flood prints
// the backend's CPU share (noisy on a shared machine: a figure, not an assertion) and
// asserts the counters the limits act on: ring passes, damage deliveries, connect attempts
// and log bytes, which stay under their limits whatever the guest does.

import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { DomainBackend } from '../../backend/daemon';
import { VFB_PASS_BURST, VFB_PASS_RATE } from '../../backend/devices/vfb';
import { CONNECT_RETRY_MAX_MS, CONNECT_RETRY_MIN_MS, XENBUS_PASS_BURST, XENBUS_PASS_RATE } from '../../backend/devices/xenbus-backend';
import { EVTCHN_EVENT_BURST, EVTCHN_EVENT_RATE } from '../../shared/platform/event-pacer';
import type { SimEventChannels } from '../../shared/platform/sim/evtchn-client';
import { createSimPlatform, type SimPlatform } from '../../shared/platform/sim/platform';
import { xenstoredSocketPath } from '../../shared/platform/sim/layout';
import { XsClient } from '../../shared/xenstore/client';
import type { Rect } from '../../shared/region';
import { captureLogger, type CapturedLog } from '../helpers/capture-logger';
import { XENVFB } from '../helpers/demo-process';
import { LAST_RECT } from './fixtures/flood-guest';

const FLOOD_SECONDS = 4;
const FIXTURE = path.join(__dirname, 'fixtures', 'flood-guest.ts');

interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  /** The last few KB of its stderr, for failure messages. */
  stderr: () => string;
}

function start(args: string[]): Child {
  const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
    if (l.startsWith('{')) lines.push(JSON.parse(l) as Record<string, unknown>);
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return { proc, lines, stderr: () => stderr };
}

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function stop(c: Child | undefined): Promise<void> {
  if (!c || c.proc.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    c.proc.once('exit', () => resolve());
    c.proc.kill('SIGTERM');
    setTimeout(() => c.proc.kill('SIGKILL'), 3000).unref();
  });
}

/** Bytes these lines take as pino JSON, roughly: the fields, the message, and an error's stack. */
const logBytes = (lines: CapturedLog['lines']): number =>
  lines.reduce(
    (n, l) => n + JSON.stringify(l.obj).length + l.msg.length + 40 + (l.obj.err instanceof Error ? (l.obj.err.stack ?? '').length : 0),
    0,
  );

describe('guest floods: bounded backend work and logs (issue 15 item 10)', function () {
  this.timeout(60000);
  let dir: string;
  let sim: Child;
  let xs: XsClient;
  let p0: SimPlatform;
  let backend: DomainBackend;
  let logs: CapturedLog;
  const damage: Rect[][] = [];

  before(async function () {
    dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'xenvfb-floods-'));
    sim = start([XENVFB, 'sim', '--dir', dir, '--domain', '1']);
    await until(() => fs.existsSync(xenstoredSocketPath(dir)), 'sim up');
    xs = await XsClient.connect({ path: xenstoredSocketPath(dir) });
    await until(async () => (await xs.tryRead('/local/domain/0/backend/vkbd/1/0/state')) !== undefined, 'devices created');
    p0 = await createSimPlatform({ dir, domid: 0 });
    logs = captureLogger();
    backend = new DomainBackend(p0, { domid: 1, vnc: null, refineDamage: false, log: logs.logger });
    await backend.start();
    backend.display.on('damage', (rects: Rect[]) => damage.push(rects));
  });

  after(async function () {
    await backend?.stop();
    await p0?.close();
    xs?.close();
    await stop(sim);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const mode of ['updates', 'notify'] as const) {
    it(`${mode === 'updates' ? 'UPDATE flood' : 'event-channel storm'}: ring passes stay under ${VFB_PASS_RATE}/s, no damage lost`, async function () {
      const guest = start([FIXTURE, dir, '1', mode, String(FLOOD_SECONDS)]);
      try {
        await until(() => guest.lines.some((l) => l.event === 'connected'), 'guest connected');
        const vfb = backend.vfbs.get(0)!;
        const channels = (await p0.eventChannels()) as SimEventChannels;
        let events = 0;
        const count = (): number => events++;
        channels.on('event', count);
        const paced0 = channels.pacedEvents;
        const passes0 = vfb.stats.passes;
        const deliveries0 = damage.length;
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        await until(() => guest.lines.some((l) => l.event === 'done'), 'flood done', FLOOD_SECONDS * 1000 + 20000).catch((e: Error) => {
          throw new Error(`${e.message}; guest exit ${guest.proc.exitCode}; its stderr: ${guest.stderr()}`);
        });
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const cpu = process.cpuUsage(cpu0);
        const sent = Number(guest.lines.find((l) => l.event === 'done')!.sent);
        // The last UPDATE of the flood reaches the display: coalescing loses nothing.
        await until(() => damage.flat().some((r) => r.x === LAST_RECT.x && r.y === LAST_RECT.y), 'last rect delivered', 5000);
        channels.off('event', count);
        const paced = channels.pacedEvents - paced0;
        const passes = vfb.stats.passes - passes0;
        const deliveries = damage.length - deliveries0;
        // The bound covers the whole window the counters ran in, last-rect wait included.
        const window = Number(process.hrtime.bigint() - t0) / 1e9;
        const cpuPct = ((cpu.user + cpu.system) / 1e6 / seconds) * 100;
        console.log(
          `      ${mode}: guest sent ${sent} in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s); backend ` +
            `${events} events (${Math.round(events / seconds)}/s, ${paced} held for pacing), ` +
            `${passes} ring passes (${Math.round(passes / seconds)}/s), ${deliveries} damage deliveries, ` +
            `${vfb.stats.updates} UPDATEs read, CPU ${cpuPct.toFixed(0)}% of one core (noisy: shared machine)`,
        );
        const bound = VFB_PASS_RATE * window + VFB_PASS_BURST + 2;
        assert.ok(passes <= bound, `${passes} passes > ${bound.toFixed(0)}`);
        assert.ok(deliveries <= bound, `${deliveries} damage deliveries > ${bound.toFixed(0)}`);
        // Every bound port of the domain (vfb, vkbd) may take its own EVTCHN_EVENT_RATE.
        const eventBound = 2 * (EVTCHN_EVENT_RATE * window + EVTCHN_EVENT_BURST + 2);
        assert.ok(events <= eventBound, `${events} event deliveries > ${eventBound.toFixed(0)}`);
        assert.equal(await xs.read('/local/domain/0/backend/vfb/1/0/state'), '4', 'still connected');
      } finally {
        await stop(guest);
      }
    });
  }

  it(`state flaps with a bad page-gref: connect attempts back off up to ${CONNECT_RETRY_MAX_MS} ms, logs rate-limited`, async function () {
    const be = '/local/domain/0/backend/vfb/1/0';
    // Counted from before the flapper starts: its first attempt may come before it says so.
    const dev = backend.devices.get('vfb/0')!;
    const attempts0 = dev.stats?.connectAttempts;
    const passes0 = dev.stats?.passes;
    const lines0 = logs.lines.length;
    const guest = start([FIXTURE, dir, '1', 'flap', String(FLOOD_SECONDS)]);
    try {
      await until(() => guest.lines.some((l) => l.event === 'connected'), 'flapper started');
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await until(() => guest.lines.some((l) => l.event === 'done'), 'flapping done', FLOOD_SECONDS * 1000 + 20000);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const flaps = Number(guest.lines.find((l) => l.event === 'done')!.sent);
      const attempts = dev.stats?.connectAttempts - attempts0;
      const passes = dev.stats?.passes - passes0;
      const lines = logs.lines.slice(lines0);
      const bytes = logBytes(lines);
      const stacks = lines.filter((l) => l.obj.err !== undefined).length;
      console.log(
        `      flaps: ${flaps} in ${seconds.toFixed(1)} s (${Math.round(flaps / seconds)}/s); backend ${passes} lifecycle passes, ` +
          `${attempts} connect attempts, ${lines.length} log lines, ${bytes} bytes (${stacks} with an error object); ` +
          `CPU ${(((cpu.user + cpu.system) / 1e6 / seconds) * 100).toFixed(0)}% of one core (noisy: shared machine)`,
      );
      assert.ok(flaps > 50, 'the guest did flap');
      assert.ok(attempts >= 1, 'the backend tried');
      // Backoff 100, 200, 400, ... ms: a handful of attempts in FLOOD_SECONDS, whatever the flap rate.
      assert.ok(attempts <= Math.log2((seconds * 1000) / CONNECT_RETRY_MIN_MS) + 3, `${attempts} connect attempts`);
      assert.ok(passes <= XENBUS_PASS_RATE * seconds + XENBUS_PASS_BURST + 2, `${passes} lifecycle passes`);
      assert.ok(stacks <= Math.ceil(seconds / 5) + 1, `${stacks} log lines carry an error object`);
      assert.ok(bytes < 16_000, `${bytes} log bytes`);
      // The last write was Initialised: the backend looks again when the backoff ends, fails, and waits.
      assert.equal(await xs.read(`${be}/state`), '2', 'the backend waits in InitWait');
    } finally {
      await stop(guest);
    }
  });
});
