// Xen paravirtual keyboard/pointer shared page, events and xenstore field names.
// Source: xen/include/public/io/kbdif.h (struct xenkbd_page, union xenkbd_in_event,
// XENKBD_FIELD_*). Little-endian; the same layout for every ABI (kbdif.h uses only
// fixed-width types).

import { ByteReader, ByteWriter } from './bytes';
import { xerror } from './errors';

// ---- event type codes ----
export const XENKBD_TYPE_MOTION = 1;
export const XENKBD_TYPE_RESERVED = 2;
export const XENKBD_TYPE_KEY = 3;
export const XENKBD_TYPE_POS = 4;
export const XENKBD_TYPE_MTOUCH = 5;

// Multi-touch sub-codes (xenkbd_mtouch.event_type).
export const XENKBD_MT_EV_DOWN = 0;
export const XENKBD_MT_EV_UP = 1;
export const XENKBD_MT_EV_MOTION = 2;
export const XENKBD_MT_EV_SYN = 3;
export const XENKBD_MT_EV_SHAPE = 4;
export const XENKBD_MT_EV_ORIENT = 5;

const KBD_TYPE_NAMES: Record<number, string> = {
  [XENKBD_TYPE_MOTION]: 'XENKBD_TYPE_MOTION',
  [XENKBD_TYPE_RESERVED]: 'XENKBD_TYPE_RESERVED',
  [XENKBD_TYPE_KEY]: 'XENKBD_TYPE_KEY',
  [XENKBD_TYPE_POS]: 'XENKBD_TYPE_POS',
  [XENKBD_TYPE_MTOUCH]: 'XENKBD_TYPE_MTOUCH',
};
export function xenkbdTypeName(n: number): string {
  return KBD_TYPE_NAMES[n] ?? `XENKBD_TYPE_UNKNOWN(${n})`;
}

const MT_NAMES = [
  'XENKBD_MT_EV_DOWN',
  'XENKBD_MT_EV_UP',
  'XENKBD_MT_EV_MOTION',
  'XENKBD_MT_EV_SYN',
  'XENKBD_MT_EV_SHAPE',
  'XENKBD_MT_EV_ORIENT',
];
export function xenkbdMtName(n: number): string {
  return MT_NAMES[n] ?? `XENKBD_MT_EV_UNKNOWN(${n})`;
}

// ---- rings ----
export const XENKBD_EVENT_SIZE = 40;
export const XENKBD_IN_EVENT_SIZE = XENKBD_EVENT_SIZE;
export const XENKBD_OUT_EVENT_SIZE = XENKBD_EVENT_SIZE;
export const XENKBD_IN_RING_OFFS = 1024;
export const XENKBD_IN_RING_SIZE = 2048;
export const XENKBD_IN_RING_LEN = 51; // 2048 / 40
export const XENKBD_OUT_RING_OFFS = 3072; // XENKBD_IN_RING_OFFS + XENKBD_IN_RING_SIZE
export const XENKBD_OUT_RING_SIZE = 1024;
export const XENKBD_OUT_RING_LEN = 25; // 1024 / 40

/** struct xenkbd_page: four u32 ring indices. */
export const KbdPageOffsets = { inCons: 0, inProd: 4, outCons: 8, outProd: 12 } as const;

export const XENKBD_DRIVER_NAME = 'vkbd';

/** xenstore node names (XENKBD_FIELD_*). */
export const XenkbdField = {
  // backend nodes
  FEAT_DSBL_KEYBRD: 'feature-disable-keyboard',
  FEAT_DSBL_POINTER: 'feature-disable-pointer',
  FEATURE_ABS_POINTER: 'feature-abs-pointer',
  FEATURE_RAW_POINTER: 'feature-raw-pointer',
  FEATURE_MTOUCH: 'feature-multi-touch',
  WIDTH: 'width',
  HEIGHT: 'height',
  MT_WIDTH: 'multi-touch-width',
  MT_HEIGHT: 'multi-touch-height',
  MT_NUM_CONTACTS: 'multi-touch-num-contacts',
  UNIQUE_ID: 'unique-id',
  // frontend nodes
  REQ_ABS_POINTER: 'request-abs-pointer',
  REQ_RAW_POINTER: 'request-raw-pointer',
  REQ_MTOUCH: 'request-multi-touch',
  RING_GREF: 'page-gref',
  EVT_CHANNEL: 'event-channel',
  /** OBSOLETE in kbdif.h, but what QEMU binds with (foreign mapping of the frame). */
  RING_REF: 'page-ref',
} as const;

/** Raw (unscaled) absolute coordinates range over [0, XENKBD_RAW_MAX]. */
export const XENKBD_RAW_MAX = 0x7fff;

// Linux input-event-codes.h pointer buttons, sent as KEY events.
export const BTN_LEFT = 0x110;
export const BTN_RIGHT = 0x111;
export const BTN_MIDDLE = 0x112;
export const BTN_SIDE = 0x113;
export const BTN_EXTRA = 0x114;
export const BTN_FORWARD = 0x115;
export const BTN_BACK = 0x116;
export const BTN_TASK = 0x117;

// ---- events ----
export type KbdMtouchEvent =
  | {
      type: 'mtouch';
      eventType: typeof XENKBD_MT_EV_DOWN | typeof XENKBD_MT_EV_MOTION;
      contactId: number;
      absX: number;
      absY: number;
    }
  | { type: 'mtouch'; eventType: typeof XENKBD_MT_EV_UP | typeof XENKBD_MT_EV_SYN; contactId: number }
  | { type: 'mtouch'; eventType: typeof XENKBD_MT_EV_SHAPE; contactId: number; major: number; minor: number }
  | { type: 'mtouch'; eventType: typeof XENKBD_MT_EV_ORIENT; contactId: number; orientation: number };

export type KbdInEvent =
  | { type: 'motion'; relX: number; relY: number; relZ: number }
  | { type: 'key'; pressed: boolean; keycode: number }
  | { type: 'pos'; absX: number; absY: number; relZ: number }
  | KbdMtouchEvent
  /** Any other type code, or an MTOUCH slot with an unknown sub-code (then code = 5 and
   * mtEventType is set). kbdif.h: "frontends should ignore unknown in events". */
  | { type: 'unknown'; code: number; mtEventType?: number };

function encodeMtouch(w: ByteWriter, ev: KbdMtouchEvent): void {
  // u8 type | u8 event_type | u8 contact_id | u8 reserved[5] | union @8
  w.u8(XENKBD_TYPE_MTOUCH).u8(ev.eventType).u8(ev.contactId).zeros(5);
  switch (ev.eventType) {
    case XENKBD_MT_EV_DOWN:
    case XENKBD_MT_EV_MOTION:
      w.s32le(ev.absX).s32le(ev.absY); // pos { s32 abs_x | s32 abs_y }
      break;
    case XENKBD_MT_EV_SHAPE:
      w.u32le(ev.major).u32le(ev.minor); // shape { u32 major | u32 minor }
      break;
    case XENKBD_MT_EV_ORIENT:
      w.s16le(ev.orientation); // s16 orientation
      break;
    case XENKBD_MT_EV_UP:
    case XENKBD_MT_EV_SYN:
      break;
  }
}

/** One 40-byte in-ring slot, reserved bytes zero. Out-of-range fields throw BYTES_E_RANGE. */
export function encodeKbdInEvent(ev: KbdInEvent): Uint8Array {
  const w = new ByteWriter(XENKBD_EVENT_SIZE);
  switch (ev.type) {
    case 'motion':
      // u8 type | u8 reserved[3] | s32 rel_x | s32 rel_y | s32 rel_z
      w.u8(XENKBD_TYPE_MOTION).zeros(3).s32le(ev.relX).s32le(ev.relY).s32le(ev.relZ);
      break;
    case 'key':
      // u8 type | u8 pressed | u8 reserved[2] | u32 keycode
      w.u8(XENKBD_TYPE_KEY)
        .u8(ev.pressed ? 1 : 0)
        .zeros(2)
        .u32le(ev.keycode);
      break;
    case 'pos':
      // u8 type | u8 reserved[3] | s32 abs_x | s32 abs_y | s32 rel_z
      w.u8(XENKBD_TYPE_POS).zeros(3).s32le(ev.absX).s32le(ev.absY).s32le(ev.relZ);
      break;
    case 'mtouch':
      encodeMtouch(w, ev);
      break;
    case 'unknown':
      w.u8(ev.code);
      if (ev.code === XENKBD_TYPE_MTOUCH && ev.mtEventType !== undefined) w.u8(ev.mtEventType);
      break;
  }
  w.zeros(XENKBD_EVENT_SIZE - w.length);
  return new Uint8Array(w.finish());
}

function decodeMtouch(r: ByteReader): KbdInEvent {
  const eventType = r.u8();
  const contactId = r.u8();
  r.skip(5);
  switch (eventType) {
    case XENKBD_MT_EV_DOWN:
    case XENKBD_MT_EV_MOTION:
      return { type: 'mtouch', eventType, contactId, absX: r.s32le(), absY: r.s32le() };
    case XENKBD_MT_EV_UP:
    case XENKBD_MT_EV_SYN:
      return { type: 'mtouch', eventType, contactId };
    case XENKBD_MT_EV_SHAPE:
      return { type: 'mtouch', eventType, contactId, major: r.u32le(), minor: r.u32le() };
    case XENKBD_MT_EV_ORIENT:
      return { type: 'mtouch', eventType, contactId, orientation: r.s16le() };
    default:
      return { type: 'unknown', code: XENKBD_TYPE_MTOUCH, mtEventType: eventType };
  }
}

/** Decode one in-ring slot. Unknown codes decode to {type:'unknown'}; a slot shorter than
 * 40 bytes throws BYTES_E_SHORT. `pressed` is any non-zero byte, as Linux kbdfront reads it. */
export function decodeKbdInEvent(slot: Uint8Array): KbdInEvent {
  const r = new ByteReader(slot);
  r.need(XENKBD_EVENT_SIZE);
  const code = r.u8();
  switch (code) {
    case XENKBD_TYPE_MOTION:
      r.skip(3);
      return { type: 'motion', relX: r.s32le(), relY: r.s32le(), relZ: r.s32le() };
    case XENKBD_TYPE_KEY: {
      const pressed = r.u8() !== 0;
      r.skip(2);
      return { type: 'key', pressed, keycode: r.u32le() };
    }
    case XENKBD_TYPE_POS:
      r.skip(3);
      return { type: 'pos', absX: r.s32le(), absY: r.s32le(), relZ: r.s32le() };
    case XENKBD_TYPE_MTOUCH:
      return decodeMtouch(r);
    default:
      return { type: 'unknown', code };
  }
}

/**
 * kbdif.h defines no out events and says "receipt of an unknown out event is an error":
 * every out-ring slot is refused with FB_E_BAD_EVENT (the backend logs and drops it).
 */
export function decodeKbdOutEvent(slot: Uint8Array): never {
  const r = new ByteReader(slot);
  r.need(XENKBD_EVENT_SIZE);
  const code = r.u8();
  throw xerror('FB_E_BAD_EVENT', `unknown kbdif out event ${code}`, { code });
}
