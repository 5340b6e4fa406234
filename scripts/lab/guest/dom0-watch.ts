// The lab's `watch` phase (issue 12 on real Xen): `xenvfb watch` is the only thing started
// by hand in dom0. Plain `xl create` of two stock domUs (`vfb = [...]` with the device-model
// stand-in, the xl path hook) brings each console up on 5900+domid with no other step, both
// at once; the SPICE picture of one, grabbed by the host through forwarded ports, equals its
// VNC grab (issue 11); `kill -9` of a backend: the daemon restarts it, a VNC client
// reconnects to the same picture and the guest keeps running; `xl destroy` ends a backend
// within 10 s; the daemon stops cleanly on SIGTERM.

import * as net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { RawRfbClient } from './rfb-raw-client';
import { check, domuLogOf, phase, screenMatches, waitDomuOf } from './lab-checks';
import { frontendPath, run, sleep, waitNode, xsRead } from './xen-tools';

const REPO = path.resolve(__dirname, '..', '..', '..');
/** Written by build.ts: loopback listeners, SPICE on 5930+domid without a ticket (the lab has no users). */
export const WATCH_CONFIG = '/etc/xenvfb/watch.json';
export const WATCH_GUESTS = [
  { name: 'labw1', cfg: '/etc/xen/domu-watch1.cfg' },
  { name: 'labw2', cfg: '/etc/xen/domu-watch2.cfg' },
] as const;
/**
 * dom0 ports the host reaches through QEMU's user network (qemu.ts, hostfwd): relays to one
 * domain's VNC and SPICE ports, and where the host writes the result of its grab.
 */
export const HOST_GRAB_PORTS = { vnc: 15900, spice: 15930, result: 15999 } as const;
const SPICE_BASE = 5930;
const WIDTH = 800;
const HEIGHT = 600;

/** The daemon and what it printed (`domain N: backend pid P serving VNC ...`). */
class WatchDaemon {
  readonly lines: string[] = [];
  readonly child: ChildProcess;

  constructor() {
    this.child = spawn(process.execPath, ['scripts/bin/xenvfb.js', 'watch', '--config', WATCH_CONFIG], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const echo = (d: Buffer) => {
      for (const line of d.toString().split('\n').filter(Boolean)) {
        this.lines.push(line);
        console.log(`WATCH| ${line.slice(0, 400)}`);
      }
    };
    this.child.stdout!.on('data', echo);
    this.child.stderr!.on('data', echo);
    this.child.on('exit', (code, sig) => console.log(`WATCH| exited code=${code} signal=${sig}`));
  }

  async waitLine(re: RegExp, timeoutMs: number, from = 0): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines.slice(from).find((l) => re.test(l));
      if (hit || Date.now() > deadline || this.child.exitCode !== null) return hit;
      await sleep(200);
    }
  }

  /** The pid of the domain's backend that last reported serving, after line `from`. */
  async servingPid(domid: number, timeoutMs: number, from = 0): Promise<number | undefined> {
    const line = await this.waitLine(new RegExp(`domain ${domid}: backend pid \\d+ serving VNC`), timeoutMs, from);
    return line ? Number(/backend pid (\d+)/.exec(line)![1]) : undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, timeoutMs: number): Promise<number | undefined> {
  const t0 = Date.now();
  while (alive(pid)) {
    if (Date.now() - t0 > timeoutMs) return undefined;
    await sleep(100);
  }
  return Date.now() - t0;
}

/** TCP from `listenPort` on every dom0 address to 127.0.0.1:`target` (the backends listen on loopback). */
function relay(listenPort: number, target: number): net.Server {
  const server = net.createServer((c) => {
    const up = net.connect(target, '127.0.0.1');
    c.pipe(up).on('error', () => c.destroy());
    up.pipe(c).on('error', () => up.destroy());
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  server.listen(listenPort, '0.0.0.0');
  return server;
}

/**
 * The SPICE check: the host (scripts/lab/host-grab.ts) grabs the domain's screen over SPICE
 * and over VNC through the relays and writes one line back: `PASS|FAIL|SKIP detail`.
 */
async function hostSpiceGrab(domid: number): Promise<void> {
  const relays = [relay(HOST_GRAB_PORTS.vnc, 5900 + domid), relay(HOST_GRAB_PORTS.spice, SPICE_BASE + domid)];
  let answer: ((line: string) => void) | undefined;
  const result = new Promise<string>((resolve) => (answer = resolve));
  const listener = net.createServer((c) => {
    let text = '';
    c.on('data', (d) => {
      text += d.toString();
      if (text.includes('\n')) {
        answer?.(text.split('\n')[0]!);
        c.end();
      }
    });
    c.on('error', () => undefined);
  });
  listener.listen(HOST_GRAB_PORTS.result, '0.0.0.0');
  console.log(`LAB HOST-GRAB domid=${domid} width=${WIDTH} height=${HEIGHT}`);
  const line = await phase('watch-spice-host-grab', () =>
    Promise.race([result, sleep(120_000).then(() => 'FAIL the host sent no result in 120 s (no QEMU network? see LAB HOST lines)')]),
  );
  for (const s of [...relays, listener]) s.close();
  const m = /^(PASS|FAIL|SKIP) ?(.*)$/.exec(line) ?? ['', 'FAIL', `unreadable host answer: ${line.slice(0, 200)}`];
  if (m[1] === 'SKIP') console.log(`LAB CHECK watch-spice-screen SKIP ${m[2]}`);
  else check('watch-spice-screen', m[1] === 'PASS', m[2]!);
}

interface Guest {
  name: string;
  domid: number;
  vnc?: RawRfbClient;
  pid?: number;
}

/** `xl create CFG` with nothing else: the console must come up on 5900+domid by itself. */
async function createGuest(daemon: WatchDaemon, name: string, cfg: string, n: number): Promise<Guest | undefined> {
  const t0 = Date.now();
  const created = await phase(`watch-xl-create-${n}`, () => run('xl', ['create', cfg], 120_000));
  const domid = Number((await run('xl', ['domid', name])).stdout.trim());
  if (
    !check(
      `watch-xl-create-${n}`,
      created.code === 0 && domid > 0,
      `xl create ${cfg}: rc=${created.code} in ${created.ms} ms domid=${domid} ${created.stderr.trim().slice(-200)}`,
    )
  )
    return undefined;
  const port = await phase(`watch-console-port-${n}`, () =>
    waitNode(`/local/domain/${domid}/console/vnc-port`, (v) => v === String(5900 + domid), 90_000),
  );
  const pid = await daemon.servingPid(domid, 30_000);
  const drawn = await waitDomuOf(name, (l) => l.frames.length > 0, 60_000);
  const vnc = port ? await RawRfbClient.connect('127.0.0.1', 5900 + domid).catch(() => undefined) : undefined;
  const diff = vnc ? await phase(`watch-screen-${n}`, () => screenMatches(vnc, WIDTH, HEIGHT, 60_000)) : 'no VNC connection';
  check(
    `watch-console-${n}`,
    port !== undefined && pid !== undefined && drawn !== undefined && diff === null,
    `console/vnc-port=${port ?? (await xsRead(`/local/domain/${domid}/console/vnc-port`))} (want ${5900 + domid}); backend pid ${pid}; ` +
      `pattern ${diff ?? 'pixel for pixel'} ${((Date.now() - t0) / 1000).toFixed(1)} s after xl create`,
  );
  return { name, domid, vnc, pid };
}

/** kill -9 of the domain's backend: restarted by the daemon, the client reconnects to the same picture, the guest runs on. */
async function checkKill(daemon: WatchDaemon, g: Guest): Promise<void> {
  const from = daemon.lines.length;
  const framesBefore = domuLogOf(g.name).frames.length;
  const t0 = Date.now();
  process.kill(g.pid!, 'SIGKILL');
  g.vnc?.close();
  const pid = await phase('watch-kill9-restart', () => daemon.servingPid(g.domid, 90_000, from));
  let screen = 'no new backend';
  if (pid !== undefined) {
    let vnc: RawRfbClient | undefined;
    const deadline = Date.now() + 30_000;
    while (!vnc && Date.now() < deadline)
      vnc = await RawRfbClient.connect('127.0.0.1', 5900 + g.domid).catch(() => sleep(500).then(() => undefined));
    screen = vnc ? ((await screenMatches(vnc, WIDTH, HEIGHT, 30_000)) ?? 'the same pattern pixel for pixel') : 'could not reconnect';
    g.vnc = vnc;
  }
  const domid = Number((await run('xl', ['domid', g.name])).stdout.trim());
  const fe = { vfb: await xsRead(`${frontendPath('vfb', g.domid)}/state`), vkbd: await xsRead(`${frontendPath('vkbd', g.domid)}/state`) };
  const rebooted = domuLogOf(g.name).frames.length !== framesBefore;
  check(
    'watch-kill9',
    pid !== undefined &&
      pid !== g.pid &&
      screen === 'the same pattern pixel for pixel' &&
      domid === g.domid &&
      !rebooted &&
      fe.vfb === '4' &&
      fe.vkbd === '4',
    `backend ${g.pid} killed; new backend ${pid} serving after ${((Date.now() - t0) / 1000).toFixed(1)} s; VNC client: ${screen}; ` +
      `guest ${domid === g.domid ? `still domain ${domid}` : `gone (${domid})`}, ${rebooted ? 'redrew (rebooted?)' : 'not restarted'}, frontends vfb=${fe.vfb} vkbd=${fe.vkbd}`,
  );
  g.pid = pid ?? g.pid;
}

/** xl destroy: the daemon stops the domain's backend within 10 s. */
async function checkDestroy(g: Guest, n: number): Promise<void> {
  g.vnc?.close();
  const d = await phase(`watch-xl-destroy-${n}`, () => run('xl', ['destroy', String(g.domid)], 60_000));
  const ms = g.pid !== undefined ? await gone(g.pid, 10_000 + 500) : undefined;
  check(
    `watch-destroy-${n}`,
    d.code === 0 && ms !== undefined && d.ms + ms <= 10_000,
    `xl destroy rc=${d.code} in ${d.ms} ms; backend ${g.pid} ${ms === undefined ? 'still running 10 s later' : `ended ${ms} ms after it`}`,
  );
}

export async function checkWatch(): Promise<void> {
  const daemon = new WatchDaemon();
  const ready = await phase('watch-ready', () => daemon.waitLine(/xenvfb watch: ready/, 60_000));
  if (!check('watch-ready', ready !== undefined, ready ?? `no ready line; exit ${daemon.child.exitCode}`))
    return void daemon.child.kill('SIGKILL');
  const guests: Guest[] = [];
  for (const [i, w] of WATCH_GUESTS.entries()) {
    const g = await createGuest(daemon, w.name, w.cfg, i + 1);
    if (g) guests.push(g);
  }
  if (guests.length === 2) {
    // Both consoles at once: each client still gets its own guest's picture, from its own backend.
    const both = await Promise.all(guests.map((g) => (g.vnc ? screenMatches(g.vnc, WIDTH, HEIGHT, 30_000) : 'no client')));
    check(
      'watch-two-domains',
      both.every((d) => d === null) && guests[0]!.pid !== guests[1]!.pid && guests.every((g) => g.pid !== undefined && alive(g.pid)),
      guests.map((g, i) => `domain ${g.domid}: backend ${g.pid}, screen ${both[i] ?? 'pattern'}`).join('; '),
    );
  }
  const first = guests[0];
  if (first) {
    await hostSpiceGrab(first.domid);
    if (first.pid !== undefined) await checkKill(daemon, first);
  }
  for (const [i, g] of guests.entries()) await checkDestroy(g, i + 1);
  daemon.child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => {
    if (daemon.child.exitCode !== null) return resolve(daemon.child.exitCode);
    const t = setTimeout(() => resolve(null), 20_000);
    daemon.child.once('exit', (c) => (clearTimeout(t), resolve(c)));
  });
  check('watch-stop', code === 0, `SIGTERM -> exit ${code}`);
}
