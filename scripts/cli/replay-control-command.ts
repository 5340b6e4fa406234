// `xenvfb replay-control [--socket PATH | --port VNCPORT] status|pause|play|seek T|speed X`:
// drives a running `xenvfb replay --control` (backend/control/replay-protocol.ts). Every
// action prints the player's status after it: position, duration, speed, paused or playing.

import * as path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { controlRequest } from '../../backend/control/client';
import type { ReplayStatus } from '../../backend/control/replay-protocol';
import { REPLAY_MAX_SPEED } from '../../backend/capture/replay-display';
import { isXenvfbError, xerror } from '../../shared/errors';
import { replaySocketPath } from './control-paths';
import { captureFail } from './capture-commands';

const ACTIONS = ['status', 'pause', 'play', 'resume', 'seek', 'speed'] as const;

interface ReplayControlFlags {
  socket?: string;
  port?: number;
  json?: boolean;
}

function parsePort(v: string): number {
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new InvalidArgumentError(`expected a TCP port, got "${v}"`);
  return Number(v);
}

/** Seconds (12.5) or ms with a suffix (12500ms), as `replay --start` takes. */
function parseSeekTime(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  if (!m) throw xerror('CLI_E_USAGE', `seek takes a time like 12.5 (seconds) or 12500ms, got "${v}"`);
  return Math.round(Number(m[1]) * (m[2] === 'ms' ? 1 : 1000));
}

function parseSpeedValue(v: string): number {
  const n = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || n < 1 / REPLAY_MAX_SPEED || n > REPLAY_MAX_SPEED) {
    throw xerror('CLI_E_USAGE', `speed takes a number from ${1 / REPLAY_MAX_SPEED} to ${REPLAY_MAX_SPEED}, got "${v}"`);
  }
  return n;
}

export function formatReplayStatus(s: ReplayStatus): string {
  const state = s.ended ? 'ended' : s.paused ? 'paused' : 'playing';
  return `${s.file}: ${(s.positionMs / 1000).toFixed(3)} / ${(s.durationMs / 1000).toFixed(3)} s, ${state}, speed ${s.speed}${s.loop ? ', loop' : ''}, ${s.clients} client${s.clients === 1 ? '' : 's'}`;
}

function requestOf(action: string, value: string | undefined): Record<string, unknown> {
  if (!(ACTIONS as readonly string[]).includes(action)) {
    throw xerror('CLI_E_USAGE', `unknown action "${action}": one of status, pause, play, seek T, speed X`);
  }
  const needsValue = action === 'seek' || action === 'speed';
  if (needsValue && value === undefined) throw xerror('CLI_E_USAGE', `${action} needs a value (e.g. seek 12.5, speed 2)`);
  if (!needsValue && value !== undefined) throw xerror('CLI_E_USAGE', `${action} takes no value, got "${value}"`);
  if (action === 'seek') return { op: 'seek', ms: parseSeekTime(value!) };
  if (action === 'speed') return { op: 'speed', x: parseSpeedValue(value!) };
  return { op: action === 'resume' ? 'play' : action };
}

async function run(action: string, value: string | undefined, o: ReplayControlFlags): Promise<void> {
  const req = requestOf(action, value);
  if (o.socket === undefined && o.port === undefined) {
    throw xerror(
      'CLI_E_USAGE',
      'name the replay: --socket PATH (printed by `xenvfb replay --control`) or --port VNCPORT (its default socket)',
    );
  }
  const socket = o.socket !== undefined ? path.resolve(o.socket) : replaySocketPath(o.port!);
  let s: ReplayStatus;
  try {
    s = (await controlRequest(socket, req)) as ReplayStatus;
  } catch (e) {
    if (isXenvfbError(e, 'CTL_E_CONNECT')) {
      throw xerror('CTL_E_CONNECT', `${e.message}: is \`xenvfb replay FILE --control\` running (with this socket)?`, e.details);
    }
    throw e;
  }
  process.stdout.write(o.json ? `${JSON.stringify(s)}\n` : `${formatReplayStatus(s)}\n`);
}

export function registerReplayControlCommand(program: Command): void {
  program
    .command('replay-control')
    .description('drive a running `xenvfb replay --control`: status, pause, play, seek T (seconds or 1500ms), speed X')
    .argument('<action>', 'status | pause | play | seek | speed')
    .argument('[value]', 'seek: capture time (12.5 or 12500ms); speed: playback speed (2 = twice as fast)')
    .option('--socket <path>', 'the control socket the replay printed')
    .option('--port <vncport>', "the replay's VNC port: its default socket", parsePort)
    .option('--json', 'print the status as JSON')
    .addHelpText(
      'after',
      `
Examples:
  xenvfb replay /tmp/demo.xvc --vnc 127.0.0.1:5901 --control
  xenvfb replay-control --port 5901 seek 12.5
  xenvfb replay-control --port 5901 speed 4
  xenvfb replay-control --socket /tmp/r.sock status --json`,
    )
    .action((action: string, value: string | undefined, o: ReplayControlFlags) =>
      run(action, value, o).catch((e: unknown) => captureFail('xenvfb replay-control', e)),
    );
}
