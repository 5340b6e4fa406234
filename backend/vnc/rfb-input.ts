// RFB input (KeyEvent, QEMU ExtendedKeyEvent, PointerEvent; rfbproto §7.5.4, §7.5.5,
// §7.5.10.1) turned into InputSink calls with Linux codes. Keeps what is held so a client
// that disconnects mid-press does not leave the guest with a stuck key or button.
// A printable keysym arrives whatever Shift the client holds (noVNC typing "H" with no Shift;
// a German layout's Shift+7 sending "/"): the guest gets the Shift state the keysym needs on
// a US layout, faked around the key press and put back after, as QEMU's ui/keymaps.c does.

import type { InputSink } from '../input/input-sink';
import { keysymIsLetter, keysymShiftLevel, keysymToLinux } from '../input/keysym';
import { BTN_LEFT, BTN_MIDDLE, BTN_RIGHT, KEY_LEFTSHIFT, KEY_RIGHTSHIFT } from '../input/linux-input-codes';
import { LOCK_CAPS } from '../input/lock-keys';
import { xtScancodeToLinux } from '../input/xt-scancode';

/** rfbproto §7.5.5 button-mask bits. */
export const RfbButton = {
  Left: 1 << 0,
  Middle: 1 << 1,
  Right: 1 << 2,
  WheelUp: 1 << 3,
  WheelDown: 1 << 4,
} as const;

const BUTTONS: ReadonlyArray<[number, number]> = [
  [RfbButton.Left, BTN_LEFT],
  [RfbButton.Middle, BTN_MIDDLE],
  [RfbButton.Right, BTN_RIGHT],
];

export class RfbInput {
  private mask = 0;
  private x = -1;
  private y = -1;
  private readonly held = new Set<number>();
  private readonly heldButtons = new Set<number>();

  /** `locks`: the guest's lock-key state as we believe it (lock-keys.ts), for Caps Lock. */
  constructor(
    private readonly sink: InputSink,
    private readonly locks?: { readonly state: number },
  ) {}

  /** KeyEvent. Returns false if the keysym has no key on a US layout (ignored). */
  keysym(keysym: number, down: boolean): boolean {
    const code = keysymToLinux(keysym);
    if (code === undefined) return false;
    const level = keysymShiftLevel(keysym);
    if (!down || level === undefined) {
      this.key(code, down);
      return true;
    }
    const caps = keysymIsLetter(keysym) && ((this.locks?.state ?? 0) & LOCK_CAPS) !== 0;
    const wantShift = level !== caps;
    const shifts = [KEY_LEFTSHIFT, KEY_RIGHTSHIFT].filter((k) => this.held.has(k));
    if (wantShift === shifts.length > 0) this.key(code, true);
    else if (wantShift) {
      this.sink.key(KEY_LEFTSHIFT, true);
      this.key(code, true);
      this.sink.key(KEY_LEFTSHIFT, false);
    } else {
      for (const k of shifts) this.sink.key(k, false);
      this.key(code, true);
      for (const k of shifts) this.sink.key(k, true);
    }
    return true;
  }

  /** QEMU ExtendedKeyEvent: the scancode wins, the keysym is the fallback and sets the Shift state of its own key. */
  extendedKey(keysym: number, scancode: number, down: boolean): boolean {
    const code = xtScancodeToLinux(scancode);
    if (code === undefined) return this.keysym(keysym, down);
    // The physical key is the keysym's own key on a US layout (noVNC typing text, a paste):
    // the keysym says which Shift state it needs. Another key (another layout): trust it.
    if (keysymToLinux(keysym) === code) return this.keysym(keysym, down);
    this.key(code, down);
    return true;
  }

  /** PointerEvent: position first (if it moved), then button changes, then wheel clicks. */
  pointer(mask: number, x: number, y: number, width: number, height: number): void {
    const cx = Math.max(0, Math.min(Math.max(0, width - 1), x));
    const cy = Math.max(0, Math.min(Math.max(0, height - 1), y));
    if (cx !== this.x || cy !== this.y) {
      this.x = cx;
      this.y = cy;
      this.sink.pointerAbs(cx, cy, width, height);
    }
    const changed = mask ^ this.mask;
    for (const [bit, code] of BUTTONS) if (changed & bit) this.button(code, (mask & bit) !== 0);
    if (changed & mask & RfbButton.WheelUp) this.sink.wheel(+1);
    if (changed & mask & RfbButton.WheelDown) this.sink.wheel(-1);
    this.mask = mask;
  }

  /** Release every key and button still held. */
  releaseAll(): void {
    for (const code of [...this.heldButtons]) this.button(code, false);
    for (const code of [...this.held]) this.key(code, false);
    this.mask = 0;
  }

  private button(code: number, down: boolean): void {
    if (down) this.heldButtons.add(code);
    else this.heldButtons.delete(code);
    this.sink.button(code, down);
  }

  private key(code: number, down: boolean): void {
    if (down) this.held.add(code);
    else this.held.delete(code);
    this.sink.key(code, down);
  }
}
