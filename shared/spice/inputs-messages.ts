// Inputs channel messages (spice.proto "channel InputsChannel"; enums.h SPICE_MSG_INPUTS_*,
// SPICE_MSGC_INPUTS_*). Keys travel as PC XT set-1 scancode bytes, least significant first.

import { ByteWriter } from '../bytes';
import { xerror } from '../errors';
import { SpiceMsgcInputs } from './constants';
import { fixedBody } from './common-messages';

/** Longest KEY_SCANCODE body accepted: spice-gtk sends at most a press+release of an E0/E1 key (6 bytes). */
export const SPICE_MAX_SCANCODE_BYTES = 64;

/** INIT / KEY_MODIFIERS: u16 keyboard_modifiers */
export function buildInputsModifiers(modifiers: number): Buffer {
  return new ByteWriter(2).u16le(modifiers).finish();
}

export type InputsClientMessage =
  | { kind: 'keyDown'; code: number }
  | { kind: 'keyUp'; code: number }
  | { kind: 'keyModifiers'; modifiers: number }
  | { kind: 'keyScancode'; bytes: Uint8Array }
  | { kind: 'motion'; dx: number; dy: number; buttons: number }
  | { kind: 'position'; x: number; y: number; buttons: number; displayId: number }
  | { kind: 'press'; button: number; buttons: number }
  | { kind: 'release'; button: number; buttons: number };

export function parseInputsClientMessage(type: number, body: Uint8Array): InputsClientMessage {
  switch (type) {
    case SpiceMsgcInputs.KEY_DOWN: // u32 code
      return { kind: 'keyDown', code: fixedBody(type, body, 4).u32le() };
    case SpiceMsgcInputs.KEY_UP: // u32 code
      return { kind: 'keyUp', code: fixedBody(type, body, 4).u32le() };
    case SpiceMsgcInputs.KEY_MODIFIERS: // u16 modifiers
      return { kind: 'keyModifiers', modifiers: fixedBody(type, body, 2).u16le() };
    case SpiceMsgcInputs.KEY_SCANCODE: // u8 code[] (the whole body)
      if (body.length > SPICE_MAX_SCANCODE_BYTES) {
        throw xerror('SPICE_E_OVERSIZE', `KEY_SCANCODE of ${body.length} bytes exceeds ${SPICE_MAX_SCANCODE_BYTES}`, { size: body.length });
      }
      return { kind: 'keyScancode', bytes: body };
    case SpiceMsgcInputs.MOUSE_MOTION: {
      // i32 dx | i32 dy | u16 buttons_state
      const r = fixedBody(type, body, 10);
      return { kind: 'motion', dx: r.s32le(), dy: r.s32le(), buttons: r.u16le() };
    }
    case SpiceMsgcInputs.MOUSE_POSITION: {
      // u32 x | u32 y | u16 buttons_state | u8 display_id
      const r = fixedBody(type, body, 11);
      return { kind: 'position', x: r.u32le(), y: r.u32le(), buttons: r.u16le(), displayId: r.u8() };
    }
    case SpiceMsgcInputs.MOUSE_PRESS: {
      // u8 button | u16 buttons_state
      const r = fixedBody(type, body, 3);
      return { kind: 'press', button: r.u8(), buttons: r.u16le() };
    }
    case SpiceMsgcInputs.MOUSE_RELEASE: {
      const r = fixedBody(type, body, 3);
      return { kind: 'release', button: r.u8(), buttons: r.u16le() };
    }
    default:
      throw xerror('SPICE_E_BAD_MSG', `unknown inputs channel message type ${type}`, { type });
  }
}

/** The scancode bytes of a KEY_DOWN/KEY_UP u32, least significant first, up to the first zero byte. */
export function scancodeBytes(code: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 4; i++) {
    const b = (code >>> (8 * i)) & 0xff;
    if (b === 0) break;
    out.push(b);
  }
  return out;
}
