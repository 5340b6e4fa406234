// The control socket of `xenvfb replay --control PATH`: the same JSON lines as a backend's
// (protocol.ts: one request, one reply, in order), with the ops of a player.
//
//   {"id": 1, "op": "status"}              -> {file, positionMs, durationMs, speed, paused, ended, loop, clients}
//   {"id": 2, "op": "pause"}               -> status
//   {"id": 3, "op": "play"}  ("resume")    -> status
//   {"id": 4, "op": "seek", "ms": 12500}   -> status (the picture at 12.5 s goes to every client)
//   {"id": 5, "op": "speed", "x": 2}       -> status
//
// Errors are CTL_E_REQUEST replies naming the field and its range.

import { xerror } from '../../shared/errors';
import { CTL_MAX_LINE } from './protocol';

export const REPLAY_CONTROL_OPS = ['status', 'pause', 'play', 'resume', 'seek', 'speed'] as const;

/** Largest seek target (a week of capture, ms); the player clamps to the capture's duration. */
export const REPLAY_MAX_SEEK_MS = 7 * 24 * 3600 * 1000;

export type ReplayRequest =
  { id: unknown; op: 'status' | 'pause' | 'play' } | { id: unknown; op: 'seek'; ms: number } | { id: unknown; op: 'speed'; x: number };

export interface ReplayStatus {
  file: string;
  /** Capture time shown now, ms. */
  positionMs: number;
  durationMs: number;
  speed: number;
  paused: boolean;
  /** Playback reached the end (and does not loop). */
  ended: boolean;
  loop: boolean;
  /** Clients connected over all protocols. */
  clients: number;
}

export function parseReplayRequest(line: string, maxSpeed: number): ReplayRequest {
  if (Buffer.byteLength(line) > CTL_MAX_LINE) throw xerror('CTL_E_REQUEST', `request line longer than ${CTL_MAX_LINE} bytes`);
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    throw xerror('CTL_E_REQUEST', 'request is not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw xerror('CTL_E_REQUEST', 'request is not a JSON object');
  const m = msg as { id?: unknown; op?: unknown; ms?: unknown; x?: unknown };
  const id = m.id ?? null;
  if (typeof m.op !== 'string' || !(REPLAY_CONTROL_OPS as readonly string[]).includes(m.op)) {
    throw xerror('CTL_E_REQUEST', `unknown op ${JSON.stringify(m.op)} (a replay takes ${REPLAY_CONTROL_OPS.join(', ')})`, { op: m.op });
  }
  if (m.op === 'seek') {
    if (typeof m.ms !== 'number' || !Number.isFinite(m.ms) || m.ms < 0 || m.ms > REPLAY_MAX_SEEK_MS) {
      throw xerror('CTL_E_REQUEST', `seek needs "ms": the capture time to show, from 0 to ${REPLAY_MAX_SEEK_MS}`);
    }
    return { id, op: 'seek', ms: Math.round(m.ms) };
  }
  if (m.op === 'speed') {
    if (typeof m.x !== 'number' || !Number.isFinite(m.x) || m.x < 1 / maxSpeed || m.x > maxSpeed) {
      throw xerror('CTL_E_REQUEST', `speed needs "x": the playback speed, from ${1 / maxSpeed} to ${maxSpeed}`);
    }
    return { id, op: 'speed', x: m.x };
  }
  return { id, op: m.op === 'resume' ? 'play' : (m.op as 'status' | 'pause' | 'play') };
}
