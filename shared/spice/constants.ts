// SPICE protocol numbers, named as in spice-protocol's spice/enums.h and spice/protocol.h
// (version 0.14.4). Every integer on the wire is little-endian and every struct is packed.

/** SpiceLinkHeader.magic: the bytes "REDQ" (spice/protocol.h SPICE_MAGIC). */
export const SPICE_MAGIC = 0x51444552;
/** spice/protocol.h SPICE_VERSION_MAJOR / SPICE_VERSION_MINOR. */
export const SPICE_VERSION_MAJOR = 2;
export const SPICE_VERSION_MINOR = 2;
/** spice/protocol.h SPICE_TICKET_KEY_PAIR_LENGTH: RSA-1024. */
export const SPICE_TICKET_KEY_PAIR_LENGTH = 1024;
/** spice/protocol.h SPICE_TICKET_PUBKEY_BYTES: the SubjectPublicKeyInfo DER of an RSA-1024 key. */
export const SPICE_TICKET_PUBKEY_BYTES = SPICE_TICKET_KEY_PAIR_LENGTH / 8 + 34;
/** spice/protocol.h SPICE_MAX_PASSWORD_LENGTH (the client's limit, NUL included). */
export const SPICE_MAX_PASSWORD_LENGTH = 60;

/** enums.h SpiceChannelType (SPICE_CHANNEL_*). */
export const SpiceChannel = {
  MAIN: 1,
  DISPLAY: 2,
  INPUTS: 3,
  CURSOR: 4,
  PLAYBACK: 5,
  RECORD: 6,
  TUNNEL: 7,
  SMARTCARD: 8,
  USBREDIR: 9,
  PORT: 10,
  WEBDAV: 11,
} as const;

/** enums.h SpiceLinkErr (SPICE_LINK_ERR_*). */
export const SpiceLinkErr = {
  OK: 0,
  ERROR: 1,
  INVALID_MAGIC: 2,
  INVALID_DATA: 3,
  VERSION_MISMATCH: 4,
  NEED_SECURED: 5,
  NEED_UNSECURED: 6,
  PERMISSION_DENIED: 7,
  BAD_CONNECTION_ID: 8,
  CHANNEL_NOT_AVAILABLE: 9,
} as const;

/** protocol.h SPICE_COMMON_CAP_* (bit numbers). Never advertise AUTH_SASL: we do not speak SASL. */
export const SpiceCommonCap = {
  PROTOCOL_AUTH_SELECTION: 0,
  AUTH_SPICE: 1,
  AUTH_SASL: 2,
  MINI_HEADER: 3,
} as const;

/** protocol.h SPICE_MAIN_CAP_*. */
export const SpiceMainCap = { SEMI_SEAMLESS_MIGRATE: 0, NAME_AND_UUID: 1, AGENT_CONNECTED_TOKENS: 2, SEAMLESS_MIGRATE: 3 } as const;

/** protocol.h SPICE_DISPLAY_CAP_*. */
export const SpiceDisplayCap = {
  SIZED_STREAM: 0,
  MONITORS_CONFIG: 1,
  COMPOSITE: 2,
  A8_SURFACE: 3,
  STREAM_REPORT: 4,
  LZ4_COMPRESSION: 5,
  PREF_COMPRESSION: 6,
  GL_SCANOUT: 7,
  MULTI_CODEC: 8,
  CODEC_MJPEG: 9,
  CODEC_VP8: 10,
  CODEC_H264: 11,
  PREF_VIDEO_CODEC_TYPE: 12,
  CODEC_VP9: 13,
  CODEC_H265: 14,
} as const;

/** protocol.h SPICE_INPUTS_CAP_KEY_SCANCODE. */
export const SPICE_INPUTS_CAP_KEY_SCANCODE = 0;

/** enums.h: messages every channel knows, server -> client (SPICE_MSG_*). */
export const SpiceMsg = {
  MIGRATE: 1,
  MIGRATE_DATA: 2,
  SET_ACK: 3,
  PING: 4,
  WAIT_FOR_CHANNELS: 5,
  DISCONNECTING: 6,
  NOTIFY: 7,
  LIST: 8,
} as const;

/** enums.h: messages every channel knows, client -> server (SPICE_MSGC_*). */
export const SpiceMsgc = {
  ACK_SYNC: 1,
  ACK: 2,
  PONG: 3,
  MIGRATE_FLUSH_MARK: 4,
  MIGRATE_DATA: 5,
  DISCONNECTING: 6,
} as const;

/** enums.h SPICE_MSG_MAIN_*. */
export const SpiceMsgMain = {
  MIGRATE_BEGIN: 101,
  MIGRATE_CANCEL: 102,
  INIT: 103,
  CHANNELS_LIST: 104,
  MOUSE_MODE: 105,
  MULTI_MEDIA_TIME: 106,
  AGENT_CONNECTED: 107,
  AGENT_DISCONNECTED: 108,
  AGENT_DATA: 109,
  AGENT_TOKEN: 110,
  NAME: 113,
  UUID: 114,
} as const;

/** enums.h SPICE_MSGC_MAIN_*. */
export const SpiceMsgcMain = {
  CLIENT_INFO: 101,
  MIGRATE_CONNECTED: 102,
  MIGRATE_CONNECT_ERROR: 103,
  ATTACH_CHANNELS: 104,
  MOUSE_MODE_REQUEST: 105,
  AGENT_START: 106,
  AGENT_DATA: 107,
  AGENT_TOKEN: 108,
  MIGRATE_END: 109,
  MIGRATE_DST_DO_SEAMLESS: 110,
  MIGRATE_CONNECTED_SEAMLESS: 111,
  QUALITY_INDICATOR: 112,
} as const;

/** enums.h SpiceMouseMode. */
export const SpiceMouseMode = { SERVER: 1, CLIENT: 2 } as const;

/** enums.h SPICE_MSG_DISPLAY_* (the ones this server sends). */
export const SpiceMsgDisplay = {
  MODE: 101,
  MARK: 102,
  RESET: 103,
  COPY_BITS: 104,
  INVAL_LIST: 105,
  INVAL_ALL_PIXMAPS: 106,
  INVAL_PALETTE: 107,
  INVAL_ALL_PALETTES: 108,
  STREAM_CREATE: 122,
  STREAM_DATA: 123,
  STREAM_CLIP: 124,
  STREAM_DESTROY: 125,
  STREAM_DESTROY_ALL: 126,
  DRAW_FILL: 302,
  DRAW_COPY: 304,
  SURFACE_CREATE: 314,
  SURFACE_DESTROY: 315,
  STREAM_DATA_SIZED: 316,
  MONITORS_CONFIG: 317,
  STREAM_ACTIVATE_REPORT: 319,
} as const;

/** enums.h SpiceVideoCodecType (STREAM_CREATE codec_type). */
export const SpiceVideoCodecType = { MJPEG: 1, VP8: 2, H264: 3, VP9: 4, H265: 5 } as const;

/** enums.h SpiceStreamFlags: rows of each frame go top to bottom. */
export const SPICE_STREAM_FLAGS_TOP_DOWN = 1;

/** enums.h SPICE_MSGC_DISPLAY_*. */
export const SpiceMsgcDisplay = {
  INIT: 101,
  STREAM_REPORT: 102,
  PREFERRED_COMPRESSION: 103,
  GL_DRAW_DONE: 104,
  PREFERRED_VIDEO_CODEC_TYPE: 105,
} as const;

/** enums.h SPICE_MSG_INPUTS_*. */
export const SpiceMsgInputs = { INIT: 101, KEY_MODIFIERS: 102, MOUSE_MOTION_ACK: 111 } as const;

/** enums.h SPICE_MSGC_INPUTS_*. */
export const SpiceMsgcInputs = {
  KEY_DOWN: 101,
  KEY_UP: 102,
  KEY_MODIFIERS: 103,
  KEY_SCANCODE: 104,
  MOUSE_MOTION: 111,
  MOUSE_POSITION: 112,
  MOUSE_PRESS: 113,
  MOUSE_RELEASE: 114,
} as const;

/** protocol.h SPICE_INPUT_MOTION_ACK_BUNCH: the server acks every this many motion messages. */
export const SPICE_INPUT_MOTION_ACK_BUNCH = 4;

/** enums.h SpiceMouseButton. */
export const SpiceMouseButton = { LEFT: 1, MIDDLE: 2, RIGHT: 3, UP: 4, DOWN: 5, SIDE: 6, EXTRA: 7 } as const;

/** enums.h SpiceMouseButtonMask. */
export const SpiceMouseButtonMask = { LEFT: 1, MIDDLE: 2, RIGHT: 4, UP: 8, DOWN: 16, SIDE: 32, EXTRA: 64 } as const;

/** enums.h SpiceKeyboardModifierFlags. */
export const SpiceKeyboardModifier = { SCROLL_LOCK: 1, NUM_LOCK: 2, CAPS_LOCK: 4 } as const;

/** enums.h SPICE_MSG_CURSOR_*. */
export const SpiceMsgCursor = {
  INIT: 101,
  RESET: 102,
  SET: 103,
  MOVE: 104,
  HIDE: 105,
  TRAIL: 106,
  INVAL_ONE: 107,
  INVAL_ALL: 108,
} as const;

/** enums.h SpiceCursorType. */
export const SpiceCursorType = { ALPHA: 0, MONO: 1 } as const;

/** enums.h SpiceCursorFlags. */
export const SpiceCursorFlags = { NONE: 1, CACHE_ME: 2, FROM_CACHE: 4 } as const;

/** enums.h SpiceSurfaceFmt. */
export const SpiceSurfaceFmt = { FMT_32_xRGB: 32, FMT_32_ARGB: 96 } as const;

/** enums.h SpiceSurfaceFlags. */
export const SPICE_SURFACE_FLAGS_PRIMARY = 1;

/** enums.h SpiceImageType. */
export const SpiceImageType = {
  BITMAP: 0,
  QUIC: 1,
  LZ_PLT: 100,
  LZ_RGB: 101,
  GLZ_RGB: 102,
  FROM_CACHE: 103,
  SURFACE: 104,
  JPEG: 105,
  FROM_CACHE_LOSSLESS: 106,
  ZLIB_GLZ_RGB: 107,
  JPEG_ALPHA: 108,
  LZ4: 109,
} as const;

/** enums.h SpiceImageFlags. */
export const SPICE_IMAGE_FLAGS_CACHE_ME = 1;

/** enums.h SpiceBitmapFmt. */
export const SpiceBitmapFmt = { FMT_24BIT: 7, FMT_32BIT: 8, FMT_RGBA: 9 } as const;

/** enums.h SpiceBitmapFlags. */
export const SPICE_BITMAP_FLAGS_TOP_DOWN = 4;

/** enums.h SpiceRopd: OP_PUT (plain copy). */
export const SPICE_ROPD_OP_PUT = 8;

/** enums.h SpiceClipType. */
export const SPICE_CLIP_TYPE_NONE = 0;

/** enums.h SpiceNotifySeverity / SpiceNotifyVisibility. */
export const SpiceNotifySeverity = { INFO: 0, WARN: 1, ERROR: 2 } as const;
export const SpiceNotifyVisibility = { LOW: 0, MEDIUM: 1, HIGH: 2 } as const;

/** The channel type's name for logs. */
export function channelName(type: number): string {
  for (const [k, v] of Object.entries(SpiceChannel)) if (v === type) return k.toLowerCase();
  return `channel-${type}`;
}

/** Capability bit test on an array of u32 words (bit N = bit N&31 of word N>>5). */
export function hasCap(caps: readonly number[], bit: number): boolean {
  const word = caps[bit >> 5];
  return word !== undefined && ((word >>> (bit & 31)) & 1) === 1;
}

/** The caps words for a list of bit numbers. */
export function capsWords(bits: readonly number[]): number[] {
  const words: number[] = [];
  for (const b of bits) {
    while (words.length <= b >> 5) words.push(0);
    words[b >> 5] = (words[b >> 5]! | (1 << (b & 31))) >>> 0;
  }
  return words;
}
