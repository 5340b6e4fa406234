// RFB encoding numbers the decoders and the FBS reader know (rfbproto §7.7 encodings,
// §7.8 pseudo-encodings), with a name lookup for messages.

/** rfbproto §7.7 / §7.8 encoding and pseudo-encoding numbers (one table for the server and the decoders). */
export const RfbEncoding = {
  Raw: 0,
  CopyRect: 1,
  RRE: 2,
  CoRRE: 4,
  Hextile: 5,
  Zlib: 6,
  Tight: 7,
  ZlibHex: 8,
  TRLE: 15,
  ZRLE: 16,
  ZYWRLE: 17,
  JPEG: 21,
  OpenH264: 50,
  TightPNG: -260,
  DesktopSize: -223,
  LastRect: -224,
  Cursor: -239,
  XCursor: -240,
  PointerPos: -232,
  QEMUPointerMotionChange: -257,
  QEMUExtendedKeyEvent: -258,
  QEMUAudio: -259,
  QEMULedState: -261,
  Gii: -305,
  DesktopName: -307,
  ExtendedDesktopSize: -308,
  Xvp: -309,
  Fence: -312,
  ContinuousUpdates: -313,
  CursorWithAlpha: -314,
  ExtendedMouseButtons: -316,
  TightWithoutZlib: -317,
} as const;

/** The same table, under the name the decoders and the FBS reader use. */
export const RfbEncodingNumber = RfbEncoding;

export function rfbEncodingName(n: number): string {
  for (const [k, v] of Object.entries(RfbEncodingNumber)) if (v === n) return k;
  return `encoding ${n}`;
}
