// PC XT set-1 scancode bytes, as SPICE clients send them (KEY_DOWN/KEY_UP/KEY_SCANCODE; spice-gtk
// spice_make_scancode, spice-html5 code_to_scancode.js), to Linux key codes through the one
// set-1 table the VNC QEMU extended key event uses (backend/input/xt-scancode.ts).
// Byte grammar: [E0] code (bit 7 = release), or Pause as E1 1D 45 / E1 9D C5.

import { KEY_PAUSE } from '../input/linux-input-codes';
import { XT_EXTENDED_BIT, xtScancodeToLinux } from '../input/xt-scancode';

export interface KeyEvent {
  code: number;
  pressed: boolean;
}

const PREFIX_E0 = 0xe0;
const PREFIX_E1 = 0xe1;
const RELEASE_BIT = 0x80;

/** Decodes a stream of set-1 bytes; state (a pending prefix) carries across calls. */
export class Set1Decoder {
  private prefix = 0;
  private e1: number[] = [];
  /** Bytes that named no key (logged by the caller, never fatal). */
  unknown = 0;

  feed(bytes: Iterable<number>): KeyEvent[] {
    const out: KeyEvent[] = [];
    for (const b of bytes) {
      const ev = this.byte(b);
      if (ev) out.push(ev);
    }
    return out;
  }

  private byte(b: number): KeyEvent | null {
    if (this.prefix === PREFIX_E1) {
      this.e1.push(b);
      if (this.e1.length < 2) return null;
      const [first, second] = this.e1;
      this.prefix = 0;
      this.e1 = [];
      if (first === 0x1d && second === 0x45) return { code: KEY_PAUSE, pressed: true };
      if (first === 0x9d && second === 0xc5) return { code: KEY_PAUSE, pressed: false };
      this.unknown++;
      return null;
    }
    if (b === PREFIX_E0 || b === PREFIX_E1) {
      this.prefix = b;
      return null;
    }
    const extended = this.prefix === PREFIX_E0;
    this.prefix = 0;
    const pressed = (b & RELEASE_BIT) === 0;
    const code = xtScancodeToLinux((extended ? XT_EXTENDED_BIT : 0) | (b & ~RELEASE_BIT));
    // E0 2A / E0 AA are "fake shift" bytes some keyboards wrap around extended keys: not keys.
    if (code === undefined || (extended && (b & ~RELEASE_BIT) === 0x2a)) {
      this.unknown++;
      return null;
    }
    return { code, pressed };
  }
}
