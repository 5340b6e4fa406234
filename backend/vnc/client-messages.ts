// Client-to-server RFB messages (rfbproto §7.5) as a pure, resumable parser: given the bytes
// buffered so far, return one message and its size, or null for "need more", or throw a
// typed error. RFB has no length prefix, so each handler spells out its size sum.

import { ByteReader } from '../../shared/bytes';
import { xerror } from '../../shared/errors';
import type { PixelFormat } from '../display/display';
import { ClientMessageType as T, PIXEL_FORMAT_SIZE, QemuClientMessageSubtype, readPixelFormat } from './messages';

/** Most encodings a SetEncodings may list (real clients send under 40). */
export const RFB_MAX_ENCODINGS = 1024;
/** Longest ClientCutText accepted (the text is read and dropped). */
export const RFB_MAX_CUT_TEXT = 1024 * 1024;

export type ClientMessage =
  | { type: 'SetPixelFormat'; format: PixelFormat }
  | { type: 'SetEncodings'; encodings: number[] }
  | { type: 'FramebufferUpdateRequest'; incremental: boolean; x: number; y: number; width: number; height: number }
  | { type: 'KeyEvent'; down: boolean; keysym: number }
  | { type: 'PointerEvent'; mask: number; x: number; y: number }
  /** Header only: `length` bytes of Latin-1 text follow and are the caller's to skip. */
  | { type: 'ClientCutText'; length: number }
  | { type: 'QEMUExtendedKeyEvent'; down: boolean; keysym: number; keycode: number };

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

const HANDLERS = new Map<number, Handler>([
  [T.SetPixelFormat, setPixelFormat],
  [T.SetEncodings, setEncodings],
  [T.FramebufferUpdateRequest, framebufferUpdateRequest],
  [T.KeyEvent, keyEvent],
  [T.PointerEvent, pointerEvent],
  [T.ClientCutText, clientCutText],
  [T.QEMU, qemu],
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
