// Messages every SPICE channel knows (spice.proto "channel BaseChannel"; enums.h SPICE_MSG_* 1..8,
// SPICE_MSGC_* 1..6): flow control (SET_ACK / ACK_SYNC / ACK), PING / PONG, NOTIFY.

import { ByteReader, ByteWriter } from '../bytes';
import { xerror } from '../errors';
import { SpiceMsgc } from './constants';

/** u32 generation | u32 window */
export function buildSetAck(generation: number, window: number): Buffer {
  return new ByteWriter(8).u32le(generation).u32le(window).finish();
}

/** u32 id | u64 timestamp | u8 data[] (spice-server pads it for its bandwidth test; we send none) */
export function buildPing(id: number, timestamp: bigint): Buffer {
  return new ByteWriter(12).u32le(id).u64le(timestamp).finish();
}

/** NOTIFY: u64 time_stamp | u32 severity | u32 visibility | u32 what | u32 message_len | u8 message[len] (+ NUL) */
export function buildNotify(severity: number, visibility: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const w = new ByteWriter(24 + text.length + 1);
  w.u64le(BigInt(Date.now()) * 1000n)
    .u32le(severity)
    .u32le(visibility)
    .u32le(0)
    .u32le(text.length);
  return w.bytes(text).u8(0).finish();
}

export type CommonClientMessage =
  | { kind: 'ackSync'; generation: number }
  | { kind: 'ack' }
  | { kind: 'pong'; id: number; timestamp: bigint }
  | { kind: 'disconnecting' }
  | { kind: 'migrate' };

function short(type: number, body: Uint8Array, need: number): never {
  throw xerror('SPICE_E_BAD_MSG', `message type ${type} has ${body.length} bytes, needs ${need}`, { type, size: body.length, need });
}

/** A common client message, or null if `type` is channel-specific (>= 101). Extra body bytes are ignored, like spice's demarshallers. */
export function parseCommonClientMessage(type: number, body: Uint8Array): CommonClientMessage | null {
  const r = new ByteReader(body);
  switch (type) {
    case SpiceMsgc.ACK_SYNC: // u32 generation
      if (body.length < 4) short(type, body, 4);
      return { kind: 'ackSync', generation: r.u32le() };
    case SpiceMsgc.ACK: // empty
      return { kind: 'ack' };
    case SpiceMsgc.PONG: // u32 id | u64 timestamp
      if (body.length < 12) short(type, body, 12);
      return { kind: 'pong', id: r.u32le(), timestamp: r.u64le() };
    case SpiceMsgc.DISCONNECTING: // u64 time_stamp | u32 reason
      return { kind: 'disconnecting' };
    case SpiceMsgc.MIGRATE_FLUSH_MARK:
    case SpiceMsgc.MIGRATE_DATA:
      return { kind: 'migrate' }; // we never start a migration; a stray one is ignored
    default:
      if (type >= 101) return null;
      throw xerror('SPICE_E_BAD_MSG', `unknown common message type ${type}`, { type });
  }
}

/** Check a fixed-size body; returns a reader over it. */
export function fixedBody(type: number, body: Uint8Array, need: number): ByteReader {
  if (body.length < need) short(type, body, need);
  return new ByteReader(body);
}
