// `xenvfb demo` (what `npm start` runs): a simulated host in this process (xenstored, grant
// tables, event channels), domain 1 with a vfb and a vkbd device created the way libxl does,
// and two child processes: the guest (our frontends + a workload) and its backend.
// The children end with this process however it ends (process-life.ts); each is restarted
// with backoff and a limit (restart-policy.ts); a backend that cannot listen ends the demo
// with its one-line reason; the banner shows the addresses the backend really listens on.

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
import { REMOVE_ON_ORPHAN_ENV } from './process-life';
import { restartPolicyFromEnv, type RestartPolicy } from './restart-policy';
import { EXIT_CONFIG } from './backend-command';
import { checkListenable } from '../../backend/listen';

const DOMID = 1;

interface DemoOptions extends VncSecurityFlags, SpiceFlags {
  vnc: HostPort;
  /** false with --no-web */
  web: HostPort | false;
  workload: WorkloadName;
  image?: string;
  /** Capture file the replay workload plays into the guest. */
  replayFile?: string;
  simDir?: string;
  restartGuest: boolean;
  metrics?: HostPort;
  restartLimit?: number;
  verbose?: boolean;
  dirtyTiles?: boolean;
  grantFb?: boolean;
  tilePeriod?: number;
  /** false with --no-refine-damage */
  refineDamage?: boolean;
  vncWebsocket?: boolean;
  /** Record the display to this capture file (the backend writes it). */
  capture?: string;
}

interface BackendEvent {
  event?: string;
  message?: string;
  vnc?: string | null;
  web?: string | null;
  control?: string;
  metrics?: string | null;
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
  if (opts.workload === 'replay' && !opts.replayFile) {
    process.stderr.write('xenvfb demo: --workload replay plays a capture into the guest; give it with --replay-file FILE\n');
    process.exit(2);
  }
  if (opts.replayFile && !fs.existsSync(opts.replayFile)) {
    process.stderr.write(`xenvfb demo: capture ${opts.replayFile} does not exist\n`);
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
  try {
    await checkListenable(opts.vnc, 'VNC', '--vnc');
    if (opts.web) await checkListenable(opts.web, 'the web client', '--web');
    if (opts.metrics) await checkListenable(opts.metrics, 'metrics', '--metrics');
    if (opts.spice) await checkListenable(opts.spice, 'SPICE', '--spice');
  } catch (e) {
    process.stderr.write(`xenvfb demo: ${(e as Error).message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const { dir, owned } = makeSimDir(opts.simDir);
  let stopping = false;
  // `npm start | head`: once stdout is gone, say nothing more there and stop everything.
  const say = (line: string) => {
    if (!stopping || line.endsWith(': stopping')) process.stdout.write(`${line}\n`);
  };
  const hv = await SimHypervisor.start({ dir, log });
  const xsPath = path.join(dir, 'xenstored', 'socket');
  const xs = await XsClient.connect({ path: xsPath });
  await hv.createDomain(DOMID, { name: 'xenvfb-demo', memoryMiB: 64 });
  await addDevice(xs, { kind: 'vfb', domid: DOMID, devid: 0 });
  await addDevice(xs, { kind: 'vkbd', domid: DOMID, devid: 0 });

  const childEnv: NodeJS.ProcessEnv = {
    XENVFB_SIM_DIR: dir,
    XENSTORED_PATH: xsPath,
    XENVFB_LOG_LEVEL: opts.verbose ? 'info' : 'warn',
    // Killed with SIGKILL, the demo cannot remove its sim dir: its orphaned children do.
    ...(owned ? { [REMOVE_ON_ORPHAN_ENV]: dir } : {}),
  };
  const relayErr = (who: string) => (line: string) => process.stderr.write(`[${who}] ${line}\n`);
  let guest: ChildProcess | undefined;
  let backend: ChildProcess | undefined;
  const guestRestarts = restartPolicyFromEnv(opts.restartLimit);
  const backendRestarts = restartPolicyFromEnv(opts.restartLimit);
  let listening: (ev: BackendEvent) => void = () => undefined;
  const firstListening = new Promise<BackendEvent>((resolve) => (listening = resolve));

  const shutdown = async (why: string, code: number) => {
    if (stopping) return;
    say(`${why}: stopping`);
    stopping = true;
    await Promise.all([stopChild(guest), stopChild(backend)]);
    xs.close();
    await hv.stop().catch(() => undefined);
    if (owned) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  const fail = (line: string) => {
    process.stderr.write(`xenvfb demo: ${line}\n`);
    void shutdown('error', 1);
  };
  /** Restart `start` after the policy's delay, or end the demo when it gives up. */
  const restartLater = (who: string, policy: RestartPolicy, startedAt: number, how: string, start: () => void) => {
    const d = policy.onExit(startedAt, Date.now());
    if (d.action === 'give-up') {
      fail(`the ${who} exited ${d.failures} times in a row (last: ${how}); giving up (see its messages above)`);
      return;
    }
    say(`${who} exited (${how}); restarting it in ${d.delayMs} ms (failure ${d.failures})`);
    setTimeout(() => !stopping && start(), d.delayMs).unref();
  };

  const startGuest = () => {
    const args = ['guest', '--domid', String(DOMID), '--sim-dir', dir, '--workload', opts.workload];
    if (opts.image) args.push('--image', path.resolve(opts.image));
    if (opts.replayFile) args.push('--replay-file', path.resolve(opts.replayFile));
    if (opts.dirtyTiles === false) args.push('--no-dirty-tiles');
    if (opts.grantFb === false) args.push('--no-grant-fb');
    const startedAt = Date.now();
    guest = spawnXenvfb(args, {
      env: childEnv,
      onStdoutLine: (line) => {
        try {
          const msg = JSON.parse(line) as { event?: string };
          if (msg.event === 'input') say(`guest input: ${line}`);
          else if (msg.event === 'ready') say(`guest ready: ${line}`);
          else if (msg.event === 'resized' || msg.event === 'resize-failed') say(`guest ${msg.event}: ${line}`);
          else if (msg.event === 'damage') say(`guest damage: ${line}`);
        } catch {
          say(`[guest] ${line}`);
        }
      },
      onStderrLine: relayErr('guest'),
    });
    say(`guest pid ${guest.pid}`);
    guest.once('exit', (code, signal) => {
      if (stopping) return;
      const how = signal ?? `code ${code}`;
      if (opts.restartGuest) restartLater('guest', guestRestarts, startedAt, how, startGuest);
      else say(`guest exited (${how})`);
    });
  };
  let captureSaid = false;
  const startBackend = () => {
    // The backend never overwrites a recording: a restarted one writes FILE.1, FILE.2, ...
    const captureArgs = opts.capture ? ['--capture', path.resolve(opts.capture)] : [];
    if (captureArgs.length && !captureSaid) say(`capture   ${captureArgs[1]} (FILE.1, FILE.2, ... if it exists: nothing is overwritten)`);
    captureSaid = true;
    const webArgs = opts.web ? ['--web', formatHostPort(opts.web)] : [];
    const tileArgs = opts.tilePeriod ? ['--tile-period', String(opts.tilePeriod)] : [];
    if (opts.refineDamage === false) tileArgs.push('--no-refine-damage');
    if (opts.vncWebsocket === false) tileArgs.push('--no-vnc-websocket');
    if (opts.metrics) tileArgs.push('--metrics', formatHostPort(opts.metrics));
    const backendArgs = [
      '--vnc',
      formatHostPort(opts.vnc),
      ...webArgs,
      ...tileArgs,
      ...captureArgs,
      ...vncSecurityArgs(opts),
      ...spiceArgs(opts),
    ];
    const startedAt = Date.now();
    let fatal: string | undefined;
    backend = spawnXenvfb(['backend', '--domid', String(DOMID), ...backendArgs, '--sim-dir', dir], {
      env: childEnv,
      onStdoutLine: (line) => {
        let ev: BackendEvent;
        try {
          ev = JSON.parse(line) as BackendEvent;
        } catch {
          say(`[backend] ${line}`);
          return;
        }
        if (ev.event === 'listening') listening(ev);
        else if (ev.event === 'fatal') fatal = ev.message;
        else if (ev.event === 'warning') process.stderr.write(`xenvfb demo: ${ev.message}\n`);
      },
      onStderrLine: relayErr('backend'),
    });
    say(`backend pid ${backend.pid}`);
    backend.once('exit', (code, signal) => {
      if (stopping) return;
      // A configuration error (a port in use) comes back the same on every restart.
      if (code === EXIT_CONFIG) fail(fatal ?? `the backend refused its configuration (exit ${code})`);
      else restartLater('backend', backendRestarts, startedAt, signal ?? `code ${code}`, startBackend);
    });
  };

  process.once('SIGINT', () => void shutdown('SIGINT', 0));
  process.once('SIGTERM', () => void shutdown('SIGTERM', 0));
  process.once('SIGHUP', () => void shutdown('SIGHUP', 0));
  process.stdout.on('error', (e: NodeJS.ErrnoException) => void shutdown(e.code ?? 'stdout error', 0));

  startBackend();
  startGuest();
  const addrs = await firstListening;
  await waitForConnected(xs, 30000).catch((e: Error) => say(`warning: ${e.message}`));
  if (stopping) return;
  const vnc = addrs.vnc ?? formatHostPort(opts.vnc);
  const port = Number(vnc.slice(vnc.lastIndexOf(':') + 1));
  say(`xenvfb demo: domain ${DOMID} (${opts.workload}) is connected`);
  say(`  VNC       ${vnc}  (e.g. gvncviewer ${vnc.slice(0, vnc.lastIndexOf(':'))}:${port - 5900})`);
  if (addrs.web) say(`  Web       http://${addrs.web}/  (noVNC in a browser)`);
  if (addrs.metrics) say(`  Metrics   http://${addrs.metrics}/metrics`);
  if (addrs.control) say(`  Control   xenvfb status --sim-dir ${dir}  (socket ${addrs.control})`);
  const spicePort = await xs.tryRead(`/local/domain/${DOMID}/console/spice-port`);
  if (opts.spice && spicePort) {
    const spiceHost = (await xs.tryRead(`/local/domain/${DOMID}/console/spice-listen`)) ?? opts.spice.host;
    say(
      `  SPICE     ${formatHostPort({ host: spiceHost, port: Number(spicePort) })}  (e.g. remote-viewer spice://${spiceHost}:${spicePort})`,
    );
    if (addrs.web && spiceWebClient()) say(`  SPICE web http://${addrs.web}${SPICE_WEB_PAGE}  (spice-html5 in a browser)`);
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
