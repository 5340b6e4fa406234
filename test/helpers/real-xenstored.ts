// Runs Debian's real C xenstored (xen-utils-4.17) on this host for differential tests.
// scripts/fetch-xen-utils.sh unpacks it into a cache; here we build the fakexen.so
// LD_PRELOAD shim (test/fixtures/fakexen) against that cache's libxen-dev headers and
// start the daemon in the foreground with its socket in a private temp directory
// (XENSTORED_RUNDIR; test/fixtures/fakexen/fakexen.c says what the shim fakes).

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { XenstoredServer } from '../../shared/xenstore/server/socket-server';
import { errorCode, isXenvfbError } from '../../shared/errors';
import { xsErrno } from '../../shared/xenstore/client';

const REPO = path.resolve(__dirname, '..', '..');
const SHIM_SOURCE = path.join(REPO, 'test', 'fixtures', 'fakexen', 'fakexen.c');
const START_TIMEOUT_MS = 5000;

/** The cache scripts/fetch-xen-utils.sh fills; XENVFB_XEN_CACHE overrides it. */
export function xenCacheDir(): string {
  return process.env.XENVFB_XEN_CACHE ?? path.join(os.homedir(), '.cache', 'xenvfb', 'xen-4.17');
}

export function xenstoredBinary(cache = xenCacheDir()): string {
  return path.join(cache, 'usr', 'lib', 'xen-4.17', 'bin', 'xenstored');
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the real daemon cannot run here, or undefined when it can. */
export function realXenstoredUnavailable(cache = xenCacheDir()): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return `xen-utils-4.17 is x86_64 Linux only (this is ${process.platform}/${process.arch})`;
  if (!fs.existsSync(xenstoredBinary(cache))) return `no xenstored in ${cache}; run scripts/fetch-xen-utils.sh`;
  if (!fs.existsSync(path.join(cache, 'usr', 'include', 'xenctrl.h')))
    return `no libxen-dev headers in ${cache}; run scripts/fetch-xen-utils.sh`;
  if (!hasCommand('gcc')) return 'gcc is missing (needed to build the fakexen.so shim)';
  return undefined;
}

/**
 * Builds fakexen.so into `<cache>/fakexen/` unless an up-to-date one is there. Builds to a
 * temp name and renames, so parallel test processes never load a half-written file.
 */
export function buildFakexen(cache = xenCacheDir()): string {
  const outDir = path.join(cache, 'fakexen');
  const out = path.join(outDir, 'fakexen.so');
  const fresh = fs.existsSync(out) && fs.statSync(out).mtimeMs >= fs.statSync(SHIM_SOURCE).mtimeMs;
  if (fresh) return out;
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  // Same flags as test/fixtures/fakexen/Makefile.
  execFileSync(
    'gcc',
    ['-shared', '-fPIC', '-O2', '-Wall', '-Wextra', `-I${path.join(cache, 'usr', 'include')}`, '-o', tmp, SHIM_SOURCE, '-ldl'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  fs.renameSync(tmp, out);
  return out;
}

/** A running xenstore daemon (ours or the real one) reachable on a unix socket. */
export interface XenstoredUnderTest {
  name: string;
  socketPath: string;
  stop(): Promise<void>;
}

export interface RealXenstored extends XenstoredUnderTest {
  dir: string;
  pid: number;
  /** stderr/stdout of the daemon so far (for failure messages). */
  output(): string;
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path: socketPath });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * Starts `xenstored -N -F <pid>` (foreground; the db is in memory by default) with the
 * shim preloaded. `extraArgs` go after ours (e.g. `['-T', trace]` or quota options).
 */
export async function startRealXenstored(opts: { extraArgs?: string[]; cache?: string } = {}): Promise<RealXenstored> {
  const cache = opts.cache ?? xenCacheDir();
  const reason = realXenstoredUnavailable(cache);
  if (reason) throw new Error(reason);
  const shim = buildFakexen(cache);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-xenstored-'));
  fs.writeFileSync(path.join(dir, 'xsd_kva'), Buffer.alloc(4096));
  fs.writeFileSync(path.join(dir, 'xsd_port'), '1'); // no newline: oxenstored's int_of_string fails on one
  const socketPath = path.join(dir, 'socket');
  const env = {
    ...process.env,
    FAKEXEN_DIR: dir,
    XENSTORED_RUNDIR: dir,
    LD_LIBRARY_PATH: path.join(cache, 'usr', 'lib', 'x86_64-linux-gnu'),
    LD_PRELOAD: shim,
  };
  const child = spawn(xenstoredBinary(cache), ['-N', '-F', path.join(dir, 'pid'), ...(opts.extraArgs ?? [])], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await waitExit(child, 2000))) {
        child.kill('SIGKILL');
        await waitExit(child, 2000);
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(fs.existsSync(socketPath) && (await canConnect(socketPath)))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`xenstored did not come up (exit ${child.exitCode ?? child.signalCode}): ${output.trim()}`);
    }
    await sleep(20);
  }
  return { name: 'C xenstored', socketPath, dir, pid: child.pid!, output: () => output, stop };
}

/** Our embedded XenstoredServer on a temp socket, as dom0 (privileged) like the real one. */
export async function startOurXenstored(): Promise<XenstoredUnderTest & { server: XenstoredServer }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xenvfb-ours-'));
  const socketPath = path.join(dir, 'socket');
  const server = new XenstoredServer();
  await server.listen(socketPath, { domid: 0, privileged: true });
  return {
    name: 'our XenstoredServer',
    socketPath,
    server,
    stop: async () => {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** For a mocha before(): prints why and skips (pending) when the real daemon cannot run. */
export function skipUnlessRealXenstored(ctx: Mocha.Context): void {
  const reason = realXenstoredUnavailable();
  if (reason) {
    console.log(`      (pending: ${reason})`);
    ctx.skip();
  }
}

/**
 * Retries `connect` while the daemon's listen queue is full: C xenstored accepts one
 * connection per main-loop turn with a tiny backlog, so a burst of unix-socket connects
 * fails with EAGAIN (Linux never queues a unix connect past the backlog).
 */
export async function retryConnect<T>(connect: () => Promise<T>, attempts = 50): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await connect();
    } catch (e) {
      // A full listen queue: XS_E_CLOSED from the transport with details.errno EAGAIN.
      const connectErrno = isXenvfbError(e, 'XS_E_CLOSED') ? e.details.errno : undefined;
      const again = errorCode(e) === 'EAGAIN' || connectErrno === 'EAGAIN' || xsErrno(e) === 'EAGAIN';
      if (!again || i >= attempts) throw e;
      await sleep(10);
    }
  }
}
