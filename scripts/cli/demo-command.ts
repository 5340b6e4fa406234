// `xenvfb demo` (what `npm start` runs): a simulated host in this process (xenstored, grant
// tables, event channels), domain 1 with a vfb and a vkbd device created the way libxl does,
// and two child processes: the guest (our frontends + a workload) and its backend.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { SimHypervisor } from '../../shared/platform/sim/hypervisor';
import { addDevice } from '../../shared/platform/sim/toolstack';
import { XsClient } from '../../shared/xenstore/client';
import { createLogger } from '../../shared/log';
import { spawnXenvfb, stopChild } from './children';
import { formatHostPort, type HostPort } from './args';
import type { WorkloadName } from '../../frontend/workloads';
import { type VncSecurityFlags, vncSecurityArgs, vncSecurityFromFlags } from './vnc-security-flags';
import { type SpiceFlags, spiceArgs, spiceFromFlags } from './spice-flags';
import { loadSpicePassword } from '../../backend/spice/ticket';
import { SPICE_WEB_PAGE, spiceWebClient } from '../../backend/spice/web-client';

const DOMID = 1;

interface DemoOptions extends VncSecurityFlags, SpiceFlags {
  vnc: HostPort;
  /** false with --no-web */
  web: HostPort | false;
  workload: WorkloadName;
  image?: string;
  simDir?: string;
  restartGuest: boolean;
  verbose?: boolean;
  dirtyTiles?: boolean;
  grantFb?: boolean;
  tilePeriod?: number;
  /** false with --no-refine-damage */
  refineDamage?: boolean;
}

function makeSimDir(explicit?: string): { dir: string; owned: boolean } {
  if (explicit) {
    fs.mkdirSync(explicit, { recursive: true });
    return { dir: path.resolve(explicit), owned: false };
  }
  // Guest memory lives in files here: prefer tmpfs.
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  return { dir: fs.mkdtempSync(path.join(base, 'xenvfb-demo-')), owned: true };
}

export async function runDemoCommand(opts: DemoOptions): Promise<void> {
  if (opts.workload === 'still' && !opts.image) {
    process.stderr.write('xenvfb demo: --workload still shows a PNG; give it with --image FILE.png\n');
    process.exit(2);
  }
  if (opts.image && !fs.existsSync(opts.image)) {
    process.stderr.write(`xenvfb demo: image ${opts.image} does not exist\n`);
    process.exit(2);
  }
  const log = createLogger({ name: 'demo', level: opts.verbose ? 'info' : 'warn' });
  vncSecurityFromFlags(opts, log); // fail here, not in the backend child
  // The demo serves SPICE like VNC: without a SPICE password, ticketing is off (a warning
  // says so when the address is not loopback).
  if (opts.spice && !opts.spiceDisableTicketing && loadSpicePassword(opts.spicePasswordFile) === null) opts.spiceDisableTicketing = true;
  spiceFromFlags(opts, log);
  const { dir, owned } = makeSimDir(opts.simDir);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const hv = await SimHypervisor.start({ dir, log });
  const xsPath = path.join(dir, 'xenstored', 'socket');
  const xs = await XsClient.connect({ path: xsPath });
  await hv.createDomain(DOMID, { name: 'xenvfb-demo', memoryMiB: 64 });
  await addDevice(xs, { kind: 'vfb', domid: DOMID, devid: 0 });
  await addDevice(xs, { kind: 'vkbd', domid: DOMID, devid: 0 });

  const childEnv = {
    XENVFB_SIM_DIR: dir,
    XENSTORED_PATH: xsPath,
    XENVFB_LOG_LEVEL: opts.verbose ? 'info' : 'warn',
  };
  const relayErr = (who: string) => (line: string) => process.stderr.write(`[${who}] ${line}\n`);
  let stopping = false;
  let guest: ChildProcess | undefined;
  let backend: ChildProcess | undefined;

  const startGuest = () => {
    const args = ['guest', '--domid', String(DOMID), '--sim-dir', dir, '--workload', opts.workload];
    if (opts.image) args.push('--image', path.resolve(opts.image));
    if (opts.dirtyTiles === false) args.push('--no-dirty-tiles');
    if (opts.grantFb === false) args.push('--no-grant-fb');
    guest = spawnXenvfb(args, {
      env: childEnv,
      onStdoutLine: (line) => {
        try {
          const msg = JSON.parse(line) as { event?: string };
          if (msg.event === 'input') say(`guest input: ${line}`);
          else if (msg.event === 'ready') say(`guest ready: ${line}`);
          else if (msg.event === 'resized' || msg.event === 'resize-failed') say(`guest ${msg.event}: ${line}`);
        } catch {
          say(`[guest] ${line}`);
        }
      },
      onStderrLine: relayErr('guest'),
    });
    say(`guest pid ${guest.pid}`);
    guest.once('exit', (code, signal) => {
      if (stopping) return;
      say(`guest exited (${signal ?? `code ${code}`})${opts.restartGuest ? '; restarting it in 1 s' : ''}`);
      if (opts.restartGuest) setTimeout(() => !stopping && startGuest(), 1000);
    });
  };
  const startBackend = () => {
    const webArgs = opts.web ? ['--web', formatHostPort(opts.web)] : [];
    const tileArgs = opts.tilePeriod ? ['--tile-period', String(opts.tilePeriod)] : [];
    if (opts.refineDamage === false) tileArgs.push('--no-refine-damage');
    const backendArgs = ['--vnc', formatHostPort(opts.vnc), ...webArgs, ...tileArgs, ...vncSecurityArgs(opts), ...spiceArgs(opts)];
    backend = spawnXenvfb(['backend', '--domid', String(DOMID), ...backendArgs, '--sim-dir', dir], {
      env: childEnv,
      onStdoutLine: (line) => say(`[backend] ${line}`),
      onStderrLine: relayErr('backend'),
    });
    say(`backend pid ${backend.pid}`);
    backend.once('exit', (code, signal) => {
      if (stopping) return;
      say(`backend exited (${signal ?? `code ${code}`}); restarting it in 1 s`);
      setTimeout(() => !stopping && startBackend(), 1000);
    });
  };

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping`);
    await Promise.all([stopChild(guest), stopChild(backend)]);
    xs.close();
    await hv.stop().catch(() => undefined);
    if (owned) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  startBackend();
  startGuest();
  await waitForConnected(xs, 30000).catch((e: Error) => say(`warning: ${e.message}`));
  const port = await xs.tryRead(`/local/domain/${DOMID}/console/vnc-port`);
  const host = (await xs.tryRead(`/local/domain/${DOMID}/console/vnc-listen`)) ?? opts.vnc.host;
  say(`xenvfb demo: domain ${DOMID} (${opts.workload}) is connected`);
  say(
    `  VNC       ${formatHostPort({ host, port: Number(port ?? opts.vnc.port) })}  (e.g. gvncviewer ${host}:${Number(port ?? opts.vnc.port) - 5900})`,
  );
  if (opts.web) say(`  Web       http://${formatHostPort(opts.web)}/  (noVNC in a browser)`);
  const spicePort = await xs.tryRead(`/local/domain/${DOMID}/console/spice-port`);
  if (opts.spice && spicePort) {
    const spiceHost = (await xs.tryRead(`/local/domain/${DOMID}/console/spice-listen`)) ?? opts.spice.host;
    say(
      `  SPICE     ${formatHostPort({ host: spiceHost, port: Number(spicePort) })}  (e.g. remote-viewer spice://${spiceHost}:${spicePort})`,
    );
    if (opts.web && spiceWebClient()) say(`  SPICE web http://${formatHostPort(opts.web)}${SPICE_WEB_PAGE}  (spice-html5 in a browser)`);
  }
  say(`  xenstore  XENSTORED_PATH=${xsPath} xenstore-ls -fp`);
  say(`  sim dir   ${dir}`);
  say('Press Ctrl-C to stop.');
}

/** Both devices Connected on both ends. */
async function waitForConnected(xs: XsClient, timeoutMs: number): Promise<void> {
  const paths = ['vfb', 'vkbd'].flatMap((k) => [
    `/local/domain/0/backend/${k}/${DOMID}/0/state`,
    `/local/domain/${DOMID}/device/${k}/0/state`,
  ]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(paths.map((p) => xs.tryRead(p)));
    if (states.every((s) => s === '4')) return;
    if (Date.now() > deadline) throw new Error(`devices not connected after ${timeoutMs} ms (states ${states.join(',')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
