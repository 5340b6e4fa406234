// Wire format between a simulated domain's event-channel client and the relay in the sim
// host process. Pure codec: no sockets. Little-endian, one frame per message:
//   u16 length (of type + payload) | u8 type | payload
// Requests carry a req_id echoed by their reply; NOTIFY and UNMASK have no reply (notify
// must stay cheap, like the evtchn device's ioctl); EVENT is unsolicited.

import { ByteReader, ByteWriter } from '../../bytes';
import { type ErrorCode, xerror } from '../../errors';

/** Largest frame (length field value) either side accepts; a longer one is a protocol error. */
export const EVTCHN_WIRE_MAX_FRAME = 512;
/** Longest error text a relay sends (bytes, utf8). */
export const EVTCHN_WIRE_MAX_MESSAGE = 256;

/** Client (domain) -> relay. */
export const EvtchnClientOp = {
  ALLOC_UNBOUND: 0x01,
  BIND_INTERDOMAIN: 0x02,
  UNBIND: 0x03,
  NOTIFY: 0x04,
  UNMASK: 0x05,
} as const;

/** Relay -> client. */
export const EvtchnServerOp = {
  REPLY: 0x81,
  ERROR: 0x82,
  EVENT: 0x83,
} as const;

/** Error codes carried by ERROR frames (index on the wire -> ErrorCode). */
export const EVTCHN_WIRE_ERRORS: readonly ErrorCode[] = ['SIM_E_PROTOCOL', 'EVTCHN_E_BAD_PORT', 'SIM_E_NO_DOMAIN', 'EVTCHN_E_NO_SPACE'];

export function evtchnOpName(op: number): string {
  const all: Record<string, number> = { ...EvtchnClientOp, ...EvtchnServerOp };
  return Object.keys(all).find((k) => all[k] === op) ?? `UNKNOWN(${op})`;
}

export type EvtchnClientMessage =
  | { type: 'alloc-unbound'; reqId: number; remoteDomid: number }
  | { type: 'bind-interdomain'; reqId: number; remoteDomid: number; remotePort: number }
  | { type: 'unbind'; reqId: number; port: number }
  | { type: 'notify'; port: number }
  | { type: 'unmask'; port: number };

export type EvtchnServerMessage =
  | { type: 'reply'; reqId: number; port: number }
  | { type: 'error'; reqId: number; code: ErrorCode; message: string }
  | { type: 'event'; port: number };

function frame(op: number, body: (w: ByteWriter) => void): Buffer {
  // Sized for the largest frame up front: no growth on this hot path.
  const w = new ByteWriter(16 + EVTCHN_WIRE_MAX_MESSAGE);
  const at = w.length;
  w.u16le(0).u8(op);
  body(w);
  const out = w.finish();
  out.writeUInt16LE(out.length - at - 2, at);
  return Buffer.from(out);
}

export function encodeClientMessage(m: EvtchnClientMessage): Buffer {
  switch (m.type) {
    case 'alloc-unbound': // u32 req_id | u16 remote_domid
      return frame(EvtchnClientOp.ALLOC_UNBOUND, (w) => w.u32le(m.reqId).u16le(m.remoteDomid));
    case 'bind-interdomain': // u32 req_id | u16 remote_domid | u32 remote_port
      return frame(EvtchnClientOp.BIND_INTERDOMAIN, (w) => w.u32le(m.reqId).u16le(m.remoteDomid).u32le(m.remotePort));
    case 'unbind': // u32 req_id | u32 port
      return frame(EvtchnClientOp.UNBIND, (w) => w.u32le(m.reqId).u32le(m.port));
    case 'notify': // u32 port
      return frame(EvtchnClientOp.NOTIFY, (w) => w.u32le(m.port));
    case 'unmask': // u32 port
      return frame(EvtchnClientOp.UNMASK, (w) => w.u32le(m.port));
  }
}

export function encodeServerMessage(m: EvtchnServerMessage): Buffer {
  switch (m.type) {
    case 'reply': // u32 req_id | u32 port
      return frame(EvtchnServerOp.REPLY, (w) => w.u32le(m.reqId).u32le(m.port));
    case 'error': {
      // u32 req_id | u16 error | u16 message_len | utf8 message[message_len]
      const code = EVTCHN_WIRE_ERRORS.indexOf(m.code);
      let text = Buffer.from(m.message, 'utf8');
      if (text.length > EVTCHN_WIRE_MAX_MESSAGE) text = text.subarray(0, EVTCHN_WIRE_MAX_MESSAGE);
      return frame(EvtchnServerOp.ERROR, (w) =>
        w
          .u32le(m.reqId)
          .u16le(code < 0 ? 0 : code)
          .u16le(text.length)
          .bytes(text),
      );
    }
    case 'event': // u32 port
      return frame(EvtchnServerOp.EVENT, (w) => w.u32le(m.port));
  }
}

function protocolError(message: string, details: Record<string, unknown> = {}): Error {
  return xerror('SIM_E_PROTOCOL', message, details);
}

function exact(r: ByteReader, op: number): void {
  if (r.remaining !== 0) throw protocolError(`${evtchnOpName(op)} has ${r.remaining} trailing bytes`, { op });
}

function payloadOf(op: number, payload: Uint8Array, size: number): ByteReader {
  if (payload.byteLength < size) {
    throw protocolError(`${evtchnOpName(op)} payload is ${payload.byteLength} bytes, need ${size}`, { op });
  }
  return new ByteReader(payload);
}

export function decodeClientMessage(op: number, payload: Uint8Array): EvtchnClientMessage {
  let m: EvtchnClientMessage;
  let r: ByteReader;
  switch (op) {
    case EvtchnClientOp.ALLOC_UNBOUND:
      r = payloadOf(op, payload, 4 + 2);
      m = { type: 'alloc-unbound', reqId: r.u32le(), remoteDomid: r.u16le() };
      break;
    case EvtchnClientOp.BIND_INTERDOMAIN:
      r = payloadOf(op, payload, 4 + 2 + 4);
      m = { type: 'bind-interdomain', reqId: r.u32le(), remoteDomid: r.u16le(), remotePort: r.u32le() };
      break;
    case EvtchnClientOp.UNBIND:
      r = payloadOf(op, payload, 4 + 4);
      m = { type: 'unbind', reqId: r.u32le(), port: r.u32le() };
      break;
    case EvtchnClientOp.NOTIFY:
      r = payloadOf(op, payload, 4);
      m = { type: 'notify', port: r.u32le() };
      break;
    case EvtchnClientOp.UNMASK:
      r = payloadOf(op, payload, 4);
      m = { type: 'unmask', port: r.u32le() };
      break;
    default:
      throw protocolError(`unknown event channel request ${op}`, { op });
  }
  exact(r, op);
  return m;
}

export function decodeServerMessage(op: number, payload: Uint8Array): EvtchnServerMessage {
  let m: EvtchnServerMessage;
  let r: ByteReader;
  switch (op) {
    case EvtchnServerOp.REPLY:
      r = payloadOf(op, payload, 4 + 4);
      m = { type: 'reply', reqId: r.u32le(), port: r.u32le() };
      break;
    case EvtchnServerOp.ERROR: {
      r = payloadOf(op, payload, 4 + 2 + 2);
      const reqId = r.u32le();
      const index = r.u16le();
      const len = r.u16le();
      if (len > EVTCHN_WIRE_MAX_MESSAGE || len !== r.remaining) {
        throw protocolError(`ERROR message length ${len} does not match ${r.remaining} bytes`, { op });
      }
      const code = EVTCHN_WIRE_ERRORS[index] ?? 'SIM_E_PROTOCOL';
      m = { type: 'error', reqId, code, message: r.utf8(len) };
      break;
    }
    case EvtchnServerOp.EVENT:
      r = payloadOf(op, payload, 4);
      m = { type: 'event', port: r.u32le() };
      break;
    default:
      throw protocolError(`unknown event channel message ${op}`, { op });
  }
  exact(r, op);
  return m;
}

/**
 * Incremental frame splitter: push() bytes as they arrive, get back whole decoded messages.
 * Throws SIM_E_PROTOCOL on a frame that is empty, too long or of an unknown type; the
 * connection is then unusable (callers drop it).
 */
export class EvtchnFrameDecoder<T> {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly decode: (op: number, payload: Uint8Array) => T) {}

  /** Bytes still waiting for the rest of their frame. */
  get buffered(): number {
    return this.pending.length;
  }

  /** How many more bytes the current frame needs (0 when nothing is pending). */
  needMore(): number {
    if (this.pending.length === 0) return 0;
    if (this.pending.length < 2) return 2 - this.pending.length;
    return Math.max(0, 2 + this.pending.readUInt16LE(0) - this.pending.length);
  }

  push(chunk: Uint8Array): T[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk]);
    const out: T[] = [];
    let at = 0;
    while (this.pending.length - at >= 2) {
      const len = this.pending.readUInt16LE(at);
      if (len < 1 || len > EVTCHN_WIRE_MAX_FRAME) {
        throw protocolError(`event channel frame length ${len} outside [1, ${EVTCHN_WIRE_MAX_FRAME}]`, { len });
      }
      if (this.pending.length - at < 2 + len) break;
      const op = this.pending[at + 2]!;
      out.push(this.decode(op, this.pending.subarray(at + 3, at + 2 + len)));
      at += 2 + len;
    }
    this.pending = this.pending.subarray(at);
    return out;
  }
}

export function clientMessageDecoder(): EvtchnFrameDecoder<EvtchnClientMessage> {
  return new EvtchnFrameDecoder(decodeClientMessage);
}

export function serverMessageDecoder(): EvtchnFrameDecoder<EvtchnServerMessage> {
  return new EvtchnFrameDecoder(decodeServerMessage);
}
