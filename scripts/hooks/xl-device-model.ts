// xl's path to xenvfb: a stand-in for QEMU as libxl's device model
// (tools/libs/light/libxl_dm.c), installed as
// /usr/local/sbin/xenvfb-dm by `xenvfb install-hooks` (the real-Xen lab installs it as
// /usr/sbin/xenvfb-dm) and named by `device_model_override` in a domain config with
// `vfb = [ 'vnc=0,sdl=0' ]`. libxl spawns it for the domain's vfb (and the vkbd vfb implies)
// with QEMU's command line; it:
//   1. listens on every `-chardev socket,...,path=P,server=on` and answers libxl's QMP
//      (greeting; `qmp_capabilities` -> {}; `query-chardev` -> []; `query-status` ->
//      running; anything else -> {}): the only commands libxl sends for a PV guest;
//   2. hands the devices to xenvfb: when the `xenvfb watch` daemon runs (its control socket
//      answers) it does nothing, the daemon already serves the domain; otherwise it starts
//      `xenvfb backend --domid N` (its own process
//      group, so it outlives this stand-in when libxl kills it at destroy), pid in
//      /run/xen/xenvfb-backend-<domid>.pid, output appended to our stdout (libxl's
//      /var/log/xen/qemu-dm-<name>.log);
//   3. waits (at most DM_BACKEND_WAIT_MS) until the backend of the domain's vfb is in
//      InitWait, as QEMU reports running only with its backends set up: libxl unpauses the
//      domain next, and a guest that boots before its vfb backend answers has fbfront hold
//      its boot for 30 s ("xenbus_probe_frontend: Timeout connecting to device");
//   4. writes /local/domain/0/device-model/<domid>/state = running, which libxl waits for
//      (without it: "device model: startup timed out" after 60 s).
// Without device_model_override, `xenvfb watch` or the libvirt hook do the same (README,
// "On a Xen host").

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { XsClient } from '../../shared/xenstore/client';
import { XENVFB_BIN } from '../cli/children';

/** The repository (or the tree the command runs from): three levels above scripts/bin/xenvfb.js. */
const REPO = path.resolve(path.dirname(XENVFB_BIN), '..', '..');
/** The watch daemon's control socket (scripts/cli/control-paths.ts). */
const WATCH_SOCKET = path.join(process.env.XENVFB_CONTROL_DIR ?? '/run/xenvfb', 'watch.sock');

export interface DmArgs {
  domid: number;
  name: string | undefined;
  qmpSockets: string[];
}

/** The longest wait for the vfb backend's InitWait before reporting running (libxl allows a device model 60 s). */
export const DM_BACKEND_WAIT_MS = 45_000;

/** The parts of QEMU's command line (as libxl writes it) the stand-in needs. */
export function parseDmArgs(argv: readonly string[]): DmArgs {
  let domid = NaN;
  let name: string | undefined;
  const qmpSockets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === '-xen-domid' && v !== undefined) domid = Number(v);
    else if (a === '-name' && v !== undefined) name = v.split(',')[0];
    else if (a === '-chardev' && v !== undefined && v.startsWith('socket,')) {
      const opts = new Map(v.split(',').map((kv) => [kv.split('=')[0]!, kv.slice(kv.indexOf('=') + 1)] as const));
      const p = opts.get('path');
      if (p && (opts.get('server') === 'on' || opts.has('server'))) qmpSockets.push(p);
    }
  }
  if (!Number.isInteger(domid) || domid <= 0) throw new Error(`no -xen-domid in ${argv.join(' ')}`);
  return { domid, name, qmpSockets };
}

/** Splits a byte stream into top-level JSON objects (QMP has no framing beyond that). */
export class JsonObjectSplitter {
  private buf = '';
  push(chunk: string): unknown[] {
    this.buf += chunk;
    const out: unknown[] = [];
    let depth = 0;
    let inStr = false;
    let esc = false;
    let start = -1;
    let consumed = 0;
    for (let i = 0; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (inStr) {
        if (esc) esc = false;
        else if (c === '\\') esc = true;
        else if (c === '"') inStr = false;
      } else if (c === '"') inStr = true;
      else if (c === '{') {
        if (depth++ === 0) start = i;
      } else if (c === '}' && depth > 0 && --depth === 0) {
        out.push(JSON.parse(this.buf.slice(start, i + 1)));
        consumed = i + 1;
      }
    }
    this.buf = this.buf.slice(depth === 0 ? this.buf.length : consumed);
    return out;
  }
}

/** QMP's reply to one command from libxl. */
export function qmpReply(cmd: { execute?: string; id?: unknown }): Record<string, unknown> {
  let ret: unknown = {};
  if (cmd.execute === 'query-chardev') ret = [];
  else if (cmd.execute === 'query-status') ret = { status: 'running', singlestep: false, running: true };
  else if (cmd.execute === 'query-vnc') ret = { enabled: false };
  return cmd.id === undefined ? { return: ret } : { return: ret, id: cmd.id };
}

const QMP_GREETING = { QMP: { version: { qemu: { micro: 0, minor: 2, major: 7 }, package: 'xenvfb-dm' }, capabilities: [] } };

function serveQmp(socketPath: string, log: (s: string) => void): net.Server {
  fs.rmSync(socketPath, { force: true });
  fs.mkdirSync(path.dirname(socketPath), { recursive: true });
  const server = net.createServer((conn) => {
    conn.write(`${JSON.stringify(QMP_GREETING)}\r\n`);
    const split = new JsonObjectSplitter();
    conn.on('data', (d) => {
      for (const cmd of split.push(d.toString('utf8')) as { execute?: string; id?: unknown }[]) {
        log(`qmp ${path.basename(socketPath)}: ${cmd.execute}`);
        conn.write(`${JSON.stringify(qmpReply(cmd))}\r\n`);
      }
    });
    conn.on('error', () => undefined);
  });
  server.listen(socketPath);
  return server;
}

function startBackend(domid: number, log: (s: string) => void): number | undefined {
  // XENVFB_BIN: the command's entry in the repository, also when this runs compiled (dist/ or
  // the lab's in-place tree, where XENVFB_DIST is set and inherited).
  const child = spawn(process.execPath, [XENVFB_BIN, 'backend', '--domid', String(domid)], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env },
  });
  child.unref();
  try {
    fs.mkdirSync('/run/xen', { recursive: true });
    if (child.pid !== undefined) fs.writeFileSync(`/run/xen/xenvfb-backend-${domid}.pid`, `${child.pid}\n`);
  } catch (e) {
    log(`could not write /run/xen/xenvfb-backend-${domid}.pid: ${(e as Error).message}`);
  }
  log(`started xenvfb backend --domid ${domid}: pid ${child.pid}`);
  return child.pid;
}

/** True when something accepts connections on the unix socket at `p`. */
function answers(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Step 3: returns when a vfb backend of the domain is in InitWait (or Connected), or after DM_BACKEND_WAIT_MS. */
async function backendReady(xs: XsClient, domid: number, log: (s: string) => void): Promise<void> {
  const dir = `/local/domain/0/backend/vfb/${domid}`;
  const devices = await xs.directory(dir).catch(() => [] as string[]);
  if (devices.length === 0) return; // no vfb written by libxl: nothing to wait for
  const deadline = Date.now() + DM_BACKEND_WAIT_MS;
  for (;;) {
    for (const dev of devices) {
      const state = await xs.tryRead(`${dir}/${dev}/state`);
      if (state === '2' || state === '4') return log(`vfb backend ${dev} in state ${state}: the guest can boot`);
    }
    if (Date.now() > deadline) {
      return log(
        `no vfb backend in InitWait after ${DM_BACKEND_WAIT_MS / 1000} s; reporting running anyway (the guest may wait 30 s at boot)`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `xenvfb device-model ARGS` and the lab's /usr/sbin/xenvfb-dm: QEMU's command line in `argv`. */
export async function runDeviceModel(argv: readonly string[]): Promise<void> {
  const t0 = Date.now();
  const log = (s: string) => process.stdout.write(`xenvfb-dm[${((Date.now() - t0) / 1000).toFixed(2)}]: ${s}\n`);
  const args = parseDmArgs(argv);
  log(`domid ${args.domid} name ${args.name} qmp ${args.qmpSockets.join(' ')}`);
  for (const s of args.qmpSockets) serveQmp(s, log);
  if (await answers(WATCH_SOCKET)) log(`xenvfb watch answers on ${WATCH_SOCKET}: it serves domain ${args.domid}`);
  else startBackend(args.domid, log);
  const xs = await XsClient.connect();
  await backendReady(xs, args.domid, log);
  await xs.write(`/local/domain/0/device-model/${args.domid}/state`, 'running');
  xs.close();
  log('device-model state = running');
  // Stay up like QEMU: libxl kills us at destroy (SIGHUP/SIGKILL); the backend lives on.
  process.on('SIGHUP', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

if (require.main === module) {
  runDeviceModel(process.argv.slice(2)).catch((e: unknown) => {
    process.stdout.write(`xenvfb-dm: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
