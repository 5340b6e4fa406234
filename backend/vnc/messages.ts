// RFB constants and the PIXEL_FORMAT codec. Numbers from rfbproto `rfbproto.rst`
// (community RFB spec, §7 "Protocol Messages" and §7.7 "Encodings").

import type { ByteReader, ByteWriter } from '../../shared/bytes';
import { xerror } from '../../shared/errors';
import type { PixelFormat } from '../display/pixel-format';
import { RfbEncoding } from '../../shared/rfb/encodings';

/** rfbproto §7.1.1 ProtocolVersion: 12 bytes, "RFB xxx.yyy\n". */
export const RFB_VERSION_SIZE = 12;
export const RFB_VERSION_3_8 = 'RFB 003.008\n';

/** The protocol minor versions the server speaks (major is always 3). */
export type RfbMinorVersion = 3 | 7 | 8;

/** rfbproto §7.1.2 security types (only those this server knows the number of). */
export const SecurityType = {
  Invalid: 0,
  None: 1,
  VncAuth: 2,
  Tight: 16,
  VeNCrypt: 19,
} as const;

/** rfbproto §7.1.3 SecurityResult. */
export const SecurityResult = { OK: 0, Failed: 1 } as const;

/** rfbproto §7.5 client-to-server message types. */
export const ClientMessageType = {
  SetPixelFormat: 0,
  SetEncodings: 2,
  FramebufferUpdateRequest: 3,
  KeyEvent: 4,
  PointerEvent: 5,
  ClientCutText: 6,
  EnableContinuousUpdates: 150,
  ClientFence: 248,
  Xvp: 250,
  SetDesktopSize: 251,
  QEMU: 255,
} as const;

/** rfbproto §7.5.10 QEMU client message subtypes. */
export const QemuClientMessageSubtype = {
  ExtendedKeyEvent: 0,
  Audio: 1,
} as const;

/** rfbproto §7.6 server-to-client message types. */
export const ServerMessageType = {
  FramebufferUpdate: 0,
  SetColourMapEntries: 1,
  Bell: 2,
  ServerCutText: 3,
  EndOfContinuousUpdates: 150,
  ServerFence: 248,
  Xvp: 250,
  QEMU: 255,
} as const;

/** rfbproto §7.5.9 / §7.6.7 Fence flags: ClientFence and ServerFence share them. */
export const FenceFlag = {
  BlockBefore: 1 << 0,
  BlockAfter: 1 << 1,
  SyncNext: 1 << 2,
  Request: 0x80000000,
} as const;
/** The flag bits this server understands (a response clears the others, rfbproto §7.5.9). */
export const FENCE_KNOWN_FLAGS = FenceFlag.BlockBefore | FenceFlag.BlockAfter | FenceFlag.SyncNext;

/** rfbproto §7.8.13 ExtendedDesktopSize: the rect's x is the reason of the change. */
export const DesktopSizeReason = {
  Server: 0,
  ThisClient: 1,
  OtherClient: 2,
} as const;

/** rfbproto §7.8.13 ExtendedDesktopSize: the rect's y is the status of a SetDesktopSize. */
export const DesktopSizeStatus = {
  Ok: 0,
  Prohibited: 1,
  OutOfResources: 2,
  InvalidLayout: 3,
  Forwarded: 4,
} as const;

/** rfbproto §7.8.21 QEMU LED state: one data byte with these bits. */
export const QemuLed = {
  ScrollLock: 1 << 0,
  NumLock: 1 << 1,
  CapsLock: 1 << 2,
} as const;

/** rfbproto §7.7 encodings and §7.8 pseudo-encodings. */
export { RfbEncoding };

function reverseTable(table: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(table).map(([k, v]) => [v, k]));
}
const encodingNames = reverseTable(RfbEncoding);
const clientMessageNames = reverseTable(ClientMessageType);
const securityNames = reverseTable(SecurityType);

/** Encoding name for logs, including the numbered pseudo-encoding ranges. */
export function encodingName(n: number): string {
  const known = encodingNames.get(n);
  if (known) return known;
  if (n >= -32 && n <= -23) return `JPEGQuality${n + 32}`;
  if (n >= -256 && n <= -247) return `CompressLevel${n + 256}`;
  if (n >= -512 && n <= -412) return `FineQuality${n + 512}`;
  if (n >= -768 && n <= -763) return `Subsampling${n + 768}`;
  return `encoding(${n})`;
}

export function clientMessageName(n: number): string {
  return clientMessageNames.get(n) ?? `message(${n})`;
}

export function securityTypeName(n: number): string {
  return securityNames.get(n) ?? `security(${n})`;
}

/**
 * rfbproto §7.4 PIXEL_FORMAT as a client sends it: the display's PixelFormat plus the
 * true-colour flag (0 = colour map, which this server refuses).
 */
export interface RfbPixelFormat extends PixelFormat {
  trueColour: boolean;
}

/** rfbproto §7.4 PIXEL_FORMAT: 16 bytes on the wire. */
export const PIXEL_FORMAT_SIZE = 1 + 1 + 1 + 1 + 2 + 2 + 2 + 1 + 1 + 1 + 3;

// u8 bpp | u8 depth | u8 big-endian | u8 true-colour | u16 r,g,b max | u8 r,g,b shift | 3 pad
export function readPixelFormat(r: ByteReader): RfbPixelFormat {
  const bitsPerPixel = r.u8();
  const depth = r.u8();
  const bigEndian = r.u8() !== 0;
  const trueColour = r.u8() !== 0;
  const redMax = r.u16be();
  const greenMax = r.u16be();
  const blueMax = r.u16be();
  const redShift = r.u8();
  const greenShift = r.u8();
  const blueShift = r.u8();
  r.skip(3);
  return {
    bitsPerPixel: bitsPerPixel as PixelFormat['bitsPerPixel'],
    depth,
    bigEndian,
    trueColour,
    redMax,
    greenMax,
    blueMax,
    redShift,
    greenShift,
    blueShift,
  };
}

/** Always true colour: the only kind this server serves. */
export function writePixelFormat(w: ByteWriter, pf: PixelFormat): void {
  w.u8(pf.bitsPerPixel)
    .u8(pf.depth)
    .u8(pf.bigEndian ? 1 : 0)
    .u8(1);
  w.u16be(pf.redMax).u16be(pf.greenMax).u16be(pf.blueMax);
  w.u8(pf.redShift).u8(pf.greenShift).u8(pf.blueShift).zeros(3);
}

function channelFits(max: number, shift: number, bpp: number): boolean {
  // A channel max is 2^n - 1 (n >= 1) and the channel must sit inside the pixel.
  if (max <= 0 || (max & (max + 1)) !== 0) return false;
  const bits = Math.log2(max + 1);
  return shift + bits <= bpp;
}

/**
 * Throws RFB_E_BAD_PIXEL_FORMAT unless the format is one the server can produce: true
 * colour, 8/16/32 bpp (rfbproto allows only these), either endianness, any channel
 * maxes 2^n-1 and shifts that fit the pixel. Colour maps are not supported.
 */
export function checkClientPixelFormat(pf: RfbPixelFormat): PixelFormat {
  const bad = (why: string): never => {
    throw xerror('RFB_E_BAD_PIXEL_FORMAT', `unsupported pixel format: ${why}`, { format: pf });
  };
  if (!pf.trueColour) bad('colour-map formats are not supported');
  if (pf.bitsPerPixel !== 8 && pf.bitsPerPixel !== 16 && pf.bitsPerPixel !== 32) {
    bad(`bits-per-pixel ${pf.bitsPerPixel}`);
  }
  if (!channelFits(pf.redMax, pf.redShift, pf.bitsPerPixel)) bad(`red max ${pf.redMax} shift ${pf.redShift}`);
  if (!channelFits(pf.greenMax, pf.greenShift, pf.bitsPerPixel)) {
    bad(`green max ${pf.greenMax} shift ${pf.greenShift}`);
  }
  if (!channelFits(pf.blueMax, pf.blueShift, pf.bitsPerPixel)) bad(`blue max ${pf.blueMax} shift ${pf.blueShift}`);
  const { bitsPerPixel, depth, bigEndian, redMax, greenMax, blueMax, redShift, greenShift, blueShift } = pf;
  return { bitsPerPixel, depth, bigEndian, redMax, greenMax, blueMax, redShift, greenShift, blueShift };
}
