// `xenvfb replay FILE`: serve a capture to VNC, SPICE and web clients exactly as a live domain
// is served (same --vnc/--web/--spice/security flags as `xenvfb backend`), or write its frames
// as PNG. With --control, a JSON-lines control socket (replay-protocol.ts) pauses, plays,
// seeks and changes the speed while clients watch (`xenvfb replay-control`).

import * as path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { CaptureFile } from '../../backend/capture/capture-file';
import { writePngFrames } from '../../backend/capture/png-frames';
import { REPLAY_INPUT, REPLAY_MAX_SPEED, ReplayDisplay } from '../../backend/capture/replay-display';
import { VncServer } from '../../backend/vnc/server';
import { SpiceServer } from '../../backend/spice/server';
import { ControlServer } from '../../backend/control/server';
import { parseReplayRequest, type ReplayRequest } from '../../backend/control/replay-protocol';
import { replayControlHandler } from '../../backend/capture/replay-control';
import type { DisplayServer } from '../../backend/display-server';
import { addSpiceOptions, type SpiceFlags, spiceFromFlags } from './spice-flags';
import { replaySocketPath } from './control-paths';
import { runDemoCommand } from './demo-command';
import { xerror } from '../../shared/errors';
import { WEB_VNC_WEBSOCKET_PATHS, WebServer } from '../../backend/web/server';
import { createLogger } from '../../shared/log';
import { formatHostPort, type HostPort, parseHostPort } from './args';
import { captureFail, progressBar } from './capture-commands';
import {
  parseSecurityFlag,
  VNC_NO_WEBSOCKET_HELP,
  VNC_SECURITY_HELP,
  type VncSecurityFlags,
  vncSecurityFromFlags,
} from './vnc-security-flags';

interface ReplayFlags extends VncSecurityFlags, SpiceFlags {
  vnc: HostPort;
  web?: HostPort;
  /** false with --no-vnc-websocket */
  vncWebsocket?: boolean;
  speed: number;
  loop?: boolean;
  start: number;
  paused?: boolean;
  toPng?: string;
  every: number;
  /** true: the default path (control-paths.ts replaySocketPath). */
  control?: string | true;
  intoGuest?: boolean;
  simDir?: string;
}

function parseSpeed(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 1 / REPLAY_MAX_SPEED || n > REPLAY_MAX_SPEED)
    throw new InvalidArgumentError(`expected a speed from 0.001 to ${REPLAY_MAX_SPEED}, got "${v}"`);
  return n;
}

/** Seconds (12.5) or ms with a suffix (12500ms). */
function parseTime(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`expected a time like 12.5 (seconds) or 12500ms, got "${v}"`);
  return Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : 1000));
}

function parseEvery(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 10 || n > 3_600_000) throw new InvalidArgumentError(`expected milliseconds from 10 to 3600000, got "${v}"`);
  return n;
}

export function registerReplayCommand(program: Command): void {
  const replay = program
    .command('replay')
    .description(
      'serve a capture file to VNC, SPICE and web clients like a live domain (or play it inside a simulated guest), or write its frames as PNG',
    )
    .argument('<file>', 'a xenvfb capture (for an FBS recording, run `xenvfb capture import` first)')
    .option('--vnc <host:port>', 'VNC listen address', parseHostPort, parseHostPort('127.0.0.1:5900'))
    .option('--web <host:port>', 'also serve the noVNC web client here', parseHostPort)
    .option(
      '--spice <host:port>',
      'also serve SPICE here (needs a SPICE password or --spice-disable-ticketing, as `xenvfb backend`)',
      parseHostPort,
    )
    .option('--no-vnc-websocket', VNC_NO_WEBSOCKET_HELP)
    .option('--password-file <file>', VNC_SECURITY_HELP.passwordFile)
    .option('--tls-cert <pem>', VNC_SECURITY_HELP.tlsCert)
    .option('--tls-key <pem>', VNC_SECURITY_HELP.tlsKey)
    .option('--security <list>', VNC_SECURITY_HELP.security, parseSecurityFlag)
    .option('--speed <x>', 'playback speed (2 = twice as fast)', parseSpeed, 1)
    .option('--loop', 'start over at the end')
    .option('--start <t>', 'start this far in (seconds, or e.g. 1500ms)', parseTime, 0)
    .option('--paused', 'show the frame at --start and do not play')
    .option('--to-png <dir>', 'write frames as PNG files into <dir> instead of serving')
    .option('--every <ms>', 'with --to-png: one frame every <ms> ms of capture time', parseEvery, 1000)
    .option(
      '--into-guest',
      'play the capture inside a simulated guest (a demo with the replay workload): its framebuffer, dirty tiles, the backend and encoders all run on it',
    )
    .option('--sim-dir <dir>', 'with --into-guest: the simulator directory (default: a new temporary one)')
    .option(
      '--control [socket]',
      'serve a control socket: pause, play, seek, speed, status (`xenvfb replay-control`; default socket: $TMPDIR/xenvfb-replay-UID/replay-VNCPORT.sock)',
    );
  addSpiceOptions(replay).action((file: string, o: ReplayFlags) =>
    runReplay(file, o).catch((e: unknown) => captureFail('xenvfb replay', e)),
  );
}

async function runReplay(file: string, o: ReplayFlags): Promise<void> {
  if (o.intoGuest) return replayIntoGuest(file, o);
  const bar = progressBar('indexing');
  const f = CaptureFile.open(file, bar.update);
  bar.stop();
  if (f.tail) process.stdout.write(`warning: ${f.tail.code} at offset ${f.tail.offset}: replaying what comes before\n`);
  if (o.toPng) {
    const pngBar = progressBar('frames');
    const files = writePngFrames(f, o.toPng, { startMs: o.start, everyMs: o.every, progress: pngBar.update });
    pngBar.stop();
    process.stdout.write(`${files.length} frames written to ${o.toPng}\n`);
    f.close();
    return;
  }
  const log = createLogger({ name: 'replay' });
  const security = vncSecurityFromFlags(o, log);
  const spiceOpts = spiceFromFlags(o, log);
  const display = new ReplayDisplay(f, `xenvfb replay ${file}`, {
    speed: o.speed,
    loop: o.loop === true,
    startMs: o.start,
    paused: o.paused === true,
    log,
    onEnd: () => process.stdout.write(`replay: end of capture at ${(f.durationMs / 1000).toFixed(3)} s (clients keep the last frame)\n`),
  });
  const vnc = new VncServer({
    display,
    input: REPLAY_INPUT,
    name: display.name,
    log: log.child({ vnc: true }),
    security,
    websocket: o.vncWebsocket !== false,
  });
  const servers: DisplayServer[] = [vnc];
  const at = await vnc.listen(o.vnc.host, o.vnc.port);
  const g = display.surface();
  process.stdout.write(
    `xenvfb replay: ${file} (${(f.durationMs / 1000).toFixed(3)} s${g ? `, ${g.width}x${g.height}` : ''}) from ${(o.start / 1000).toFixed(3)} s at speed ${o.speed}${o.paused ? ', paused' : ''}\n  VNC       ${formatHostPort(at)}\n`,
  );
  let spice: SpiceServer | undefined;
  if (spiceOpts) {
    spice = new SpiceServer({
      display,
      input: REPLAY_INPUT,
      ticketing: spiceOpts.ticketing,
      log: log.child({ spice: true }),
      name: display.name,
      ...(spiceOpts.shared ? { shared: true } : {}),
      ...(spiceOpts.codec ? { codec: spiceOpts.codec } : {}),
      ...(spiceOpts.jpegPhotos ? { jpegPhotos: true } : {}),
    });
    const sa = await spice.listen(spiceOpts.host, spiceOpts.port);
    servers.push(spice);
    process.stdout.write(`  SPICE     ${formatHostPort(sa)}\n`);
  }
  let control: ControlServer<ReplayRequest> | undefined;
  if (o.control) {
    const socketPath = o.control === true ? replaySocketPath(at.port) : path.resolve(o.control);
    control = await ControlServer.listen<ReplayRequest>(
      socketPath,
      replayControlHandler(display, file, { loop: o.loop === true, servers: () => servers }),
      log.child({ control: true }),
      (line) => parseReplayRequest(line, REPLAY_MAX_SPEED),
    );
    process.stdout.write(`  Control   xenvfb replay-control --socket ${socketPath} status|pause|play|seek T|speed X\n`);
  }
  let web: WebServer | undefined;
  if (o.web) {
    web = new WebServer({ webSockets: WEB_VNC_WEBSOCKET_PATHS.map((path) => ({ path, handler: vnc })), log: log.child({ web: true }) });
    const wa = await web.listen(o.web.host, o.web.port);
    process.stdout.write(`  web       http://${formatHostPort(wa)}/\n`);
  }
  const stop = async (): Promise<void> => {
    display.close();
    await control?.close();
    await web?.close();
    await spice?.close();
    await vnc.close();
    f.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

/**
 * `replay FILE --into-guest`: the demo (simulated host, guest, backend) with the guest's
 * replay workload drawing FILE at its recorded times. The guest plays from the start at
 * real speed, once; flags of the player itself do not apply.
 */
async function replayIntoGuest(file: string, o: ReplayFlags): Promise<void> {
  const player = [
    ['--speed', o.speed !== 1],
    ['--start', o.start !== 0],
    ['--paused', o.paused === true],
    ['--loop', o.loop === true],
    ['--control', o.control !== undefined],
    ['--to-png', o.toPng !== undefined],
  ] as const;
  const bad = player.filter(([, set]) => set).map(([flag]) => flag);
  if (bad.length) {
    throw xerror(
      'CLI_E_USAGE',
      `--into-guest plays the capture once from the start at its own pace: drop ${bad.join(', ')} (or replay without --into-guest)`,
    );
  }
  // Read it here: a foreign or empty file is an error now, not a guest that keeps dying.
  CaptureFile.open(file).close();
  await runDemoCommand({
    ...o,
    vnc: o.vnc,
    web: o.web ?? false,
    spice: o.spice ?? false,
    workload: 'replay',
    replayFile: path.resolve(file),
    restartGuest: true,
    dirtyTiles: true,
    refineDamage: true,
  });
}
