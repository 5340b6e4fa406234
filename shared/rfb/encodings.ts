// RFB encoding numbers the decoders and the FBS reader know (rfbproto §7.7 encodings,
// §7.8 pseudo-encodings), with a name lookup for messages.

export const RfbEncodingNumber = {
  Raw: 0,
  CopyRect: 1,
  RRE: 2,
  CoRRE: 4,
  Hextile: 5,
  Zlib: 6,
  Tight: 7,
  ZRLE: 16,
  TightPNG: -260,
  DesktopSize: -223,
  LastRect: -224,
  PointerPos: -232,
  Cursor: -239,
  XCursor: -240,
  ExtendedDesktopSize: -308,
  DesktopName: -307,
} as const;

export function rfbEncodingName(n: number): string {
  for (const [k, v] of Object.entries(RfbEncodingNumber)) if (v === n) return k;
  return `encoding ${n}`;
}
