// XT (PC set 1) scancode -> Linux key code, for the QEMU ExtendedKeyEvent (rfbproto §7.5.10.1):
// a 0xE0-prefixed scancode arrives with its high bit set (E0 4D Right -> 0xCD). Linux key
// codes 1..88 equal the set-1 scancodes (input-event-codes.h was laid out that way).

import * as K from './linux-input-codes';

/** 0xE0-prefixed scancodes, by their second byte. */
const EXTENDED: ReadonlyArray<[number, number]> = [
  [0x1c, K.KEY_KPENTER],
  [0x1d, K.KEY_RIGHTCTRL],
  [0x20, K.KEY_MUTE],
  [0x2e, K.KEY_VOLUMEDOWN],
  [0x30, K.KEY_VOLUMEUP],
  [0x35, K.KEY_KPSLASH],
  [0x37, K.KEY_SYSRQ],
  [0x38, K.KEY_RIGHTALT],
  [0x46, K.KEY_PAUSE],
  [0x47, K.KEY_HOME],
  [0x48, K.KEY_UP],
  [0x49, K.KEY_PAGEUP],
  [0x4b, K.KEY_LEFT],
  [0x4d, K.KEY_RIGHT],
  [0x4f, K.KEY_END],
  [0x50, K.KEY_DOWN],
  [0x51, K.KEY_PAGEDOWN],
  [0x52, K.KEY_INSERT],
  [0x53, K.KEY_DELETE],
  [0x5b, K.KEY_LEFTMETA],
  [0x5c, K.KEY_RIGHTMETA],
  [0x5d, K.KEY_COMPOSE],
  [0x5e, K.KEY_POWER],
];

/** The high bit QEMU uses to mark an 0xE0 prefix. */
export const XT_EXTENDED_BIT = 0x80;

const table = new Map<number, number>();
for (let sc = 0x01; sc <= 0x58; sc++) table.set(sc, sc);
// rfbproto asks servers to take Print/SysRq as 0x54 (Alt+SysRq) as well as 0xB7 (E0 37).
table.set(0x54, K.KEY_SYSRQ);
table.delete(0x55); // unused in set 1
for (const [code, key] of EXTENDED) table.set(XT_EXTENDED_BIT | code, key);

/** Linux key code for a QEMU-style XT scancode, or undefined if unknown. */
export function xtScancodeToLinux(scancode: number): number | undefined {
  return table.get(scancode);
}
