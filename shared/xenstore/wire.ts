// The xenstore wire format (xen/include/public/io/xs_wire.h, docs/misc/xenstore.txt):
// a 16-byte little-endian header `struct xsd_sockmsg` followed by `len` payload bytes.
// Pure: no sockets, files or timers. Shared by the client and the embedded server.

import { ByteReader } from '../bytes';
import { xerror } from '../errors';

/** `enum xsd_sockmsg_type` in xs_wire.h; the value is the wire number. */
export enum XsType {
  XS_CONTROL = 0,
  XS_DIRECTORY = 1,
  XS_READ = 2,
  XS_GET_PERMS = 3,
  XS_WATCH = 4,
  XS_UNWATCH = 5,
  XS_TRANSACTION_START = 6,
  XS_TRANSACTION_END = 7,
  XS_INTRODUCE = 8,
  XS_RELEASE = 9,
  XS_GET_DOMAIN_PATH = 10,
  XS_WRITE = 11,
  XS_MKDIR = 12,
  XS_RM = 13,
  XS_SET_PERMS = 14,
  XS_WATCH_EVENT = 15,
  XS_ERROR = 16,
  XS_IS_DOMAIN_INTRODUCED = 17,
  XS_RESUME = 18,
  XS_SET_TARGET = 19,
  // 20 was XS_RESTRICT, removed; the number stays invalid.
  XS_RESET_WATCHES = 21,
  XS_DIRECTORY_PART = 22,
  XS_GET_FEATURE = 23,
  XS_SET_FEATURE = 24,
  XS_GET_QUOTA = 25,
  XS_SET_QUOTA = 26,
  XS_TYPE_COUNT = 27,
  XS_INVALID = 0xffff,
}

/** Old name of XS_CONTROL in xs_wire.h. */
export const XS_DEBUG = XsType.XS_CONTROL;

/** Spec name of a message type for logs, e.g. `XS_READ`; unknown numbers as `XS_UNKNOWN(20)`. */
export function xsTypeName(n: number): string {
  if (n !== XsType.XS_TYPE_COUNT && typeof XsType[n] === 'string') return XsType[n] as string;
  return `XS_UNKNOWN(${n})`;
}

/** `xsd_errors[]` in xs_wire.h, in wire order. Errors travel as these names plus NUL. */
export const XS_ERRNOS = [
  'EINVAL',
  'EACCES',
  'EEXIST',
  'EISDIR',
  'ENOENT',
  'ENOMEM',
  'ENOSPC',
  'EIO',
  'ENOTEMPTY',
  'ENOSYS',
  'EROFS',
  'EBUSY',
  'EAGAIN',
  'EISCONN',
  'E2BIG',
  'EPERM',
] as const;
export type XsErrno = (typeof XS_ERRNOS)[number];

export function isXsErrno(s: string): s is XsErrno {
  return (XS_ERRNOS as readonly string[]).includes(s);
}

// Limits from xs_wire.h.
export const XS_HEADER_SIZE = 16;
export const XENSTORE_PAYLOAD_MAX = 4096;
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;

/** Special watch paths fired by the daemon itself, not nodes of the tree. */
export const XS_SPECIAL_PATHS = ['@introduceDomain', '@releaseDomain'] as const;

export interface XsHeader {
  type: number;
  reqId: number;
  txId: number;
  len: number;
}

export interface XsMessage {
  type: number;
  reqId: number;
  txId: number;
  payload: Buffer;
}

// u32 type | u32 req_id | u32 tx_id | u32 len
export function decodeHeader(bytes: Uint8Array): XsHeader {
  const r = new ByteReader(bytes);
  return { type: r.u32le(), reqId: r.u32le(), txId: r.u32le(), len: r.u32le() };
}

export function encodeMessage(msg: { type: number; reqId?: number; txId?: number; payload?: Uint8Array }): Buffer {
  const payload = msg.payload ?? EMPTY_PAYLOAD;
  if (payload.byteLength > XENSTORE_PAYLOAD_MAX) {
    throw xerror('XS_E_OVERSIZE', `payload of ${payload.byteLength} bytes exceeds ${XENSTORE_PAYLOAD_MAX}`, {
      len: payload.byteLength,
    });
  }
  const header = [msg.type, msg.reqId ?? 0, msg.txId ?? 0];
  for (const v of header) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw xerror('BYTES_E_RANGE', `u32 value ${v} outside [0, 4294967295]`, { value: v });
  }
  // The hottest writer of the daemon (every reply and event): straight into one pooled
  // Buffer of the final size rather than a ByteWriter's own storage (an ArrayBuffer and a
  // DataView per message cost more than the rest of a READ).
  // u32 type | u32 req_id | u32 tx_id | u32 len
  const out = Buffer.allocUnsafe(XS_HEADER_SIZE + payload.byteLength);
  out.writeUInt32LE(header[0]!, 0);
  out.writeUInt32LE(header[1]!, 4);
  out.writeUInt32LE(header[2]!, 8);
  out.writeUInt32LE(payload.byteLength, 12);
  out.set(payload, XS_HEADER_SIZE);
  return out;
}

const EMPTY_PAYLOAD = new Uint8Array(0);

/**
 * Incremental parser: push chunks of any size, get whole messages. `needed` says how many
 * more bytes complete the current header or payload. A header announcing more than
 * XENSTORE_PAYLOAD_MAX raises XS_E_OVERSIZE and the parser stays failed: the stream
 * cannot be resynchronised (xenstored drops such a connection).
 */
export class XsParser {
  private header: XsHeader | undefined;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: Error | undefined;

  get needed(): number {
    return (this.header ? this.header.len : XS_HEADER_SIZE) - this.buffered;
  }

  push(chunk: Uint8Array): XsMessage[] {
    if (this.failed) throw this.failed;
    const out: XsMessage[] = [];
    let data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Whole messages while nothing is buffered: one copy of the payload, nothing else.
    let at = 0;
    while (!this.header && this.buffered === 0 && data.length - at >= XS_HEADER_SIZE) {
      const len = data.readUInt32LE(at + 12);
      if (len > XENSTORE_PAYLOAD_MAX || data.length - at < XS_HEADER_SIZE + len) break;
      const payload = Buffer.allocUnsafe(len); // a copy: callers may reuse chunk memory
      data.copy(payload, 0, at + XS_HEADER_SIZE, at + XS_HEADER_SIZE + len);
      out.push({ type: data.readUInt32LE(at), reqId: data.readUInt32LE(at + 4), txId: data.readUInt32LE(at + 8), payload });
      at += XS_HEADER_SIZE + len;
    }
    if (at === data.length) return out;
    if (at > 0) data = data.subarray(at);
    while (data.length > 0 || (this.header && this.needed === 0)) {
      const take = Math.min(this.needed, data.length);
      if (take > 0) {
        this.chunks.push(Buffer.from(data.subarray(0, take))); // copy: callers may reuse chunk memory
        this.buffered += take;
        data = data.subarray(take);
      }
      if (this.needed > 0) break;
      const whole = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
      if (!this.header) {
        const h = decodeHeader(whole);
        if (h.len > XENSTORE_PAYLOAD_MAX) {
          this.failed = xerror('XS_E_OVERSIZE', `${xsTypeName(h.type)} payload length ${h.len} exceeds ${XENSTORE_PAYLOAD_MAX}`, {
            ...h,
          });
          throw this.failed;
        }
        this.header = h;
      } else {
        const h = this.header;
        this.header = undefined;
        out.push({ type: h.type, reqId: h.reqId, txId: h.txId, payload: whole });
      }
    }
    return out;
  }
}

// ---- payload helpers ------------------------------------------------------------------

/** `s\0` for each string: the shape of most request and reply payloads. */
export function stringsPayload(...strings: string[]): Buffer {
  // One string, one Buffer (a Buffer per string and a concat cost more than the request).
  return Buffer.from(strings.length === 1 ? `${strings[0]}\0` : strings.map((s) => `${s}\0`).join(''), 'utf8');
}

/** Splits `a\0b\0` into ['a', 'b']; a final string without NUL is kept too. */
export function parseStrings(payload: Uint8Array): string[] {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  if (text.length === 0) return [];
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * The NUL-terminated strings of a payload, as xenstored's get_strings() and
 * xs_count_strings() see them: bytes after the last NUL are not a string.
 */
export function parseTerminatedStrings(payload: Uint8Array): string[] {
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const end = b.lastIndexOf(0);
  if (end < 0) return [];
  return b.subarray(0, end).toString('utf8').split('\0');
}

/**
 * Exactly `count` NUL-terminated strings, as xenstored's get_strings() requires; anything
 * else raises XS_E_BAD_PAYLOAD.
 */
export function parseExactStrings(payload: Uint8Array, count: number): string[] {
  const b = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (b.length === 0 || b[b.length - 1] !== 0) {
    throw xerror('XS_E_BAD_PAYLOAD', 'payload is not NUL-terminated', { count });
  }
  const parts = b.toString('utf8', 0, b.length - 1).split('\0');
  if (parts.length !== count) {
    throw xerror('XS_E_BAD_PAYLOAD', `expected ${count} strings, got ${parts.length}`, { count });
  }
  return parts;
}

// path \0 value   (value is raw bytes, no trailing NUL)
export function writePayload(path: string, value: string | Uint8Array): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
  return Buffer.concat([Buffer.from(`${path}\0`, 'utf8'), v]);
}

/** `value` is a view of `payload`: copy it to keep it beyond the payload's life. */
export function parseWritePayload(payload: Uint8Array): { path: string; value: Buffer } {
  const b = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const nul = b.indexOf(0);
  if (nul < 0) throw xerror('XS_E_BAD_PAYLOAD', 'WRITE payload has no NUL after the path');
  return { path: b.toString('utf8', 0, nul), value: b.subarray(nul + 1) };
}

/** An XS_ERROR payload: errno name + NUL. */
export function errorPayload(errno: XsErrno): Buffer {
  return stringsPayload(errno);
}

/** The errno name of an XS_ERROR payload; unknown names read as EINVAL (xs_wire.h rule). */
export function parseErrorPayload(payload: Uint8Array): XsErrno {
  const name = parseStrings(payload)[0] ?? '';
  return isXsErrno(name) ? name : 'EINVAL';
}

// ---- paths ----------------------------------------------------------------------------

const PATH_CHARS = /^[A-Za-z0-9\-/_@]*$/;

/** Why a path is refused (XS_E_BAD_PATH), or undefined if xenstored would accept it. */
export function pathProblem(path: string, opts: { allowRelative?: boolean; allowSpecial?: boolean } = {}): string | undefined {
  if (path.length === 0) return 'empty path';
  if ((XS_SPECIAL_PATHS as readonly string[]).includes(path)) {
    return opts.allowSpecial ? undefined : 'special path not allowed here';
  }
  if (!PATH_CHARS.test(path)) return 'character outside [A-Za-z0-9-/_@]';
  if (path.includes('//')) return 'empty path component (//)';
  const absolute = path.startsWith('/');
  if (!absolute && !opts.allowRelative) return 'relative path not allowed here';
  if (path.endsWith('/') && path !== '/') return 'trailing /';
  const max = absolute ? XENSTORE_ABS_PATH_MAX : XENSTORE_REL_PATH_MAX;
  if (Buffer.byteLength(path) > max) return `longer than ${max}`;
  return undefined;
}

export function isValidPath(path: string, opts: { allowRelative?: boolean; allowSpecial?: boolean } = {}): boolean {
  return pathProblem(path, opts) === undefined;
}

export function validatePath(path: string, opts: { allowRelative?: boolean; allowSpecial?: boolean } = {}): string {
  const problem = pathProblem(path, opts);
  if (problem) throw xerror('XS_E_BAD_PATH', `bad xenstore path ${JSON.stringify(path.slice(0, 80))}: ${problem}`, { path, problem });
  return path;
}

// ---- permissions ----------------------------------------------------------------------

/** One entry of a node's permission list: `n0`, `r1`, `w2`, `b5`. */
export interface Perm {
  domid: number;
  read: boolean;
  write: boolean;
}

const PERM_LETTERS: Record<string, [boolean, boolean]> = { n: [false, false], r: [true, false], w: [false, true], b: [true, true] };
const DOMID_MAX = 0xffff;

export function parsePerm(s: string): Perm {
  const rw = PERM_LETTERS[s[0] ?? ''];
  const digits = s.slice(1);
  if (!rw || !/^[0-9]{1,5}$/.test(digits) || Number(digits) > DOMID_MAX) {
    throw xerror('XS_E_BAD_PERMS', `bad permission ${JSON.stringify(s)}`, { perm: s });
  }
  return { domid: Number(digits), read: rw[0], write: rw[1] };
}

export function formatPerm(p: Perm): string {
  const letter = p.read ? (p.write ? 'b' : 'r') : p.write ? 'w' : 'n';
  return `${letter}${p.domid}`;
}

/** A permission list: the first entry names the owner and the default for other domains. */
export function parsePerms(strings: readonly string[]): Perm[] {
  if (strings.length === 0) throw xerror('XS_E_BAD_PERMS', 'empty permission list');
  return strings.map(parsePerm);
}

export function formatPerms(perms: readonly Perm[]): string[] {
  return perms.map(formatPerm);
}
