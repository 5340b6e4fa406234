// `xenvfb watch`: the dom0 daemon (daemon.ts) with its flags, optional JSON config file,
// readiness line / sd_notify, and a control socket of its own (watch.sock: `status` lists
// every domain it serves).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { ControlServer } from '../../../backend/control/server';
import { xerror } from '../../../shared/errors';
import { findSimDir } from '../platform';
import { controlDir, WATCH_SOCKET } from '../control-paths';
import { stopOnSignals } from '../process-life';
import { DEFAULT_WATCH_CONFIG, parseWatchConfig, type WatchConfig } from './config';
import { WatchDaemon } from './daemon';
import { notifyReady, say } from './notify';
import { EXIT_CONFIG } from '../backend-command';
import { formatHostPort, type HostPort, parseHostPort } from '../args';
import { listenError } from '../../../backend/listen';
import { HostPageServer } from './host-page';

interface WatchFlags {
  config?: string;
  listen?: string;
  portBase?: number;
  portRange?: { from: number; to: number };
  webBase?: number;
  metricsBase?: number;
  spiceBase?: number;
  spicePasswordFile?: string;
  passwordFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  security?: string;
  restartLimit?: number;
  vncWebsocket?: boolean;
  simDir?: string;
  controlDir?: string;
  http?: HostPort;
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d{1,5}$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError(`expected a port from 1 to 65535, got "${v}"`);
  return n;
}

function parseRange(v: string): { from: number; to: number } {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected FROM-TO (e.g. 5900-5999), got "${v}"`);
  const from = parsePort(m[1]!);
  const to = parsePort(m[2]!);
  if (to < from) throw new InvalidArgumentError(`${to} is below ${from}`);
  return { from, to };
}

/** Defaults, then the config file, then the flags given on the command line. */
export function watchConfigFrom(flags: WatchFlags): WatchConfig {
  let cfg = DEFAULT_WATCH_CONFIG;
  if (flags.config) {
    let text: string;
    try {
      text = fs.readFileSync(flags.config, 'utf8');
    } catch (e) {
      throw xerror('CFG_E_INVALID', `config ${flags.config}: ${(e as Error).message}`, { key: '(file)' });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw xerror('CFG_E_INVALID', `config ${flags.config}: not valid JSON (${(e as Error).message})`, { key: '(file)' });
    }
    cfg = parseWatchConfig(json, cfg);
  }
  cfg = { ...cfg };
  if (flags.listen) cfg.listen = flags.listen;
  if (flags.portBase !== undefined) cfg.ports = { policy: 'base', base: flags.portBase };
  if (flags.portRange) cfg.ports = { policy: 'range', ...flags.portRange };
  if (flags.webBase !== undefined) cfg.web = { base: flags.webBase };
  if (flags.metricsBase !== undefined) cfg.metrics = { base: flags.metricsBase };
  if (flags.spiceBase !== undefined) {
    if (!flags.spicePasswordFile && !cfg.spice?.passwordFile) {
      throw xerror(
        'CFG_E_INVALID',
        '--spice-base needs --spice-password-file (the SPICE ticket), or "disableTicketing" in the config file',
        {
          key: 'spice',
        },
      );
    }
    cfg.spice = { ...(cfg.spice ?? {}), base: flags.spiceBase };
  }
  if (flags.spicePasswordFile && cfg.spice) cfg.spice = { ...cfg.spice, passwordFile: path.resolve(flags.spicePasswordFile) };
  for (const k of ['passwordFile', 'tlsCert', 'tlsKey', 'security'] as const)
    if (flags[k]) cfg[k] = k === 'security' ? flags[k] : path.resolve(flags[k]!);
  if (flags.restartLimit !== undefined) cfg.restart = { ...cfg.restart, limit: flags.restartLimit };
  if (flags.vncWebsocket === false) cfg.vncWebsocket = false;
  const base = Number(process.env.XENVFB_RESTART_BASE_MS);
  if (Number.isInteger(base) && base > 0) cfg.restart = { ...cfg.restart, baseMs: base };
  return cfg;
}

export function registerWatchCommand(program: Command): void {
  program
    .command('watch')
    .description('dom0 daemon: run one supervised `xenvfb backend` per domain with vfb/vkbd devices (toolstack-started)')
    .option(
      '--config <file.json>',
      'JSON configuration (listen address, port policy, TLS, password files, per-domain overrides; see README)',
    )
    .option('--listen <host>', 'address of every VNC/web/metrics listener (default 127.0.0.1)')
    .option('--port-base <port>', 'VNC port = base + domid (default 5900)', parsePort)
    .option('--port-range <from-to>', 'VNC port = the lowest free one in this range instead', parseRange)
    .option('--web-base <port>', 'also serve the noVNC page on base + domid', parsePort)
    .option('--metrics-base <port>', 'also serve Prometheus metrics on base + domid', parsePort)
    .option('--spice-base <port>', 'also serve SPICE on base + domid (with --spice-password-file)', parsePort)
    .option('--spice-password-file <file>', 'SPICE ticket (password) file for every backend')
    .option('--password-file <file>', 'VNC password file for every backend')
    .option('--tls-cert <pem>', 'certificate for the X509 VeNCrypt types (with --tls-key)')
    .option('--tls-key <pem>', 'private key for --tls-cert')
    .option('--security <list>', 'security types offered, as for xenvfb backend')
    .option('--restart-limit <n>', 'restarts in a row before a domain is given up (default 5)', (v) => {
      if (!/^\d{1,4}$/.test(v)) throw new InvalidArgumentError(`expected a count, got "${v}"`);
      return Number(v);
    })
    .option('--no-vnc-websocket', 'every backend: no WebSocket on the VNC port, RFB clients greeted at once (config vncWebsocket)')
    .option('--http <host:port>', 'serve a host page listing every domain with a live thumbnail and links to its consoles', parseHostPort)
    .option('--sim-dir <dir>', 'serve the simulator in <dir> instead of this Xen host')
    .option('--control-dir <dir>', 'control sockets: watch.sock and each backend domain-N.sock (default /run/xenvfb)')
    .action(runWatchCommand);
}

export async function runWatchCommand(flags: WatchFlags): Promise<void> {
  let config: WatchConfig;
  try {
    config = watchConfigFrom(flags);
  } catch (e) {
    say('error', `xenvfb watch: ${(e as Error).message}`);
    process.exit(EXIT_CONFIG);
  }
  const simDir = findSimDir(flags.simDir);
  const dir = flags.controlDir ? path.resolve(flags.controlDir) : controlDir(simDir);
  const daemon = new WatchDaemon({
    config,
    ...(simDir ? { simDir, xenstorePath: path.join(simDir, 'xenstored', 'socket') } : {}),
    controlDir: dir,
  });
  let control: ControlServer;
  try {
    control = await ControlServer.listen(path.join(dir, WATCH_SOCKET), (req) => {
      if (req.op === 'status') return daemon.report();
      throw xerror('CTL_E_FAILED', `the watch daemon answers "status" only; send "${req.op}" to a domain's backend (domain-N.sock)`);
    });
  } catch (e) {
    say('error', `xenvfb watch: ${(e as Error).message}`);
    process.exit(EXIT_CONFIG);
  }
  let page: HostPageServer | undefined;
  let pageAddress = '';
  if (flags.http) {
    page = new HostPageServer(async () =>
      Promise.all(daemon.report().map(async (d) => ({ ...d, name: await daemon.domainName(d.domid) }))),
    );
    try {
      pageAddress = formatHostPort(await page.listen(flags.http.host, flags.http.port));
    } catch (e) {
      say('error', `xenvfb watch: ${listenError(e as Error, 'the host page', '--http', flags.http).message}`);
      process.exit(EXIT_CONFIG);
    }
  }
  stopOnSignals(async (why) => {
    say('info', `xenvfb watch: ${why}: stopping every backend`);
    await page?.close();
    await daemon.stop();
    await control.close();
    return 0;
  }, 15_000);
  await daemon.start();
  await daemon.ready;
  const ports =
    config.ports.policy === 'base' ? `VNC port ${config.ports.base}+domid` : `VNC ports ${config.ports.from}-${config.ports.to}`;
  say(
    'info',
    `xenvfb watch: ready: ${ports} on ${config.listen}; control ${path.join(dir, WATCH_SOCKET)}; ${daemon.report().length} domain(s)` +
      (pageAddress ? `; host page http://${pageAddress}/` : ''),
  );
  notifyReady(`serving ${daemon.report().length} domain(s)`);
}
