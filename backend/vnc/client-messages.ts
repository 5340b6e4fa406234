// Client-to-server RFB messages (rfbproto §7.5) as a pure, resumable parser: given the bytes
// buffered so far, return one message and its size, or null for "need more", or throw a
// typed error. RFB has no length prefix, so each handler spells out its size sum.

import { ByteReader } from '../../shared/bytes';
import { xerror } from '../../shared/errors';
import { ClientMessageType as T, PIXEL_FORMAT_SIZE, QemuClientMessageSubtype, readPixelFormat, type RfbPixelFormat } from './messages';

/** Most encodings a SetEncodings may list (real clients send under 40). */
export const RFB_MAX_ENCODINGS = 1024;
/** Longest ClientCutText accepted (the text is read and dropped). */
export const RFB_MAX_CUT_TEXT = 1024 * 1024;
/** Longest Fence payload (rfbproto §7.5.9: "at most 64 bytes"). */
export const RFB_MAX_FENCE_PAYLOAD = 64;
/** Most screens a SetDesktopSize may list (the u8 count allows 255; real clients send 1..4). */
export const RFB_MAX_SCREENS = 16;

/** rfbproto §7.8.13 SCREEN: u32 id | u16 x | u16 y | u16 w | u16 h | u32 flags. */
export interface RfbScreen {
  id: number;
  x: number;
  y: number;
  width: number;
  height: number;
  flags: number;
}

export type ClientMessage =
  | { type: 'SetPixelFormat'; format: RfbPixelFormat }
  | { type: 'SetEncodings'; encodings: number[] }
  | { type: 'FramebufferUpdateRequest'; incremental: boolean; x: number; y: number; width: number; height: number }
  | { type: 'KeyEvent'; down: boolean; keysym: number }
  | { type: 'PointerEvent'; mask: number; x: number; y: number }
  /** Header only: `length` bytes of Latin-1 text follow and are the caller's to skip. */
  | { type: 'ClientCutText'; length: number }
  | { type: 'QEMUExtendedKeyEvent'; down: boolean; keysym: number; keycode: number }
  | { type: 'EnableContinuousUpdates'; enable: boolean; x: number; y: number; width: number; height: number }
  | { type: 'ClientFence'; flags: number; payload: Uint8Array }
  | { type: 'SetDesktopSize'; width: number; height: number; screens: RfbScreen[] };

export interface ParsedClientMessage {
  message: ClientMessage;
  /** Bytes consumed. */
  size: number;
}

type Handler = (bytes: Uint8Array) => ParsedClientMessage | null;

const SET_PIXEL_FORMAT_SIZE = 1 + 3 + PIXEL_FORMAT_SIZE;
// u8 type | 3 pad | PIXEL_FORMAT
function setPixelFormat(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < SET_PIXEL_FORMAT_SIZE) return null;
  const r = new ByteReader(bytes, 1 + 3);
  return { message: { type: 'SetPixelFormat', format: readPixelFormat(r) }, size: SET_PIXEL_FORMAT_SIZE };
}

const SET_ENCODINGS_HEADER_SIZE = 1 + 1 + 2;
// u8 type | u8 pad | u16 count | s32 encodings[count]
function setEncodings(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < SET_ENCODINGS_HEADER_SIZE) return null;
  const r = new ByteReader(bytes, 1 + 1);
  const count = r.u16be();
  if (count > RFB_MAX_ENCODINGS) {
    throw xerror('RFB_E_OVERSIZE', `SetEncodings lists ${count} encodings (limit ${RFB_MAX_ENCODINGS})`, { count });
  }
  const size = SET_ENCODINGS_HEADER_SIZE + 4 * count;
  if (bytes.length < size) return null;
  const encodings: number[] = [];
  for (let i = 0; i < count; i++) encodings.push(r.s32be());
  return { message: { type: 'SetEncodings', encodings }, size };
}

const FRAMEBUFFER_UPDATE_REQUEST_SIZE = 1 + 1 + 2 + 2 + 2 + 2;
// u8 type | u8 incremental | u16 x | u16 y | u16 w | u16 h
function framebufferUpdateRequest(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < FRAMEBUFFER_UPDATE_REQUEST_SIZE) return null;
  const r = new ByteReader(bytes, 1);
  const incremental = r.u8() !== 0;
  const [x, y, width, height] = [r.u16be(), r.u16be(), r.u16be(), r.u16be()];
  return {
    message: { type: 'FramebufferUpdateRequest', incremental, x, y, width, height },
    size: FRAMEBUFFER_UPDATE_REQUEST_SIZE,
  };
}

const KEY_EVENT_SIZE = 1 + 1 + 2 + 4;
// u8 type | u8 down | 2 pad | u32 keysym
function keyEvent(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < KEY_EVENT_SIZE) return null;
  const r = new ByteReader(bytes, 1);
  const down = r.u8() !== 0;
  r.skip(2);
  return { message: { type: 'KeyEvent', down, keysym: r.u32be() }, size: KEY_EVENT_SIZE };
}

const POINTER_EVENT_SIZE = 1 + 1 + 2 + 2;
// u8 type | u8 button-mask | u16 x | u16 y
function pointerEvent(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < POINTER_EVENT_SIZE) return null;
  const r = new ByteReader(bytes, 1);
  const mask = r.u8();
  return { message: { type: 'PointerEvent', mask, x: r.u16be(), y: r.u16be() }, size: POINTER_EVENT_SIZE };
}

const CLIENT_CUT_TEXT_HEADER_SIZE = 1 + 3 + 4;
// u8 type | 3 pad | u32 length | u8 text[length]  (header only; the text is skipped by the caller)
function clientCutText(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < CLIENT_CUT_TEXT_HEADER_SIZE) return null;
  const length = new ByteReader(bytes, 1 + 3).u32be();
  if (length > RFB_MAX_CUT_TEXT) {
    // Also catches the Extended Clipboard's negative lengths, which we never negotiated.
    throw xerror('RFB_E_OVERSIZE', `ClientCutText of ${length} bytes (limit ${RFB_MAX_CUT_TEXT})`, { length });
  }
  return { message: { type: 'ClientCutText', length }, size: CLIENT_CUT_TEXT_HEADER_SIZE };
}

const QEMU_HEADER_SIZE = 1 + 1;
const QEMU_EXTENDED_KEY_EVENT_SIZE = 1 + 1 + 2 + 4 + 4;
// u8 type=255 | u8 subtype | ... ; subtype 0: u16 down | u32 keysym | u32 keycode (XT scancode)
function qemu(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < QEMU_HEADER_SIZE) return null;
  const subtype = bytes[1]!;
  if (subtype !== QemuClientMessageSubtype.ExtendedKeyEvent) {
    throw xerror('RFB_E_BAD_MSG', `unsupported QEMU client message subtype ${subtype}`, { type: T.QEMU, subtype });
  }
  if (bytes.length < QEMU_EXTENDED_KEY_EVENT_SIZE) return null;
  const r = new ByteReader(bytes, 1 + 1);
  const down = r.u16be() !== 0;
  const keysym = r.u32be();
  const keycode = r.u32be();
  return { message: { type: 'QEMUExtendedKeyEvent', down, keysym, keycode }, size: QEMU_EXTENDED_KEY_EVENT_SIZE };
}

const ENABLE_CONTINUOUS_UPDATES_SIZE = 1 + 1 + 2 + 2 + 2 + 2;
// u8 type=150 | u8 enable | u16 x | u16 y | u16 w | u16 h
function enableContinuousUpdates(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < ENABLE_CONTINUOUS_UPDATES_SIZE) return null;
  const r = new ByteReader(bytes, 1);
  const enable = r.u8() !== 0;
  const [x, y, width, height] = [r.u16be(), r.u16be(), r.u16be(), r.u16be()];
  return { message: { type: 'EnableContinuousUpdates', enable, x, y, width, height }, size: ENABLE_CONTINUOUS_UPDATES_SIZE };
}

const CLIENT_FENCE_HEADER_SIZE = 1 + 3 + 4 + 1;
// u8 type=248 | 3 pad | u32 flags | u8 length | u8 payload[length]
function clientFence(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < CLIENT_FENCE_HEADER_SIZE) return null;
  const r = new ByteReader(bytes, 1 + 3);
  const flags = r.u32be();
  const length = r.u8();
  if (length > RFB_MAX_FENCE_PAYLOAD) {
    throw xerror('RFB_E_OVERSIZE', `ClientFence payload of ${length} bytes (limit ${RFB_MAX_FENCE_PAYLOAD})`, { length });
  }
  const size = CLIENT_FENCE_HEADER_SIZE + length;
  if (bytes.length < size) return null;
  const payload = Uint8Array.from(bytes.subarray(CLIENT_FENCE_HEADER_SIZE, size));
  return { message: { type: 'ClientFence', flags, payload }, size };
}

const SET_DESKTOP_SIZE_HEADER_SIZE = 1 + 1 + 2 + 2 + 1 + 1;
const SCREEN_SIZE = 4 + 2 + 2 + 2 + 2 + 4;
// u8 type=251 | u8 pad | u16 w | u16 h | u8 screens | u8 pad | SCREEN[screens]
function setDesktopSize(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < SET_DESKTOP_SIZE_HEADER_SIZE) return null;
  const r = new ByteReader(bytes, 1 + 1);
  const width = r.u16be();
  const height = r.u16be();
  const count = r.u8();
  r.skip(1);
  if (count > RFB_MAX_SCREENS) {
    throw xerror('RFB_E_OVERSIZE', `SetDesktopSize lists ${count} screens (limit ${RFB_MAX_SCREENS})`, { count });
  }
  const size = SET_DESKTOP_SIZE_HEADER_SIZE + SCREEN_SIZE * count;
  if (bytes.length < size) return null;
  const screens: RfbScreen[] = [];
  for (let i = 0; i < count; i++) {
    screens.push({ id: r.u32be(), x: r.u16be(), y: r.u16be(), width: r.u16be(), height: r.u16be(), flags: r.u32be() });
  }
  return { message: { type: 'SetDesktopSize', width, height, screens }, size };
}

const HANDLERS = new Map<number, Handler>([
  [T.SetPixelFormat, setPixelFormat],
  [T.SetEncodings, setEncodings],
  [T.FramebufferUpdateRequest, framebufferUpdateRequest],
  [T.KeyEvent, keyEvent],
  [T.PointerEvent, pointerEvent],
  [T.ClientCutText, clientCutText],
  [T.QEMU, qemu],
  [T.EnableContinuousUpdates, enableContinuousUpdates],
  [T.ClientFence, clientFence],
  [T.SetDesktopSize, setDesktopSize],
]);

/**
 * Parse the message at the start of `bytes`. Returns null when more bytes are needed;
 * throws RFB_E_BAD_MSG for a type this server never negotiates, RFB_E_OVERSIZE past a limit.
 */
export function parseClientMessage(bytes: Uint8Array): ParsedClientMessage | null {
  if (bytes.length < 1) return null;
  const type = bytes[0]!;
  const handler = HANDLERS.get(type);
  if (!handler) throw xerror('RFB_E_BAD_MSG', `unknown client message type ${type}`, { type });
  return handler(bytes);
}
