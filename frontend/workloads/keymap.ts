// Linux key codes the terminal workload understands, from linux/input-event-codes.h
// (kbdif.h XENKBD_TYPE_KEY carries these codes), and the US layout characters they type.

export const KEY = {
  KEY_ESC: 1,
  KEY_1: 2,
  KEY_2: 3,
  KEY_3: 4,
  KEY_4: 5,
  KEY_5: 6,
  KEY_6: 7,
  KEY_7: 8,
  KEY_8: 9,
  KEY_9: 10,
  KEY_0: 11,
  KEY_MINUS: 12,
  KEY_EQUAL: 13,
  KEY_BACKSPACE: 14,
  KEY_TAB: 15,
  KEY_Q: 16,
  KEY_W: 17,
  KEY_E: 18,
  KEY_R: 19,
  KEY_T: 20,
  KEY_Y: 21,
  KEY_U: 22,
  KEY_I: 23,
  KEY_O: 24,
  KEY_P: 25,
  KEY_LEFTBRACE: 26,
  KEY_RIGHTBRACE: 27,
  KEY_ENTER: 28,
  KEY_LEFTCTRL: 29,
  KEY_A: 30,
  KEY_S: 31,
  KEY_D: 32,
  KEY_F: 33,
  KEY_G: 34,
  KEY_H: 35,
  KEY_J: 36,
  KEY_K: 37,
  KEY_L: 38,
  KEY_SEMICOLON: 39,
  KEY_APOSTROPHE: 40,
  KEY_GRAVE: 41,
  KEY_LEFTSHIFT: 42,
  KEY_BACKSLASH: 43,
  KEY_Z: 44,
  KEY_X: 45,
  KEY_C: 46,
  KEY_V: 47,
  KEY_B: 48,
  KEY_N: 49,
  KEY_M: 50,
  KEY_COMMA: 51,
  KEY_DOT: 52,
  KEY_SLASH: 53,
  KEY_RIGHTSHIFT: 54,
  KEY_SPACE: 57,
  KEY_CAPSLOCK: 58,
  KEY_KPENTER: 96,
} as const;

export type KeyName = keyof typeof KEY;

const KEY_NAMES = new Map<number, KeyName>(Object.entries(KEY).map(([name, code]) => [code, name as KeyName]));

/** 'KEY_A' for 30, for logs; 'KEY_<n>' for codes not in the table. */
export function keyName(code: number): string {
  return KEY_NAMES.get(code) ?? `KEY_${code}`;
}

// [keycode, unshifted, shifted] for a US keyboard.
const PRINTABLE: ReadonlyArray<readonly [number, string, string]> = [
  ...'1234567890'.split('').map((ch, i) => [KEY.KEY_1 + i, ch, '!@#$%^&*()'[i]] as const),
  ...'qwertyuiop'.split('').map((ch, i) => [KEY.KEY_Q + i, ch, ch.toUpperCase()] as const),
  ...'asdfghjkl'.split('').map((ch, i) => [KEY.KEY_A + i, ch, ch.toUpperCase()] as const),
  ...'zxcvbnm'.split('').map((ch, i) => [KEY.KEY_Z + i, ch, ch.toUpperCase()] as const),
  [KEY.KEY_MINUS, '-', '_'],
  [KEY.KEY_EQUAL, '=', '+'],
  [KEY.KEY_LEFTBRACE, '[', '{'],
  [KEY.KEY_RIGHTBRACE, ']', '}'],
  [KEY.KEY_SEMICOLON, ';', ':'],
  [KEY.KEY_APOSTROPHE, "'", '"'],
  [KEY.KEY_GRAVE, '`', '~'],
  [KEY.KEY_BACKSLASH, '\\', '|'],
  [KEY.KEY_COMMA, ',', '<'],
  [KEY.KEY_DOT, '.', '>'],
  [KEY.KEY_SLASH, '/', '?'],
  [KEY.KEY_SPACE, ' ', ' '],
];

const PRINTABLE_BY_CODE = new Map(PRINTABLE.map(([code, plain, shifted]) => [code, { plain, shifted }]));

const LETTER = /^[a-z]$/;

/**
 * The character a key types, or undefined for keys that type nothing (Enter, Shift, ...).
 * Caps Lock affects letters only, as on a PC console.
 */
export function keyToChar(code: number, shift: boolean, capsLock = false): string | undefined {
  const entry = PRINTABLE_BY_CODE.get(code);
  if (entry === undefined) return undefined;
  const upper = LETTER.test(entry.plain) && capsLock ? !shift : shift;
  return upper ? entry.shifted : entry.plain;
}
