// X11 keysym -> Linux key code for a US layout. Keysym values from X11 keysymdef.h (what
// RFB KeyEvent carries, rfbproto §7.5.4). A shifted symbol maps to its unshifted key; whether
// it needs Shift is a separate question (keysymShiftLevel), because a client may send "H"
// without sending Shift first (noVNC typing text, another layout's Shift): QEMU's
// ui/keymaps.c keysym2scancode fakes the Shift state the keysym needs, and so do we
// (vnc/rfb-input.ts).

import * as K from './linux-input-codes';

/** X11 keysymdef.h names for the non-printing keys the table maps. */
export const XK = {
  BackSpace: 0xff08,
  Tab: 0xff09,
  Return: 0xff0d,
  Pause: 0xff13,
  Scroll_Lock: 0xff14,
  Sys_Req: 0xff15,
  Escape: 0xff1b,
  Home: 0xff50,
  Left: 0xff51,
  Up: 0xff52,
  Right: 0xff53,
  Down: 0xff54,
  Page_Up: 0xff55,
  Page_Down: 0xff56,
  End: 0xff57,
  Print: 0xff61,
  Insert: 0xff63,
  Menu: 0xff67,
  Break: 0xff6b,
  Num_Lock: 0xff7f,
  KP_Enter: 0xff8d,
  KP_Home: 0xff95,
  KP_Left: 0xff96,
  KP_Up: 0xff97,
  KP_Right: 0xff98,
  KP_Down: 0xff99,
  KP_Page_Up: 0xff9a,
  KP_Page_Down: 0xff9b,
  KP_End: 0xff9c,
  KP_Begin: 0xff9d,
  KP_Insert: 0xff9e,
  KP_Delete: 0xff9f,
  KP_Multiply: 0xffaa,
  KP_Add: 0xffab,
  KP_Separator: 0xffac,
  KP_Subtract: 0xffad,
  KP_Decimal: 0xffae,
  KP_Divide: 0xffaf,
  KP_0: 0xffb0,
  KP_Equal: 0xffbd,
  F1: 0xffbe,
  Shift_L: 0xffe1,
  Shift_R: 0xffe2,
  Control_L: 0xffe3,
  Control_R: 0xffe4,
  Caps_Lock: 0xffe5,
  Meta_L: 0xffe7,
  Meta_R: 0xffe8,
  Alt_L: 0xffe9,
  Alt_R: 0xffea,
  Super_L: 0xffeb,
  Super_R: 0xffec,
  ISO_Level3_Shift: 0xfe03,
  ISO_Left_Tab: 0xfe20,
  Delete: 0xffff,
} as const;

const table = new Map<number, number>();
/** Printable keysyms: true if the US layout types them with Shift, false without. */
const shiftLevel = new Map<number, boolean>();

function letters(): void {
  const codes = [
    K.KEY_A,
    K.KEY_B,
    K.KEY_C,
    K.KEY_D,
    K.KEY_E,
    K.KEY_F,
    K.KEY_G,
    K.KEY_H,
    K.KEY_I,
    K.KEY_J,
    K.KEY_K,
    K.KEY_L,
    K.KEY_M,
    K.KEY_N,
    K.KEY_O,
    K.KEY_P,
    K.KEY_Q,
    K.KEY_R,
    K.KEY_S,
    K.KEY_T,
    K.KEY_U,
    K.KEY_V,
    K.KEY_W,
    K.KEY_X,
    K.KEY_Y,
    K.KEY_Z,
  ];
  codes.forEach((code, i) => {
    table.set(0x41 + i, code); // XK_A..XK_Z
    table.set(0x61 + i, code); // XK_a..XK_z
    shiftLevel.set(0x41 + i, true);
    shiftLevel.set(0x61 + i, false);
  });
}

// Printable ASCII (keysym == code point for Latin-1) -> key, shifted symbols included.
const PRINTABLE: ReadonlyArray<[string, number]> = [
  [' ', K.KEY_SPACE],
  ['1!', K.KEY_1],
  ['2@', K.KEY_2],
  ['3#', K.KEY_3],
  ['4$', K.KEY_4],
  ['5%', K.KEY_5],
  ['6^', K.KEY_6],
  ['7&', K.KEY_7],
  ['8*', K.KEY_8],
  ['9(', K.KEY_9],
  ['0)', K.KEY_0],
  ['-_', K.KEY_MINUS],
  ['=+', K.KEY_EQUAL],
  ['[{', K.KEY_LEFTBRACE],
  [']}', K.KEY_RIGHTBRACE],
  ['\\|', K.KEY_BACKSLASH],
  [';:', K.KEY_SEMICOLON],
  ['\'"', K.KEY_APOSTROPHE],
  ['`~', K.KEY_GRAVE],
  [',<', K.KEY_COMMA],
  ['.>', K.KEY_DOT],
  ['/?', K.KEY_SLASH],
];

const SPECIAL: ReadonlyArray<[number, number]> = [
  [XK.BackSpace, K.KEY_BACKSPACE],
  [XK.Tab, K.KEY_TAB],
  [XK.ISO_Left_Tab, K.KEY_TAB],
  [XK.Return, K.KEY_ENTER],
  [XK.Escape, K.KEY_ESC],
  [XK.Delete, K.KEY_DELETE],
  [XK.Insert, K.KEY_INSERT],
  [XK.Home, K.KEY_HOME],
  [XK.End, K.KEY_END],
  [XK.Page_Up, K.KEY_PAGEUP],
  [XK.Page_Down, K.KEY_PAGEDOWN],
  [XK.Left, K.KEY_LEFT],
  [XK.Up, K.KEY_UP],
  [XK.Right, K.KEY_RIGHT],
  [XK.Down, K.KEY_DOWN],
  [XK.Shift_L, K.KEY_LEFTSHIFT],
  [XK.Shift_R, K.KEY_RIGHTSHIFT],
  [XK.Control_L, K.KEY_LEFTCTRL],
  [XK.Control_R, K.KEY_RIGHTCTRL],
  [XK.Alt_L, K.KEY_LEFTALT],
  [XK.Alt_R, K.KEY_RIGHTALT],
  [XK.ISO_Level3_Shift, K.KEY_RIGHTALT],
  [XK.Meta_L, K.KEY_LEFTMETA],
  [XK.Meta_R, K.KEY_RIGHTMETA],
  [XK.Super_L, K.KEY_LEFTMETA],
  [XK.Super_R, K.KEY_RIGHTMETA],
  [XK.Caps_Lock, K.KEY_CAPSLOCK],
  [XK.Num_Lock, K.KEY_NUMLOCK],
  [XK.Scroll_Lock, K.KEY_SCROLLLOCK],
  [XK.Print, K.KEY_SYSRQ],
  [XK.Sys_Req, K.KEY_SYSRQ],
  [XK.Pause, K.KEY_PAUSE],
  [XK.Break, K.KEY_PAUSE],
  [XK.Menu, K.KEY_COMPOSE],
  [XK.KP_Enter, K.KEY_KPENTER],
  [XK.KP_Multiply, K.KEY_KPASTERISK],
  [XK.KP_Add, K.KEY_KPPLUS],
  [XK.KP_Separator, K.KEY_KPCOMMA],
  [XK.KP_Subtract, K.KEY_KPMINUS],
  [XK.KP_Decimal, K.KEY_KPDOT],
  [XK.KP_Divide, K.KEY_KPSLASH],
  [XK.KP_Equal, K.KEY_KPEQUAL],
  // Keypad with Num Lock off: the same physical keys as the digits.
  [XK.KP_Home, K.KEY_KP7],
  [XK.KP_Up, K.KEY_KP8],
  [XK.KP_Page_Up, K.KEY_KP9],
  [XK.KP_Left, K.KEY_KP4],
  [XK.KP_Begin, K.KEY_KP5],
  [XK.KP_Right, K.KEY_KP6],
  [XK.KP_End, K.KEY_KP1],
  [XK.KP_Down, K.KEY_KP2],
  [XK.KP_Page_Down, K.KEY_KP3],
  [XK.KP_Insert, K.KEY_KP0],
  [XK.KP_Delete, K.KEY_KPDOT],
];

function build(): void {
  letters();
  for (const [chars, code] of PRINTABLE) {
    [...chars].forEach((ch, level) => {
      table.set(ch.charCodeAt(0), code);
      shiftLevel.set(ch.charCodeAt(0), level === 1);
    });
  }
  for (const [sym, code] of SPECIAL) table.set(sym, code);
  const kp = [K.KEY_KP0, K.KEY_KP1, K.KEY_KP2, K.KEY_KP3, K.KEY_KP4, K.KEY_KP5, K.KEY_KP6, K.KEY_KP7, K.KEY_KP8, K.KEY_KP9];
  kp.forEach((code, i) => table.set(XK.KP_0 + i, code));
  const fkeys = [K.KEY_F1, K.KEY_F2, K.KEY_F3, K.KEY_F4, K.KEY_F5, K.KEY_F6, K.KEY_F7, K.KEY_F8, K.KEY_F9, K.KEY_F10, K.KEY_F11, K.KEY_F12];
  fkeys.forEach((code, i) => table.set(XK.F1 + i, code));
}
build();

/** Linux key code for an X11 keysym on a US layout, or undefined if it has none. */
export function keysymToLinux(keysym: number): number | undefined {
  return table.get(keysym);
}

/**
 * For a printable keysym: true if a US keyboard types it with Shift ("H", ":", "?"), false
 * without ("h", ";", "/", space). undefined for keys whose meaning does not depend on Shift
 * (Return, arrows, F-keys, modifiers): those are sent as they come.
 */
export function keysymShiftLevel(keysym: number): boolean | undefined {
  return shiftLevel.get(keysym);
}

/** Is this keysym a letter (Caps Lock swaps its Shift level)? */
export function keysymIsLetter(keysym: number): boolean {
  return (keysym >= 0x41 && keysym <= 0x5a) || (keysym >= 0x61 && keysym <= 0x7a);
}
