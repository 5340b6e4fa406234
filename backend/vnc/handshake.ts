// RFB handshake wire formats (rfbproto §7.1 and §7.3), pure builders and parsers.

import { ByteWriter } from '../../shared/bytes';
import { xerror } from '../../shared/errors';
import type { PixelFormat } from '../display/pixel-format';
import { RFB_VERSION_SIZE, type RfbMinorVersion, SecurityResult, writePixelFormat } from './messages';

/** Longest desktop name sent in ServerInit. */
export const RFB_MAX_NAME = 255;

/**
 * ProtocolVersion from the client: "RFB 003.00x\n". 3.3, 3.7, 3.8 are spoken; 3.4 and 3.5
 * are taken as 3.3 (rfbproto §7.1.1, and QEMU for 3.4). Anything else: RFB_E_BAD_VERSION.
 */
export function parseProtocolVersion(bytes: Uint8Array): RfbMinorVersion {
  const text = Buffer.from(bytes.subarray(0, RFB_VERSION_SIZE)).toString('latin1');
  const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(text);
  const major = m ? Number(m[1]) : -1;
  const minor = m ? Number(m[2]) : -1;
  if (major === 3) {
    if (minor === 3 || minor === 4 || minor === 5) return 3;
    if (minor === 7) return 7;
    if (minor === 8) return 8;
  }
  throw xerror('RFB_E_BAD_VERSION', `unsupported protocol version ${JSON.stringify(text)}`, { version: text });
}

// 3.3: u32 security-type (0 = failed, then u32 reason-length | reason)
export function buildSecurityType33(type: number): Buffer {
  return new ByteWriter(4).u32be(type).finish();
}

// 3.7+: u8 count | u8 types[count]
export function buildSecurityTypes(types: readonly number[]): Buffer {
  const w = new ByteWriter(1 + types.length);
  w.u8(types.length);
  for (const t of types) w.u8(t);
  return w.finish();
}

// u32 result (0 OK, 1 failed)
export function buildSecurityResultOk(): Buffer {
  return new ByteWriter(4).u32be(SecurityResult.OK).finish();
}

// u32 result = 1 | u32 reason-length | reason   (3.8 only carries the reason)
export function buildSecurityResultFailed(reason: string, withReason: boolean): Buffer {
  const w = new ByteWriter(8 + reason.length).u32be(SecurityResult.Failed);
  if (withReason) writeString(w, reason);
  return w.finish();
}

/** Handshake failure before security was chosen: a zero where the type(s) would be, then the reason. */
export function buildConnectionFailed(reason: string, minor: RfbMinorVersion): Buffer {
  const w = new ByteWriter(8 + reason.length);
  if (minor === 3) w.u32be(0);
  else w.u8(0);
  writeString(w, reason);
  return w.finish();
}

// u16 width | u16 height | PIXEL_FORMAT | u32 name-length | u8 name[name-length]
export function buildServerInit(width: number, height: number, format: PixelFormat, name: string): Buffer {
  const w = new ByteWriter(2 + 2 + 16 + 4 + name.length * 3);
  w.u16be(width).u16be(height);
  writePixelFormat(w, format);
  const bytes = Buffer.from(name, 'utf8').subarray(0, RFB_MAX_NAME);
  w.u32be(bytes.length).bytes(bytes);
  return w.finish();
}

/** ClientInit: u8 shared-flag. */
export const CLIENT_INIT_SIZE = 1;

function writeString(w: ByteWriter, s: string): void {
  const bytes = Buffer.from(s, 'utf8');
  w.u32be(bytes.length).bytes(bytes);
}
