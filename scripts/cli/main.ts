// The `xenvfb` command line.

import { Command, InvalidArgumentError, Option } from 'commander';
import { parseDomid, parseHostPort, parseMegabytes, parseTilePeriod } from './args';
import { parseLimitFlag, parseSecurityFlag, VNC_NO_WEBSOCKET_HELP, VNC_SECURITY_HELP } from './vnc-security-flags';
import { addSpiceOptions } from './spice-flags';
import { WORKLOAD_NAMES } from '../../frontend/workloads/workload';

/**
 * Commands defined in other files, each loaded only when it runs (or for help): a long-running
 * process (`backend`, one per domain) must not hold the code of every other command in memory.
 */
const REGISTRARS: Array<() => Promise<(program: Command) => void>> = [
  async () => (await import('./xenstore-commands')).registerXenstoreCommands,
  async () => (await import('./control-commands')).registerControlCommands,
  async () => (await import('./inspect/inspect-command')).registerInspectCommand,
  async () => (await import('./watch/watch-command')).registerWatchCommand,
  async () => (await import('./capture-commands')).registerCaptureCommands,
  async () => (await import('./replay-command')).registerReplayCommand,
  async () => (await import('./replay-control-command')).registerReplayControlCommand,
];

/** An action whose module is loaded when it runs. */
function lazy<A extends unknown[]>(load: () => Promise<(...args: A) => unknown>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    await (
      await load()
    )(...args);
  };
}

/** The commands buildProgram defines itself (their code is imported when their action runs). */
const INLINE_COMMANDS = ['demo', 'backend', 'sim', 'guest', 'install-hooks', 'attach-devices', 'device-model'];

function parseWorkload(v: string): (typeof WORKLOAD_NAMES)[number] {
  if (!(WORKLOAD_NAMES as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(`expected one of ${WORKLOAD_NAMES.join(', ')}, got "${v}"`);
  }
  return v as (typeof WORKLOAD_NAMES)[number];
}

function parseCount(v: string): number {
  if (!/^\d{1,4}$/.test(v)) throw new InvalidArgumentError(`expected a count from 0 to 9999, got "${v}"`);
  return Number(v);
}

/**
 * The command line. With `command` naming one of INLINE_COMMANDS, the commands defined in
 * other files are left out (not loaded); otherwise every command is there.
 */
export async function buildProgram(command?: string): Promise<Command> {
  const program = new Command('xenvfb')
    .description('Xen paravirtual framebuffer (vfb) and keyboard (vkbd) backend, frontend and simulator')
    .showHelpAfterError('(run xenvfb help for usage)')
    // Options belong to the command they follow (the program has none): `capture` has options
    // of its own and subcommands with options of the same name (-o).
    .enablePositionalOptions();

  const demo = program
    .command('demo')
    .description('start a simulated host with one demo guest (domain 1) and its backend, served on VNC and SPICE')
    .option('--vnc <host:port>', 'VNC listen address', parseHostPort, parseHostPort('127.0.0.1:5900'))
    .option('--web <host:port>', 'noVNC web client address', parseHostPort, parseHostPort('127.0.0.1:6080'))
    .option('--no-web', 'do not serve the noVNC web client')
    .option(
      '--spice <host:port>',
      'SPICE listen address (ticketing off on loopback unless a SPICE password is given)',
      parseHostPort,
      parseHostPort('127.0.0.1:5930'),
    )
    .option('--no-spice', 'do not serve SPICE')
    .option('--no-vnc-websocket', VNC_NO_WEBSOCKET_HELP)
    .option('--password-file <file>', VNC_SECURITY_HELP.passwordFile)
    .option('--tls-cert <pem>', VNC_SECURITY_HELP.tlsCert)
    .option('--tls-key <pem>', VNC_SECURITY_HELP.tlsKey)
    .option('--security <list>', VNC_SECURITY_HELP.security, parseSecurityFlag)
    .option('--max-connections <n>', VNC_SECURITY_HELP.maxConnections, parseLimitFlag)
    .option('--max-connections-per-address <n>', VNC_SECURITY_HELP.maxConnectionsPerAddress, parseLimitFlag)
    .option('--handshake-timeout <ms>', VNC_SECURITY_HELP.handshakeTimeout, parseLimitFlag)
    .option('--surface-wait <ms>', VNC_SECURITY_HELP.surfaceWait, parseLimitFlag)
    .option('--auth-max-delay <ms>', VNC_SECURITY_HELP.authMaxDelay, parseLimitFlag)
    .addOption(new Option('--workload <name>', 'what the guest draws').choices(WORKLOAD_NAMES).default('pattern'))
    .option('--image <file.png>', 'PNG shown by the still workload (the guest framebuffer takes its size)')
    .option('--replay-file <file>', 'capture played by the replay workload into the guest framebuffer (it takes its size)')
    .option('--sim-dir <dir>', 'simulator directory (default: a new temporary one, removed at exit)')
    .option('--metrics <host:port>', "serve the backend's Prometheus metrics on http://HOST:PORT/metrics", parseHostPort)
    .option('--no-restart-guest', 'do not restart the guest when it dies')
    .option(
      '--restart-limit <n>',
      'restart a dying guest or backend at most n times in a row (default 5; backoff 1 s, 2 s, 4 s...)',
      parseCount,
    )
    .option('--dirty-tiles', 'the guest marks damage in a dirty-tile page (docs/dirty-tiles.md; default)', true)
    .option('--no-dirty-tiles', 'the guest sends XENFB_TYPE_UPDATE events instead of marking tiles')
    .option('--no-grant-fb', 'the guest names its pages by frame number (stock fbfront) instead of granting them')
    .option('--tile-period <ms>', 'backend dirty-tile scan period (default 33)', parseTilePeriod)
    .option('--refine-damage', 'compare damage with a shadow framebuffer, send scrolls as CopyRect (default)', true)
    .option('--no-refine-damage', 'send every damaged pixel as reported')
    .option('--capture <file>', "record the guest's display and client input to a capture file (docs/capture-format.md)")
    .option('-v, --verbose', 'print the JSON logs of the backend and the guest');
  addSpiceOptions(demo).action(lazy(async () => (await import('./demo-command')).runDemoCommand));

  const backend = program
    .command('backend')
    .description('serve the vfb/vkbd devices of one domain (xenstore from XENSTORED_PATH)')
    .requiredOption('--domid <n>', 'the guest domain id', parseDomid)
    .option('--vnc <host:port>', 'VNC listen address (default 127.0.0.1:5900+domid)', parseHostPort)
    .option('--web <host:port>', 'also serve the noVNC web client here (WebSocket on the same port)', parseHostPort)
    .option(
      '--spice <host:port>',
      'also serve SPICE here (remote-viewer, spice-gtk, spice-html5; needs a SPICE password or --spice-disable-ticketing)',
      parseHostPort,
    )
    .option('--no-vnc-websocket', VNC_NO_WEBSOCKET_HELP)
    .option('--password-file <file>', VNC_SECURITY_HELP.passwordFile)
    .option('--tls-cert <pem>', VNC_SECURITY_HELP.tlsCert)
    .option('--tls-key <pem>', VNC_SECURITY_HELP.tlsKey)
    .option('--security <list>', VNC_SECURITY_HELP.security, parseSecurityFlag)
    .option('--max-connections <n>', VNC_SECURITY_HELP.maxConnections, parseLimitFlag)
    .option('--max-connections-per-address <n>', VNC_SECURITY_HELP.maxConnectionsPerAddress, parseLimitFlag)
    .option('--handshake-timeout <ms>', VNC_SECURITY_HELP.handshakeTimeout, parseLimitFlag)
    .option('--surface-wait <ms>', VNC_SECURITY_HELP.surfaceWait, parseLimitFlag)
    .option('--auth-max-delay <ms>', VNC_SECURITY_HELP.authMaxDelay, parseLimitFlag)
    .option('--sim-dir <dir>', 'run against the simulator in <dir> (default: from XENVFB_SIM_DIR or XENSTORED_PATH)')
    .option(
      '--control-dir <dir>',
      'control socket directory: domain-N.sock (default /run/xenvfb, <sim-dir>/control, or XENVFB_CONTROL_DIR)',
    )
    .option('--metrics <host:port>', 'serve Prometheus metrics on http://HOST:PORT/metrics and /healthz', parseHostPort)
    .option('--dirty-tiles', 'offer feature-dirty-tiles and scan tile pages (default)', true)
    .option('--no-dirty-tiles', 'do not offer feature-dirty-tiles: UPDATE events only')
    .option('--tile-period <ms>', 'dirty-tile scan period (default 33)', parseTilePeriod)
    .option('--refine-damage', 'compare damage with a shadow framebuffer, send scrolls as CopyRect (default)', true)
    .option('--no-refine-damage', 'send every damaged pixel as reported')
    .option('--capture <file>', 'record the display and client input to a capture file (docs/capture-format.md)')
    .option('--capture-max-size <MB>', 'stop recording when the capture file reaches this size', parseMegabytes);
  addSpiceOptions(backend).action(lazy(async () => (await import('./backend-command')).runBackendCommand));

  program
    .command('sim')
    .description('run the simulated hypervisor: xenstored on DIR/xenstored/socket, grants, event channels')
    .requiredOption('--dir <dir>', 'directory for sockets and guest memory (created if missing)')
    .option('--domain <n...>', 'create these guest domains with a vfb and a vkbd device', (v, prev: number[] = []) => [
      ...prev,
      parseDomid(v),
    ])
    .action(lazy(async () => (await import('./sim-command')).runSimCommand));

  program
    .command('guest')
    .description('run a guest with our vfb/vkbd frontends and a demo workload (simulated, or inside a real Xen domU)')
    .requiredOption('--domid <n>', 'our domain id (a real Xen guest reads its own from xenstore)', parseDomid)
    .option('--sim-dir <dir>', 'the simulator directory (omit inside a Xen domU: /dev/xen/{evtchn,gntalloc,xenbus})')
    .option('--workload <name>', `one of ${WORKLOAD_NAMES.join(', ')}`, parseWorkload, 'pattern')
    .option('--image <file.png>', 'PNG for the still workload')
    .option('--replay-file <file>', 'capture file for the replay workload')
    .option('--dirty-tiles', 'mark damage in a dirty-tile page when the backend offers it (default)', true)
    .option('--no-dirty-tiles', 'always send XENFB_TYPE_UPDATE events')
    .option('--no-grant-fb', 'name pages by frame number (stock fbfront) even if the backend offers feature-grant-fb')
    .action(lazy(async () => (await import('./guest-command')).runGuestCommand));

  program
    .command('install-hooks')
    .description('install the systemd units, the libvirt libxl hook and the xl helpers (xenvfb-dm, xenvfb-xl-create)')
    .option('--dry-run', 'print what would be written, write nothing')
    .option('--root <dir>', 'install under this directory instead of / (packaging, tests)')
    .option('--no-libvirt', 'skip /etc/libvirt/hooks/libxl')
    .option('--no-systemd', 'skip the systemd units and /etc/default, /etc/xenvfb files')
    .option('--no-xl', 'skip /usr/local/sbin/xenvfb-dm and xenvfb-xl-create')
    .action(lazy(async () => (await import('./install-hooks')).runInstallHooks));

  program
    .command('attach-devices')
    .description('write a vfb and a vkbd device for a domain into xenstore as libxl does (after `xl create -p`)')
    .requiredOption('--domid <n>', 'the guest domain', parseDomid)
    .option('--sim-dir <dir>', 'the simulator directory (default: this Xen host)')
    .action(lazy(async () => (await import('./attach-devices-command')).runAttachDevices));

  program
    .command('device-model')
    .description("stand-in for QEMU as libxl's device model (device_model_override): answers QMP, hands the domain to xenvfb")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[qemu-args...]')
    .action(lazy(async () => (await import('../hooks/xl-device-model')).runDeviceModel));
  if (command === undefined || !INLINE_COMMANDS.includes(command)) {
    for (const load of REGISTRARS) (await load())(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await (await buildProgram(argv[2])).parseAsync(argv);
}
