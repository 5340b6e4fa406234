// The lab's dom0 side (started by dom0-init.sh, compiled to JS at build time): creates the
// stock-kernel domU, runs `xenvfb backend` for it, and checks what a user would check over
// VNC. Prints `LAB PHASE <name> <seconds>` and `LAB CHECK <name> PASS|FAIL <detail>`.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { RawRfbClient } from './rfb-raw-client';
import { BTN_LEFT, EV_KEY, KEY_A, deviceNamed, type DomuLog } from './domu-console';
import { backendWrites, connectionLines } from './xenstored-trace';
import { backendPath, frontendPath, run, sleep, waitNode, writeDeviceNodes, xsChmod, xsRead, xsWrite } from './xen-tools';
import { check, consoleLog, consoleText, domuLogOf, failureCount, phase, screenMatches, waitDomuOf } from './lab-checks';
import { checkWatch } from './dom0-watch';

const REPO = path.resolve(__dirname, '..', '..', '..');
const DOMU_CFG = '/etc/xen/domu.cfg';
const DOMU_NAME = 'labguest';
const CONSOLE_LOG = consoleLog(DOMU_NAME);
/** The domU running our TS frontend (domu-node-init.sh), and the stock domU created by xl's own vfb path. */
const NODE_CFG = '/etc/xen/domu-node.cfg';
const NODE_NAME = 'labnode';
const XLVFB_CFG = '/etc/xen/domu-xlvfb.cfg';
const XLVFB_NAME = 'labxlvfb';
const TRACE = '/run/xenstored.trace';
const WIDTH = 800;
const HEIGHT = 600;

const domuLog = (name = DOMU_NAME): DomuLog => domuLogOf(name);
const waitDomu = (test: (l: DomuLog) => boolean, timeoutMs: number, name = DOMU_NAME) => waitDomuOf(name, test, timeoutMs);

let cmdSeq = 0;
async function domuCommand(domid: number, cmd: string, timeoutMs: number, name = DOMU_NAME): Promise<boolean> {
  const seq = String(++cmdSeq);
  await xsWrite(`/local/domain/${domid}/data/lab-cmd`, `${seq} ${cmd}`);
  return (await waitDomu((l) => l.done.has(seq), timeoutMs, name)) !== undefined;
}

function startBackend(domid: number): ChildProcess {
  const child = spawn(process.execPath, ['scripts/bin/xenvfb.js', 'backend', '--domid', String(domid)], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const echo = (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line) console.log(`BE${domid}| ${line.slice(0, 400)}`);
  };
  child.stdout!.on('data', echo);
  child.stderr!.on('data', echo);
  child.on('exit', (code, sig) => console.log(`BE${domid}| exited code=${code} signal=${sig}`));
  return child;
}

/** xl create -p, device nodes, backend, unpause, frontends Connected. Returns the domid. */
async function bootGuest(
  tag: string,
  cfg = DOMU_CFG,
  name = DOMU_NAME,
  connectMs = 90_000,
): Promise<{ domid: number; backend: ChildProcess; connected: boolean } | undefined> {
  const created = await phase(`${tag}-xl-create`, () => run('xl', ['create', '-p', cfg], 120_000));
  const id = await run('xl', ['domid', name]);
  const domid = Number(id.stdout.trim());
  if (
    !check(
      `${tag}-domain-created`,
      created.code === 0 && domid > 0,
      `xl create rc=${created.code} domid=${domid} ${created.stderr.trim().slice(-300)}`,
    )
  )
    return undefined;
  await writeDeviceNodes(domid, WIDTH, HEIGHT);
  // dom0 -> domU command channel; the guest owns the node so it can read it.
  await xsWrite(`/local/domain/${domid}/data/lab-cmd`, '0 none');
  await xsChmod(`/local/domain/${domid}/data/lab-cmd`, `n${domid}`);
  const backend = startBackend(domid);
  const initWait = await phase(`${tag}-backend-initwait`, async () => ({
    vfb: await waitNode(`${backendPath('vfb', domid)}/state`, (v) => v === '2' || v === '4', 90_000),
    vkbd: await waitNode(`${backendPath('vkbd', domid)}/state`, (v) => v === '2' || v === '4', 30_000),
  }));
  check(
    `${tag}-backend-initwait`,
    initWait.vfb !== undefined && initWait.vkbd !== undefined,
    `backend states vfb=${initWait.vfb} vkbd=${initWait.vkbd}`,
  );
  await run('xl', ['unpause', String(domid)]);
  const fe = await phase(`${tag}-frontends-connected`, async () => ({
    vfb: await waitNode(`${frontendPath('vfb', domid)}/state`, (v) => v === '4', connectMs),
    vkbd: await waitNode(`${frontendPath('vkbd', domid)}/state`, (v) => v === '4', 30_000),
  }));
  const be = {
    vfb: await run('xenstore-read', [`${backendPath('vfb', domid)}/state`]),
    vkbd: await run('xenstore-read', [`${backendPath('vkbd', domid)}/state`]),
  };
  const connected = check(
    `${tag}-frontends-connected`,
    fe.vfb === '4' && fe.vkbd === '4',
    `frontend vfb=${fe.vfb} vkbd=${fe.vkbd}; backend vfb=${be.vfb.stdout.trim()} vkbd=${be.vkbd.stdout.trim()}`,
  );
  if (!connected) await diagnose(tag, domid, name);
  return { domid, backend, connected };
}

async function checkScreenAndInput(tag: string, domid: number): Promise<RawRfbClient | undefined> {
  const drawn = await phase(`${tag}-domu-drawn`, () => waitDomu((l) => l.frames.length > 0 || l.errors.length > 0, 90_000));
  if (
    !check(
      `${tag}-domu-drew-pattern`,
      !!drawn?.frames.length,
      JSON.stringify(drawn?.frames ?? 'no LABU FB line') + (drawn?.errors.join(';') ?? ''),
    )
  )
    return undefined;
  const vnc = await RawRfbClient.connect('127.0.0.1', 5900 + domid).catch(
    (e: unknown) => (check(`${tag}-vnc-connect`, false, String(e)), undefined),
  );
  if (!vnc) return undefined;
  const diff = await phase(`${tag}-vnc-screen`, () => screenMatches(vnc, WIDTH, HEIGHT, 30_000));
  check(`${tag}-screen-pattern`, diff === null, diff ?? `${WIDTH}x${HEIGHT} pixel for pixel after ${vnc.updates} updates`);
  return vnc;
}

/** A key and a click from the VNC client reach the domU's /dev/input/event* (checks `<prefix>key`, `<prefix>click`). */
async function checkInput(vnc: RawRfbClient, name = DOMU_NAME, prefix = ''): Promise<void> {
  const log = () => domuLog(name);
  const before = log().events.length;
  const kbd = deviceNamed(log(), 'Keyboard');
  const ptr = deviceNamed(log(), 'Pointer');
  vnc.key(0x61, true); // XK_a
  vnc.key(0x61, false);
  const key = await phase(`${prefix}key`, () =>
    waitDomu(
      (l) => l.events.slice(before).some((e) => e.device === kbd && e.type === EV_KEY && e.code === KEY_A && e.value === 0),
      20_000,
      name,
    ),
  );
  const keyEvents = log()
    .events.slice(before)
    .filter((e) => e.type === EV_KEY);
  check(`${prefix}key`, key !== undefined, `XK_a -> ${kbd}: ${JSON.stringify(keyEvents.slice(0, 4))}`);
  const mid = log().events.length;
  vnc.pointer(100, 50, 1);
  vnc.pointer(100, 50, 0);
  const click = await phase(`${prefix}click`, () =>
    waitDomu(
      (l) => l.events.slice(mid).some((e) => e.device === ptr && e.type === EV_KEY && e.code === BTN_LEFT && e.value === 0),
      20_000,
      name,
    ),
  );
  const evs = log()
    .events.slice(mid)
    .filter((e) => e.device === ptr);
  check(`${prefix}click`, click !== undefined, `button 1 at (100,50) -> ${ptr}: ${JSON.stringify(evs.slice(0, 6))}`);
}

async function checkResize(domid: number, vnc: RawRfbClient): Promise<void> {
  const ok = await phase('domu-mode-change', () => domuCommand(domid, 'mode 640 480', 30_000));
  const frames = domuLog().frames;
  if (
    !check('guest-mode-change', ok && frames.at(-1)?.width === 640, `domU frames ${JSON.stringify(frames)} ${domuLog().errors.join(';')}`)
  )
    return;
  const diff = await phase('vnc-resized-screen', () => screenMatches(vnc, 640, 480, 30_000));
  check('resize', diff === null, diff ?? `client saw DesktopSize 640x480 and the 640x480 pattern`);
}

async function checkTeardown(domid: number, backend: ChildProcess): Promise<void> {
  // libxl's device removal on a live domain (libxl_device.c, libxl__initiate_device_generic_remove): online=0 and state=5
  // in one transaction, then up to 10 s for the backend's state=6.
  const t0 = Date.now();
  for (const kind of ['vfb', 'vkbd'] as const)
    await xsWrite(`${backendPath(kind, domid)}/online`, '0', `${backendPath(kind, domid)}/state`, '5');
  const closed = await phase('backend-closing-to-closed', async () => ({
    vfb: await waitNode(`${backendPath('vfb', domid)}/state`, (v) => v === '6', 10_000),
    vkbd: await waitNode(`${backendPath('vkbd', domid)}/state`, (v) => v === '6', 10_000),
  }));
  const ms = Date.now() - t0;
  check(
    'teardown-handshake',
    closed.vfb === '6' && closed.vkbd === '6' && ms <= 10_000,
    `online=0,state=5 -> backend state vfb=${closed.vfb} vkbd=${closed.vkbd} after ${ms} ms`,
  );
  // xl destroy of a dying domain takes libxl's forced path: it writes state=6 itself and
  // removes the directories, so the check is that it finishes promptly and cleanly.
  const traceAt = fs.existsSync(TRACE) ? fs.statSync(TRACE).size : 0;
  const d = await phase('xl-destroy', () => run('xl', ['destroy', String(domid)], 60_000));
  await sleep(300);
  const trace = fs.existsSync(TRACE) ? fs.readFileSync(TRACE, 'latin1').slice(traceAt) : '';
  const vfb = backendWrites(trace, backendPath('vfb', domid));
  const vkbd = backendWrites(trace, backendPath('vkbd', domid));
  const gone = (await run('xenstore-exists', [`/local/domain/0/backend/vfb/${domid}`])).code !== 0;
  const timedOut = /time(d)? ?out/i.test(d.stderr);
  check(
    'xl-destroy',
    d.code === 0 && !timedOut && d.ms < 10_000 && gone,
    `rc=${d.code} in ${d.ms} ms; backend dir removed=${gone}; writes during destroy vfb ${vfb.join(',') || 'none'}, vkbd ${vkbd.join(',') || 'none'}; ${d.stderr.trim().slice(-300)}`,
  );
  backend.kill('SIGTERM');
  await sleep(1000);
}

/**
 * Our TS frontend in a domU (domu-node-init.sh): `xenvfb guest` on the xen platform, pages by
 * gntalloc (grant-fb), dirty tiles, against `xenvfb backend` here. Then the native test there.
 */
async function checkTsFrontend(): Promise<void> {
  const booted = await bootGuest('tsfront', NODE_CFG, NODE_NAME, 180_000);
  if (!booted) return;
  const { domid, backend } = booted;
  const failuresBefore = failureCount();
  if (!booted.connected) {
    for (const c of [
      'tsfront-connected',
      'tsfront-dirty-tiles',
      'tsfront-screen',
      'tsfront-input',
      'tsfront-guest-stop',
      'tsfront-guest-restart',
      'native-xen-test-domu',
      'tsfront-poweroff',
    ])
      check(c, false, 'skipped: the TS frontend never reached Connected (see LAB DIAG tsfront)');
    await phase('tsfront-destroy', () => run('xl', ['destroy', String(domid)], 60_000));
    backend.kill('SIGTERM');
    return;
  }
  const fe = frontendPath('vfb', domid);
  const be = backendPath('vfb', domid);
  const lines = () =>
    consoleText(NODE_NAME)
      .split('\n')
      .filter((l) => l.includes('LABT '))
      .map((l) => l.slice(l.indexOf('LABT ') + 5).replace(/\r+$/, ''));
  const guestLines = () => lines().filter((l) => l.startsWith('G '));
  for (const l of lines().filter((l) => /^(BOOT|GNTALLOC|INSMOD)/.test(l))) console.log(`LAB tsfront domU ${l}`);
  const nodes: Record<string, string | undefined> = {};
  for (const k of ['page-gref', 'page-ref', 'grant-fb', 'dirty-tiles-gref', 'event-channel']) nodes[k] = await xsRead(`${fe}/${k}`);
  const reqTiles = await xsRead(`${be}/request-dirty-tiles`);
  check(
    'tsfront-connected',
    nodes['grant-fb'] === '1' && nodes['page-gref'] !== undefined && nodes['page-ref'] === undefined,
    `frontend ${JSON.stringify(nodes)}; vkbd page-gref=${await xsRead(`${frontendPath('vkbd', domid)}/page-gref`)}`,
  );
  const connected = await waitDomu(() => guestLines().some((l) => l.includes('framebuffer connected')), 30_000, NODE_NAME);
  const fbLine = guestLines().find((l) => l.includes('framebuffer connected')) ?? 'no "framebuffer connected" log line';
  check(
    'tsfront-dirty-tiles',
    reqTiles === '1' && nodes['dirty-tiles-gref'] !== undefined && connected !== undefined && /"dirtyTiles":true/.test(fbLine),
    `backend request-dirty-tiles=${reqTiles}; frontend dirty-tiles-gref=${nodes['dirty-tiles-gref']}; guest: ${fbLine.slice(0, 200)}`,
  );
  const vnc = await RawRfbClient.connect('127.0.0.1', 5900 + domid).catch(
    (e: unknown) => (check('tsfront-vnc-connect', false, String(e)), undefined),
  );
  if (vnc) {
    const diff = await phase('tsfront-vnc-screen', () => screenMatches(vnc, WIDTH, HEIGHT, 60_000));
    check('tsfront-screen', diff === null, diff ?? `${WIDTH}x${HEIGHT} still image pixel for pixel after ${vnc.updates} updates`);
    vnc.key(0x61, true); // XK_a -> KEY_A (30)
    vnc.key(0x61, false);
    const isKey = (l: string) => /"event":"input"/.test(l) && /"type":"key"/.test(l) && /"keycode":30\b/.test(l);
    const got = await phase('tsfront-key', () => waitDomu(() => guestLines().some(isKey), 20_000, NODE_NAME));
    const keys = guestLines().filter((l) => /"event":"input"/.test(l));
    check('tsfront-input', got !== undefined, `XK_a -> ${keys.slice(0, 2).join(' ').slice(0, 300) || 'no input event in the guest'}`);
    vnc.close();
  }
  await checkGuestStopStart(domid, backend, guestLines);
  // The native addon's real paths inside a guest: evtchn, gntalloc -> gntdev, no privcmd.
  const ok = await phase('tsfront-native-xen-test-domu', () => domuCommand(domid, 'native', 150_000, NODE_NAME));
  const m = lines().filter((l) => l.startsWith('M ') || l.startsWith('MOCHA'));
  for (const l of m) console.log(`MOCHA-DOMU| ${l.replace(/^M /, '')}`);
  const rc = /MOCHA rc=(\d+)/.exec(m.join('\n'))?.[1];
  check('native-xen-test-domu', ok && rc === '0', `mocha in domU rc=${rc ?? 'none'}`);
  for (const l of guestLines().slice(0, 30)) console.log(`LABT| ${l.slice(2, 400)}`);
  if (failureCount() > failuresBefore) await diagnose('tsfront', domid, NODE_NAME);
  await checkPoweroff(domid, backend);
}

/**
 * A clean stop of the guest process (SIGTERM): its frontends go Closed, the backend follows
 * and keeps running; started again, the guest reconnects and its screen is back over VNC.
 */
async function checkGuestStopStart(domid: number, backend: ChildProcess, guestLines: () => string[]): Promise<void> {
  const exits = () => guestLines().filter((l) => l.startsWith('G guest exited'));
  const exitsBefore = exits().length;
  const stopped = await phase('tsfront-guest-stop', async () => {
    const done = await domuCommand(domid, 'stop-guest', 90_000, NODE_NAME);
    const states: Record<string, string | undefined> = {};
    for (const kind of ['vfb', 'vkbd'] as const) {
      states[`fe-${kind}`] = await waitNode(`${frontendPath(kind, domid)}/state`, (v) => v === '6', 20_000);
      states[`be-${kind}`] = await waitNode(`${backendPath(kind, domid)}/state`, (v) => v === '6', 20_000);
    }
    return { done, states };
  });
  const exit = exits()[exitsBefore] ?? 'no exit line';
  check(
    'tsfront-guest-stop',
    stopped.done && exit.endsWith('rc=0') && Object.values(stopped.states).every((v) => v === '6') && backend.exitCode === null,
    `SIGTERM -> ${exit.slice(2)}; states ${JSON.stringify(stopped.states)}; backend ${backend.exitCode === null ? 'running' : `exited ${backend.exitCode}`}`,
  );
  await domuCommand(domid, 'start-guest', 20_000, NODE_NAME);
  const fe = await phase('tsfront-guest-restart', async () => ({
    vfb: await waitNode(`${frontendPath('vfb', domid)}/state`, (v) => v === '4', 120_000),
    vkbd: await waitNode(`${frontendPath('vkbd', domid)}/state`, (v) => v === '4', 30_000),
  }));
  let screen = 'not tried';
  if (fe.vfb === '4' && fe.vkbd === '4') {
    const vnc = await RawRfbClient.connect('127.0.0.1', 5900 + domid).catch((e: unknown) => String(e));
    if (typeof vnc === 'string') screen = vnc;
    else {
      screen = (await screenMatches(vnc, WIDTH, HEIGHT, 60_000)) ?? 'the pattern pixel for pixel';
      vnc.close();
    }
  }
  check(
    'tsfront-guest-restart',
    fe.vfb === '4' && fe.vkbd === '4' && screen === 'the pattern pixel for pixel',
    `started again: frontend vfb=${fe.vfb} vkbd=${fe.vkbd}; VNC: ${screen}`,
  );
}

/** The domU powers itself off: xl's reaper tears the domain and its devices down; the backend lets go. */
async function checkPoweroff(domid: number, backend: ChildProcess): Promise<void> {
  await xsWrite(`/local/domain/${domid}/data/lab-cmd`, `${++cmdSeq} poweroff`);
  const gone = await phase('tsfront-poweroff', async () => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if ((await run('xl', ['domid', NODE_NAME])).code !== 0) return true;
      await sleep(500);
    }
    return false;
  });
  const dirGone = (await run('xenstore-exists', [`/local/domain/0/backend/vfb/${domid}`])).code !== 0;
  check(
    'tsfront-poweroff',
    gone && dirGone && backend.exitCode === null,
    `poweroff -f in the domU: domain ${gone ? 'gone' : 'still there after 60 s'}; backend dir ${dirGone ? 'removed' : 'still there'}; backend ${backend.exitCode === null ? 'running' : `exited ${backend.exitCode}`}`,
  );
  if (!gone) await phase('tsfront-destroy', () => run('xl', ['destroy', String(domid)], 60_000));
  backend.kill('SIGTERM');
}

/**
 * libxl's own vfb path: `vfb = [ 'vnc=0,sdl=0' ]` with our device-model stand-in
 * (scripts/hooks/xl-device-model.ts as /usr/sbin/xenvfb-dm), which starts `xenvfb backend --domid N`.
 */
async function checkXlVfb(): Promise<void> {
  const created = await phase('xlvfb-xl-create', () => run('xl', ['create', '-p', XLVFB_CFG], 120_000));
  const domid = Number((await run('xl', ['domid', XLVFB_NAME])).stdout.trim());
  const dmLog = () => {
    const f = `/var/log/xen/qemu-dm-${XLVFB_NAME}.log`;
    return fs.existsSync(f) ? fs.readFileSync(f, 'latin1') : '';
  };
  if (
    !check(
      'xl-vfb-created',
      created.code === 0 && domid > 0,
      `xl create rc=${created.code} in ${created.ms} ms domid=${domid} ${created.stderr.trim().slice(-300)} | dm: ${dmLog().slice(-300)}`,
    )
  )
    return;
  const initWait = await phase('xlvfb-backend-initwait', () =>
    waitNode(`${backendPath('vfb', domid)}/state`, (v) => v === '2' || v === '4', 90_000),
  );
  await run('xl', ['unpause', String(domid)]);
  const fe = await phase('xlvfb-frontends-connected', async () => ({
    vfb: await waitNode(`${frontendPath('vfb', domid)}/state`, (v) => v === '4', 90_000),
    vkbd: await waitNode(`${frontendPath('vkbd', domid)}/state`, (v) => v === '4', 30_000),
  }));
  for (const l of dmLog()
    .split('\n')
    .filter((l) => l.startsWith('xenvfb-dm'))
    .slice(0, 12))
    console.log(`DM| ${l}`);
  check(
    'xl-vfb-connected',
    initWait !== undefined && fe.vfb === '4' && fe.vkbd === '4',
    `backend vfb state reached ${initWait}; frontend vfb=${fe.vfb} vkbd=${fe.vkbd}; dm state ${await xsRead(`/local/domain/0/device-model/${domid}/state`)}`,
  );
  const drawn = await phase('xlvfb-domu-drawn', () => waitDomu((l) => l.frames.length > 0, 60_000, XLVFB_NAME));
  const vnc = drawn ? await RawRfbClient.connect('127.0.0.1', 5900 + domid).catch(() => undefined) : undefined;
  if (vnc) {
    const diff = await phase('xlvfb-vnc-screen', () => screenMatches(vnc, WIDTH, HEIGHT, 30_000));
    check('xl-vfb-screen', diff === null, diff ?? `${WIDTH}x${HEIGHT} pattern pixel for pixel over VNC`);
    await checkInput(vnc, XLVFB_NAME, 'xl-vfb-');
    vnc.close();
  } else check('xl-vfb-screen', false, drawn ? 'VNC connect failed' : 'the domU never drew its pattern');
  if (failureCount() > 0 && (initWait === undefined || fe.vfb !== '4' || !vnc)) await diagnose('xlvfb', domid, XLVFB_NAME);
  await phase('xlvfb-destroy', () => run('xl', ['destroy', String(domid)], 60_000));
  const pidFile = `/run/xen/xenvfb-backend-${domid}.pid`;
  if (fs.existsSync(pidFile)) {
    try {
      process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGTERM');
    } catch {
      // already gone
    }
  }
}

async function runNativeXenTest(foreignDomid?: number): Promise<void> {
  const test = path.join(REPO, 'test/lab/native-xen.test.ts');
  if (!fs.existsSync(test)) {
    console.log('LAB CHECK native-xen-test SKIP test/lab/native-xen.test.ts does not exist yet');
    return;
  }
  const r = await phase('native-xen-test', () =>
    run(
      process.execPath,
      // The .js twin (the image is pre-transpiled): no ts-node, no compiler at start.
      [path.join(REPO, 'node_modules/mocha/bin/mocha.js'), '--no-config', '--timeout', '120000', test.replace(/\.ts$/, '.js')],
      300_000,
      foreignDomid === undefined ? {} : { XENVFB_LAB_FOREIGN_DOMID: String(foreignDomid) },
    ),
  );
  for (const line of (r.stdout + r.stderr).split('\n')) if (line.trim()) console.log(`MOCHA| ${line}`);
  check('native-xen-test', r.code === 0, `mocha rc=${r.code}`);
}

/**
 * Echoes every new complete line of the domUs' console logs as `DOMU <name>| <line>`, so the
 * serial log shows what each guest did even when a check hangs (the host prints them with
 * XENVFB_LAB_VERBOSE=1; the raw log has them always). Input-event records are left out.
 */
function followConsoles(): () => void {
  const offsets = new Map<string, number>();
  const dir = '/var/log/xen/console';
  const poll = () => {
    let files: string[] = [];
    try {
      files = fs.readdirSync(dir).filter((f) => /^guest-.*\.log$/.test(f));
    } catch {
      return;
    }
    for (const f of files) {
      const file = path.join(dir, f);
      let text: string;
      try {
        text = fs.readFileSync(file, 'latin1');
      } catch {
        continue;
      }
      let at = offsets.get(file) ?? 0;
      if (text.length < at) at = 0; // removed and recreated
      const end = text.lastIndexOf('\n') + 1;
      if (end <= at) continue;
      const name = f.slice(6, -4);
      for (const line of text.slice(at, end).split('\n')) {
        const l = line.replace(/\r+$/, '');
        if (l && !l.includes('LABU EV ')) console.log(`DOMU ${name}| ${l.slice(0, 300)}`);
      }
      offsets.set(file, end);
    }
  };
  const timer = setInterval(poll, 1000);
  return () => {
    clearInterval(timer);
    poll();
  };
}

/** What the dom0 side sees when a phase is stuck: domains, memory, device states, console tails. */
async function diagnose(tag: string, domid?: number, name?: string): Promise<void> {
  const say = (l: string) => console.log(`LAB DIAG ${tag} ${l.slice(0, 400)}`);
  for (const l of (await run('xl', ['list'], 20_000)).stdout.trim().split('\n')) say(`xl list: ${l}`);
  const free = (await run('xl', ['info'], 20_000)).stdout.split('\n').filter((l) => /^(total|free)_memory/.test(l));
  say(`xl info: ${free.map((l) => l.replace(/\s+/g, ' ')).join('; ')}`);
  say(
    `dom0 meminfo: ${fs
      .readFileSync('/proc/meminfo', 'latin1')
      .split('\n')
      .filter((l) => /^(MemFree|MemAvailable)/.test(l))
      .join('; ')}`,
  );
  if (domid !== undefined) {
    for (const kind of ['vfb', 'vkbd'] as const) {
      const ls = await run('xenstore-ls', ['-f', frontendPath(kind, domid)], 10_000);
      say(`frontend ${kind}: ${ls.stdout.trim().replace(/\n/g, '; ') || ls.stderr.trim()}`);
      say(`backend ${kind} state: ${await xsRead(`${backendPath(kind, domid)}/state`)}`);
    }
  }
  if (domid !== undefined && name === NODE_NAME) {
    // The domU's shell still answers commands when its Node process hangs: ask where it is.
    const answered = await domuCommand(domid, 'diag', 30_000, name);
    say(`domU diag ${answered ? 'follows' : 'did not answer in 30 s'}`);
    // The domU's one connection to xenstored (its kernel's ring): what it asked and was told last.
    const conn = fs.existsSync(TRACE) ? connectionLines(fs.readFileSync(TRACE, 'latin1'), /READ \(data\/lab-cmd /) : [];
    say(`xenstored trace of the domU's ring: ${conn.length} lines, the last 80 follow`);
    for (const l of conn.slice(-80)) say(`  trace| ${l}`);
    for (const l of consoleText(name).split('\n')) {
      const at = l.indexOf('LABT D ');
      if (at >= 0) say(`  ${name}| ${l.slice(at + 7).replace(/\r+$/, '')}`);
    }
  }
  if (name !== undefined) {
    const tail = consoleText(name)
      .split('\n')
      .filter((l) => !l.includes('LABU EV ') && !l.includes('LABT D '))
      .slice(-25);
    say(`console ${name}: ${tail.length} last lines follow`);
    for (const l of tail) say(`  ${name}| ${l.replace(/\r+$/, '')}`);
  }
}

async function main(): Promise<void> {
  const phases = (process.env.LAB_PHASES ?? 'stock+tsfront+xlvfb').split('+');
  console.log(`LAB dom0-lab start node ${process.version} phases ${phases.join(',')}`);
  const stopFollowing = followConsoles();
  const first = phases.includes('stock') ? await bootGuest('boot1') : undefined;
  if (first) {
    const vnc = await checkScreenAndInput('boot1', first.domid);
    if (vnc) {
      await checkInput(vnc);
      await checkResize(first.domid, vnc);
      vnc.close();
    }
    await checkTeardown(first.domid, first.backend);
    fs.rmSync(CONSOLE_LOG, { force: true });
    const second = await bootGuest('reboot');
    if (second) {
      const vnc2 = await checkScreenAndInput('reboot', second.domid);
      vnc2?.close();
      await runNativeXenTest(second.domid);
      await run('xl', ['destroy', String(second.domid)], 60_000);
      second.backend.kill('SIGTERM');
    }
  }
  if (phases.includes('tsfront')) await checkTsFrontend();
  if (phases.includes('xlvfb')) await checkXlVfb();
  if (phases.includes('watch')) await checkWatch();
  if (phases.includes('stock') && !first) await runNativeXenTest();
  stopFollowing();
  console.log(`LAB dom0-lab done failures=${failureCount()}`);
  process.exit(failureCount() ? 1 : 0);
}

main().catch((e: unknown) => {
  console.log(`LAB CHECK dom0-lab FAIL uncaught ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});
