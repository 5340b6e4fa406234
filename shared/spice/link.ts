// The SPICE link stage (spice/protocol.h SpiceLinkHeader, SpiceLinkMess, SpiceLinkReply,
// SpiceLinkEncryptedTicket), as pure functions. Every channel is its own connection and
// starts with this exchange:
//   C->S  SpiceLinkHeader (16) + SpiceLinkMess (18) + caps (4 * (ncommon + nchannel))
//   S->C  SpiceLinkHeader (16) + SpiceLinkReply (178) + caps
//   C->S  [u32 auth_mechanism, only if the client has PROTOCOL_AUTH_SELECTION] + ticket (128)
//   S->C  u32 SpiceLinkErr
// The checks follow spice-server's reds.cpp (reds_handle_read_header_done, _link_done).

import { ByteReader, ByteWriter } from '../bytes';
import { xerror } from '../errors';
import { SPICE_MAGIC, SPICE_TICKET_PUBKEY_BYTES, SPICE_VERSION_MAJOR, SPICE_VERSION_MINOR, SpiceLinkErr } from './constants';

/** u32 magic | u32 major_version | u32 minor_version | u32 size */
export const SPICE_LINK_HEADER_SIZE = 4 + 4 + 4 + 4;
/** u32 connection_id | u8 channel_type | u8 channel_id | u32 num_common_caps | u32 num_channel_caps | u32 caps_offset */
export const SPICE_LINK_MESS_SIZE = 4 + 1 + 1 + 4 + 4 + 4;
/** u32 error | u8 pub_key[162] | u32 num_common_caps | u32 num_channel_caps | u32 caps_offset */
export const SPICE_LINK_REPLY_SIZE = 4 + SPICE_TICKET_PUBKEY_BYTES + 4 + 4 + 4;
/** SpiceLinkEncryptedTicket: one RSA-1024 block. */
export const SPICE_TICKET_SIZE = 128;
/** SpiceLinkAuthMechanism: u32. */
export const SPICE_AUTH_MECHANISM_SIZE = 4;
/** Largest link message body a client may announce (reds.cpp: header.size > 4096 is refused). */
export const SPICE_MAX_LINK_SIZE = 4096;
/** Most capability words of one kind a client may send (reds.cpp: num_*_caps > 1024 is refused). */
export const SPICE_MAX_LINK_CAPS = 1024;
/** The auth mechanism values are the capability numbers (protocol.h SpiceLinkAuthMechanism). */
export const SPICE_AUTH_SPICE = 1;
export const SPICE_AUTH_SASL = 2;

export interface LinkHeader {
  major: number;
  minor: number;
  /** Bytes of link message that follow the header. */
  size: number;
}

export interface LinkMess {
  connectionId: number;
  channelType: number;
  channelId: number;
  commonCaps: number[];
  channelCaps: number[];
}

/** Parse the 16-byte header; the size is checked against SPICE_MAX_LINK_SIZE. */
export function parseLinkHeader(bytes: Uint8Array): LinkHeader {
  const r = new ByteReader(bytes);
  const magic = r.u32le();
  if (magic !== SPICE_MAGIC) throw xerror('SPICE_E_BAD_MAGIC', `link magic 0x${magic.toString(16)} is not REDQ`, { magic });
  const major = r.u32le();
  const minor = r.u32le();
  const size = r.u32le();
  if (major !== SPICE_VERSION_MAJOR)
    throw xerror('SPICE_E_BAD_VERSION', `SPICE major version ${major}, this server speaks 2`, { major, minor });
  if (size < SPICE_LINK_MESS_SIZE || size > SPICE_MAX_LINK_SIZE) {
    throw xerror('SPICE_E_OVERSIZE', `link message size ${size} outside [${SPICE_LINK_MESS_SIZE}, ${SPICE_MAX_LINK_SIZE}]`, { size });
  }
  return { major, minor, size };
}

/** Parse a SpiceLinkMess body of exactly header.size bytes, caps included. */
export function parseLinkMess(body: Uint8Array): LinkMess {
  const r = new ByteReader(body);
  const connectionId = r.u32le();
  const channelType = r.u8();
  const channelId = r.u8();
  const numCommon = r.u32le();
  const numChannel = r.u32le();
  const capsOffset = r.u32le();
  if (numCommon > SPICE_MAX_LINK_CAPS || numChannel > SPICE_MAX_LINK_CAPS) {
    throw xerror('SPICE_E_OVERSIZE', `link caps counts ${numCommon}/${numChannel} exceed ${SPICE_MAX_LINK_CAPS}`, {
      numCommon,
      numChannel,
    });
  }
  const capsBytes = 4 * (numCommon + numChannel);
  if (capsOffset < SPICE_LINK_MESS_SIZE || capsOffset + capsBytes > body.length) {
    throw xerror('SPICE_E_BAD_LINK', `link caps (${capsBytes} bytes at ${capsOffset}) do not fit the ${body.length}-byte message`, {
      capsOffset,
      capsBytes,
    });
  }
  r.offset = capsOffset;
  const commonCaps: number[] = [];
  const channelCaps: number[] = [];
  for (let i = 0; i < numCommon; i++) commonCaps.push(r.u32le());
  for (let i = 0; i < numChannel; i++) channelCaps.push(r.u32le());
  return { connectionId, channelType, channelId, commonCaps, channelCaps };
}

function writeLinkHeader(w: ByteWriter, size: number): void {
  w.u32le(SPICE_MAGIC).u32le(SPICE_VERSION_MAJOR).u32le(SPICE_VERSION_MINOR).u32le(size);
}

/** Header + SpiceLinkReply + caps. `pubKey` is the 162-byte SPKI DER (zeros on an error reply). */
export function buildLinkReply(reply: {
  error: number;
  pubKey: Uint8Array;
  commonCaps: readonly number[];
  channelCaps: readonly number[];
}): Buffer {
  if (reply.pubKey.length !== SPICE_TICKET_PUBKEY_BYTES) {
    throw xerror('BYTES_E_RANGE', `public key is ${reply.pubKey.length} bytes, SpiceLinkReply holds ${SPICE_TICKET_PUBKEY_BYTES}`);
  }
  const size = SPICE_LINK_REPLY_SIZE + 4 * (reply.commonCaps.length + reply.channelCaps.length);
  const w = new ByteWriter(SPICE_LINK_HEADER_SIZE + size);
  writeLinkHeader(w, size);
  w.u32le(reply.error).bytes(reply.pubKey);
  w.u32le(reply.commonCaps.length).u32le(reply.channelCaps.length).u32le(SPICE_LINK_REPLY_SIZE);
  for (const c of reply.commonCaps) w.u32le(c);
  for (const c of reply.channelCaps) w.u32le(c);
  return w.finish();
}

/** A refused link: header + reply with `error` set and everything else zero (reds_send_link_error). */
export function buildLinkError(error: number): Buffer {
  const w = new ByteWriter(SPICE_LINK_HEADER_SIZE + SPICE_LINK_REPLY_SIZE);
  writeLinkHeader(w, SPICE_LINK_REPLY_SIZE);
  return w
    .u32le(error)
    .zeros(SPICE_LINK_REPLY_SIZE - 4)
    .finish();
}

/** The u32 SpiceLinkErr that ends the link stage (0 = OK, the data phase starts). */
export function buildLinkResult(error: number): Buffer {
  return new ByteWriter(4).u32le(error).finish();
}

/** Which SpiceLinkErr a typed link error is answered with. */
export function linkErrorFor(code: string): number {
  switch (code) {
    case 'SPICE_E_BAD_MAGIC':
      return SpiceLinkErr.INVALID_MAGIC;
    case 'SPICE_E_BAD_VERSION':
      return SpiceLinkErr.VERSION_MISMATCH;
    case 'SPICE_E_AUTH_FAILED':
    case 'SPICE_E_AUTH_THROTTLED':
    case 'SPICE_E_TICKET_EXPIRED':
      return SpiceLinkErr.PERMISSION_DENIED;
    case 'SPICE_E_BAD_SESSION':
      return SpiceLinkErr.BAD_CONNECTION_ID;
    case 'SPICE_E_NO_CHANNEL':
      return SpiceLinkErr.CHANNEL_NOT_AVAILABLE;
    default:
      return SpiceLinkErr.INVALID_DATA;
  }
}

/** Client side (tests and tools): header + SpiceLinkMess with caps right after it. */
export function buildLinkMess(m: LinkMess): Buffer {
  const size = SPICE_LINK_MESS_SIZE + 4 * (m.commonCaps.length + m.channelCaps.length);
  const w = new ByteWriter(SPICE_LINK_HEADER_SIZE + size);
  writeLinkHeader(w, size);
  w.u32le(m.connectionId).u8(m.channelType).u8(m.channelId);
  w.u32le(m.commonCaps.length).u32le(m.channelCaps.length).u32le(SPICE_LINK_MESS_SIZE);
  for (const c of m.commonCaps) w.u32le(c);
  for (const c of m.channelCaps) w.u32le(c);
  return w.finish();
}

export interface LinkReply {
  error: number;
  pubKey: Uint8Array;
  commonCaps: number[];
  channelCaps: number[];
}

/** Client side: parse a SpiceLinkReply body (after its header). */
export function parseLinkReply(body: Uint8Array): LinkReply {
  const r = new ByteReader(body);
  const error = r.u32le();
  const pubKey = r.bytesView(SPICE_TICKET_PUBKEY_BYTES);
  const nc = r.u32le();
  const nch = r.u32le();
  r.offset = r.u32le();
  const commonCaps: number[] = [];
  const channelCaps: number[] = [];
  for (let i = 0; i < nc; i++) commonCaps.push(r.u32le());
  for (let i = 0; i < nch; i++) channelCaps.push(r.u32le());
  return { error, pubKey, commonCaps, channelCaps };
}
