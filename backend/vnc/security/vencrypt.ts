// VeNCrypt (security type 19) wire formats, version 0.2 only (rfbproto §7.2.19). Pure
// builders and resumable parsers: a parser returns null while it needs more bytes.

import { ByteWriter } from '../../../shared/bytes';
import { xerror } from '../../../shared/errors';

export const VENCRYPT_MAJOR = 0;
export const VENCRYPT_MINOR = 2;
/** Longest username or password accepted by the Plain subtypes. */
export const VENCRYPT_MAX_CREDENTIAL = 1024;

// u8 major | u8 minor
export function buildVeNCryptVersion(): Buffer {
  return Buffer.of(VENCRYPT_MAJOR, VENCRYPT_MINOR);
}

/** u8 major | u8 minor from the client. */
export function parseVeNCryptVersion(b: Uint8Array): { major: number; minor: number } | null {
  if (b.length < 1 + 1) return null;
  return { major: b[0]!, minor: b[1]! };
}

// u8 status: 0 = version accepted, 1 = refused (then close)
export function buildVeNCryptVersionAck(ok: boolean): Buffer {
  return Buffer.of(ok ? 0 : 1);
}

// u8 count | u32 subtypes[count]
export function buildVeNCryptSubtypes(subtypes: readonly number[]): Buffer {
  const w = new ByteWriter(1 + 4 * subtypes.length).u8(subtypes.length);
  for (const s of subtypes) w.u32be(s);
  return w.finish();
}

/** u32 chosen subtype. */
export function parseVeNCryptChoice(b: Uint8Array): number | null {
  if (b.length < 4) return null;
  return Buffer.from(b.buffer, b.byteOffset, 4).readUInt32BE(0);
}

// u8 status: 1 = subtype accepted (TLS handshake follows for TLS* / X509*), 0 = refused
export function buildVeNCryptSubtypeAck(ok: boolean): Buffer {
  return Buffer.of(ok ? 1 : 0);
}

export interface PlainCredentials {
  username: string;
  password: string;
  /** Bytes the message took. */
  size: number;
}

/** Plain: u32 username-length | u32 password-length | username | password. */
export function parsePlainCredentials(b: Uint8Array): PlainCredentials | null {
  if (b.length < 4 + 4) return null;
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const ulen = buf.readUInt32BE(0);
  const plen = buf.readUInt32BE(4);
  if (ulen > VENCRYPT_MAX_CREDENTIAL || plen > VENCRYPT_MAX_CREDENTIAL) {
    throw xerror('RFB_E_OVERSIZE', `Plain credentials of ${ulen}+${plen} bytes exceed ${VENCRYPT_MAX_CREDENTIAL} each`, {
      usernameLength: ulen,
      passwordLength: plen,
      max: VENCRYPT_MAX_CREDENTIAL,
    });
  }
  const size = 4 + 4 + ulen + plen;
  if (buf.length < size) return null;
  return {
    username: buf.toString('utf8', 8, 8 + ulen),
    password: buf.toString('utf8', 8 + ulen, size),
    size,
  };
}
