// The control socket's wire format: JSON lines over a unix socket, one request per line, one
// reply line per request, in order. Pure: no sockets here (server.ts, client.ts are the edges).
//
//   request:  {"id": <any JSON>, "op": "status" | "clients" | "screenshot" | "disconnect" | "reload" | "tiles", ...}
//             disconnect: {"client": <id from clients>}
//             tiles: {"since": <seq of the last scan report seen, 0 at first>}
//             capture-start: {"path": <absolute file>, "maxBytes"?: <n>, "maxMs"?: <n>}
//             capture-stop: {"path"?: <stop only if this is the file being written>}
//             capture-status: {}
//             (a replay serves pause, play, seek {"ms"}, speed {"x"} and status: replay-protocol.ts)
//   reply:    {"id": <same>, "ok": true, "result": {...}}
//             {"id": <same>, "ok": false, "error": {"code": "CTL_E_...", "message": "..."}}
//
// A line longer than CTL_MAX_LINE closes the connection after an error reply.

import { isXenvfbError, xerror } from '../../shared/errors';

/** Longest request line (bytes, newline excluded): requests are a few dozen bytes. */
export const CTL_MAX_LINE = 64 * 1024;
/** Longest reply line a client accepts: a PNG screenshot of a 4096x2160 screen in base64. */
export const CTL_MAX_REPLY = 64 * 1024 * 1024;

export const CONTROL_OPS = [
  'status',
  'clients',
  'screenshot',
  'disconnect',
  'reload',
  'tiles',
  'capture-start',
  'capture-stop',
  'capture-status',
] as const;
export type ControlOp = (typeof CONTROL_OPS)[number];

export type ControlRequest =
  | { id: unknown; op: 'status' | 'clients' | 'screenshot' | 'reload' }
  | { id: unknown; op: 'disconnect'; client: number }
  | { id: unknown; op: 'tiles'; since: number }
  | { id: unknown; op: 'capture-start'; path: string; maxBytes?: number; maxMs?: number }
  | { id: unknown; op: 'capture-stop'; path?: string }
  | { id: unknown; op: 'capture-status' };

export interface ControlReplyOk {
  id: unknown;
  ok: true;
  result: unknown;
}
export interface ControlReplyError {
  id: unknown;
  ok: false;
  error: { code: string; message: string };
}
export type ControlReply = ControlReplyOk | ControlReplyError;

/** One request line (without its newline) to a request, or CTL_E_REQUEST saying what is wrong. */
export function parseRequest(line: string): ControlRequest {
  if (Buffer.byteLength(line) > CTL_MAX_LINE) throw xerror('CTL_E_REQUEST', `request line longer than ${CTL_MAX_LINE} bytes`);
  let msg: unknown;
  try {
    msg = JSON.parse(line);
  } catch {
    throw xerror('CTL_E_REQUEST', 'request is not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw xerror('CTL_E_REQUEST', 'request is not a JSON object');
  const { id, op } = msg as { id?: unknown; op?: unknown };
  if (typeof op !== 'string' || !(CONTROL_OPS as readonly string[]).includes(op)) {
    throw xerror('CTL_E_REQUEST', `unknown op ${JSON.stringify(op)} (one of ${CONTROL_OPS.join(', ')})`, { op });
  }
  if (op === 'disconnect') {
    const client = (msg as { client?: unknown }).client;
    if (typeof client !== 'number' || !Number.isSafeInteger(client) || client < 0) {
      throw xerror('CTL_E_REQUEST', 'disconnect needs "client": the numeric id `xenvfb clients` shows');
    }
    return { id: id ?? null, op, client };
  }
  if (op === 'tiles') {
    const since = (msg as { since?: unknown }).since ?? 0;
    if (typeof since !== 'number' || !Number.isSafeInteger(since) || since < 0) {
      throw xerror('CTL_E_REQUEST', 'tiles takes "since": the seq of the last scan report seen (0 at first)');
    }
    return { id: id ?? null, op, since };
  }
  if (op === 'capture-start' || op === 'capture-stop') return parseCaptureRequest(msg as Record<string, unknown>, id ?? null, op);
  return { id: id ?? null, op: op as 'status' | 'clients' | 'screenshot' | 'reload' | 'capture-status' };
}

/** Largest maxBytes / maxMs a capture-start takes (1 TB, 1 week). */
const CAPTURE_MAX_BYTES = 1e12;
const CAPTURE_MAX_MS = 7 * 24 * 3600 * 1000;

function parseCaptureRequest(msg: Record<string, unknown>, id: unknown, op: 'capture-start' | 'capture-stop'): ControlRequest {
  const file = msg.path;
  if (file !== undefined && (typeof file !== 'string' || !file.startsWith('/') || file.length > 4096 || file.includes('\0'))) {
    throw xerror('CTL_E_REQUEST', `${op} takes "path": an absolute file name (the backend's working directory is not yours)`);
  }
  if (op === 'capture-stop') return { id, op, ...(file !== undefined ? { path: file as string } : {}) };
  if (file === undefined) throw xerror('CTL_E_REQUEST', 'capture-start needs "path": the absolute capture file name');
  const limit = (name: 'maxBytes' | 'maxMs', max: number): number | undefined => {
    const v = msg[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) {
      throw xerror('CTL_E_REQUEST', `capture-start "${name}" must be a whole number from 1 to ${max}`);
    }
    return v;
  };
  const maxBytes = limit('maxBytes', CAPTURE_MAX_BYTES);
  const maxMs = limit('maxMs', CAPTURE_MAX_MS);
  return { id, op, path: file as string, ...(maxBytes ? { maxBytes } : {}), ...(maxMs ? { maxMs } : {}) };
}

export function encodeReply(id: unknown, result: unknown): string {
  return `${JSON.stringify({ id, ok: true, result } satisfies ControlReplyOk)}\n`;
}

export function encodeError(id: unknown, err: unknown): string {
  const code = isXenvfbError(err) ? err.code : 'CTL_E_FAILED';
  const message = err instanceof Error ? err.message : String(err);
  return `${JSON.stringify({ id, ok: false, error: { code, message } } satisfies ControlReplyError)}\n`;
}

/** Best effort: the id of a line that failed to parse, so the reply still matches it. */
export function requestIdOf(line: string): unknown {
  try {
    const v = JSON.parse(line) as { id?: unknown };
    return typeof v === 'object' && v !== null ? (v.id ?? null) : null;
  } catch {
    return null;
  }
}

/**
 * Splits a byte stream into lines, holding at most `maxLine` bytes of an unfinished one:
 * push() returns the complete lines, or throws CTL_E_REQUEST when a line grows past the limit.
 */
export class LineSplitter {
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(private readonly maxLine: number) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.hold(chunk.subarray(start, nl));
      lines.push(Buffer.concat(this.held).toString('utf8'));
      this.held = [];
      this.heldBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) this.hold(chunk.subarray(start));
    return lines;
  }

  private hold(part: Buffer): void {
    this.heldBytes += part.length;
    if (this.heldBytes > this.maxLine) throw xerror('CTL_E_REQUEST', `line longer than ${this.maxLine} bytes`);
    this.held.push(part);
  }
}
